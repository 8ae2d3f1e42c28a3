"""Worked reference solutions: every line an equation that holds, the last line the one-line
solution, the same problems as the one-line style, and traces that still verify."""

from __future__ import annotations

import math

import pytest

from slm_math.config.loader import ParamsError, build
from slm_math.config.params import DataParams
from slm_math.data.reasoning_gym_source import generate_task
from slm_math.data.worked_solutions import worked_expression, worked_lcm, worked_product
from slm_math.grading import grade
from slm_math.teacher.reference import reference_tool_trace, reference_trace

TASKS = {  # generator configs of the default profile's tasks, and harder ones
    "products": ("products", {"min_terms": 2, "max_terms": 2, "min_digits": 1, "max_digits": 2}),
    "products3": ("products", {"min_terms": 3, "max_terms": 3, "min_digits": 1, "max_digits": 2}),
    "chain_sum": ("chain_sum", {"min_terms": 2, "max_terms": 2, "min_digits": 1, "max_digits": 2}),
    "chain_sum3": ("chain_sum", {"min_terms": 3, "max_terms": 3, "min_digits": 2, "max_digits": 2}),
    "basic_arithmetic": ("basic_arithmetic", {"min_terms": 3, "max_terms": 3, "min_digits": 1,
                                              "max_digits": 2, "operators": ["+", "-", "*"],
                                              "allow_parentheses": True}),
    "lcm": ("lcm", {"min_value": 2, "max_value": 20}),
}
NAMES = {"gcd": math.gcd, "lcm": math.lcm}


def _holds(line: str) -> bool:
    sides = [side.strip() for side in line.split("=")]
    values = {eval(side, {"__builtins__": {}}, NAMES) for side in sides}  # test data only
    return len(sides) >= 2 and len(values) == 1


def _generate(name: str, style: str, size: int = 40):
    generator, config = TASKS[name]
    return generate_task(name, generator, "numeric", config, seed=7, train_size=size,
                         test_size=size, solution_style=style)


@pytest.mark.parametrize("name", sorted(TASKS))
def test_every_line_holds_and_the_last_is_the_one_line_solution(name):
    worked_train, worked_test, _ = _generate(name, "worked")
    plain_train, plain_test, _ = _generate(name, "expression")
    assert [{k: v for k, v in r.items() if k != "solution"} for r in worked_train + worked_test] \
        == [{k: v for k, v in r.items() if k != "solution"} for r in plain_train + plain_test]
    longer = 0
    for worked, plain in zip(worked_train + worked_test, plain_train + plain_test):
        lines = worked["solution"].splitlines()
        assert all(_holds(line) for line in lines), worked["solution"]
        assert lines[-1] == plain["solution"]
        longer += len(lines) > 1
    assert longer > 0  # some problem of each task needs steps


def test_products_split_along_place_values():
    assert worked_expression("41 * 37", "1517").splitlines() == [
        "41 * 37 = 41 * 30 + 41 * 7", "41 * 30 = 1230", "41 * 7 = 287", "1230 + 287 = 1517",
        "41 * 37 = 1517"]
    assert worked_expression("72 * 60", "4320").splitlines()[0] == "72 * 60 = 70 * 60 + 2 * 60"
    assert worked_product(9, 8) == ["9 * 8 = 72"]  # the times table stays one line
    assert worked_product(40, 7) == ["40 * 7 = 280"]


def test_sums_and_mixed_operators_go_step_by_step():
    assert worked_expression("8 - 57", "-49").splitlines() == [
        "8 - 57 = 8 - 50 - 7", "8 - 50 = -42", "-42 - 7 = -49", "8 - 57 = -49"]
    assert worked_expression("3 + 4 * 25", "103").splitlines() == [
        "4 * 25 = 100", "3 + 100 = 103", "3 + 4 * 25 = 103"]
    assert worked_expression("(3 - 8) * 12", "-60").splitlines()[:2] == ["3 - 8 = -5", "-5 * 12 = -60"]


def test_a_wrong_answer_or_other_syntax_gets_no_worked_form():
    assert worked_expression("41 * 37", "1518") is None
    assert worked_expression("7 / 2", "3.5") is None
    assert worked_expression("2 ** 10", "1024") is None

def test_a_negated_group_is_reduced_inside():
    assert worked_expression("-(12 - 40) * 3", "84").splitlines() == [
        "12 - 40 = -28", "28 * 3 = 84", "-(12 - 40) * 3 = 84"]


def test_lcm_goes_through_the_gcd():
    assert worked_lcm([18, 12]).splitlines() == [
        "gcd(18, 12) = 6", "18 = 6 * 3", "12 = 6 * 2", "6 * 3 * 2 = 18 * 2", "18 * 2 = 36",
        "lcm(18, 12) = 36"]
    assert worked_lcm([18, 6]).splitlines() == ["gcd(18, 6) = 6", "18 = 6 * 3", "lcm(18, 6) = 18"]
    coprime = worked_lcm([17, 19]).splitlines()
    assert coprime[0] == "gcd(17, 19) = 1" and coprime[-1] == "lcm(17, 19) = 323"
    assert all(_holds(line) for line in worked_lcm([4, 6, 10]).splitlines())


def test_worked_traces_verify_and_tool_drafts_compute_the_problem():
    train, _, _ = _generate("products", "worked", size=20)
    problem = next(p for p in train if len(p["solution"].splitlines()) > 1)
    text = reference_trace(problem).text
    assert text.count("\n") > 3 and grade(text, problem["answer"], rule="numeric")
    expression = problem["solution"].splitlines()[-1].split(" = ")[0]
    answer = problem["answer"]
    assert text.split("</think>")[1].strip() == f"{expression} = {answer}. The answer is \\boxed{{{answer}}}."
    assert f"print({expression})" in reference_tool_trace(problem).text


def test_an_unknown_style_is_named():
    with pytest.raises(ParamsError, match=r"data\.solution_style.*'steps'"):
        build(DataParams, {"solution_style": "steps"}, path="data")
