"""Offline sources: reasoning-gym splits that never share items or templates, CHAMP."""

from __future__ import annotations

from slm_math.data.champ_source import load_champ, numeric_answer
import re

from slm_math.data.reasoning_gym_source import generate_task, strip_instruction, task_seed
from slm_math.data.schema import problem_error


def test_arithmetic_split_is_disjoint_checked_and_sized():
    config = {"min_terms": 2, "max_terms": 2, "min_digits": 1, "max_digits": 2}
    train, test, counts = generate_task("chain_sum", "chain_sum", "numeric", config, seed=3,
                                        train_size=60, test_size=20)
    assert (len(train), len(test)) == (60, 20)
    assert not {p["problem"] for p in train} & {p["problem"] for p in test}
    for record in train + test:
        assert problem_error(record) is None
        # the reference solution writes the computation before the answer
        assert record["solution"].endswith(f"= {record['answer']}")
    assert counts.get("train_invalid_answer", 0) == 0


def test_same_seed_same_items():
    a = generate_task("p", "products", "numeric", {"max_digits": 2}, seed=1, train_size=5,
                      test_size=5)
    b = generate_task("p", "products", "numeric", {"max_digits": 2}, seed=1, train_size=5,
                      test_size=5)
    assert a[0] == b[0] and a[1] == b[1]


def test_tasks_sharing_a_number_stream_draw_different_operands():
    # products and chain_sum draw item i's operands from the same Random(seed + i) stream;
    # the per-task seed shift must stop test item i being `a * b` in one and `a + b` in the other
    config = {"min_terms": 2, "max_terms": 2, "min_digits": 1, "max_digits": 2}
    _, products, _ = generate_task("products", "products", "numeric", config, seed=42,
                                   train_size=0, test_size=20)
    _, sums, _ = generate_task("chain_sum", "chain_sum", "numeric", config, seed=42,
                               train_size=0, test_size=20)
    operands = lambda rows: [tuple(re.findall(r"\d+", r["solution"])[:2]) for r in rows]  # noqa: E731
    shared = sum(a == b for a, b in zip(operands(products), operands(sums)))
    assert shared <= 2, (operands(products)[:5], operands(sums)[:5])
    assert task_seed(42, "products") != task_seed(42, "chain_sum")
    assert task_seed(42, "products") == task_seed(42, "products")  # stable across runs


def test_small_pool_reports_shortfall_instead_of_repeating():
    # 1-digit products have at most 100 distinct questions
    train, test, counts = generate_task("p", "products", "numeric",
                                        {"min_digits": 1, "max_digits": 1}, seed=0,
                                        train_size=100, test_size=50, max_tries_factor=5)
    assert len({p["problem"] for p in train}) == len(train)
    assert len(train) + len(test) <= 100
    assert counts["train_short"] == 100 - len(train)


def test_gsm_symbolic_is_split_by_template():
    train, test, _ = generate_task("gsm_symbolic", "gsm_symbolic", "numeric", {}, seed=0,
                                   train_size=40, test_size=10, test_template_every=5)
    train_templates = {p["subject"] for p in train}
    test_templates = {p["subject"] for p in test}
    assert train_templates and test_templates and not train_templates & test_templates
    assert all(int(t.split("_")[1]) % 5 == 0 for t in test_templates)
    assert all("Do not include units" not in p["problem"] for p in train + test)
    assert all("####" not in p["solution"] and p["solution"] for p in train)


def test_strip_instruction():
    assert strip_instruction("Calculate 2 + 3. Give only the result as your final answer.") \
        == "Calculate 2 + 3."


def test_champ_numeric_subset():
    records = load_champ()
    assert 80 <= len(records) <= 100
    assert all(problem_error(r) is None and r["split"] == "test" for r in records)
    assert {r["subject"] for r in records} >= {"Combinatorics", "Number-Theory"}
    assert numeric_answer("C(10, 5), or equivalently 252") == "252"
    assert numeric_answer("2^(n-1)") is None
    assert numeric_answer("1/2") == "1/2"
