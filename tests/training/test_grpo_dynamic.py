"""Dynamic sampling and the live curriculum inside TRL's GRPOTrainer, on a tiny model.

The rewards are chosen so that a group's variance is known in advance: a "constant" prompt
scores the same on all K completions (no gradient), a "mixed" prompt alternates 0 and 1
within its group. What the loss saw is read from the batches TRL hands ``_compute_loss``.
"""

from __future__ import annotations

import pytest

from slm_math.config.params import CurriculumParams, DynamicSamplingParams
from slm_math.training.grpo import build_grpo_trainer, train_grpo
from slm_math.training.grpo_dynamic import (MAX_ROUND_FACTOR, MIN_YIELD, extra_round_size,
                                            merge_groups, task_mix_summary, task_of,
                                            zero_variance_groups)
from slm_math.training.grpo_pool import PoolSampler, ProblemPool
from slm_math.training.model_loading import load_causal_lm, load_tokenizer
from tests.training.helpers import quick_grpo
from tests.training.test_grpo_train import Interrupt

K = 4


def kind_reward(completions, kind, **kwargs):
    """1 for a 'solved' prompt, 0 for an 'unsolved' one, 0/1 alternating for a 'mixed' one."""
    return [1.0 if k == "solved" else 0.0 if k == "unsolved" else float(i % 2)
            for i, k in enumerate(kind)]


kind_reward.__name__ = "correctness"


def rows(kinds: list[str]) -> list[dict]:
    return [{"prompt": [{"role": "user", "content": f"Problem number {i}"}], "kind": kind,
             "problem_id": f"q{i}"} for i, kind in enumerate(kinds)]


class LossInputs:
    """Wraps a trainer's ``_compute_loss`` to keep every batch the loss saw."""

    def __init__(self, trainer):
        self.batches, inner = [], trainer._compute_loss

        def spy(model, inputs):
            self.batches.append({k: v for k, v in inputs.items()})
            return inner(model, inputs)

        trainer._compute_loss = spy

    def prompts(self, tokenizer) -> list[tuple[int, bool]]:
        """(problem number, trained?) for each row the loss saw."""
        out = []
        for batch in self.batches:
            texts = tokenizer.batch_decode(batch["prompt_ids"], skip_special_tokens=True)
            for text, mask in zip(texts, batch["completion_mask"]):
                out.append((int(text.split("Problem number ")[1].split()[0]), bool(mask.sum())))
        return out


def _trainer(model_dir, tmp_path, train_rows, cfg, pool=None, backend="trl"):
    tokenizer = load_tokenizer(model_dir)
    trainer, plan, precision, backend = build_grpo_trainer(
        model=load_causal_lm(model_dir, "fp32"), tokenizer=tokenizer, train_rows=train_rows,
        cfg=cfg, reward_funcs=[kind_reward], reward_weights=[1.0],
        checkpoint_dir=tmp_path / "ckpt", seed=0, backend=backend, pool=pool)
    return trainer, tokenizer, plan, precision, backend


def _train(trainer, tokenizer, plan, precision, backend, cfg, tmp_path):
    return train_grpo(trainer=trainer, tokenizer=tokenizer, cfg=cfg, output_dir=tmp_path / "out",
                      checkpoint_dir=tmp_path / "ckpt", fingerprint="fp", plan=plan,
                      precision=precision, backend=backend)


# the GPU profile's combination too: LoRA, sampled by the static decoder (eager on CPU)
@pytest.mark.parametrize("backend,mode", [("trl", "full"), ("cuda_graph", "lora")])
def test_groups_of_equal_rewards_are_dropped_and_refilled(tiny_model_dir, tmp_path, backend, mode):
    kinds = ["solved", "mixed", "unsolved", "mixed", "solved", "mixed", "unsolved", "mixed"]
    cfg = quick_grpo(max_steps=3, per_device_batch_size=4, save_steps=100, mode=mode,
                     dynamic_sampling=DynamicSamplingParams(enabled=True, metric="correctness",
                                                            max_extra_batches=8, oversample=2.0))
    trainer, tokenizer, *rest = _trainer(tiny_model_dir, tmp_path, rows(kinds), cfg, backend=backend)
    seen = LossInputs(trainer)
    result = _train(trainer, tokenizer, *rest, cfg, tmp_path)
    assert result.metrics["generation_backend"] == backend
    assert (trainer.last_decoder is not None) == (backend == "cuda_graph")

    trained = seen.prompts(tokenizer)
    assert len(trained) == 3 * 2 * K  # 3 steps x 2 prompts x K: the batch stays full
    assert all(on for _, on in trained)  # nothing masked: every slot was refilled
    assert {kinds[i] for i, _ in trained} == {"mixed"}  # only informative groups reach the loss
    for batch in seen.batches:
        live = batch["completion_mask"].sum(1) > 0
        assert (batch["advantages"][live] != 0).all()
    curves = result.metrics["curves"]
    assert curves["dynamic/zero_std_trained"] == [0.0, 0.0, 0.0]
    assert curves["dynamic/zero_std_before"] == curves["frac_reward_zero_std"]  # one reward
    assert sum(curves["dynamic/zero_std_before"]) > 0  # the sampler did draw dead groups
    assert sum(curves["dynamic/extra_prompts"]) > 0
    assert curves["dynamic/extra_completions"] == [K * n for n in curves["dynamic/extra_prompts"]]
    tried = [2 + n for n in curves["dynamic/extra_prompts"]]
    assert curves["dynamic/prompts_tried"] == tried


