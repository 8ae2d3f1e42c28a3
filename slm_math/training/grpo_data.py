"""GRPO training prompts from problem records, and the hard-problem curriculum.

A prompt row is TRL's conversational format plus the columns the rewards read::

    {"prompt": [{"role": "user", "content": <solve.jinja rendered>}],
     "answer": "56", "rule": "numeric", "problem_id": "products/train/3", "level": None}

The curriculum keeps the problems that give GRPO a signal. With ``mode: pass_rate`` the
start model answers each candidate ``k`` times; a problem it always solves or never solves
makes a zero-variance group (every advantage 0, no gradient), so only problems whose pass
rate lies strictly inside ``(min_pass_rate, max_pass_rate)`` are kept. ``mode: level`` keeps
problems of the listed levels (MATH 4-5: the qwen3 recipe's hard problems).

Before any of that, ``curriculum.profile`` (the profile stage's metrics/profile.json) drops
whole benchmarks: a task whose pass rate at the difficulty it trains on lies outside the
profile's band has (almost) no problem with a signal, so measuring its problems is waste.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from slm_math.config.params import CurriculumParams
from slm_math.jsonl import DataFileError
from slm_math.training.sft_data import load_problems, user_prompt

logger = logging.getLogger(__name__)


class CurriculumError(ValueError):
    """The curriculum left nothing to train on."""


def problem_files(folder: Path, benchmarks: list[str] | None, *,
                  field: str = "grpo.benchmarks") -> list[Path]:
    """``folder/<name>.jsonl`` for each benchmark (every file when None); a missing one is an
    error naming the params ``field`` that listed it."""
    if benchmarks is None:
        files = sorted(folder.glob("*.jsonl"))
        if not files:
            raise DataFileError(f"{folder}: no problem files (*.jsonl); run the download stage")
        return files
    files = [folder / f"{name}.jsonl" for name in benchmarks]
    for file in files:
        if not file.is_file():
            raise DataFileError(f"{file}: no such problem file ({field} names {file.stem!r}); "
                                "run the download stage")
    return files


def load_problem_list(folder: Path, benchmarks: list[str] | None) -> list[dict]:
    """Problems of the chosen benchmarks, in file order."""
    return list(load_problems(problem_files(folder, benchmarks)).values())


def solve_messages(problem: dict) -> list[dict]:
    """The user turn every solver sees (the evaluation prompt)."""
    return [{"role": "user", "content": user_prompt(problem["problem"])}]


def prompt_row(problem: dict) -> dict:
    """One GRPO dataset row for a problem."""
    return {"prompt": solve_messages(problem), "answer": problem["answer"],
            "rule": problem.get("rule") or "auto", "problem_id": problem["id"],
            "level": problem.get("level")}


def prompt_tokens(tokenizer, messages: list[dict] | str) -> int:
    """Tokens of a chat prompt with the generation prompt appended, or of a plain-text
    prompt as TRL tokenizes it (with the tokenizer's special tokens)."""
    if isinstance(messages, str):
        return len(tokenizer(messages).input_ids)
    ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
    if isinstance(ids, dict) or hasattr(ids, "input_ids"):
        ids = ids["input_ids"]
    return len(ids)


def drop_long_prompts(rows: list[dict], tokenizer, max_prompt_length: int) -> tuple[list[dict], int]:
    """(rows that fit, how many were dropped): TRL does not cut prompts, and a cut problem is a wrong one."""
    kept = [r for r in rows if prompt_tokens(tokenizer, r["prompt"]) <= max_prompt_length]
    return kept, len(rows) - len(kept)


@dataclass
class Selection:
    """The curriculum's result: the problems kept, in training order, and what was measured."""

    problems: list[dict]
    pass_rates: list[dict]
    counts: dict[str, Any]


def _seeded_rank(problem_id: str, seed: int) -> str:
    return hashlib.sha256(f"{seed}:{problem_id}".encode()).hexdigest()


def candidates(problems: list[dict], n: int | None, seed: int) -> list[dict]:
    """A seeded sample of ``n`` problems (all when None), independent of file order."""
    ranked = sorted(problems, key=lambda p: _seeded_rank(p["id"], seed))
    return ranked if n is None else ranked[:n]


PassRateFn = Callable[[Sequence[dict]], list[dict]]


def select_problems(problems: list[dict], cfg: CurriculumParams, seed: int, *,
                    measure: PassRateFn | None = None) -> Selection:
    """Apply the curriculum to ``problems``.

    ``measure`` (pass_rate mode) takes problems and returns one record per problem:
    ``{"problem_id", "k", "correct", "pass_rate"}``; the records come back in
    :attr:`Selection.pass_rates` whatever was kept, so they can be inspected.
    """
    counts: dict[str, Any] = {"available": len(problems), "mode": cfg.mode}
    pass_rates: list[dict] = []
    if cfg.mode == "none":
        kept = candidates(problems, cfg.candidates, seed) if cfg.candidates else list(problems)
    elif cfg.mode == "level":
        wanted = set(cfg.levels)
        kept = [p for p in problems if p.get("level") in wanted]
        counts["dropped_level"] = len(problems) - len(kept)
    else:
        if measure is None:
            raise ValueError("curriculum mode 'pass_rate' needs a pass-rate measurement")
        pool = candidates(problems, cfg.candidates, seed)
        pass_rates = measure(pool)
        rate = {r["problem_id"]: r["pass_rate"] for r in pass_rates}
        kept = [p for p in pool if cfg.min_pass_rate < rate[p["id"]] < cfg.max_pass_rate]
        counts.update({
            "measured": len(pool),
            "never_solved": sum(1 for p in pool if rate[p["id"]] == 0.0),
            "always_solved": sum(1 for p in pool if rate[p["id"]] == 1.0),
            "dropped_pass_rate": len(pool) - len(kept),
            "mean_pass_rate": round(sum(rate.values()) / len(rate), 4) if rate else None,
        })
    if cfg.order == "easy_to_hard":
        if pass_rates:
            rate = {r["problem_id"]: r["pass_rate"] for r in pass_rates}
            kept = sorted(kept, key=lambda p: (-rate[p["id"]], p["id"]))
        else:
            kept = sorted(kept, key=lambda p: (p.get("level") or 0, p["id"]))
    else:
        kept = list(kept)
        random.Random(seed).shuffle(kept)
    if cfg.max_problems is not None:
        kept = kept[:cfg.max_problems]
    counts["selected"] = len(kept)
    return Selection(problems=kept, pass_rates=pass_rates, counts=counts)


def pass_rate_records(problems: Sequence[dict], verdicts: Sequence[Sequence[bool]]) -> list[dict]:
    """One record per problem from its k verdicts."""
    out = []
    for problem, row in zip(problems, verdicts, strict=True):
        k = len(row)
        out.append({"problem_id": problem["id"], "source": problem.get("source"),
                    "level": problem.get("level"), "k": k, "correct": int(sum(row)),
                    "pass_rate": round(sum(row) / k, 4) if k else 0.0})
    return out


def read_profile(path: str | Path) -> dict:
    """The profile stage's metrics file, checked for the keys the GRPO filter reads."""
    path = Path(path)
    if not path.is_file():
        raise DataFileError(f"{path}: no profile (grpo.curriculum.profile names it); run the "
                            "profile stage, or set grpo.curriculum.profile: null")
    try:
        profile = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise DataFileError(f"{path}: not valid JSON ({err})") from None
    for key in ("tasks", "mix", "settings"):
        if not isinstance(profile.get(key) if isinstance(profile, dict) else None, dict):
            raise DataFileError(f"{path}: field {key!r} is missing or not a mapping; "
                                "re-run the profile stage")
    return profile


def profile_filter(names: Sequence[str], profile: dict) -> tuple[list[str], dict[str, dict]]:
    """(benchmarks kept, dropped ones with their level and pass rate).

    A benchmark is judged at the level its training data uses (``profile["mix"]``); one the
    profile did not measure is kept.
    """
    kept, dropped = [], {}
    for name in names:
        level = profile["mix"].get(name)
        summary = profile["tasks"].get(name, {}).get(level) if level else None
        if summary is None or summary["in_band"]:
            kept.append(name)
        else:
            dropped[name] = {"level": level, "pass_rate": summary["pass_rate"]}
    return kept, dropped


def apply_profile(names: Sequence[str], path: str | Path) -> tuple[list[str], dict[str, Any]]:
    """The benchmarks GRPO trains on after the profile filter, and what it did (for metrics).

    Warns naming each dropped benchmark and its pass rate, and each one the profile did not
    measure; raises :class:`CurriculumError` when none is left.
    """
    profile = read_profile(path)
    low, high = profile["settings"].get("band", [None, None])
    kept, dropped = profile_filter(names, profile)
    for name, why in dropped.items():
        logger.warning("grpo.curriculum.profile: dropping %s: base pass rate %.3f at level %s "
                       "is outside the band (%s, %s) in %s", name, why["pass_rate"],
                       why["level"], low, high, path)
    unmeasured = [n for n in kept if n not in profile["mix"]]
    for name in unmeasured:
        logger.warning("grpo.curriculum.profile: %s is not measured in %s: kept", name, path)
    if not kept:
        rates = ", ".join(f"{n} {d['pass_rate']:.3f}" for n, d in dropped.items())
        raise CurriculumError(
            f"grpo.curriculum.profile ({path}): every GRPO benchmark is outside the band "
            f"({low}, {high}): {rates}; change data.tasks difficulty or grpo.benchmarks, widen "
            "profile.min_pass_rate/max_pass_rate, or set grpo.curriculum.profile: null")
    return kept, {"kept": kept, "dropped": dropped, "unmeasured": unmeasured}
