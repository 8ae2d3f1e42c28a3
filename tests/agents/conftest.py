"""Agent test data and the SmolLM2 tokenizer of the shared tiny model (tests/conftest.py)."""

import pytest

TOY = [{"id": f"toy/{i}", "source": "toy", "split": "test", "problem": f"What is {i} + 3?",
        "answer": str(i + 3), "rule": "numeric"} for i in range(3)]


@pytest.fixture(scope="session")
def tokenizer(tiny_hf):
    """The SmolLM2 tokenizer with its chat template."""
    return tiny_hf.tokenizer
