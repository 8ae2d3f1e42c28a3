"""The live curriculum: refreshed pass rates move problems between active, cooling and retired."""

from __future__ import annotations

import logging

import pytest

from slm_math.training.grpo_pool import PoolSampler, ProblemPool, rate_bin

IDS = [f"p{i}" for i in range(6)]


def test_refreshed_pass_rates_move_the_pool():
    pool = ProblemPool(IDS, seed=0, retire_after=2, cooldown_steps=3)
    assert pool.counts()["active"] == 6 and pool.counts()["measured"] == 0
    pool.record("p0", [True] * 4)            # solved once: still drawn
    assert pool.records[0]["state"] == "active" and pool.records[0]["rate"] == 1.0
    pool.record("p0", [True] * 4)            # solved twice in a row: leaves the pool
    pool.record("p1", [False] * 4)           # never solved: cools down until step 3
    pool.record("p2", [True, False, True, True])
    assert [r["state"] for r in pool.records[:3]] == ["retired", "cooling", "active"]
    assert pool.records[2]["rate"] == 0.75
    drawn = {i for _ in range(4) for i in pool.draw(3)}
    assert 0 not in drawn and 1 not in drawn  # neither the retired nor the cooling one
    assert pool.counts() == {"active": 4, "cooling": 1, "retired": 1, "measured": 3}
    pool.step = 3                             # the cool-down is over: p1 is retried
    assert pool.eligible(1) and pool.counts()["cooling"] == 0
    assert 1 in {i for _ in range(4) for i in pool.draw(4)}
    pool.record("p1", [True, False, False, False])  # the model learned something: active again
    assert pool.records[1]["state"] == "active"
    assert pool.histogram() == {"0": 0, "0-25": 1, "25-50": 0, "50-75": 1, "75-100": 0,
                                "100": 1, "unmeasured": 3}


def test_summary_counts_states_per_source_with_unmeasured_extras_active():
    # p0-p2 measured before training (the curriculum), p3-p5 GRPO-only extras: unmeasured
    pool = ProblemPool(IDS, seed=0, initial_rates={"p0": 0.0, "p1": 1.0, "p2": 0.5},
                       sources=["lcm"] * 3 + ["lcm_60"] * 3)
    pool.record("p3", [False] * 4)
    by_source = pool.summary()["by_source"]
    assert by_source["lcm"] == {"problems": 3, "active": 1, "cooling": 1, "retired": 1,
                                "measured": 3}
    assert by_source["lcm_60"] == {"problems": 3, "active": 2, "cooling": 1, "retired": 0,
                                   "measured": 1}
    assert "by_source" not in ProblemPool(IDS, seed=0).summary()
    with pytest.raises(ValueError, match="2 sources for 6 problems"):
        ProblemPool(IDS, seed=0, sources=["a", "b"])


def test_reserve_problems_are_drawn_only_where_the_others_run_short():
    ids = [f"t{i}" for i in range(4)] + [f"x{i}" for i in range(40)]
    reserve = [False] * 4 + [True] * 40
    pool = ProblemPool(ids, seed=1, cooldown_steps=50, reserve=reserve)
    for _ in range(20):  # four train problems active: a draw of 3 never touches the reserve
        assert set(pool.draw(3)) <= {0, 1, 2, 3}
    pool.record("t0", [False] * 4)
    pool.record("t1", [True] * 4)
    pool.record("t1", [True] * 4)  # t0 cooling, t1 retired: two train problems left
    for _ in range(20):
        drawn = pool.draw(3)
        assert {2, 3} <= set(drawn) and len(set(drawn)) == 3
        assert reserve[(set(drawn) - {2, 3}).pop()]  # the third comes from the reserve
    assert pool.fallback_draws == 0  # an eligible reserve problem comes before a fallback
    mixed = ProblemPool(ids, seed=1)  # without reserve flags every active problem is alike
    assert any(i >= 4 for _ in range(5) for i in mixed.draw(3))
    with pytest.raises(ValueError, match="2 reserve flags for 44 problems"):
        ProblemPool(ids, seed=0, reserve=[True, False])


