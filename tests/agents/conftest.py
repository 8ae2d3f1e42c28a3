"""The tiny random Llama (SmolLM2 tokenizer) of the generation tests, reused here."""

from tests.generation.conftest import tiny_hf, tiny_model_dir  # noqa: F401
