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
        # the last-number fallback takes whole number tokens only
        ("AZYUK2A", None),
        ("So $x = \\frac{10}{9}$.", "\\frac{10}{9}"),
        ("$1 \\times 10^3$", "1 \\times 10^3"),
        ("we get $x^2$ and $a_7$", None),
        ("roots $\\sqrt{5}$ or 2x", None),
        ("so it is 12,\\!000 and 1{,}500 in all", "1{,}500"),
        ("angle 45^\\circ", "45"),
        (f"{B}{{18", "18"),  # an unclosed box's brace opens an answer
        # an answer phrase followed by a sentence
        ("Final Answer: The largest $n$ is 34.", "34"),
        ("Final Answer: Jane started growing Sphere 3 hours ago.", "3"),
        ("The answer is 18 apples and 3 pears.", "18 apples and 3 pears"),
        ("Final Answer: No real solutions exist here.", "No real solutions exist here"),
        ("Answer: This is 34.", "34"),
        ("The answer is x + 1.", "x + 1"),
    ],
)
def test_extract_answer(response, expected):
    assert extract_answer(response) == expected


def test_fallback_off_gives_none_without_marker():
    assert extract_answer("it is 12", fallback=False) is None
    assert extract_answer("it is 12") == "12"
    sentence = "Final Answer: Jane started growing Sphere 3 hours ago."
    assert extract_answer(sentence, fallback=False) == "Jane started growing Sphere 3 hours ago"


def test_truncation_keeps_tail():
    text = f"{B}{{1}}" + "y" * 100 + f"{B}{{2}}"
    assert extract_answer(text, max_chars=10) == "2"
    assert extract_answer(f"{B}{{1}}" + "y" * 100, max_chars=10, fallback=False) is None


def test_non_string_is_none():
    assert extract_answer(None) is None  # type: ignore[arg-type]