def test_a_mixed_group_resets_the_solved_streak():
    pool = ProblemPool(IDS, seed=0, retire_after=2)
    pool.record("p0", [True] * 4)
    pool.record("p0", [True, False, True, True])
    pool.record("p0", [True] * 4)
    assert pool.records[0]["state"] == "active"


def test_initial_measurement_sets_the_states_and_refresh_off_keeps_all_active():
    rates = {"p0": 0.0, "p1": 1.0, "p2": 0.5}
    live = ProblemPool(IDS, seed=0, initial_rates=rates, cooldown_steps=5)
    assert [r["state"] for r in live.records[:4]] == ["cooling", "retired", "active", "active"]
    assert live.records[0]["due"] == 5
    static = ProblemPool(IDS, seed=0, refresh=False, initial_rates=rates)
    static.record("p2", [True] * 4)
    static.record("p2", [True] * 4)
    assert {r["state"] for r in static.records} == {"active"}


def test_draws_fall_back_to_the_cooling_problem_due_first_and_count_it(caplog):
    pool = ProblemPool(IDS[:3], seed=1, cooldown_steps=10, retire_after=1)
    pool.record("p0", [True] * 2)               # retired
    pool.step = 2
    pool.record("p1", [False] * 2)              # cooling until 12
    pool.step = 4
    pool.record("p2", [False] * 2)              # cooling until 14
    assert pool.metrics()["curriculum/active"] == 0.0 and pool.dry_step is None  # active: what a draw can take
    assert pool.metrics()["curriculum/mean_pass_rate"] == 1 / 3
    assert "curriculum/mean_pass_rate" not in ProblemPool(IDS, seed=0).metrics()  # none measured
    with caplog.at_level(logging.WARNING, logger="slm_math.training.grpo_pool"):
        assert pool.draw(2) == [1, 2] and pool.fallback_draws == 2
        pool.step = 6
        assert pool.draw(4) == [1, 2, 0, 1]     # a pool smaller than the batch repeats
    assert pool.metrics()["curriculum/fallback_draws"] == 6.0
    assert pool.dry_step == 4 and pool.summary()["dry_step"] == 4  # the first fallback's step
    warned = [r.getMessage() for r in caplog.records if "ran dry" in r.getMessage()]
    assert warned == ["curriculum: the live pool ran dry at step 4 (0 eligible problems for a draw "
                      "of 2): drawing cooling and retired problems from now on; more train problems "
                      "(data.train_size, grpo.extra_tasks) or fewer steps keep it full"]  # once
    copy = ProblemPool(IDS[:3], seed=1)
    copy.load_state_dict(pool.state_dict())
    assert copy.dry_step == 4
    old = {k: v for k, v in pool.state_dict().items() if k != "dry_step"}  # an older checkpoint
    copy.load_state_dict(old)
    assert copy.dry_step is None


def test_sampler_repeats_each_prompt_and_batch_like_trl_and_follows_the_pool():
    pool = ProblemPool(IDS, seed=0, retire_after=1)
    sampler = PoolSampler(pool, mini_repeat_count=2, batch_size=3, repeat_count=2)
    assert len(sampler) == 2 * 3 * 2 * 2
    stream = iter(sampler)
    first = [next(stream) for _ in range(12)]
    prompts = first[:6:2]
    assert first == [p for p in prompts for _ in range(2)] * 2
    for i in prompts:                           # solved: they leave before the next batch
        pool.record(IDS[i], [True, True])
    second = [next(stream) for _ in range(12)]
    assert set(second).isdisjoint(prompts) and len(set(second)) == 3


def test_state_round_trip_continues_the_same_draws():
    pool = ProblemPool(IDS, seed=3)
    pool.draw(4)
    pool.record("p1", [False, False])
    copy = ProblemPool(IDS, seed=3)
    copy.load_state_dict(pool.state_dict())
    assert copy.draw(5) == pool.draw(5) and copy.records == pool.records
    with pytest.raises(ValueError, match="other problems"):
        ProblemPool(IDS[:2], seed=3).load_state_dict(pool.state_dict())


@pytest.mark.parametrize("rate,name", [(0.0, "0"), (0.125, "0-25"), (0.25, "0-25"),
                                       (0.5, "25-50"), (0.875, "75-100"), (1.0, "100")])
def test_rate_bins(rate, name):
    assert rate_bin(rate) == name