def task_rows(kinds: list[str]) -> list[dict]:
    """rows() whose task (the problem id's first part) is the prompt's kind."""
    return [{**row, "problem_id": f"{kind}/train/{i}"} for i, (row, kind) in enumerate(zip(rows(kinds), kinds))]


@pytest.mark.parametrize("dynamic", [True, False])
def test_the_task_mix_counts_the_groups_drawn_and_trained_by_task(tiny_model_dir, tmp_path, dynamic):
    kinds = ["solved", "mixed", "unsolved", "mixed", "solved", "mixed", "unsolved", "mixed"]
    cfg = quick_grpo(max_steps=3, per_device_batch_size=4, save_steps=100,
                     dynamic_sampling=DynamicSamplingParams(enabled=dynamic, max_extra_batches=8,
                                                            oversample=2.0))
    trainer, tokenizer, *rest = _trainer(tiny_model_dir, tmp_path, task_rows(kinds), cfg)
    seen = LossInputs(trainer)
    result = _train(trainer, tokenizer, *rest, cfg, tmp_path)
    curves = result.metrics["curves"]
    assert {k for k in curves if k.startswith("mix/")} == {
        f"mix/{task}/{what}" for task in ("mixed", "solved", "unsolved") for what in ("drawn", "trained")}
    per_step = [sum(curves[f"mix/{t}/drawn"][s] for t in ("mixed", "solved", "unsolved")) for s in range(3)]
    assert per_step == [2.0, 2.0, 2.0]  # the first round's groups, whatever their kind
    assert curves["mix/solved/trained"] == curves["mix/unsolved/trained"] == [0.0] * 3
    # what the loss trained with a gradient: mixed groups only, as many as its live rows with
    # an advantage (a mixed group's K rows all have one: 0/1 alternate)
    live = [sum(int(mask.sum() > 0 and adv != 0) for mask, adv in
                zip(batch["completion_mask"], batch["advantages"])) / K for batch in seen.batches]
    per = len(live) // 3  # the loss's micro-batches a step
    assert curves["mix/mixed/trained"] == [sum(live[s * per:(s + 1) * per]) for s in range(3)]
    if dynamic:  # every slot refilled with a mixed group
        assert curves["mix/mixed/trained"] == [2.0] * 3
    else:  # as drawn: the mixed groups drawn are the trained ones
        assert curves["mix/mixed/trained"] == curves["mix/mixed/drawn"]
        assert sum(curves["mix/solved/drawn"]) + sum(curves["mix/unsolved/drawn"]) > 0
    mix = result.metrics.get("task_mix") or task_mix_summary(curves)
    assert mix["mixed"]["trained"] == sum(curves["mix/mixed/trained"])
    assert set(mix["solved"]["trained_share_by_half"]) <= {0.0, None}  # None: nothing trained
    assert set(mix["mixed"]["trained_share_by_half"]) <= {1.0, None}


def test_task_of_and_the_task_mix_summary():
    assert task_of({"problem_id": "products/train/3"}) == "products"
    assert task_of({"source": "lcm", "problem_id": "x/train/1"}) == "lcm"
    assert task_of({"prompt": "no id"}) == "unknown"
    curves = {"step": [1, 2, 3, 4], "mix/a/drawn": [2.0, 2.0, 1.0, 0.0], "mix/a/trained": [2.0, 1.0, 1.0, 0.0],
              "mix/b/drawn": [0.0, 0.0, 1.0, 2.0], "mix/b/trained": [0.0, None, 1.0, 1.0], "reward": [0.0] * 4}
    mix = task_mix_summary(curves)
    assert mix == {"a": {"drawn": 5.0, "trained": 4.0, "trained_share_by_half": [1.0, 0.3333]},
                   "b": {"drawn": 3.0, "trained": 2.0, "trained_share_by_half": [0.0, 0.6667]}}
    assert task_mix_summary({"step": [1], "reward": [0.5]}) == {}


