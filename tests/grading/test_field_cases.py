"""Answer-checking cases of the kinds the field's own grader test suites check.

The kinds come from the test suites of math-verify, lighteval's math metrics, the Qwen2.5-Math
evaluation grader, lm-evaluation-harness's minerva_math and Hendrycks' MATH `is_equiv`; the
cases are written here, and each verdict is the one the documented grading policy
(docs/grading.md) gives, with a short why. One table per class of case, then the rest.

Run as a module from the repository root (`python -m tests.grading.test_field_cases`) to print
the share of cases on which the grader agrees, per class and overall.
"""

from __future__ import annotations

import pytest

from slm_math.grading import grade, infer_rule, judge

B = "\\boxed"

# (response, gold, rule, expected verdict, why)

# 1. Relations (equations, inequalities, assignments, sets) are compared as such; only a
# single assignment to a name that is not part of its value (`x = 3`) states a value.
RELATIONS = [
    (f"{B}{{x = 0}}", "2x - y + 3z + 8 = 0", "auto", False, "a plane is not the value after its '='"),
    (f"{B}{{0}}", "2x - y + 3z + 8 = 0", "auto", False, "a number is not an equation"),
    (f"{B}{{2x - y + 3z + 8 = 0}}", "2x - y + 3z + 8 = 0", "auto", True, "the same plane"),
    (f"{B}{{-2x + y - 3z - 8 = 0}}", "2x - y + 3z + 8 = 0", "auto", True, "the plane, both sides negated"),
    (f"{B}{{2x - y + 3z - 8 = 0}}", "2x - y + 3z + 8 = 0", "auto", False, "a parallel plane"),
    (f"{B}{{x <= 5}}", "x >= 5", "auto", False, "the opposite inequality"),
    (f"{B}{{5}}", "x >= 5", "auto", False, "a bound is not an inequality"),
    (f"{B}{{x \\geq 5}}", "x >= 5", "auto", True, "\\geq is >="),
    (f"{B}{{5 \\le x}}", "x \\ge 5", "auto", True, "the same inequality, flipped"),
    (f"{B}{{x > 5}}", "x \\geq 5", "auto", False, "strict is not non-strict"),
    (f"{B}{{x \\neq 3}}", "x != 3", "auto", True, "\\neq is !="),
    (f"{B}{{-x > -1}}", "x < 1", "auto", True, "an inequality times -1"),
    (f"{B}{{4, 5}}", "AB=4,CD=5", "auto", True, "the values of a list of assignments"),
    (f"{B}{{4, 6}}", "AB=4,CD=5", "auto", False, "one value differs"),
    (f"{B}{{y=-\\frac{{1}}{{2}}x+\\frac{{3}}{{4}}}}", "2x+4y-3=0", "auto", True, "the same line, solved for y"),
    (f"{B}{{y=\\frac{{1}}{{2}}x+\\frac{{3}}{{4}}}}", "2x+4y-3=0", "auto", False, "another line"),
    (f"{B}{{x^2/16 + y^2/12 = 1/4}}", "x^2/4 + y^2/3 = 1", "auto", True, "an equation divided by 4"),
    (f"{B}{{k = 1}}", "1", "auto", True, "an assignment states its value"),
    (f"{B}{{1}}", "k=1", "auto", True, "a gold assignment states its value"),
    (f"{B}{{\\sqrt{{1}}}}", "k=1", "auto", False, "a gold assignment to a number is numeric"),
    (f"{B}{{x = 5+5+1 = 11}}", "11", "auto", True, "a chain from a name ends in the value"),
    (f"{B}{{2x+z=1}}", "1", "auto", False, "an equation is not its right-hand side"),
    (f"{B}{{2x = 6}}", "6", "numeric", False, "an equation in x does not state 6"),
    (f"{B}{{x = 2x - 6}}", "6", "numeric", False, "the name appears in its value: an equation"),
    (f"{B}{{x \\le 5}}", "5", "numeric", False, "an inequality does not state a value"),
    (f"{B}{{x = 3 \\text{{ and }} y = 4}}", "4", "numeric", False, "two assignments, not the value 4"),
    (f"{B}{{2 + 1 = 3}}", "3", "numeric", True, "arithmetic written out, then its value"),
    (f"{B}{{\\{{1, 2\\}}}}", "\\{2, 1\\}", "auto", True, "sets ignore order"),
    (f"{B}{{\\{{1, 3\\}}}}", "\\{1, 2\\}", "auto", False, "another set"),
    (f"{B}{{f(2) < f(1) < f(4)}}", "f(2) < f(1) < f(4)", "auto", True, "the same chain of inequalities"),
    (f"{B}{{f(1) < f(2) < f(4)}}", "f(2) < f(1) < f(4)", "auto", False, "another order"),
]

