"""extract_answer: precedence, nesting, and the fallback knob."""

import pytest

from slm_math.grading import extract_answer

B = "\\boxed"


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (f"first {B}{{1}} then {B}{{2}}", "2"),
        (f"{B}{{\\frac{{1}}{{\\sqrt{{2}}}}}}", "\\frac{1}{\\sqrt{2}}"),
        (f"{B}{{\\{{1, 2\\}}}}", "\\{1, 2\\}"),
        (f"{B} 5.", "5."),
        ("\\fbox{7}", "7"),
        (f"{B}{{\\boxed{{9}}}}", "9"),
        ("work\n#### 1,234\n", "1,234"),
        (f"{B}{{3}}\n#### 4", "3"),
        ("The answer is 42 apples. Next line", "42 apples"),
        ("The final answer is 3.5.", "3.5"),
        ("Answer: -7", "-7"),
        ("we get 5-3 and then 20/4", "20/4"),
        ("cost 1,000 then -12 left", "-12"),
        ("no numbers here", None),
        ("", None),
        (f"{B}{{unclosed 5", "5"),
        # an echoed instruction's empty box is not an answer
        (f"put your final answer within {B}{{}}. The answer is 7.", "7"),
        (f"{B}{{3}} as asked: within {B}{{ }}", "3"),
        (f"within {B}{{}}", None),
    ],
)
def test_extract_answer(response, expected):
    assert extract_answer(response) == expected


def test_fallback_off_gives_none_without_marker():
    assert extract_answer("it is 12", fallback=False) is None
    assert extract_answer("it is 12") == "12"


def test_truncation_keeps_tail():
    text = f"{B}{{1}}" + "y" * 100 + f"{B}{{2}}"
    assert extract_answer(text, max_chars=10) == "2"
    assert extract_answer(f"{B}{{1}}" + "y" * 100, max_chars=10, fallback=False) is None


def test_non_string_is_none():
    assert extract_answer(None) is None  # type: ignore[arg-type]
