"""A curriculum that follows the model: a live pool of training problems and its sampler.

A pass rate measured once on the start model goes stale as GRPO learns: the problems that
were in the band become always solved, and their groups stop giving a gradient (measured on
one H200: zero-variance groups rose from 37% to 81% of a LoRA run). The pool keeps every
problem's pass rate current from the groups the trainer samples anyway (K verdicts a group,
no extra generation), and moves each problem between three states:

- ``active``: drawn by the sampler;
- ``cooling``: its last group was all wrong; it is drawn again once ``cooldown_steps``
  optimizer steps have passed (the model may have learned what it lacked);
- ``retired``: its last ``retire_after`` groups were all right; it leaves the pool.

:class:`PoolSampler` replaces TRL's ``RepeatSampler`` with the same layout (each prompt
``K`` times in a row, each generation batch repeated for ``num_iterations x
steps_per_generation``) over prompts drawn from the pool when the batch is needed. Draws walk
seeded shuffles of the pool, skipping problems that are not active, and drawing reserve
problems (the GRPO-only extras, by default) only where too few others are active; when too
few are active in all, the cooling problems closest to their return come first, then retired
ones (counted as ``fallback_draws``), so training never stalls; the step of the first
fallback (``dry_step``: the pool ran dry) is kept and warned about once, since from then on
the run trains on the few problems still at the edge of what the model solves. The state is plain data
(:meth:`ProblemPool.state_dict`), saved with each checkpoint so a resumed run continues it.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator, Sequence
from typing import Any

log = logging.getLogger(__name__)

ACTIVE, COOLING, RETIRED = "active", "cooling", "retired"
# pass-rate histogram bins: never solved, four quarters of (0, 1), always solved
BINS = (("0", 0.0, 0.0), ("0-25", 0.0, 0.25), ("25-50", 0.25, 0.5), ("50-75", 0.5, 0.75),
        ("75-100", 0.75, 1.0), ("100", 1.0, 1.0))


def rate_bin(rate: float) -> str:
    """The histogram bin of a pass rate: '0', '0-25', '25-50', '50-75', '75-100' or '100'."""
    if rate <= 0.0:
        return "0"
    if rate >= 1.0:
        return "100"
    return next(name for name, low, high in BINS[1:-1] if low < rate <= high)


class ProblemPool:
    """The training problems (dataset rows, by index) with their current state and pass rate.

    problem_ids: one per dataset row, in dataset order.
    initial_rates: problem_id -> pass rate measured before training (the curriculum); a
        problem with a rate at or below ``min_rate`` starts cooling, at or above ``max_rate``
        retired, in between active; unmeasured problems start active.
    refresh: False keeps every problem active (the pool then only supplies fresh prompts).
    sources: one per row (the problem's benchmark or GRPO-only task): the summary then
        counts the states per source as well.
    reserve: one flag per row: reserve problems are drawn only when too few of the others
        are eligible (after them, before any fallback), so they extend a pool running dry
        without changing what it trains on while it does not.
    """

    def __init__(self, problem_ids: Sequence[str], *, seed: int, refresh: bool = True,
                 retire_after: int = 2, cooldown_steps: int = 20,
                 initial_rates: dict[str, float] | None = None, min_rate: float = 0.0,
                 max_rate: float = 1.0, sources: Sequence[str] | None = None,
                 reserve: Sequence[bool] | None = None):
        self.problem_ids = list(problem_ids)
        if sources is not None and len(sources) != len(self.problem_ids):
            raise ValueError(f"{len(sources)} sources for {len(self.problem_ids)} problems")
        if reserve is not None and len(reserve) != len(self.problem_ids):
            raise ValueError(f"{len(reserve)} reserve flags for {len(self.problem_ids)} problems")
        self.reserve = [False] * len(self.problem_ids) if reserve is None else list(reserve)
        self.sources = None if sources is None else list(sources)
        self.index = {pid: i for i, pid in enumerate(self.problem_ids)}
        self.seed, self.refresh = seed, refresh
        self.retire_after, self.cooldown_steps = retire_after, cooldown_steps
        self.step = 0
        self.fallback_draws = 0
        self.dry_step: int | None = None  # the step of the first fallback draw
        self.groups_seen = 0
        self._order: list[int] = []
        self._cursor = 0
        self._cycle = 0
        self.records: list[dict[str, Any]] = []
        for pid in self.problem_ids:
            rate = (initial_rates or {}).get(pid)
            state = ACTIVE
            if refresh and rate is not None and rate <= min_rate:
                state = COOLING
            elif refresh and rate is not None and rate >= max_rate:
                state = RETIRED
            self.records.append({"state": state, "rate": rate, "due": cooldown_steps if state == COOLING else 0,
                                 "streak": 0, "groups": 0})

    def __len__(self) -> int:
        return len(self.problem_ids)

    # ------------------------------------------------------------------ drawing
    def eligible(self, i: int) -> bool:
        """Whether row ``i`` may be drawn now (active, or cooled down)."""
        record = self.records[i]
        return record["state"] == ACTIVE or (record["state"] == COOLING and record["due"] <= self.step)

    def _next_in_cycle(self) -> int:
        if self._cursor >= len(self._order):
            self._order = list(range(len(self)))
            random.Random(f"{self.seed}:{self._cycle}").shuffle(self._order)
            self._cycle += 1
            self._cursor = 0
        i = self._order[self._cursor]
        self._cursor += 1
        return i

    def draw(self, n: int) -> list[int]:
        """``n`` row indices: eligible problems in seeded random order (reserve ones only
        where the others fall short), then fallbacks."""
        if not self.problem_ids:
            raise ValueError("the problem pool is empty")
        out: list[int] = []
        spare: list[int] = []  # eligible reserve problems met on the walk, in its order
        # the rest of this shuffle and one whole next one: every problem is met at least once
        for _ in range(len(self) - min(self._cursor, len(self._order)) + len(self)):
            if len(out) == n:
                return out
            i = self._next_in_cycle()
            if not self.eligible(i) or i in out or i in spare:
                continue
            if not self.reserve[i]:
                out.append(i)
            elif len(spare) < n:
                spare.append(i)
        out += spare[:n - len(out)]
        if len(out) == n:
            return out

        def rank(i: int) -> tuple:  # eligible first, then the cooling ones due soonest
            record = self.records[i]
            return (not self.eligible(i), record["state"] == RETIRED, record["due"], i)

        rest = sorted((i for i in range(len(self)) if i not in out), key=rank)
        while len(out) < n:
            if not rest:  # a pool smaller than n repeats its problems
                rest = sorted(range(len(self)), key=rank)
            take = rest[:n - len(out)]
            rest = rest[len(take):]
            fallbacks = sum(1 for i in take if not self.eligible(i))
            if fallbacks and self.dry_step is None:
                self.dry_step = self.step
                log.warning("curriculum: the live pool ran dry at step %d (%d eligible problems for a "
                            "draw of %d): drawing cooling and retired problems from now on; more "
                            "train problems (data.train_size, grpo.extra_tasks) or fewer steps keep "
                            "it full", self.step, self.counts()[ACTIVE], n)
            self.fallback_draws += fallbacks
            out.extend(take)
        return out

    # ------------------------------------------------------------------ refreshing
    def record(self, problem_id: str, verdicts: Sequence[bool]) -> None:
        """One group's verdicts for ``problem_id``: refresh its pass rate and state."""
        i = self.index.get(problem_id)
        if i is None or not verdicts:
            return
        self.groups_seen += 1
        record = self.records[i]
        record["rate"] = sum(verdicts) / len(verdicts)
        record["groups"] += 1
        if not self.refresh:
            return
        if all(verdicts):
            record["streak"] += 1
            if record["streak"] >= self.retire_after:
                record["state"] = RETIRED
        elif not any(verdicts):
            record.update(state=COOLING, due=self.step + self.cooldown_steps, streak=0)
        else:
            record.update(state=ACTIVE, streak=0)

    # ------------------------------------------------------------------ reporting
    def counts(self, rows: Sequence[int] | None = None) -> dict[str, int]:
        """Problems per state ('cooling' counts those still waiting), and how many are
        measured, over ``rows`` (every row when None)."""
        rows = range(len(self)) if rows is None else rows
        out = {ACTIVE: 0, COOLING: 0, RETIRED: 0}
        for i in rows:
            record = self.records[i]
            state = ACTIVE if record["state"] == COOLING and self.eligible(i) else record["state"]
            out[state] += 1
        out["measured"] = sum(1 for i in rows if self.records[i]["rate"] is not None)
        return out

    def counts_by_source(self) -> dict[str, dict[str, int]]:
        """:meth:`counts` for each source, with its problem count (empty without sources)."""
        rows: dict[str, list[int]] = {}
        for i, source in enumerate(self.sources or []):
            rows.setdefault(source, []).append(i)
        return {source: {"problems": len(ids), **self.counts(ids)}
                for source, ids in sorted(rows.items())}

    def histogram(self) -> dict[str, int]:
        """Problems per pass-rate bin (the last measure of each problem; unmeasured apart)."""
        out = {name: 0 for name, _, _ in BINS}
        out["unmeasured"] = 0
        for record in self.records:
            out["unmeasured" if record["rate"] is None else rate_bin(record["rate"])] += 1
        return out

    def metrics(self) -> dict[str, float]:
        """What the trainer logs each step (DVCLive, MLflow, metrics/grpo.json curves)."""
        counts = self.counts()
        rates = [r["rate"] for r in self.records if r["rate"] is not None]
        out = {f"curriculum/{k}": float(v) for k, v in counts.items()}
        out.update({f"curriculum/pass_rate/{k}": float(v) for k, v in self.histogram().items()})
        if rates:  # none measured yet: no value (a NaN reached DVCLive and MLflow as a warning a step)
            out["curriculum/mean_pass_rate"] = sum(rates) / len(rates)
        out["curriculum/fallback_draws"] = float(self.fallback_draws)
        return out

    def summary(self) -> dict[str, Any]:
        """The end state for metrics/grpo.json: counts (per source too, when known),
        histogram, groups seen, fallbacks."""
        out = {"problems": len(self), **self.counts(), "histogram": self.histogram(),
               "groups_seen": self.groups_seen, "fallback_draws": self.fallback_draws,
               "dry_step": self.dry_step, "refresh": self.refresh}
        if self.sources is not None:
            out["by_source"] = self.counts_by_source()
        return out

    def state_dict(self) -> dict[str, Any]:
        """Everything a resumed run needs to continue the same pool."""
        return {"problem_ids": self.problem_ids, "records": self.records, "step": self.step,
                "fallback_draws": self.fallback_draws, "dry_step": self.dry_step,
                "groups_seen": self.groups_seen,
                "order": self._order, "cursor": self._cursor, "cycle": self._cycle}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from :meth:`state_dict` (the same problems, in the same order)."""
        if state["problem_ids"] != self.problem_ids:
            raise ValueError("the saved pool holds other problems than this run's dataset")
        self.records = state["records"]
        self.step, self.fallback_draws = state["step"], state["fallback_draws"]
        self.groups_seen = state["groups_seen"]
        self.dry_step = state.get("dry_step")  # absent in a checkpoint from before it was kept
        self._order, self._cursor, self._cycle = state["order"], state["cursor"], state["cycle"]


class PoolSampler:
    """TRL's ``RepeatSampler`` layout over prompts drawn from a :class:`ProblemPool`.

    Each generation batch draws ``batch_size`` prompts when the data loader asks for it, so a
    problem that left the pool a step ago is not drawn again. One pass (``len``) holds
    ``len(pool) // batch_size`` batches (at least one), as ``RepeatSampler`` does.
    """

    def __init__(self, pool: ProblemPool, *, mini_repeat_count: int, batch_size: int,
                 repeat_count: int = 1):
        self.pool, self.mini_repeat_count = pool, mini_repeat_count
        self.batch_size, self.repeat_count = batch_size, repeat_count
        self.batches = max(1, len(pool) // batch_size)

    def __iter__(self) -> Iterator[int]:
        for _ in range(self.batches):
            indexes = self.pool.draw(self.batch_size)
            for _ in range(self.repeat_count):
                for index in indexes:
                    for _ in range(self.mini_repeat_count):
                        yield index

    def __len__(self) -> int:
        return self.batches * self.batch_size * self.mini_repeat_count * self.repeat_count
