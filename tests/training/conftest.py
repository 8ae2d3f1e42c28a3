"""Fixtures for the training tests: a tiny Llama with SmolLM2's tokenizer, small data files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from slm_math.jsonl import write_jsonl

REPO = Path(__file__).resolve().parents[2]


def smollm2_tokenizer(target: Path) -> None:
    """SmolLM2's tokenizer (with its chat template) saved in ``target``."""
    base = REPO / "models" / "base"
    if (base / "tokenizer.json").is_file():
        for name in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja"):
            if (base / name).is_file():
                shutil.copy(base / name, target / name)
        return
    from transformers import AutoTokenizer

    from slm_math.base_model import packaged_gguf

    folder, filename = packaged_gguf("smollm2-135m-gguf")
    AutoTokenizer.from_pretrained(folder, gguf_file=filename).save_pretrained(target)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A randomly initialized 2-layer Llama (hidden 64) with the real SmolLM2 tokenizer."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    root = tmp_path_factory.mktemp("tiny_model")
    smollm2_tokenizer(root)
    tokenizer = AutoTokenizer.from_pretrained(root)
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128,
                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=512, tie_word_embeddings=True,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id)
    LlamaForCausalLM(config).save_pretrained(root)
    return root


def write_sft_data(root: Path, n: int = 48) -> tuple[Path, Path]:
    """(problems folder, verified.jsonl): products problems and reference-teacher traces."""
    problems, traces = [], []
    for i in range(n):
        a, b = 2 + i % 8, 3 + (i * 7) % 9
        pid = f"products/train/{i}"
        problems.append({"id": pid, "source": "products", "split": "train",
                         "problem": f"Solve the following multiplication: {a} * {b}.",
                         "answer": str(a * b), "rule": "numeric"})
        traces.append({"problem_id": pid, "teacher": "reference", "attempt": 0,
                       "prompt_hash": "h", "answer": str(a * b), "correct": True,
                       "text": f"<think>{a} * {b} = {a * b}</think>\n{a} * {b} = {a * b}. "
                               f"The answer is \\boxed{{{a * b}}}.",
                       "tokens_in": 20, "tokens_out": 20, "cost_usd": 0.0, "latency_s": 0.1})
    (root / "data" / "train").mkdir(parents=True, exist_ok=True)
    (root / "data" / "cot").mkdir(parents=True, exist_ok=True)
    write_jsonl(root / "data" / "train" / "products.jsonl", problems)
    write_jsonl(root / "data" / "cot" / "verified.jsonl", traces)
    return root / "data" / "train", root / "data" / "cot" / "verified.jsonl"


@pytest.fixture
def sft_data(tmp_path) -> tuple[Path, Path]:
    """(problems folder, verified traces file) in a temp dir."""
    return write_sft_data(tmp_path)
