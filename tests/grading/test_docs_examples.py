"""The examples table of docs/grading.md: every documented verdict is the grader's verdict."""

from pathlib import Path

import pytest

from slm_math.grading import grade, judge

DOC = Path(__file__).resolve().parents[2] / "docs" / "grading.md"


def _examples() -> list[tuple[str, str, str, bool, str]]:
    """Rows of the table under "## Examples": (response, gold, rule, verdict, why)."""
    section = DOC.read_text(encoding="utf-8").split("\n## Examples\n", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        response, gold, rule, verdict = (cell.strip("`") for cell in cells[:4])
        rows.append((response, gold, rule, {"right": True, "wrong": False}[verdict], cells[4]))
    return rows


EXAMPLES = _examples()


def test_the_table_is_there_and_has_both_verdicts():
    assert len(EXAMPLES) >= 30
    assert {row[3] for row in EXAMPLES} == {True, False}


@pytest.mark.parametrize(("response", "gold", "rule", "expected", "why"), EXAMPLES, ids=[r[4] for r in EXAMPLES])
def test_documented_verdict(response, gold, rule, expected, why):
    assert grade(response, gold, rule=rule) is expected, judge(response, gold, rule=rule)
