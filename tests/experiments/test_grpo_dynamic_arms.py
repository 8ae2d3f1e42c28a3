"""experiments/grpo_dynamic.py's arms: ``kind[@seed][/variant]`` names and ``--arm-set``."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.experiments.test_grpo_dynamic_partial import ROOT, script  # noqa: F401 (fixture)

# the GPU profile's GRPO-only extra task, which the dynamic arm keeps and the static arm drops
GPU = {"data": {"grpo_tasks": {"lcm_60": {"generator": "lcm", "size": 10,
                                          "config": {"min_value": 2, "max_value": 60}}}},
       "grpo": {"extra_tasks": ["lcm_60"], "curriculum": {"mode": "pass_rate"}}}
ARMS = "static@1,dynamic@1/noextra,dynamic@1/lowlr"
ARM_SETS = ["--arm-set", "dynamic@1/noextra", "grpo.extra_tasks=[]",
            "--arm-set", "dynamic@1/lowlr", "grpo.extra_tasks=[]", "grpo.learning_rate=1.0e-4"]


@pytest.mark.parametrize("name, parsed", [
    ("static", ("static", None, None)),
    ("dynamic@2", ("dynamic", 2, None)),
    ("dynamic/lowlr", ("dynamic", None, "lowlr")),
    ("dynamic@1/no-extra_2", ("dynamic", 1, "no-extra_2")),
])
def test_an_arm_name_gives_its_kind_seed_and_variant(script, name, parsed):  # noqa: F811
    assert script.parse_arm(name) == parsed


@pytest.mark.parametrize("name, message", [
    ("greedy@1", "unknown arm kind 'greedy'"),
    ("dynamic@x", "the seed after @ must be a whole number"),
    ("dynamic@", "the seed after @ must be a whole number"),
    ("dynamic@1/", "the variant after / must be letters"),
    ("dynamic@1/low lr", "the variant after / must be letters"),
    ("dynamic@1/a/b", "the variant after / must be letters"),
    ("dynamic/lowlr@1", "the variant after / must be letters"),
])
def test_a_bad_arm_name_stops_with_what_is_wrong(script, name, message):  # noqa: F811
    with pytest.raises(SystemExit, match=message) as err:
        script.arm_list(f"static@1,{name}")
    assert repr(name) in str(err.value) and "kind[@seed][/variant]" in str(err.value)


def test_a_variant_has_its_own_folder_beside_the_plain_arm(script, tmp_path):  # noqa: F811
    plain, variant = script.arm_dir(tmp_path, "dynamic@1"), script.arm_dir(tmp_path, "dynamic@1/lowlr")
    assert plain == tmp_path / "dynamic@1" and variant == tmp_path / "dynamic@1+lowlr"


def test_arm_set_changes_that_arm_only_over_its_kind_and_seed(script):  # noqa: F811
    from slm_math.config import load_params, merge_overrides

    args = script.build_parser().parse_args(["--arms", ARMS + ",dynamic@1/label", *ARM_SETS])
    arms = script.arm_list(args.arms)
    sets = script.parse_arm_sets(args.arm_set, arms)
    assert set(sets) == {"dynamic@1/noextra", "dynamic@1/lowlr"}

    def params(arm):
        return load_params(ROOT / "params.yaml", merge_overrides(GPU, script.arm_overrides(arm, sets.get(arm)))).grpo

    default_lr = load_params(ROOT / "params.yaml", GPU).grpo.learning_rate
    assert default_lr != 1.0e-4
    static, noextra, lowlr, label = (params(a) for a in arms)
    assert (static.extra_tasks, static.learning_rate, static.dynamic_sampling.enabled) == ([], default_lr, False)
    assert (noextra.extra_tasks, noextra.learning_rate, noextra.seed) == ([], default_lr, 1)
    assert noextra.dynamic_sampling.enabled and noextra.curriculum.refresh  # still the dynamic kind
    assert (lowlr.extra_tasks, lowlr.learning_rate, lowlr.seed) == ([], 1.0e-4, 1)
    assert (label.extra_tasks, label.learning_rate, label.seed) == (["lcm_60"], default_lr, 1)  # a label only
    # what each arm changed, as the results record it
    assert script.arm_overrides("dynamic@1/lowlr", sets["dynamic@1/lowlr"]) == {"grpo": {
        "curriculum": {"refresh": True}, "dynamic_sampling": {"enabled": True}, "seed": 1,
        "extra_tasks": [], "learning_rate": 1.0e-4}}


def test_arm_set_wins_over_the_seed_and_repeats_merge(script):  # noqa: F811
    sets = script.parse_arm_sets([["dynamic@1", "grpo.seed=5", "grpo.beta=0.1"],
                                  ["dynamic@1", "grpo.beta=0"]], ["dynamic@1"])
    grpo = script.arm_overrides("dynamic@1", sets["dynamic@1"])["grpo"]
    assert (grpo["seed"], grpo["beta"], grpo["dynamic_sampling"]) == (5, 0, {"enabled": True})


def test_arm_set_rejects_an_arm_not_in_arms_and_a_missing_value(script):  # noqa: F811
    with pytest.raises(SystemExit, match=r"--arm-set 'dynamic@2': not one of --arms \(static@1, dynamic@1\)"):
        script.parse_arm_sets([["dynamic@2", "grpo.beta=0"]], ["static@1", "dynamic@1"])
    with pytest.raises(SystemExit, match="expected KEY=VALUE after the arm"):
        script.parse_arm_sets([["dynamic@1"]], ["dynamic@1"])
    with pytest.raises(SystemExit, match="--arm-set dynamic@1 'grpo.beta': expected KEY=VALUE"):
        script.parse_arm_sets([["dynamic@1", "grpo.beta"]], ["dynamic@1"])


def test_the_command_stops_on_a_bad_arm_set_before_any_arm_trains(tmp_path):
    def command(*arm_set):
        return subprocess.run([sys.executable, "experiments/grpo_dynamic.py", "--work", str(tmp_path / "work"),
                               "--arms", "static@1,dynamic@1/x", "--arm-set", *arm_set],
                              cwd=ROOT, capture_output=True, text=True, timeout=120)

    done = command("dynamic@2", "grpo.beta=0")
    assert done.returncode != 0 and "--arm-set 'dynamic@2': not one of --arms" in done.stderr
    assert not (tmp_path / "work").exists()
    done = command("dynamic@1/x", "grpo.learnin_rate=1.0e-4")  # each arm's params checked up front
    assert done.returncode != 0 and "dynamic@1/x: " in done.stderr and "unknown key grpo.learnin_rate" in done.stderr
    assert not any((tmp_path / "work").iterdir())


def test_seeds_are_summarized_per_kind_and_variant(script):  # noqa: F811
    def row(delta):
        return {"vs_start": {"delta": delta, "p": 0.01}}

    spread = script.seed_spread({"dynamic@1": row(0.02), "dynamic@2": row(0.04),
                                 "dynamic@1/lowlr": row(-0.01), "dynamic@2/lowlr": row(-0.03),
                                 "static@1": row(0.01)})
    assert set(spread) == {"dynamic", "dynamic/lowlr"}
    assert spread["dynamic"]["delta_mean"] == 0.03 and spread["dynamic/lowlr"]["delta_mean"] == -0.02
    assert spread["dynamic/lowlr"]["significant_gains"] == 0
