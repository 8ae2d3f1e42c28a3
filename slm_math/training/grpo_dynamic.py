"""Dynamic sampling (DAPO), the live curriculum and the held-out guard inside TRL's GRPOTrainer.

:class:`DynamicGRPOMixin` is mixed into the project's ``GRPOTrainer`` subclass
(``grpo._trainer_class``); it changes nothing unless the run gives it a pool, a dynamic
sampling config or a held-out guard. It hooks TRL where TRL allows it, and keeps TRL's
generation, rewards, advantages and loss:

- ``_get_train_sampler``: the live pool's sampler (``grpo_pool.PoolSampler``) instead of
  ``RepeatSampler`` when the curriculum refreshes.
- ``_calculate_rewards``: keeps the last per-function rewards (all processes' completions),
  so the groups' verdicts refresh the pool and decide which groups carry no signal.
- ``_generate_and_score_completions``: after TRL has generated and scored a generation
  batch, groups whose ``metric`` (correctness, or the weighted reward) is equal over all K
  completions are replaced by informative groups of fresh prompts drawn from the pool, in at
  most ``max_extra_batches`` more rounds of TRL's own generate-and-score, each of
  ``ceil(missing x oversample)`` prompts, divided by the step's share of informative groups
  so far when ``scale_by_yield`` (surplus informative groups are dropped, as in verl's
  ``filter_groups``). Groups still missing when the cap is reached stay in the batch
  with their completion mask zeroed: they add neither gradient nor tokens to the loss's
  normalizer (exactly a smaller batch for the token-normalized losses dapo, bnpo and cispo;
  for grpo and dr_grpo they count as empty rows in the mean, as TRL's own zero-advantage
  rows do). Each round's advantages come from TRL, group by group.
- ``log``: the held-out checks' greedy accuracy (the guard's benchmark and the training
  tasks' test problems) joins the step's logs every N steps, so DVCLive, MLflow and
  ``log_history`` (metrics/grpo.json) carry it beside the reward.
- ``_calculate_rewards`` also feeds the format guard (``format_guard.FormatGuard``), which
  restores the format reward's weight once the sampled completions' format drifts.
- ``_save_rng_state`` / ``_load_rng_state``: the pool's and the format guard's state travel
  with each checkpoint.

The task mix is logged on every run with a ``correctness`` reward, static ones too, since
a curriculum can move GRPO's updates from one task to another: ``mix/<task>/drawn`` (groups
of the step's first round) and ``mix/<task>/trained`` (groups with a gradient in the loss:
the informative ones; as drawn, those whose correctness varies).

Logged per step (TRL's ``reward``, ``reward_std``, ``frac_reward_zero_std`` and
``rewards/*`` stay those of the step's first generation, the prompts the sampler drew, so
they compare with a run without dynamic sampling): ``dynamic/zero_std_before`` (share of
zero-variance groups on the chosen metric before filtering), ``dynamic/zero_std_trained``
(share left in the batch, masked), ``dynamic/extra_batches``, ``dynamic/extra_prompts``,
``dynamic/extra_completions``, ``dynamic/prompts_tried``; ``curriculum/*`` (pool states,
pass-rate histogram); ``held_out/accuracy`` and ``held_out/correct`` (the guard),
``held_out/tasks_accuracy`` and ``held_out/tasks_correct`` (the training tasks);
``format/weight`` and ``format/rate`` (the format reward's weight, the well-formed share of
the guard's window) where a format guard watches.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from slm_math.config.params import DynamicSamplingParams

POOL_STATE_FILE = "grpo_pool.json"
FORMAT_STATE_FILE = "grpo_format_guard.json"
# batch fields TRL's loss reads: (padding side, pad value); None: one value per row
_PADDING = {"prompt_ids": ("left", "pad"), "prompt_mask": ("left", 0),
            "completion_ids": ("right", "pad"), "completion_mask": ("right", 0),
            "tool_mask": ("right", 1), "old_per_token_logps": ("right", 0.0),
            "ref_per_token_logps": ("right", 0.0), "sampling_per_token_logps": ("right", 0.0),
            "importance_sampling_ratio": ("right", 0.0), "advantages": None}
#: scale_by_yield never assumes fewer informative groups than this share, and never draws
#: more than this many times a step's prompts in one round
MIN_YIELD = 0.125
MAX_ROUND_FACTOR = 4
# TRL metrics of one generate-and-score call that describe its rewards
_REWARD_METRICS = ("reward", "reward_std", "frac_reward_zero_std")


def task_of(row: dict) -> str:
    """A dataset row's task: its ``source`` column, else its problem id up to the first
    ``/`` (``products/train/3`` -> ``products``), else ``unknown``."""
    source = row.get("source")
    if source:
        return str(source)
    problem_id = row.get("problem_id")
    return str(problem_id).split("/", 1)[0] if problem_id else "unknown"


def zero_variance_groups(values, k: int) -> list[bool]:
    """Per group of ``k`` consecutive values: True when the scored ones are all equal
    (unscorable NaN rows ignored; a group with none scored counts as zero-variance)."""
    import torch

    out = []
    for group in values.view(-1, k):
        scored = group[~torch.isnan(group)]
        out.append(scored.numel() == 0 or bool((scored.max() - scored.min()).abs() <= 1e-6))
    return out


def merge_groups(batches: list[dict], picks: list[tuple[int, int]], k: int,
                 pad_token_id: int) -> dict:
    """One batch whose group ``s`` is group ``picks[s][1]`` of ``batches[picks[s][0]]``.

    Token tensors of different widths are padded the way TRL pads them (prompts on the
    left, completions on the right); ``num_items_in_batch`` is left to the caller.
    """
    import torch

    rows: list[tuple[int, int]] = [(b, g * k + j) for b, g in picks for j in range(k)]
    merged = {}
    for key in batches[0]:
        if key == "num_items_in_batch":
            continue
        if key not in _PADDING or any(key not in batch for batch in batches):
            raise ValueError(f"dynamic sampling cannot merge the batch field {key!r} (multimodal "
                             "or tool inputs are not supported); set dynamic_sampling.enabled: false")
        parts = [batch[key] for batch in batches]
        spec = _PADDING[key]
        if spec is not None and parts[0].dim() == 2:
            side, value = spec
            value = pad_token_id if value == "pad" else value
            width = max(p.size(1) for p in parts)
            padded = []
            for p in parts:
                extra = p.new_full((p.size(0), width - p.size(1)), value)
                padded.append(torch.cat([extra, p] if side == "left" else [p, extra], dim=1))
            parts = padded
        offsets = [0]
        for p in parts[:-1]:
            offsets.append(offsets[-1] + p.size(0))
        index = torch.tensor([offsets[b] + r for b, r in rows], device=parts[0].device)
        merged[key] = torch.cat(parts, dim=0).index_select(0, index)
    return merged


def extra_round_size(missing: int, cfg: DynamicSamplingParams, informative_share: float,
                     groups: int) -> int:
    """Prompts an extra round samples on each process: ``missing x oversample``, divided by
    the informative share so far (floored at ``MIN_YIELD``) when ``cfg.scale_by_yield``, and
    then at most ``MAX_ROUND_FACTOR`` times the step's ``groups`` (its memory stays near a
    step's)."""
    size = missing * cfg.oversample
    if cfg.scale_by_yield:
        size = min(size / max(informative_share, MIN_YIELD), MAX_ROUND_FACTOR * groups)
    return math.ceil(size - 1e-9)