def test_groups_still_dead_at_the_cap_are_masked_out_of_the_loss(tiny_model_dir, tmp_path):
    cfg = quick_grpo(max_steps=1, per_device_batch_size=8, save_steps=100,
                     dynamic_sampling=DynamicSamplingParams(enabled=True, max_extra_batches=2))
    trainer, tokenizer, *rest = _trainer(tiny_model_dir, tmp_path, rows(["solved"] * 6), cfg)
    seen = LossInputs(trainer)
    result = _train(trainer, tokenizer, *rest, cfg, tmp_path)
    batch, = seen.batches
    assert batch["completion_mask"].sum() == 0 and batch["num_items_in_batch"] == 0
    curves = result.metrics["curves"]
    assert curves["dynamic/extra_batches"] == [2.0]  # it tried, up to the cap
    assert curves["dynamic/zero_std_trained"] == [1.0]
    assert curves["dynamic/extra_prompts"] == [4.0]  # 2 missing groups a round, 2 rounds


def test_extra_round_size_scales_by_the_informative_share():
    fixed = DynamicSamplingParams(enabled=True, oversample=2.0)
    scaled = DynamicSamplingParams(enabled=True, oversample=1.25, scale_by_yield=True)
    assert extra_round_size(9, fixed, 0.25, 16) == 18  # the share is ignored without scale_by_yield
    assert extra_round_size(9, scaled, 0.25, 16) == 45  # 9 x 1.25 / 0.25
    assert extra_round_size(9, scaled, 1.0, 16) == 12  # ceil(11.25)
    assert extra_round_size(4, scaled, 0.0, 16) == 4 * 1.25 / MIN_YIELD  # no informative group yet
    assert extra_round_size(16, scaled, 0.0, 16) == MAX_ROUND_FACTOR * 16  # 160 capped at 64
    assert extra_round_size(3, DynamicSamplingParams(oversample=1.0), 0.5, 16) == 3
    assert extra_round_size(0, scaled, 0.5, 16) == 0


def test_scaled_extra_round_follows_the_step_yield(tiny_model_dir, tmp_path):
    """One extra round: its prompts = ceil(missing x oversample / informative share of the
    first round), read back from the logged curves step by step."""
    kinds = ["solved", "mixed", "unsolved", "unsolved", "solved", "mixed", "unsolved", "solved"]
    cfg = quick_grpo(max_steps=3, prompts_per_step=4, per_device_batch_size=16, save_steps=100,
                     dynamic_sampling=DynamicSamplingParams(enabled=True, max_extra_batches=1,
                                                            oversample=1.25, scale_by_yield=True))
    trainer, tokenizer, *rest = _trainer(tiny_model_dir, tmp_path, rows(kinds), cfg)
    result = _train(trainer, tokenizer, *rest, cfg, tmp_path)
    curves = result.metrics["curves"]
    groups = cfg.prompts_per_step
    for zero, extra in zip(curves["dynamic/zero_std_before"], curves["dynamic/extra_prompts"],
                           strict=True):
        missing = round(zero * groups)
        expected = extra_round_size(missing, cfg.dynamic_sampling, (groups - missing) / groups, groups)
        assert extra == expected
    assert sum(curves["dynamic/extra_prompts"]) > sum(
        round(z * groups) * 1.25 for z in curves["dynamic/zero_std_before"])  # scaled up


def test_refreshed_pass_rates_move_the_pool_during_training(tiny_model_dir, tmp_path):
    kinds = ["solved", "unsolved", "mixed", "mixed", "solved", "mixed"]
    cfg = quick_grpo(max_steps=4, per_device_batch_size=8, save_steps=100,
                     curriculum=CurriculumParams(mode="none", refresh=True, retire_after=1,
                                                 cooldown_steps=100))
    pool = ProblemPool([r["problem_id"] for r in rows(kinds)], seed=0, retire_after=1,
                       cooldown_steps=100)
    trainer, tokenizer, *rest = _trainer(tiny_model_dir, tmp_path, rows(kinds), cfg, pool=pool)
    assert isinstance(trainer._get_train_sampler(), PoolSampler)
    seen = LossInputs(trainer)
    result = _train(trainer, tokenizer, *rest, cfg, tmp_path)

    states = {f"q{i}": r["state"] for i, r in enumerate(pool.records)}
    rates = {f"q{i}": r["rate"] for i, r in enumerate(pool.records)}
    for pid, kind in zip(states, kinds):
        if rates[pid] is not None:  # drawn at least once: its group refreshed it
            expected = {"solved": ("retired", 1.0), "unsolved": ("cooling", 0.0),
                        "mixed": ("active", 0.5)}[kind]
            assert (states[pid], rates[pid]) == expected
    assert pool.groups_seen == 4 * 2
    # a problem that left the pool is not drawn again: after its one group, never more
    trained = [i for i, _ in seen.prompts(tokenizer)]
    for i, kind in enumerate(kinds):
        if kind != "mixed":
            assert trained.count(i) in (0, K)
    curves = result.metrics["curves"]
    assert curves["curriculum/active"][-1] < len(kinds)
    assert curves["curriculum/pass_rate/50-75"] == [0.0] * 4  # mixed groups are exactly 0.5
    assert curves["curriculum/pass_rate/25-50"][-1] >= 1