# 2. The last-number fallback takes whole numbers only: no digits from inside a word, an
# exponent, a subscript or a LaTeX argument.
FALLBACK = [
    ("AZYUK2A", "2", "auto", False, "a digit inside a word is not a number"),
    ("So $x = \\frac{10}{9}$.", "9", "auto", False, "the 9 is a denominator"),
    ("So $x = \\frac{10}{9}$.", "10/9", "auto", True, "the fraction is the last number"),
    ("So $x = -\\frac{3}{4}$ here", "-0.75", "auto", True, "a signed LaTeX fraction"),
    ("$1 \\times 10^3$", "3", "auto", False, "3 is an exponent"),
    ("$1 \\times 10^3$", "1000", "auto", True, "scientific notation is one number"),
    ("we get $x^2$ in the end", "2", "auto", False, "an exponent is not a number"),
    ("the side is $\\sqrt{5}$", "5", "auto", False, "a root's argument is not the answer"),
    ("the term $a_7$ is what we need", "7", "auto", False, "a subscript is not a number"),
    ("the code is ab12", "12", "auto", False, "digits glued to letters"),
    ("so the value is 2x", "2", "auto", False, "a coefficient is not a number"),
    ("the angle measures 45^\\circ", "45", "auto", True, "degrees follow a number"),
    ("she has 12 apples left", "12", "auto", True, "a number then a unit"),
    ("so we have 12,\\!000 left", "12000", "auto", True, "LaTeX thousands separator"),
    ("so we have 1,234 left", "1234", "auto", True, "thousands separator"),
    ("then x = -4", "-4", "auto", True, "a negative number"),
    ("it costs $3.50.", "3.5", "auto", True, "a decimal at the end of a sentence"),
]

# 3. Decorations that never change an answer's meaning are ignored.
DECORATIONS = [
    (f"{B}{{\\frac{{1}}{{3}} \\text{{meters}}}}", "1/3", "auto", True, "unit in \\text after a brace"),
    (f"{B}{{\\frac{{1}}{{3}} \\textbf{{meters}}}}", "1/3", "auto", True, "unit in \\textbf"),
    (f"{B}{{\\frac{{2}}{{3}} \\text{{ meters}}}}", "1/3", "auto", False, "decorated but wrong"),
    (f"{B}{{125\\textnormal{{ miles}}}}", "125", "auto", True, "unit in \\textnormal"),
    (f"{B}{{15\\mbox{{ cm}}^2}}", "15", "auto", True, "unit in \\mbox, squared"),
    (f"{B}{{\\textbf{{12}}}}", "12", "auto", True, "bold number"),
    (f"{B}{{\\cfrac{{1}}{{3}}}}", "1/3", "auto", True, "\\cfrac is \\frac"),
    (f"{B}{{\\left( \\frac{{1}}{{3}} \\right)}}", "1/3", "auto", True, "sized parentheses around the answer"),
    (f"{B}{{(-7)}}", "-7", "numeric", True, "parentheses around a negative number"),
    (f"{B}{{\\left(3+4\\right)}}", "7", "numeric", False, "parentheses around a computation"),
    (f"{B}{{11,\\! 111,\\! 100}}", "11111100", "auto", True, "thousands with a negative thin space"),
    (f"{B}{{32,\\!349}}", "32349", "auto", True, "thousands with a negative thin space"),
    (f"{B}{{32, 349}}", "32349", "auto", False, "comma and space separate a list"),
    (f"{B}{{\\$\\,16,\\!386.20}}", "16386.20", "auto", True, "currency, thin space, separators"),
    (f"{B}{{\\left( 3, \\frac{{\\pi}}{{2}} \\right)}}", "(3, \\frac{\\pi}{2})", "auto", True, "sized tuple"),
]

