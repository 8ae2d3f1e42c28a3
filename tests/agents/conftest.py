"""The tiny random Llama (SmolLM2 tokenizer) of the generation tests, reused here, and a
scripted generator over the same tokenizer."""

import pytest

from tests.generation.conftest import tiny_hf, tiny_model_dir  # noqa: F401

TOY = [{"id": f"toy/{i}", "source": "toy", "split": "test", "problem": f"What is {i} + 3?",
        "answer": str(i + 3), "rule": "numeric"} for i in range(3)]


@pytest.fixture(scope="session")
def tokenizer(tiny_hf):
    """The SmolLM2 tokenizer with its chat template."""
    return tiny_hf.tokenizer
