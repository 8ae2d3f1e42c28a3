"""Tool-integrated traces: written from reference solutions, finished with the sandbox's real
output, and verified only when that output supports a right boxed answer."""

from __future__ import annotations

import pytest
import yaml

from slm_math.data.reasoning_gym_source import generate_task
from slm_math.trace_formats.tool import (check_tool_trace, finish, python_expression, reference_draft,
                                         run_codes, solution_code, with_output)
from tests.conftest import ROOT

PRODUCT = {"id": "products/train/0", "problem": "Solve the following multiplication: 69 * 39.",
           "answer": "2691", "rule": "numeric", "solution": "69 * 39 = 2691"}


def checked(text, gold, rule="numeric"):
    [run] = run_codes([text])
    return check_tool_trace(text, run, gold, rule)


def test_reference_trace_runs_and_its_output_supports_the_box():
    text, run = finish(reference_draft(PRODUCT))
    assert text == ("I compute 69 * 39 with Python.\n```python\nprint(69 * 39)\n```\n"
                    "```output\n2691\n```\nThe answer is \\boxed{2691}.")
    assert run.ok and check_tool_trace(text, run, "2691", "numeric").reason == "verified"
    assert checked(text, "2691").ok                  # verify runs it again: the same output


def test_a_box_the_output_does_not_support_is_not_verified():
    text, _ = finish(reference_draft(PRODUCT))
    disagree = text.replace("\\boxed{2691}", "\\boxed{2692}")
    check = checked(disagree, "2692")                # even where the gold agrees with the box
    assert not check.ok and check.reason == "unsupported" and check.code_ran
    assert checked(text, "2690").reason == "wrong_answer"


def test_the_output_block_must_be_what_the_sandbox_printed():
    text, _ = finish(reference_draft(PRODUCT))
    assert checked(text.replace("```output\n2691", "```output\n2690"), "2691").reason == "output_mismatch"
    assert checked(text.replace("print(69 * 39)", "print(1 / 0)"), "2691").reason == "code_failed"
    assert checked("It is \\boxed{2691}.", "2691") == checked("", "2691")
    assert checked("It is \\boxed{2691}.", "2691").reason == "no_code"


def test_a_teachers_guessed_output_is_replaced_by_the_real_one():
    reply = ("Let me compute.\n```python\nx = 6\n```\n```python\nprint(x * 7)\n```\n"
             "```output\n41\n```\nSo the answer is \\boxed{42}.")
    text, run = finish(reply)
    assert text.endswith("print(x * 7)\n```\n```output\n42\n```\nSo the answer is \\boxed{42}.")
    assert "41" not in text and check_tool_trace(text, run, "42").ok
    assert with_output("no code here", "1") is None
    assert with_output(reply, "42", keep_rest=False).endswith("```output\n42\n```")


def test_a_reply_cut_off_mid_block_runs_its_complete_blocks():
    # a model that repeats its code block until max_new_tokens: the cut last block is dropped
    reply = "```python\nprint(8 + 0)\n```\n```python\nprint(8 + 0)\n```\n```python\nprint(8 +"
    [run] = run_codes([reply])
    assert run.ok and run.stdout == "8\n8\n"
    assert with_output(reply, "8\n8", keep_rest=False) == (
        "```python\nprint(8 + 0)\n```\n```python\nprint(8 + 0)\n```\n```output\n8\n8\n```")
    [alone] = run_codes(["Sure:\n```python\nprint(42)"])   # the only block: it still runs
    assert alone.stdout == "42\n"


@pytest.mark.parametrize("solution, expected", [
    ("7 * 8 = 56", "print(7 * 8)\n"),
    ("1 - 4 = -3", "print(1 - 4)\n"),
    ("lcm(8, 7) = 56", "import math\nprint(math.lcm(8, 7))\n"),
    ("2^3 × 5 = 40", "print(2 ** 3 * 5)\n"),
    ("Ann has 48/2 = <<48/2=24>>24.\nThen 48+24 = <<48+24=72>>72.\n#### 72",
     "step1 = 48 / 2\nstep2 = 48 + 24\nprint(step2)\n"),
])
def test_solution_arithmetic_as_python(solution, expected):
    assert solution_code(solution)[1] == expected


@pytest.mark.parametrize("expression", ["__import__('os').system('ls')", "open('x') ", "x + 1",
                                        "'a' * 3", "math.floor(2.5)", "print(3)"])
def test_only_plain_arithmetic_becomes_code(expression):
    assert python_expression(expression) is None
    assert solution_code(f"{expression} = 3") is None
    assert reference_draft({"solution": "No computation here.", "answer": "3"}) is None


def test_every_offline_task_gets_verified_tool_traces():
    """basic_arithmetic, chain_sum, products and lcm at the committed settings: each reference
    solution written as Python runs in the sandbox and supports the gold answer."""
    tasks = yaml.safe_load((ROOT / "params.yaml").read_text())["data"]["tasks"]
    texts, golds = [], []
    for name, task in tasks.items():
        train, _, _ = generate_task(name, task["generator"], task["rule"], task["config"], seed=42,
                                    train_size=12, test_size=1)
        for problem in train:
            draft = reference_draft(problem)
            assert draft is not None, problem
            texts.append(finish(draft)[0])
            golds.append(problem["answer"])
    checks = [check_tool_trace(t, r, g, "numeric") for t, r, g in zip(texts, run_codes(texts), golds)]
    assert len(checks) == 12 * len(tasks) and all(c.ok for c in checks), [c.reason for c in checks]
