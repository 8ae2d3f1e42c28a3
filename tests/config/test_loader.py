"""params.yaml validation: every bad value stops with one line naming key path and value."""

from __future__ import annotations

import pytest

from slm_math.config import ParamsError, flatten, load_params
from tests.conftest import ROOT


def load_text(tmp_path, text: str):
    path = tmp_path / "params.yaml"
    path.write_text(text)
    return load_params(path)


def error_of(tmp_path, text: str) -> str:
    with pytest.raises(ParamsError) as info:
        load_text(tmp_path, text)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_committed_params_load():
    params = load_params(ROOT / "params.yaml")
    assert params.model.base == "smollm2-135m-gguf"
    assert "champ" in params.data.benchmarks
    assert set(params.data.benchmarks) - {"champ", "gsm_symbolic"} <= set(params.data.tasks)


def test_misspelled_key_names_path_and_closest(tmp_path):
    message = error_of(tmp_path, "data:\n  trian_size: 10\n")
    assert "unknown key data.trian_size" in message
    assert "did you mean data.train_size" in message


def test_misspelled_top_level_key(tmp_path):
    assert "did you mean model" in error_of(tmp_path, "modle:\n  base: x\n")


def test_negative_size(tmp_path):
    message = error_of(tmp_path, "data:\n  train_size: -5\n")
    assert "data.train_size" in message and "-5" in message and "minimum" in message


def test_wrong_type(tmp_path):
    message = error_of(tmp_path, "data:\n  test_size: lots\n")
    assert "data.test_size" in message and "'lots'" in message and "integer" in message


def test_bool_is_not_an_integer(tmp_path):
    assert "data.test_size" in error_of(tmp_path, "data:\n  test_size: true\n")


def test_unknown_benchmark_suggests_closest(tmp_path):
    message = error_of(tmp_path, "data:\n  benchmarks: [gsm8k, chmp]\n")
    assert "benchmarks[1]" in message and "'chmp'" in message and "'champ'" in message


def test_literal_choice(tmp_path):
    message = error_of(tmp_path, "model:\n  dtype: fp32\n")
    assert "model.dtype" in message and "'float32'" in message


def test_nested_task_rule(tmp_path):
    text = "data:\n  tasks:\n    p:\n      generator: products\n      rule: numerc\n"
    message = error_of(tmp_path, text)
    assert "data.tasks.p.rule" in message and "did you mean 'numeric'" in message


def test_missing_required_nested_key(tmp_path):
    assert "data.tasks.p.generator" in error_of(tmp_path, "data:\n  tasks:\n    p: {}\n")


def test_yaml_syntax_error_names_line(tmp_path):
    message = error_of(tmp_path, "seed: 1\ndata: [1,\n")
    assert "params.yaml" in message and "line" in message


def test_float_fields_accept_yaml_scientific_strings(tmp_path):
    # YAML 1.1 reads 1e-4 as a string; the loader must still give a float where one is typed.
    from dataclasses import dataclass

    from slm_math.config.loader import build, param

    @dataclass
    class Section:
        lr: float = param(1.0, help="learning rate", min=0)

    assert build(Section, {"lr": "1e-4"}).lr == pytest.approx(1e-4)
    with pytest.raises(ParamsError, match="lr"):
        build(Section, {"lr": "fast"})


def test_flatten_gives_dvc_key_paths():
    flat = flatten(load_params(ROOT / "params.yaml"))
    assert flat["data.train_size"] == load_params(ROOT / "params.yaml").data.train_size
    assert "model.base" in flat


def test_dynamic_sampling_and_refresh_need_the_correctness_reward(tmp_path):
    import yaml

    data = yaml.safe_load((ROOT / "params.yaml").read_text())
    del data["grpo"]["rewards"]["correctness"]
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ParamsError, match="dynamic_sampling.metric=correctness needs the correctness"):
        load_params(path)
    with pytest.raises(ParamsError, match="curriculum.refresh needs the correctness"):
        load_params(path, {"grpo": {"dynamic_sampling": {"metric": "reward"}}})
    with pytest.raises(ParamsError, match="verifier has no correctness reward"):
        load_params(ROOT / "params.yaml", {"grpo_verifier": {"dynamic_sampling": {
            "enabled": True, "metric": "correctness"}}})


GRPO_TASK = {"lcm_60": {"generator": "lcm", "size": 10, "config": {"max_value": 60}}}


@pytest.mark.parametrize("overrides, expected", [
    ({"data": {"grpo_tasks": GRPO_TASK}, "grpo": {"extra_tasks": ["lcm60"]}},
     "grpo.extra_tasks[0]: 'lcm60' is not a key of data.grpo_tasks (did you mean 'lcm_60'?)"),
    ({"grpo": {"extra_tasks": ["lcm_60"]}},
     "grpo.extra_tasks[0]: 'lcm_60' is not a key of data.grpo_tasks; declared: none"),
    ({"data": {"grpo_tasks": {"lcm": GRPO_TASK["lcm_60"]}}},
     "data: grpo_tasks.lcm: the name is already a benchmark"),
    ({"data": {"grpo_tasks": {"lcm_60": {**GRPO_TASK["lcm_60"], "size": 0}}}},
     "data.grpo_tasks.lcm_60.size: 0 is below the minimum 1"),
    ({"data": {"grpo_tasks": GRPO_TASK},
      "grpo": {"extra_tasks": ["lcm_60"], "curriculum": {"refresh": False}}},
     "grpo: extra_tasks: ['lcm_60'] join the live pool unmeasured; set curriculum.refresh: true"),
    ({"data": {"grpo_tasks": GRPO_TASK}, "grpo_verifier": {"extra_tasks": ["lcm_60"]}},
     "grpo_verifier: extra_tasks: ['lcm_60']: the verifier has no live pool"),
])
def test_bad_grpo_extra_pool_names_field_and_value(overrides, expected):
    with pytest.raises(ParamsError) as info:
        load_params(ROOT / "params.yaml", overrides)
    assert expected in str(info.value) and "\n" not in str(info.value)


def test_grpo_extra_pool_is_off_by_default_and_declared_tasks_load():
    assert load_params(ROOT / "params.yaml").grpo.extra_tasks == []
    params = load_params(ROOT / "params.yaml", {"data": {"grpo_tasks": GRPO_TASK},
                                                "grpo": {"extra_tasks": ["lcm_60"]}})
    assert params.data.grpo_tasks["lcm_60"].config == {"max_value": 60}