def test_the_pool_state_travels_with_the_checkpoint(tiny_model_dir, tmp_path):
    import json

    kinds = ["solved", "mixed", "unsolved", "mixed"]
    cfg = quick_grpo(max_steps=4, per_device_batch_size=8, save_steps=2,
                     curriculum=CurriculumParams(mode="none", refresh=True, retire_after=1))

    def pool():
        return ProblemPool([r["problem_id"] for r in rows(kinds)], seed=0, retire_after=1)

    trainer, *rest = _trainer(tiny_model_dir, tmp_path, rows(kinds), cfg, pool=pool())
    trainer.add_callback(Interrupt(3))
    with pytest.raises(KeyboardInterrupt):
        _train(trainer, *rest, cfg, tmp_path)
    saved = json.loads((tmp_path / "ckpt" / "checkpoint-2" / "grpo_pool.json").read_text())
    assert saved["groups_seen"] == 2 * 2 and saved["step"] == 1  # recorded before step 2's update

    resumed_pool = pool()
    again, *rest = _trainer(tiny_model_dir, tmp_path, rows(kinds), cfg, pool=resumed_pool)
    result = _train(again, *rest, cfg, tmp_path)
    assert result.metrics["resumed_from_step"] == 2 and result.metrics["steps"] == 4
    assert resumed_pool.groups_seen == saved["groups_seen"] + 2 * 2  # continued, not restarted


def test_zero_variance_and_merge_helpers():
    import torch

    values = torch.tensor([1.0, 1.0, 0.0, 1.0, float("nan"), 2.0, 2.0, float("nan")])
    assert zero_variance_groups(values, 4) == [False, True]
    a = {"prompt_ids": torch.tensor([[5, 6], [5, 6]]), "prompt_mask": torch.ones(2, 2, dtype=torch.long),
         "completion_ids": torch.tensor([[1], [2]]), "completion_mask": torch.ones(2, 1, dtype=torch.long),
         "advantages": torch.tensor([0.0, 0.0]), "num_items_in_batch": torch.tensor(2)}
    b = {"prompt_ids": torch.tensor([[7, 8, 9], [7, 8, 9]]), "prompt_mask": torch.ones(2, 3, dtype=torch.long),
         "completion_ids": torch.tensor([[3, 4, 5], [6, 7, 8]]),
         "completion_mask": torch.ones(2, 3, dtype=torch.long),
         "advantages": torch.tensor([1.0, -1.0]), "num_items_in_batch": torch.tensor(6)}
    merged = merge_groups([a, b], [(1, 0)], 2, pad_token_id=0)
    assert merged["prompt_ids"].tolist() == [[7, 8, 9], [7, 8, 9]]
    merged = merge_groups([b, a], [(1, 0)], 2, pad_token_id=0)
    assert merged["prompt_ids"].tolist() == [[0, 5, 6], [0, 5, 6]]  # prompts padded on the left
    assert merged["prompt_mask"].tolist() == [[0, 1, 1], [0, 1, 1]]
    assert merged["completion_ids"].tolist() == [[1, 0, 0], [2, 0, 0]]  # completions on the right
    assert merged["completion_mask"].tolist() == [[1, 0, 0], [1, 0, 0]]
    assert "num_items_in_batch" not in merged
    with pytest.raises(ValueError, match="pixel_values"):
        merge_groups([{**a, "pixel_values": torch.zeros(2)}], [(0, 0)], 2, pad_token_id=0)


def test_the_console_line_names_the_zero_variance_metric_it_prints():
    from slm_math.training.grpo_stage import zero_variance_line

    dynamic = {"enabled": True, "metric": "correctness", "zero_std_before_mean": 0.75,
               "zero_std_trained_mean": 0.25, "frac_reward_zero_std_mean": 0.1}
    line = zero_variance_line({"frac_reward_zero_std_mean": 0.1, "dynamic_sampling": dynamic})
    assert line == "zero-variance groups on correctness 0.75 drawn, 0.25 trained"
    off = {"frac_reward_zero_std_mean": 0.1, "dynamic_sampling": {**dynamic, "enabled": False}}
    assert zero_variance_line(off) == "zero-variance groups on the weighted reward 0.1"