# 4. An answer phrase followed by a sentence ("Final Answer: The largest $n$ is 34.").
FINAL_ANSWER_SENTENCES = [
    ("Final Answer: The largest $n$ is 34.", "34", "auto", True, "the value after 'is'"),
    ("Final Answer: The largest $n$ is 35.", "34", "auto", False, "the wrong value after 'is'"),
    ("Final Answer: The volume of $ABCDEFGH$ is 120. I hope it is correct.", "120", "auto", True,
     "the sentence ends at its period"),
    ("Final Answer: The maximum number of points in the domain of $f(x)$ is 19.", "19", "auto", True,
     "a long subject"),
    ("Final Answer: The final answer is $28\\%$. I hope it is correct.", "28", "auto", True,
     "minerva's format"),
    ("Final Answer: Jane started growing Sphere 3 hours ago.", "3", "auto", True,
     "no copula: the sentence's last number"),
    ("Final Answer: The probability is $\\frac{2}{3}$.", "\\frac{2}{3}", "auto", True, "a LaTeX value"),
    ("Final Answer: The area is $3\\sqrt{2}$.", "\\sqrt{18}", "auto", True, "an expression value"),
    ("Answer: The sum is 7 or 8.", "8", "auto", False, "a hedged value"),
]

# 5. A gold in a box goes through the same normalization as a bare gold, under the same rule.
BOXED_GOLD = [
    (f"{B}{{\\sqrt{{100}}}}", "\\boxed{10}", "auto", False, "a computation, as for gold 10"),
    (f"{B}{{3+4}}", "$\\boxed{7}$", "auto", False, "a sum left to do"),
    (f"{B}{{10}}", "\\boxed{10}", "auto", True, "the value"),
    (f"{B}{{10\\text{{ cm}}}}", "\\boxed{10}", "auto", True, "a unit"),
    ("#### 18", "\\boxed{18}", "numeric", True, "a declared rule and a boxed gold"),
    (f"{B}{{\\sqrt{{324}}}}", "\\boxed{18}", "numeric", False, "a computation under numeric"),
    (f"{B}{{37840/68542}}", "\\boxed{\\frac{440}{797}}", "fraction_lowest_terms", False, "not in lowest terms"),
    (f"{B}{{\\frac{{440}}{{797}}}}", "\\boxed{\\frac{440}{797}}", "fraction_lowest_terms", True, "lowest terms"),
    (f"{B}{{0.5}}", "so it is \\boxed{\\frac{1}{2}}.", "auto", True, "a gold solution's last box"),
]

# 6. A percent reads either as its value or as its value / 100; a bare number has one reading.
PERCENT = [
    (f"{B}{{75\\%}}", "0.75", "auto", True, "75% is 0.75"),
    (f"{B}{{75\\%}}", "75", "auto", True, "75% is 75 (percent as a unit)"),
    (f"{B}{{75}}", "0.75", "auto", False, "a bare 75 is not 0.75"),
    (f"{B}{{0.75}}", "75\\%", "auto", True, "a percent gold, read as a fraction"),
    (f"{B}{{75}}", "75\\%", "auto", True, "a percent gold, read as its value"),
    (f"{B}{{0.75}}", "75", "auto", False, "no percent on either side"),
    (f"{B}{{7.5\\%}}", "0.75", "auto", False, "7.5% is neither 0.75 nor 75"),
    ("The answer is 20 percent.", "0.2", "auto", True, "the word percent"),
    (f"{B}{{28}}", "0.28", "auto", False, "a bare 28 is not 0.28"),
    (f"{B}{{20\\%}}", "\\frac{1}{5}", "auto", True, "a percent for a fraction gold"),
    (f"{B}{{25\\%}}", "0.25", "numeric", True, "under a declared numeric rule"),
    (f"{B}{{25\\%}}", "0.25", "latex", True, "under the latex rule"),
]

# 7. A power alone is a number to compute, not a factor list; a factor list needs a product.
POWER_GOLD = [
    (f"{B}{{8}}", "2^3", "auto", True, "2^3 is 8"),
    (f"{B}{{2^3}}", "2^3", "auto", True, "the same power"),
    (f"{B}{{9}}", "2^3", "auto", False, "not 8"),
    (f"{B}{{1024}}", "2^{10}", "auto", True, "braced exponent"),
    (f"{B}{{2 \\times 2 \\times 2}}", "2^3", "auto", True, "the product equals the power"),
    (f"{B}{{8}}", "2^2 \\times 2", "auto", False, "a written product is a factor list"),
    (f"{B}{{2^3}}", "2^2 \\times 2", "auto", True, "the same factors"),
]