class DynamicGRPOMixin:
    """Dynamic sampling, the live pool and the held-out guard (see the module docstring)."""

    pool = None                  # grpo_pool.ProblemPool
    dynamic: DynamicSamplingParams | None = None
    held_out_guard = None        # grpo_sampling.HeldOutGuard
    format_guard = None          # format_guard.FormatGuard
    _last_rewards = None
    _tasks: list[str] | None = None  # the dataset's tasks (task_of), for the mix/ logs

    # ---------------------------------------------------------------- TRL hooks
    def _get_train_sampler(self, dataset=None):
        if self.pool is None or not self.pool.refresh:
            return super()._get_train_sampler(dataset)
        from slm_math.training.grpo_pool import PoolSampler

        return PoolSampler(self.pool, mini_repeat_count=self.num_generations,
                           batch_size=self.args.generation_batch_size // self.num_generations,
                           repeat_count=self.num_iterations * self.args.steps_per_generation)

    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        rewards = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
        self._last_rewards = rewards
        if self.format_guard is not None and self.model.training:
            self._watch_format(rewards)
        return rewards

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        guard = self.held_out_guard
        step = self.state.global_step
        if guard is not None and self.model.training and guard.due(step, self.state.max_steps):
            engine = getattr(self, "lora_engine", None)
            if engine is not None:
                engine.sync(self.accelerator.unwrap_model(self.model), step)
            logs.update(guard(self.model, step))
        if self.format_guard is not None and self.model.training:
            logs["format/weight"] = float(self.reward_weights[self._reward_index("format")])
            if self.format_guard.rate is not None:
                logs["format/rate"] = round(self.format_guard.rate, 4)
        super().log(logs, start_time)

    def _save_rng_state(self, output_dir):
        super()._save_rng_state(output_dir)
        if self.pool is not None and self.args.should_save:
            path = Path(output_dir) / POOL_STATE_FILE
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.pool.state_dict()))
            tmp.replace(path)
        if self.format_guard is not None and self.args.should_save:
            path = Path(output_dir) / FORMAT_STATE_FILE
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.format_guard.state_dict()))
            tmp.replace(path)

    def _load_rng_state(self, checkpoint):
        super()._load_rng_state(checkpoint)
        path = Path(checkpoint) / POOL_STATE_FILE if checkpoint else None
        if self.pool is not None and path is not None and path.is_file():
            self.pool.load_state_dict(json.loads(path.read_text()))
        path = Path(checkpoint) / FORMAT_STATE_FILE if checkpoint else None
        if self.format_guard is not None and path is not None and path.is_file():
            self.format_guard.load_state_dict(json.loads(path.read_text()))
            if self.format_guard.restored:
                self.reward_weights[self._reward_index("format")] = self.format_guard.weight

    def _generate_and_score_completions(self, inputs):
        if not self.model.training:
            return super()._generate_and_score_completions(inputs)
        if self.pool is None and self.dynamic is None:
            batch = super()._generate_and_score_completions(inputs)
            self._log_first_round_mix(inputs)
            return batch
        if self.pool is not None:
            self.pool.step = self.state.global_step
        metrics = self._metrics["train"]
        before = {key: len(values) for key, values in metrics.items()}
        batch = super()._generate_and_score_completions(inputs)
        self._refresh_pool(inputs)
        if self.dynamic is not None and self.dynamic.enabled:
            batch = self._replace_zero_variance_groups(inputs, batch, before)
        else:
            self._log_first_round_mix(inputs)
        if self.pool is not None:
            for key, value in self.pool.metrics().items():
                metrics[key].append(value)
        return batch

    # ---------------------------------------------------------------- helpers
    def _reward_index(self, name: str) -> int:
        if name not in self.reward_func_names:
            raise ValueError(f"dynamic sampling / curriculum refresh need the {name!r} reward; "
                             f"this run has {self.reward_func_names}")
        return self.reward_func_names.index(name)

    def _watch_format(self, rewards) -> None:
        """Feeds the format guard this round's completions (the format reward pays more than
        0 for a well-formed one; NaN: not scored) and restores the weight when it says so."""
        import torch

        index = self._reward_index("format")
        column = rewards[:, index]
        formatted = (column[~torch.isnan(column)] > 0).tolist()
        if self.format_guard.observe(formatted, self.state.global_step + 1):
            self.reward_weights[index] = self.format_guard.weight

    def _metric_values(self):
        """The chosen metric per completion of the last scored batch (every process's)."""
        import torch

        rewards = self._last_rewards
        if self.dynamic.metric == "correctness":
            return rewards[:, self._reward_index("correctness")]
        weighted = rewards * self.reward_weights.to(rewards.device).unsqueeze(0)
        total = weighted.nansum(dim=1)
        total[torch.isnan(rewards).all(dim=1)] = float("nan")
        return total

    def _group_tasks(self, rows) -> list[str]:
        """The task of each group of ``rows`` on every process (in the rewards' order)."""
        from accelerate.utils import gather_object

        return gather_object([task_of(row) for row in rows[::self.num_generations]])

    def _log_first_round_mix(self, inputs) -> None:
        """The task mix of a batch trained as drawn: a group has a gradient when its
        correctness varies (runs without a correctness reward log no mix)."""
        if "correctness" not in self.reward_func_names:
            return
        zero = zero_variance_groups(self._last_rewards[:, self._reward_index("correctness")],
                                    self.num_generations)
        drawn = self._group_tasks(inputs)
        self._log_task_mix(drawn, [t for t, z in zip(drawn, zero, strict=True) if not z])

    def _log_task_mix(self, drawn: list[str], trained: list[str]) -> None:
        """Per task: ``mix/<task>/drawn`` (groups of the step's first round, what the
        sampler chose) and ``mix/<task>/trained`` (groups with a gradient in the loss); every
        task of the dataset each step, so the curves have no holes."""
        if self._tasks is None:  # the two columns task_of reads, not whole rows with their prompts
            data = self.train_dataset
            data = data.select_columns([c for c in ("source", "problem_id") if c in data.column_names])
            self._tasks = sorted({task_of(row) for row in data})
        metrics = self._metrics["train"]
        for task in self._tasks:
            metrics[f"mix/{task}/drawn"].append(float(drawn.count(task)))
            metrics[f"mix/{task}/trained"].append(float(trained.count(task)))

    def _refresh_pool(self, inputs) -> None:
        """Feed the pool each group's correctness verdicts (a no-op without refresh)."""
        if self.pool is None or not self.pool.refresh:
            return
        from accelerate.utils import gather_object

        k = self.num_generations
        column = self._last_rewards[:, self._reward_index("correctness")]
        correct = getattr(self.reward_funcs[self._reward_index("correctness")], "correct_value", 1.0)
        ids = gather_object([row.get("problem_id") for row in inputs[::k]])
        for problem_id, group in zip(ids, column.view(-1, k).tolist(), strict=True):
            verdicts = [math.isclose(v, correct) for v in group if not math.isnan(v)]
            self.pool.record(problem_id, verdicts)

    def _replace_zero_variance_groups(self, inputs, batch: dict, before: dict) -> dict:
        from accelerate.utils import gather_object

        cfg, k = self.dynamic, self.num_generations
        process, processes = self.accelerator.process_index, self.accelerator.num_processes
        if len(inputs) % k:
            raise ValueError(f"dynamic sampling needs whole groups on each process: {len(inputs)} "
                             f"rows are not a multiple of num_generations ({k})")
        groups = len(inputs) // k
        zero = zero_variance_groups(self._metric_values(), k)
        zero_before = sum(zero) / len(zero)
        slots = [g for g in range(groups) if zero[process * groups + g]]
        picks = [(0, g) for g in range(groups)]
        batches, batch_rows = [batch], [inputs]  # each generation batch and its rows
        rounds = extra_prompts = 0
        tried, informative = len(zero), len(zero) - sum(zero)
        while rounds < cfg.max_extra_batches:
            need = max(gather_object([len(slots)]))
            if need == 0:
                break
            per_process = extra_round_size(need, cfg, informative / tried, groups)
            drawn = self._fresh_prompts(per_process * processes)
            mine = drawn[process * per_process:(process + 1) * per_process]
            rows = [self.train_dataset[i] for i in mine for _ in range(k)]
            extra = super()._generate_and_score_completions(rows)
            rounds += 1
            extra_prompts += len(drawn)
            self._refresh_pool(rows)
            extra_zero = zero_variance_groups(self._metric_values(), k)
            tried += len(extra_zero)
            informative += len(extra_zero) - sum(extra_zero)
            batches.append(extra)
            batch_rows.append(rows)
            for g in range(per_process):
                if slots and not extra_zero[process * per_process + g]:
                    picks[slots.pop(0)] = (len(batches) - 1, g)
        merged = merge_groups(batches, picks, k, self._tokenizer.pad_token_id)
        kept = [task_of(batch_rows[b][g * k]) for s, (b, g) in enumerate(picks) if s not in slots]
        self._log_task_mix(self._group_tasks(inputs), gather_object(kept))
        for slot in slots:  # still zero-variance: out of the loss and its normalizer
            merged["completion_mask"][slot * k:(slot + 1) * k] = 0
        loss_mask = merged["completion_mask"]
        if "tool_mask" in merged:
            loss_mask = loss_mask * merged["tool_mask"]
        merged["num_items_in_batch"] = self.accelerator.gather(loss_mask.sum()).sum()
        masked = sum(gather_object([len(slots)]))
        self._keep_first_round_reward_metrics(before)
        metrics = self._metrics["train"]
        for key, value in {"zero_std_before": zero_before,
                           "zero_std_trained": masked / (groups * processes),
                           "extra_batches": rounds, "extra_prompts": extra_prompts,
                           "extra_completions": extra_prompts * k,
                           "prompts_tried": groups * processes + extra_prompts}.items():
            metrics[f"dynamic/{key}"].append(float(value))
        return merged

    def _fresh_prompts(self, n: int) -> list[int]:
        """``n`` dataset rows for an extra round: from the pool (same draw on every process)."""
        return self.pool.draw(n)

    def _keep_first_round_reward_metrics(self, before: dict) -> None:
        """TRL appended one reward entry per round; keep the first round's."""
        metrics = self._metrics["train"]
        for key in list(metrics):
            if key in _REWARD_METRICS or key.startswith("rewards/"):
                del metrics[key][before.get(key, 0) + 1:]


