"""Fixtures: a real `transformers serve` of a tiny random Llama on 127.0.0.1, and a fault
proxy in front of it. The server starts once per session (about 15 s on 2 cores); the
client and cascade tests need any real server, so they take the quicker engine to start
(vLLM, the default where installed, is tested in test_server_lifetime.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from slm_math.config.params import LocalServerParams
from slm_math.teacher import local_teacher_server
from tests.teacher.fault_proxy import FaultProxy


@pytest.fixture(scope="session")
def teacher_server(tiny_model_dir):
    """The tiny model served by the same code path cotgen uses for `serve` teachers."""
    with local_teacher_server(tiny_model_dir, LocalServerParams(engine="transformers")) as server:
        yield server


@pytest.fixture()
def proxy(teacher_server):
    """A fresh fault proxy in front of the session's server."""
    with FaultProxy(teacher_server.base_url) as p:
        yield p


PROBLEMS = [
    {"id": "products/train/0", "source": "products", "split": "train",
     "problem": "Solve the following multiplication: 7 * 8.", "answer": "56", "rule": "numeric",
     "solution": "7 * 8 = 56"},
    {"id": "chain_sum/train/0", "source": "chain_sum", "split": "train",
     "problem": "State the final answer: 15 + 85 =", "answer": "100", "rule": "numeric",
     "solution": "15 + 85 = 100"},
    {"id": "gsm/train/0", "source": "gsm", "split": "train",
     "problem": "Ann has 3 bags of 4 apples. How many apples?", "answer": "12", "rule": "numeric",
     "solution": "Each bag has 4 apples.\n3 * 4 = 12"},
    {"id": "lcm/train/0", "source": "lcm", "split": "train",
     "problem": "Find the LCM of 4, 6", "answer": "12", "rule": "numeric"},  # no solution
]


def write_problems(folder: Path, problems=PROBLEMS) -> None:
    """data/train/<source>.jsonl under `folder`."""
    train = folder / "data" / "train"
    train.mkdir(parents=True, exist_ok=True)
    by_source: dict[str, list] = {}
    for p in problems:
        by_source.setdefault(p["source"], []).append(p)
    for source, rows in by_source.items():
        (train / f"{source}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