# Everything else the field's suites check, which the grader already handled.
OTHER = [
    (f"{B}{{7,425,000}}", "7425000", "auto", True, "thousands separators"),
    (f"{B}{{1000.0}}", "1000", "auto", True, "trailing zero decimal"),
    (f"{B}{{.4}}", "0.4", "auto", True, "no leading zero"),
    (f"{B}{{\\$1,000.99}}", "1000.99", "auto", True, "currency"),
    (f"{B}{{-5}}", "-5", "auto", True, "negative"),
    (f"{B}{{\\frac{{63}}{{400}}}}", "\\frac{63}{400}", "auto", True, "open-r1's fraction"),
    (f"{B}{{\\frac{{64}}{{400}}}}", "\\frac{63}{400}", "auto", False, "open-r1's wrong fraction"),
    (f"{B}{{\\frac13}}", "1/3", "auto", True, "shorthand fraction"),
    (f"{B}{{\\dfrac{{1}}{{3}}}}", "1/3", "auto", True, "\\dfrac"),
    (f"{B}{{k = \\frac{{1}}{{3}}}}", "1/3", "auto", True, "assignment to a fraction"),
    (f"{B}{{\\frac{{1}}{{12}}}}", "0.0833333333333333", "auto", True, "float noise"),
    (f"{B}{{[0,1)}}", "[0,1)", "auto", True, "half-open interval"),
    (f"{B}{{[0,1)}}", "[0,9)", "auto", False, "another interval"),
    (f"{B}{{[0,9)}}", "(0,9)", "auto", False, "closed end differs"),
    (f"{B}{{(1,4.5)}}", "(1,\\frac{9}{2})", "auto", True, "tuple with a decimal"),
    (f"{B}{{(3,1)}}", "(1,3)", "auto", False, "a tuple's order matters"),
    (f"{B}{{x \\in [-2,7]}}", "[-2,7]", "auto", True, "membership in an interval"),
    (f"{B}{{[-1, -\\tfrac12) \\cup (-\\tfrac12, 0)}}", "[-1, -\\frac{1}{2}) \\cup (-\\frac{1}{2}, 0)", "auto", True,
     "a union of intervals"),
    (f"{B}{{\\sqrt3}}", "\\sqrt{3}", "auto", True, "root shorthand"),
    (f"{B}{{\\sqrt 2+\\sqrt 5}}", "\\sqrt{2}+\\sqrt{5}", "auto", True, "spaced roots"),
    (f"{B}{{\\frac94\\pi}}", "\\frac{9}{4}\\pi", "auto", True, "pi coefficient"),
    (f"{B}{{1 \\pm \\sqrt{{19}}}}", "1 \\pm \\sqrt{19}", "auto", True, "plus-minus"),
    (f"{B}{{2 \\sin b \\cos a}}", "2 \\sin b \\cos a", "auto", True, "trig product"),
    (f"{B}{{\\sec^2(y)}}", "\\tan^2(y)+1", "auto", True, "trig identity"),
    (f"{B}{{\\frac{{x}}{{7}}+\\frac{{2}}{{7}}}}", "\\frac{x+2}{7}", "auto", True, "algebraic expression"),
    (f"{B}{{x+1}}", "x+2n+1", "auto", False, "another expression"),
    (f"{B}{{\\frac{{1+\\sqrt{{5}}}}{{2}}}}", "2", "auto", False, "the golden ratio is not 2"),
    (f"{B}{{90^\\circ}}", "90^\\circ", "auto", True, "degrees both sides"),
    (f"{B}{{90}}", "90^\\circ", "auto", True, "degrees in the gold"),
    (f"{B}{{\\text{{Evelyn}}}}", "\\text{Evelyn}", "auto", True, "a name"),
    (f"{B}{{\\text{{(C)}}}}", "\\text{C}", "auto", True, "a choice letter"),
    (f"{B}{{E}}", "\\text{E}", "auto", True, "a choice letter in text"),
    (f"{B}{{\\begin{{pmatrix}}1 & 0 \\\\ 0 & 1\\end{{pmatrix}}}}", "\\begin{pmatrix}1 & 0 \\\\ 0 & 1\\end{pmatrix}", "auto",
     True, "identity matrix"),
    (f"{B}{{\\begin{{pmatrix}}1 & 2 \\\\ 3 & 5\\end{{pmatrix}}}}", "\\begin{pmatrix}1 & 2 \\\\ 3 & 4\\end{pmatrix}", "auto",
     False, "one entry differs"),
    (f"{B}{{-2,1}}", "-2,1", "auto", True, "a list of roots"),
    (f"{B}{{1,-2}}", "-2,1", "auto", True, "a list of roots in another order"),
    (f"{B}{{204_5}}", "204_5", "auto", True, "a base-5 number"),
    (f"{B}{{1112122_3}}", "1112112_3", "auto", False, "another base-3 number"),
    (f"{B}{{2-2p}}", "2-2p", "auto", True, "an expression in p"),
    (f"{B}{{14{{,}}916}}", "14916", "auto", True, "{,} thousands"),
    ("Final Answer: The final answer is $(0, 1)$. I hope it is correct.", "[0,1)", "auto", False,
     "an open interval for a half-open one"),
    ("Thus, the answer is $\\boxed{(-6, 10)}$.", "(-6, 10)", "auto", True, "a pair in a box"),
    ("The answer is 1,000.", "1000", "auto", True, "thousands and a period"),
    ("#### 72", "72", "auto", True, "GSM8K marker"),
    (f"{B}{{\\frac{{3}}{{56}}}}", "\\frac{3}{56}", "auto", True, "the same fraction"),
    (f"{B}{{3\\sqrt{{13}}}}", "3\\sqrt{13}", "auto", True, "a root"),
    (f"{B}{{16386.17}}", "16386.17", "auto", True, "money"),
]