def dynamic_summary(cfg: DynamicSamplingParams, curves: dict, completions_per_step: int) -> dict:
    """metrics/grpo.json's dynamic sampling block: settings, zero-variance shares over the run
    (before filtering and in what the loss saw) and the extra generation it cost."""
    def mean(name: str) -> float | None:
        values = [v for v in curves.get(name, []) if v is not None]
        return round(sum(values) / len(values), 4) if values else None

    out: dict[str, Any] = {"enabled": cfg.enabled, "metric": cfg.metric,
                           "max_extra_batches": cfg.max_extra_batches, "oversample": cfg.oversample,
                           "scale_by_yield": cfg.scale_by_yield,
                           "frac_reward_zero_std_mean": mean("frac_reward_zero_std")}
    if not cfg.enabled:
        return out
    steps = len(curves.get("step", []))
    extra = sum(v for v in curves.get("dynamic/extra_completions", []) if v is not None)
    out.update({
        "zero_std_before_mean": mean("dynamic/zero_std_before"),
        "zero_std_trained_mean": mean("dynamic/zero_std_trained"),
        "extra_batches_mean": mean("dynamic/extra_batches"),
        "extra_completions": int(extra),
        "extra_generation_share": round(extra / (steps * completions_per_step), 4) if steps else None,
    })
    return out


def task_mix_summary(curves: dict) -> dict:
    """metrics/grpo.json's task mix from the ``mix/`` curves: per task, the groups drawn and
    trained over the run and its share of the trained groups in each half of the run (a
    curriculum that drifts to other tasks shows here); empty without the curves."""
    tasks = sorted(key.split("/")[1] for key in curves
                   if key.startswith("mix/") and key.endswith("/trained"))
    if not tasks:
        return {}

    def values(name: str) -> list[float]:
        return [v or 0.0 for v in curves.get(name, [])]

    trained = {task: values(f"mix/{task}/trained") for task in tasks}
    steps = len(next(iter(trained.values())))
    halves = [(0, steps // 2), (steps // 2, steps)] if steps > 1 else [(0, steps)]
    totals = [sum(sum(v[a:b]) for v in trained.values()) for a, b in halves]
    return {task: {"drawn": round(sum(values(f"mix/{task}/drawn")), 2),
                   "trained": round(sum(trained[task]), 2),
                   "trained_share_by_half": [round(sum(trained[task][a:b]) / total, 4) if total else None
                                             for (a, b), total in zip(halves, totals, strict=True)]}
            for task in tasks}

