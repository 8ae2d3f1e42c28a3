"""extract_python_blocks: which fenced blocks count as Python, and what their bodies are."""

from hypothesis import given
from hypothesis import strategies as st

from slm_math.sandbox import extract_python_blocks


def test_extracts_python_blocks_in_order():
    text = "Let me compute.\n```python\nx = 1\nprint(x)\n```\nThen:\n```python\nprint(2)\n```\nDone."
    assert extract_python_blocks(text) == ["x = 1\nprint(x)\n", "print(2)\n"]


def test_accepts_py_and_python3_and_any_case():
    text = "```py\na = 1\n```\n```Python3\nb = 2\n```\n```PYTHON\nc = 3\n```"
    assert extract_python_blocks(text) == ["a = 1\n", "b = 2\n", "c = 3\n"]


def test_ignores_other_languages_and_bare_fences():
    text = "```bash\nrm -rf /\n```\n```\nplain\n```\n```pythonic\nno\n```\n```json\n{}\n```"
    assert extract_python_blocks(text) == []


def test_keeps_indentation_and_drops_empty_blocks():
    text = "```python\n\n```\n```python\ndef f():\n    return 1\n```"
    assert extract_python_blocks(text) == ["def f():\n    return 1\n"]


def test_unclosed_last_block_runs_to_end():
    assert extract_python_blocks("Sure:\n```python\nprint(42)") == ["print(42)\n"]


def test_longer_fence_may_contain_triple_backticks():
    text = "````python\ns = '```'\nprint(s)\n````\n"
    assert extract_python_blocks(text) == ["s = '```'\nprint(s)\n"]


def test_fence_must_start_a_line():
    assert extract_python_blocks("inline ```python x``` here") == []


@given(st.lists(st.text(alphabet=st.characters(blacklist_characters="`\r", blacklist_categories=("Cs",)), min_size=1)
                .filter(lambda s: s.strip() and "\n" not in s[-1:]), max_size=4))
def test_roundtrip_of_fenced_bodies(bodies):
    text = "".join(f"prose {i}\n```python\n{body}\n```\n" for i, body in enumerate(bodies))
    assert extract_python_blocks(text) == [body + "\n" for body in bodies]


def test_block_spans_cover_the_fences():
    from slm_math.sandbox import python_block_spans

    text = "Plan.\n```python\nx = 1\n```\nthen\n```python\n\n```\n```py\nprint(x)\n```\n```output\n1\n```"
    spans = python_block_spans(text)
    assert [text[a:b] for a, b in spans] == ["```python\nx = 1\n```", "```py\nprint(x)\n```"]  # empty one skipped
    assert python_block_spans("Sure:\n```python\nprint(42)") == [(6, 25)]  # unclosed: to the end