CLASSES = {
    "relations": RELATIONS,
    "fallback": FALLBACK,
    "decorations": DECORATIONS,
    "final_answer_sentences": FINAL_ANSWER_SENTENCES,
    "boxed_gold": BOXED_GOLD,
    "percent": PERCENT,
    "power_gold": POWER_GOLD,
    "other": OTHER,
}
ALL_CASES = [(name, *case) for name, cases in CLASSES.items() for case in cases]


@pytest.mark.parametrize(("cls", "response", "gold", "rule", "expected", "why"), ALL_CASES,
                         ids=[f"{c[0]}: {c[5]}" for c in ALL_CASES])
def test_field_case(cls, response, gold, rule, expected, why):
    assert grade(response, gold, rule=rule) is expected, judge(response, gold, rule=rule)


def test_tables_cover_both_verdicts_per_class():
    for name, cases in CLASSES.items():
        verdicts = {c[3] for c in cases}
        assert verdicts == {True, False}, name


@pytest.mark.parametrize(
    ("gold", "rule"),
    [
        ("2x - y + 3z + 8 = 0", "latex"),
        ("x >= 5", "latex"),
        ("AB=4,CD=5", "latex"),
        ("k=1", "numeric"),
        ("x = \\frac{3}{4}", "numeric"),
        ("\\boxed{10}", "numeric"),
        ("75\\%", "numeric"),
        ("2^3", "latex"),
        ("2^{10}", "latex"),
        ("2^2 \\times 3", "factor_list"),
    ],
)
def test_infer_rule_for_field_golds(gold, rule):
    assert infer_rule(gold) == rule


def agreement() -> dict[str, tuple[int, int]]:
    """(agreeing, total) per class: how many verdicts the grader gives as the tables expect."""
    return {name: (sum(grade(r, g, rule=rule) is e for r, g, rule, e, _ in cases), len(cases))
            for name, cases in CLASSES.items()}


if __name__ == "__main__":
    from slm_math.grading import warm_up

    warm_up(1)
    counts = agreement()
    for name, (ok, n) in counts.items():
        print(f"{name:24s} {ok:3d}/{n:<3d} {ok / n:6.1%}")
    ok, n = sum(c[0] for c in counts.values()), sum(c[1] for c in counts.values())
    print(f"{'all':24s} {ok:3d}/{n:<3d} {ok / n:6.1%}")
