"""Static vs dynamic GRPO: does a curriculum that follows the model keep GRPO learning?

Runs the project's grpo stage (``slm_math.training.grpo_stage.run_grpo_stage``, the body of
``python -m stages.grpo``) twice from the same start model, seed and params:

- ``static``: the pass-rate curriculum measured once on the start model, no dynamic sampling
  (``curriculum.refresh: false``, ``dynamic_sampling.enabled: false``, and no GRPO-only
  ``extra_tasks``, which need the live pool);
- ``dynamic``: the same start measurement, then pass rates refreshed from the sampled groups
  and zero-variance groups replaced before each update (both ``true``), with the profile's
  ``extra_tasks`` as the pool's reserve.

Everything else comes from the workspace's params.yaml plus ``--set`` overrides, so the
GPU profile is a params change. Then the start model and both trained models are evaluated
greedily (the ``standard`` agent, zero-shot) on the test problems of the GRPO benchmarks
(``--eval-limit`` a benchmark) and on the held-out guard's benchmark, and compared with
McNemar's exact test (each arm against the start; each dynamic arm against the static arm
of its seed).

Writes ``--out`` (default experiments/results/grpo_dynamic.json): machine facts, the
params of each arm, and per arm the share of zero-variance groups over the run (among the
groups drawn, and among those the loss trained on), the extra generation dynamic sampling
cost, the pool at the end, the reward and held-out guard curves, the mean grad norm, update
norm (the step's own size) and entropy over fifths of the run (``update_windows``), wall
time, accuracy and the paired tests. The targets of the question: zero-variance share under 30% for the dynamic arm, and
a larger gain over the start than the static arm's.

Work lives in ``--work`` (the arms' models, checkpoints, MLflow store and eval journals): a
rerun skips an arm whose metrics exist, resumes an interrupted arm at its last checkpoint
(``grpo.save_steps``), and an evaluation at its last journaled problem, so a run cut by a
time limit continues where it stopped (run the same command again; ``wall_time_s`` and
``seconds_per_step`` then cover the last segment only). GPU profile, from the repo root of a
workspace that holds the pipeline's data/ (with at least 250 test problems a task for the
1,000 paired problems: ``data.test_size``) and models/sft_full; the settings of the H200 run
in docs/grpo.md (16 prompts x 8, LoRA r16 lr 2e-4, beta 0, dapo, T 1, 128 tokens, the
pass-rate curriculum over every train problem)::

    python experiments/grpo_dynamic.py --steps 200 --work /tmp/grpo_dynamic --eval-limit 250 \\
        --set grpo.init=sft_full grpo.mode=lora grpo.learning_rate=2.0e-4 grpo.beta=0 \\
        grpo.loss_type=dapo grpo.temperature=1.0 grpo.prompts_per_step=16 \\
        grpo.num_generations=8 grpo.per_device_batch_size=64 grpo.max_completion_length=128 \\
        grpo.curriculum.mode=pass_rate grpo.curriculum.candidates=null grpo.curriculum.k=8 \\
        grpo.curriculum.profile=null grpo.save_steps=25 grpo.eval_problems=0 \\
        grpo.dynamic_sampling.max_extra_batches=4 grpo.dynamic_sampling.oversample=2 \\
        grpo.curriculum.cooldown_steps=25 grpo.held_out.problems=88 grpo.held_out.every=20 \\
        grpo.held_out.max_new_tokens=256

    python experiments/grpo_dynamic.py --tiny      # CPU smoke run: 3 steps of 2 x 4, 64 tokens

While the arms train and are evaluated, ``<out>.partial.json`` beside ``--out`` is rewritten
every ``--partial-every`` seconds from the arms' DVCLive curves (steps reached, zero-variance
shares, extra generation, pool, held-out guard, grad norm, update norm and entropy) and
the evaluation journals complete so far (its ``eval``: the pooled ``tasks``, the
``start_label``, the guard's benchmark ``held_out``; the start's and each such arm's accuracy,
pooled and a benchmark; each arm's McNemar against the start, on the pooled tasks and on the
guard's benchmark; ``vs_static`` once a dynamic arm and the static arm of its seed are both
evaluated), with notes computed from them, so a run cut by a time limit still leaves what it
measured; the final file replaces it, with its own notes (``final_notes``). ``--show FILE``
prints a finished results file's notes recomputed (a file from before ``update_windows``
and ``vs_static`` too); ``--show FILE --out experiments/results/NAME.json`` writes it there
with them; with ``--work DIR`` (the run's work folder) it also fills each arm's
``update_windows`` the file lacks from the arm's DVCLive curves there. On a partial file
(``"complete": false``) ``--show`` recomputes its notes as the writer would (the arms by seed,
static first); with ``--work DIR`` it first recomputes its ``eval`` from the journals in
DIR/eval: the problems from the start's journal (its label the file's ``start_label``, else
``start-`` + the ``grpo.init`` override, else the one ``start-*.jsonl`` there), the guard
the file's ``held_out``, else ``grpo.held_out.benchmark`` of params.yaml with the file's
overrides, and the pooled tasks the file's ``tasks``, else the journal's other benchmarks.

An arm named ``kind@seed`` (``dynamic@2``) runs that arm with ``grpo.seed`` set, from the
same start: ``--arms static@1,dynamic@1,dynamic@2,dynamic@3`` answers both questions, the
static-vs-dynamic comparison and the spread of the gain over seeds (its ``seeds`` summary:
each seed's gain over the start, their mean and spread, and how many are significant).
``--parallel`` trains the arms at once, each in its own process: a 135M model leaves most
of a GPU idle, so on one H200 several arms cost little more wall time than one. It also
evaluates the start model while the arms train, and each arm as soon as it is trained, so
the evaluation adds only the slowest arm's own to the wall time.

An arm is ``kind[@seed][/variant]``: a variant (letters, digits, ``-``, ``_``) is an arm that
differs from its kind by what ``--arm-set ARM KEY=VALUE ...`` gives it (repeatable; params
overrides for that arm only, merged over its kind's settings and seed, so they win; without
one the variant is only a label). Variants at one seed isolate a cause, e.g. the extra tasks
or the step size of the dynamic arm (``--set`` as above)::

    python experiments/grpo_dynamic.py --steps 200 --work /tmp/grpo_dynamic --eval-limit 250 \\
        --set ... --arms static@1,dynamic@1/noextra,dynamic@1/lowlr \\
        --arm-set dynamic@1/noextra grpo.extra_tasks=[] \\
        --arm-set dynamic@1/lowlr grpo.extra_tasks=[] grpo.learning_rate=1.0e-4

Each dynamic arm is compared with the plain static arm of its seed (``vs_static``:
``dynamic@1/lowlr`` against ``static@1``), and each variant with the plain arm of its kind
and seed (``vs_base``: ``dynamic@1/lowlr`` against ``dynamic@1``). The results' ``arm_overrides`` hold what each arm
changed, the ``seeds`` summary keeps a variant apart from its kind (``dynamic/lowlr``), and a
variant's work is its own folder in ``--work`` (``dynamic@1+lowlr``).

``--tiny`` shrinks everything to a few minutes of CPU (the settings in ``TINY_SET``) on the
workspace when it holds the offline pipeline's data and start model (after ``dvc repro
sft_full``: the SFT model answers most basic_arithmetic and about half of the products
problems, so groups vary);
otherwise it builds one in ``--work``: the packaged SmolLM2-135M-Instruct as the start model
(``init: base``, which rarely answers in the expected form: mostly dead groups, so it
exercises the cap), synthetic 1-digit products problems and a few CHAMP problems.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import yaml

ROOT = Path.cwd() if (Path.cwd() / "slm_math").is_dir() else Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

from common import pp  # noqa: E402
from slm_math.config import merge_overrides as merge  # noqa: E402

ARMS = {  # static: the curriculum measured once, as before the live pool (so no GRPO-only extras)
    "static": {"curriculum": {"refresh": False}, "dynamic_sampling": {"enabled": False},
               "extra_tasks": []},
    "dynamic": {"curriculum": {"refresh": True}, "dynamic_sampling": {"enabled": True}},
}
TINY_SET = [
    "grpo.mode=lora", "grpo.benchmarks=[basic_arithmetic,products]", "grpo.learning_rate=1.0e-4",
    "grpo.num_generations=4", "grpo.prompts_per_step=2", "grpo.per_device_batch_size=8",
    "grpo.max_completion_length=64", "grpo.max_prompt_length=256", "grpo.beta=0",
    "grpo.curriculum.mode=pass_rate", "grpo.curriculum.k=4", "grpo.curriculum.candidates=32",
    "grpo.curriculum.profile=null", "grpo.curriculum.cooldown_steps=2", "grpo.eval_problems=4",
    "grpo.save_steps=100", "grpo.held_out.problems=3", "grpo.held_out.every=2",
    "grpo.held_out.max_new_tokens=64", "grpo.dynamic_sampling.max_extra_batches=2",
    "grpo.generation.backend=trl",
]


def parse_set(items: list[str], flag: str = "--set") -> dict:
    """``a.b.c=value`` items (values as YAML) -> a nested overrides dict; ``flag`` names the
    option in the error for an item that is not KEY=VALUE."""
    out: dict = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep:
            raise SystemExit(f"{flag} {item!r}: expected KEY=VALUE (e.g. grpo.beta=0)")
        node = out
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = yaml.safe_load(raw)
    return out


# ---------------------------------------------------------------- the tiny workspace
def build_tiny_workspace(ws: Path) -> None:
    """models/base (the packaged SmolLM2-135M), products problems, a few CHAMP problems."""
    from slm_math.base_model import materialize_base_model
    from slm_math.data.champ_source import load_champ
    from slm_math.jsonl import write_jsonl

    if not (ws / "models" / "base" / "config.json").is_file():
        materialize_base_model("smollm2-135m-gguf", ws / "models" / "base")
    for split, folder, pairs in (("train", "train", [(a, b) for a in range(2, 10) for b in (3, 4, 7)]),
                                 ("test", "benchmarks", [(a, b) for a in range(2, 10) for b in (6, 8)])):
        write_jsonl(ws / "data" / folder / "products.jsonl", [
            {"id": f"products/{split}/{i}", "source": "products", "split": split,
             "problem": f"Solve the following multiplication: {a} * {b}. Give only the result.",
             "answer": str(a * b), "rule": "numeric", "solution": f"{a} * {b} = {a * b}"}
            for i, (a, b) in enumerate(pairs)])
    write_jsonl(ws / "data" / "benchmarks" / "champ.jsonl", load_champ()[:12])
    (ws / "params.yaml").write_text((ROOT / "params.yaml").read_text())


# ---------------------------------------------------------------- the arms
def arm_dir(work: Path, arm: str) -> Path:
    """One arm's folder in ``work``: its name with the variant's ``/`` as ``+``, so a variant
    arm gets its own folder beside the plain arm's, not one inside it."""
    return work / arm.replace("/", "+")


def arm_paths(ws: Path, work: Path, arm: str):
    """The stage's paths for one arm: the workspace's data, the arm's own models folder
    (links to the workspace's start models), metrics, curves and pass rates."""
    from slm_math.training.grpo_stage import GRPOPaths

    folder = arm_dir(work, arm)
    models = folder / "models"
    models.mkdir(parents=True, exist_ok=True)
    for src in (ws / "models").iterdir():
        link = models / src.name
        if src.name not in ("grpo", ".checkpoints") and not link.exists():
            link.symlink_to(src.resolve(), target_is_directory=True)
    return GRPOPaths(problems=ws / "data" / "train", benchmarks=ws / "data" / "benchmarks",
                     extra_problems=ws / "data" / "grpo_train", models=models,
                     metrics=folder / "metrics", dvclive=folder / "dvclive",
                     grpo_data=folder / "data" / "grpo")


def arm_curves(work: Path, arm: str) -> Path:
    """One arm's DVCLive folder of the grpo stage in ``work``."""
    return arm_dir(work, arm) / "dvclive" / "grpo"


ARM_SYNTAX = "kind[@seed][/variant]"


def parse_arm(arm: str) -> tuple[str, int | None, str | None]:
    """``"dynamic@2/lowlr"`` -> ("dynamic", 2, "lowlr"); ``"static"`` -> ("static", None, None).

    The variant (letters, digits, ``-``, ``_``) only names the arm; what it changes comes
    from ``--arm-set``."""
    head, slash, variant = arm.partition("/")
    kind, at, seed = head.partition("@")
    if kind not in ARMS:
        raise SystemExit(f"--arms {arm!r}: unknown arm kind {kind!r}; known: {sorted(ARMS)} "
                         f"(an arm is {ARM_SYNTAX})")
    if at and not re.fullmatch(r"[0-9]+", seed):
        raise SystemExit(f"--arms {arm!r}: the seed after @ must be a whole number (an arm is {ARM_SYNTAX})")
    if slash and not re.fullmatch(r"[A-Za-z0-9_-]+", variant):
        raise SystemExit(f"--arms {arm!r}: the variant after / must be letters, digits, '-' or '_' "
                         f"(an arm is {ARM_SYNTAX})")
    return kind, int(seed) if at else None, variant if slash else None


def arm_list(text: str) -> list[str]:
    """``--arms``: comma-separated arm names, each checked by ``parse_arm``."""
    arms = [a.strip() for a in text.split(",") if a.strip()]
    for arm in arms:
        parse_arm(arm)
    return arms


def parse_arm_sets(groups: list[list[str]] | None, arms: list[str]) -> dict[str, dict]:
    """``--arm-set ARM KEY=VALUE ...`` groups -> each named arm's params overrides (an arm
    named twice gets both, the later winning)."""
    out: dict[str, dict] = {}
    for arm, *items in groups or []:
        if arm not in arms:
            raise SystemExit(f"--arm-set {arm!r}: not one of --arms ({', '.join(arms)})")
        if not items:
            raise SystemExit(f"--arm-set {arm}: expected KEY=VALUE after the arm "
                             "(e.g. grpo.learning_rate=1.0e-4)")
        out[arm] = merge(out.get(arm, {}), parse_set(items, f"--arm-set {arm}"))
    return out


def arm_overrides(arm: str, arm_set: dict | None = None) -> dict:
    """The params one arm changes: its kind's settings, ``grpo.seed`` when it names one, then
    its ``--arm-set`` overrides (``arm_set``), which win over both."""
    kind, seed, _ = parse_arm(arm)
    grpo = dict(ARMS[kind])
    if seed is not None:
        grpo["seed"] = seed
    return merge({"grpo": grpo}, arm_set or {})


def run_arm(arm: str, overrides: dict, ws: Path, work: Path) -> dict:
    """The grpo stage for one arm with ``overrides`` (the run's and the arm's own; skipped
    when its metrics exist); its metrics."""
    from slm_math.config import load_params
    from slm_math.training.grpo_stage import run_grpo_stage

    # each arm its own MLflow store: arms trained at once would contend for one sqlite file
    tracking = {"tracking": {"uri": f"sqlite:///{arm_dir(work, arm) / 'mlflow.db'}"}}
    params = load_params(ws / "params.yaml", merge(overrides, tracking))
    paths = arm_paths(ws, work, arm)
    done = paths.metrics / "grpo.json"
    if done.is_file():
        metrics = json.loads(done.read_text())
        print(f"[{arm}] done before: {metrics['steps']} steps", file=sys.stderr)
        return metrics
    print(f"[{arm}] training {params.grpo.max_steps} steps", file=sys.stderr)
    _, metrics = run_grpo_stage(params, paths)
    return metrics


# ---------------------------------------------------------------- evaluation
def evaluate(model_path: Path, label: str, tests: dict, work: Path, args) -> dict[str, list[bool]]:
    """Greedy standard-agent verdicts per benchmark (journaled in --work, so resumable)."""
    from slm_math.agents import build_agent
    from slm_math.evaluation.models import load_model_generator
    from slm_math.evaluation.run import evaluate_cell
    from slm_math.generation import SamplingParams
    from slm_math.generation.vllm_env import auto_engine

    backend = auto_engine(args.eval_backend, fallback="hf", what="--eval-backend")
    agent = build_agent("standard", sampling=SamplingParams(
        temperature=0.0, max_new_tokens=args.eval_max_new_tokens, seed=args.seed), fewshot={})
    options = {"batch_size": args.eval_batch_size} if backend == "hf" else {}
    journal = work / "eval" / f"{label}.jsonl"
    journal.parent.mkdir(parents=True, exist_ok=True)
    rows = evaluate_cell(agent, lambda: load_model_generator(model_path, backend, **options), tests,
                         model=label, agent_name="standard", journal=journal,
                         chunk_size=args.eval_chunk, progress=False)
    return {name: [bool(r["correct"]) for r in benchmark] for name, benchmark in rows.items()}


def journal_verdicts(work: Path, label: str, tests: dict) -> dict[str, list[bool]] | None:
    """An evaluation's verdicts per benchmark, read from its journal in --work, or None until
    the journal holds every test problem (what ``evaluate`` returns once it has run)."""
    from slm_math.jsonl import iter_jsonl

    path = work / "eval" / f"{label}.jsonl"
    if not path.is_file():
        return None
    done = {r["problem_id"]: bool(r["correct"]) for r in iter_jsonl(path, allow_truncated_tail=True)}
    if any(p["id"] not in done for problems in tests.values() for p in problems):
        return None
    return {name: [done[p["id"]] for p in problems] for name, problems in tests.items()}


def format_check_options(workspace: Path) -> dict | None:
    """The options of the run's format reward (``grpo.rewards.format`` in ``workspace``'s
    params.yaml): the check GRPO's format reward and its guard apply; None without one."""
    from slm_math.config import load_params

    path = workspace / "params.yaml"
    spec = load_params(path).grpo.rewards.get("format") if path.is_file() else None
    return None if spec is None else {k: v for k, v in spec.options.items() if k != "value"}


def show_format_options(results: dict, workspace: Path) -> dict | None:
    """The format check ``--show`` applies: the one the run recorded (``eval.format_check``,
    the device's params), else ``workspace``'s, so a file read back on a machine whose
    params.yaml is another profile keeps its run's check."""
    recorded = (results.get("eval") or {}).get("format_check")
    return dict(recorded) if recorded is not None else format_check_options(workspace)


def journal_format_rates(work: Path, labels: dict[str, str], tasks: list[str],
                         options: dict) -> dict[str, float]:
    """The share of well-formed answers (the format reward's check with ``options``) of each
    evaluation on the problems of ``tasks``, read from its journal in ``work``/eval:
    ``labels`` maps a name in the results ("start", an arm) to its journal's label; one
    without a journal or answers is left out."""
    from slm_math.grading.rewards import format_reward
    from slm_math.jsonl import iter_jsonl

    check = format_reward(1.0, **options)
    out = {}
    for name, label in labels.items():
        path = work / "eval" / f"{label}.jsonl"
        if not path.is_file():
            continue
        texts = [r["response"] for r in iter_jsonl(path, allow_truncated_tail=True)
                 if r.get("benchmark") in tasks and r.get("response") is not None]
        if texts:
            out[name] = round(sum(check(texts)) / len(texts), 4)
    return out


def add_format_rates(results: dict, work: Path, start: str, options: dict | None) -> None:
    """``eval.format_rate`` (start and each arm, from the journals) and ``eval.format_check``
    (the options) in ``results``, where the run has a format reward and its journals."""
    ev = results.get("eval")
    if not ev or options is None or not ev.get("tasks"):
        return
    labels = {"start": start, **{arm: arm_model(work, arm)[1]
                                 for arm in arm_order(results.get("arms", {}))}}
    if rates := journal_format_rates(work, labels, ev["tasks"], options):
        ev["format_rate"], ev["format_check"] = rates, options


def format_note(ev: dict) -> list[str]:
    """The well-formed share of the answers in words, start -> each arm; nothing without it."""
    rates = (ev or {}).get("format_rate")
    if not rates or "start" not in rates:
        return []
    arms = arm_order(name for name in rates if name != "start")  # a file read back sorts them
    check = ", ".join(f"{k}={v}" for k, v in sorted(ev["format_check"].items()))
    return [f"well-formed answers (the format reward's check, {check}) "
            f"on the pooled tasks, start -> {', '.join(arms)}: {rates['start']:.3f} -> "
            + ", ".join(f"{rates[a]:.3f}" for a in arms)]


def start_headroom(work: Path, arms) -> dict | None:
    """The start model's pass rates over the train problems, as the first arm (the run's
    order) that measured them left them in ``work`` (its curriculum's k samples a problem;
    every arm measures the same start): per task and over all, the problems, the mean pass
    rate, pass@k (the share solved at least once), and the shares never and always solved.
    None where no arm has them (a curriculum other than pass_rate)."""
    from slm_math.jsonl import read_jsonl

    for arm in arm_order(arms):
        path = arm_dir(work, arm) / "data" / "grpo" / "pass_rates.jsonl"
        if not path.is_file():
            continue
        rows = read_jsonl(path)
        if not rows:
            continue
        by_task: dict[str, list[dict]] = {}
        for row in rows:
            by_task.setdefault(row["source"], []).append(row)
        return {"arm": arm, "k": rows[0]["k"], "all": pass_rate_summary(rows),
                "tasks": {task: pass_rate_summary(group) for task, group in sorted(by_task.items())}}
    return None


def pass_rate_summary(rows: list[dict]) -> dict:
    """Problems, mean pass rate, pass@k and the never- and always-solved shares of
    ``rows`` (the curriculum's pass_rates.jsonl rows)."""
    n = len(rows)
    return {"problems": n,
            "mean_pass_rate": round(sum(r["pass_rate"] for r in rows) / n, 4),
            "pass_at_k": round(sum(r["correct"] > 0 for r in rows) / n, 4),
            "never_solved": round(sum(r["correct"] == 0 for r in rows) / n, 4),
            "always_solved": round(sum(r["correct"] == r["k"] for r in rows) / n, 4)}


def headroom_note(headroom: dict | None) -> list[str]:
    """The start's pass rates over the train problems in words; nothing without them."""
    if not headroom:
        return []
    k = headroom["k"]

    def words(row: dict) -> str:
        return (f"mean {row['mean_pass_rate']:.3f}, pass@{k} {row['pass_at_k']:.3f}, "
                f"never solved {row['never_solved']:.3f}")

    return [f"start's pass rates over the train problems ({k} samples each, the curriculum's "
            f"measurement): all {headroom['all']['problems']} " + words(headroom["all"]) + "; "
            + "; ".join(f"{task} {words(row)}" for task, row in headroom["tasks"].items())]


def partial_evaluation(work: Path, arms: list[str], start: str, tests: dict, tasks: list[str],
                       guard: str | None = None) -> dict:
    """The evaluations finished so far (--parallel finishes them as the arms end), with what
    they measured: the pooled ``tasks``, the start's label (``start_label``), the guard's
    benchmark (``held_out``: ``guard`` where ``tests`` hold it, else None) and the problems a
    benchmark; the start's accuracy and, for each arm evaluated, its accuracy (``pooled`` and
    one a benchmark, as the final results' ``accuracy``), McNemar against the start on the
    problems of ``tasks`` pooled (``vs_start``; the guard's benchmark apart, as in the final
    results) and on the guard's (``held_out_vs_start``); ``vs_static``: each arm against the
    static arm of its seed once both are evaluated (``static_comparisons``)."""
    start_verdicts = journal_verdicts(work, start, tests)
    if start_verdicts is None:
        return {}
    guard = guard if guard in tests else None
    verdicts = {"start": start_verdicts}
    for arm in arms:
        if (done := journal_verdicts(work, arm_model(work, arm)[1], tests)) is not None:
            verdicts[arm] = done

    def pooled(label: str) -> list[bool]:
        return pooled_tasks(verdicts[label], tasks)

    out: dict = {"tasks": list(tasks), "start_label": start, "held_out": guard,
                 "n_tasks": len(pooled("start")), "problems": {k: len(v) for k, v in tests.items()},
                 "start": accuracies(verdicts["start"], tasks), "arms": {}}
    evaluated = [arm for arm in arms if arm in verdicts]
    for arm in evaluated:
        row = {"pooled": accuracy(pooled(arm)), "accuracy": accuracies(verdicts[arm], tasks),
               "vs_start": paired(pooled("start"), pooled(arm))}
        if guard:
            row["held_out_vs_start"] = paired(verdicts["start"][guard], verdicts[arm][guard])
        out["arms"][arm] = row
    if against_static := static_comparisons(evaluated, pooled):
        out["vs_static"] = against_static
    return out


def pooled_tasks(verdicts: dict[str, list[bool]], tasks: list[str]) -> list[bool]:
    """The verdicts on the problems of ``tasks`` in one list (the guard's benchmark apart):
    what every comparison of the run pairs."""
    return [v for name in tasks for v in verdicts[name]]


def paired(a: list[bool], b: list[bool]) -> dict:
    """McNemar's exact test of b against a."""
    from slm_math.evaluation.stats import mcnemar_exact

    test = mcnemar_exact(a, b)
    return {"n": test.n, "a_only": test.a_only, "b_only": test.b_only,
            "delta": round(test.delta, 4), "p": float(f"{test.p_value:.3g}")}


def comparisons(arms: list[str], pooled: Callable[[str], list[bool]], key: str,
                base_of: Callable[[str, int | None, str | None], str | None]) -> list[dict]:
    """McNemar of each arm against the arm ``base_of(kind, seed, variant)`` names (None: no
    comparison), where the run has it; the row names that arm under ``key``. ``pooled(arm)``
    gives an arm's verdicts on the paired problems."""
    out = []
    for arm in arms:
        base = base_of(*parse_arm(arm))
        if base is not None and base in arms:
            out.append({"arm": arm, key: base, **paired(pooled(base), pooled(arm))})
    return out


def plain_arm(kind: str, seed: int | None) -> str:
    """The arm of ``kind`` at ``seed`` without a variant: ``static@1``, ``dynamic``."""
    return kind if seed is None else f"{kind}@{seed}"


def static_comparisons(arms: list[str], pooled: Callable[[str], list[bool]]) -> list[dict]:
    """Each arm not of the static kind against the plain static arm of its seed
    (``dynamic@1/lowlr`` against ``static@1``)."""
    return comparisons(arms, pooled, "static",
                       lambda kind, seed, _: None if kind == "static" else plain_arm("static", seed))


def base_comparisons(arms: list[str], pooled: Callable[[str], list[bool]]) -> list[dict]:
    """Each variant arm against the plain arm of its kind and seed (``dynamic@1/lowlr``
    against ``dynamic@1``, ``static@1/x`` against ``static@1``): what its own params changed."""
    return comparisons(arms, pooled, "base",
                       lambda kind, seed, variant: plain_arm(kind, seed) if variant else None)


def headline(rows: dict[str, dict], against_static: list[dict]) -> dict:
    """``dynamic_vs_static`` and the question's ``targets`` for one pair of arms, from the
    arms' summaries (``rows``) and their ``vs_static`` tests: the plain dynamic arm of the lowest
    seed that has its static arm, else the first dynamic variant that has one (a run of
    ``static@1,dynamic@1/lowlr``); empty where no dynamic arm has its static arm."""
    tests_of = {row["arm"]: row for row in against_static}
    dynamic = [arm for arm in rows if arm in tests_of and parse_arm(arm)[0] == "dynamic"]
    plain = sorted((a for a in dynamic if not parse_arm(a)[2]), key=lambda a: parse_arm(a)[1] or 0)
    arm = next(iter(plain + dynamic), None)
    if arm is None:
        return {}
    test = tests_of[arm]
    sta, dyn = rows[test["static"]], rows[arm]
    return {"dynamic_vs_static": {"arms": [test["static"], arm],
                                  **{k: v for k, v in test.items() if k not in ("arm", "static")}},
            "targets": {
                "dynamic_zero_std_drawn_under_30pct": (dyn["zero_std_drawn_mean"] or 0) < 0.30,
                # what the loss saw: dynamic sampling's point is that this share stays low
                "dynamic_zero_std_trained_under_30pct": (dyn["zero_std_trained_mean"] or 0) < 0.30,
                "dynamic_gain_larger_than_static": dyn["vs_start"]["delta"] > sta["vs_start"]["delta"],
            }}


def accuracy(verdicts: list[bool]) -> float | None:
    return round(sum(verdicts) / len(verdicts), 4) if verdicts else None


def accuracies(verdicts: dict[str, list[bool]], tasks: list[str]) -> dict:
    """An evaluation's ``accuracy`` dict: ``pooled`` over ``tasks``, then one a benchmark."""
    return {"pooled": accuracy(pooled_tasks(verdicts, tasks)), **{k: accuracy(v) for k, v in verdicts.items()}}


# name -> words in the notes
UPDATE_CURVES = {"grad_norm": "grad norm", "update_norm": "update norm", "entropy": "entropy"}


def update_windows(curves: dict[str, dict], steps: int) -> dict[str, list[dict]]:
    """Mean grad norm, update norm and entropy over fifths of a run of ``steps`` steps (one
    logged point a step), from ``{"step": [...], "value": [...]}`` curves; a curve the run
    lacks is left out (runs from before grad_norm or update_norm was recorded)."""
    from slm_math.tracking.dvclive_curves import window_means

    width = max(1, -(-steps // 5))
    return {name: window_means(curves[name], width) for name in UPDATE_CURVES
            if curves.get(name, {}).get("value")}


def update_notes(windows: dict[str, list[dict]]) -> list[str]:
    """``update_windows`` in words: "grad norm by fifths 0.12, 0.2, ..." a curve."""
    return [f"{words} by fifths " + ", ".join(f"{w['mean']:.3g}" for w in windows[name])
            for name, words in UPDATE_CURVES.items() if windows.get(name)]


def mix_notes(mix: dict | None) -> list[str]:
    """``task_mix`` in words: each task's share of the trained groups, first half -> second
    half of the run (where a curriculum moved the updates), or nothing without it."""
    if not mix:
        return []

    def share(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    return ["trained groups by task, share in the first -> second half: " + ", ".join(
        f"{task} {' -> '.join(share(v) for v in row['trained_share_by_half'])}"
        for task, row in mix.items())]


def curves_task_mix(curves: dict[str, dict]) -> dict:
    """``task_mix_summary`` of DVCLive curves (name -> step and value lists)."""
    from slm_math.training.grpo_dynamic import task_mix_summary

    return task_mix_summary({name: row["value"] for name, row in curves.items() if name.startswith("mix/")})


def fill_update_windows(results: dict, work: Path) -> None:
    """Each arm's ``update_windows`` that ``results`` lack, from the arm's DVCLive curves in
    ``work`` (the run's --work folder): a run from before metrics/grpo.json recorded grad_norm
    still logged it to DVCLive."""
    from slm_math.tracking.dvclive_curves import read_curves

    for arm, row in results.get("arms", {}).items():
        if row.get("update_windows"):
            continue
        folder = arm_curves(work, arm)
        if not folder.is_dir():
            raise SystemExit(f"--work {work}: no DVCLive curves for arm {arm!r} at {folder}")
        if windows := update_windows(read_curves(folder), row["steps"]):
            row["update_windows"] = windows


def arm_summary(metrics: dict) -> dict:
    """What the question asks of one arm's run, from its metrics/grpo.json."""
    curves = metrics["curves"]
    logged = {}  # as update_windows reads curves, without the steps TRL logged no value for
    for name in UPDATE_CURVES:
        pairs = [(s, v) for s, v in zip(curves["step"], curves.get(name) or []) if v is not None]
        logged[name] = {"step": [s for s, _ in pairs], "value": [v for _, v in pairs]}
    dynamic = metrics.get("dynamic_sampling", {})
    guard = metrics.get("held_out_guard") or {}
    return {
        "steps": metrics["steps"], "wall_time_s": metrics["wall_time_s"],
        "seconds_per_step": metrics["seconds_per_step"],
        "completions_per_step": metrics["completions_per_step"],
        "zero_std_drawn_mean": dynamic.get("frac_reward_zero_std_mean"),
        "zero_std_trained_mean": dynamic.get("zero_std_trained_mean",
                                             dynamic.get("frac_reward_zero_std_mean")),
        "extra_completions": dynamic.get("extra_completions", 0),
        "extra_generation_share": dynamic.get("extra_generation_share", 0.0),
        "train_prompts": metrics.get("train_prompts"),
        "curriculum_start": {k: v for k, v in metrics["curriculum"].items() if k != "pool_end"},
        "pool_end": metrics["curriculum"].get("pool_end"),
        "format_reward": metrics.get("format_reward"),
        "reward_curve": {"step": curves["step"], "reward": curves.get("reward")},
        "zero_std_curve": {"drawn": curves.get("frac_reward_zero_std"),
                           "trained": curves.get("dynamic/zero_std_trained",
                                                 curves.get("frac_reward_zero_std"))},
        "held_out_guard": {k: guard.get(k) for k in ("benchmark", "n", "curve", "lost", "gained")},
        "held_out_tasks_curve": (metrics.get("held_out_tasks") or {}).get("curve"),
        "update_windows": update_windows(logged, metrics["steps"]),
        "task_mix": metrics.get("task_mix"),
    }


def run_arms(arms: dict[str, dict], overrides: dict, ws: Path, work: Path, parallel: bool,
             evaluation: tuple[Path, dict, object] | None = None) -> dict:
    """Each arm's metrics, the arm trained with ``overrides`` plus its own (``arms``: arm ->
    ``arm_overrides``); with ``parallel``, the arms train at once in spawned processes (CUDA
    needs spawn), each writing its log lines prefixed with its name.

    ``evaluation`` (parallel only): ``(start model folder, tests, args)``: one more process
    evaluates the start model while the arms train, and each arm's process evaluates its
    model as soon as it is trained, so the journals are complete when the slowest arm ends
    and the evaluation after it only reads them back (``evaluate`` resumes from a journal)."""
    if not parallel or len(arms) < 2:
        return {arm: run_arm(arm, merge(overrides, own), ws, work) for arm, own in arms.items()}
    import multiprocessing

    # the cores shared out (torch's default of every core in each process oversubscribes them)
    workers = len(arms) + (evaluation is not None)
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // workers)))
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        if evaluation is not None:
            start_dir, tests, args = evaluation
            start = pool.apply_async(evaluate, (start_dir, start_label(start_dir), tests, work, args))
        jobs = {arm: pool.apply_async(train_and_evaluate, (arm, merge(overrides, own), ws, work, evaluation))
                for arm, own in arms.items()}
        metrics = {arm: job.get() for arm, job in jobs.items()}
        if evaluation is not None:
            start.get()
        return metrics


def train_and_evaluate(arm: str, overrides: dict, ws: Path, work: Path,
                       evaluation: tuple[Path, dict, object] | None) -> dict:
    """``run_arm``, then (with ``evaluation``: its tests and args) the arm's evaluation."""
    metrics = run_arm(arm, overrides, ws, work)
    if evaluation is not None:
        _, tests, args = evaluation
        evaluate(*arm_model(work, arm), tests, work, args)
    return metrics


def arm_model(work: Path, arm: str) -> tuple[Path, str]:
    """An arm's trained model folder and its evaluation label (its journal's name)."""
    folder = arm_dir(work, arm)
    return folder / "models" / "grpo", folder.name


def start_label(start_dir: Path) -> str:
    """The start model's evaluation label (its journal's name): ``start-sft_full``."""
    return f"start-{start_dir.name}"


def seed_spread(arms: dict) -> dict:
    """Per arm kind (and variant: ``dynamic/lowlr`` apart from ``dynamic``) run with two or
    more seeds: each seed's gain over the start, the mean and standard deviation of the
    gains, and how many are significant gains (p < 0.05)."""
    import statistics

    by_kind: dict[str, dict] = {}
    for arm, row in arms.items():
        kind, seed, variant = parse_arm(arm)
        if seed is not None:
            by_kind.setdefault(f"{kind}/{variant}" if variant else kind, {})[seed] = row["vs_start"]
    out = {}
    for kind, tests in by_kind.items():
        if len(tests) < 2:
            continue
        deltas = [t["delta"] for t in tests.values()]
        out[kind] = {"seeds": sorted(tests), "delta": {str(s): tests[s]["delta"] for s in sorted(tests)},
                     "p": {str(s): tests[s]["p"] for s in sorted(tests)},
                     "delta_mean": round(statistics.mean(deltas), 4),
                     "delta_stdev": round(statistics.stdev(deltas), 4),
                     "significant_gains": sum(t["delta"] > 0 and t["p"] < 0.05 for t in tests.values())}
    return out


# the pool's curves a partial summary gives the last value of (``pool_last``), in this order
POOL_CURVES = ("curriculum/active", "curriculum/fallback_draws", "curriculum/retired",
               "curriculum/pass_rate/0", "curriculum/pass_rate/100")


def partial_arm_summary(arm: str, work: Path, max_steps: int) -> dict:
    """What one arm has logged so far, from its DVCLive curves (its metrics when it finished)."""
    from slm_math.tracking.dvclive_curves import read_curves, window_means

    done = arm_dir(work, arm) / "metrics" / "grpo.json"
    curves = read_curves(arm_curves(work, arm))
    steps = curves.get("reward", {}).get("step", [])
    out: dict = {"complete": done.is_file(), "steps": max(steps, default=0), "max_steps": max_steps}
    drawn = curves.get("frac_reward_zero_std")
    trained = curves.get("dynamic/zero_std_trained", drawn)
    width = max(1, max_steps // 10)
    if drawn:
        out["zero_std_drawn_windows"] = window_means(drawn, width)
    if trained:
        out["zero_std_trained_windows"] = window_means(trained, width)
        out["zero_std_trained_mean"] = round(sum(trained["value"]) / len(trained["value"]), 4)
    extra = curves.get("dynamic/extra_completions")
    if extra:
        out["extra_completions"] = int(sum(extra["value"]))
    for name in POOL_CURVES:
        if curves.get(name):
            out.setdefault("pool_last", {})[name.split("/", 1)[1]] = curves[name]["value"][-1]
    if curves.get("reward"):
        out["reward_windows"] = window_means(curves["reward"], width)
    if curves.get("held_out/accuracy"):
        out["held_out"] = curves["held_out/accuracy"]
    if curves.get("held_out/tasks_accuracy"):
        out["held_out_tasks"] = curves["held_out/tasks_accuracy"]
    if windows := update_windows(curves, max_steps):
        out["update_windows"] = windows
    if mix := curves_task_mix(curves):
        out["task_mix"] = mix
    if weight := curves.get("format/weight"):  # a format guard watched (grpo.format_reward_restore_window)
        on = [step for step, value in zip(weight["step"], weight["value"]) if value > 0]
        rate = curves.get("format/rate")
        out["format_guard"] = {"restored_at_step": on[0] if on else None,
                               "rate_last_window": rate["value"][-1] if rate else None}
    return out


def workspace_note(workspace: dict | None) -> str:
    """What the start was trained on, where it is not the default (one-line reference
    solutions): ``, SFT on worked reference solutions (the gpu profile)``; else nothing."""
    style = (workspace or {}).get("data.solution_style", "expression")
    if style == "expression":
        return ""
    return f", SFT on {style} reference solutions (the {workspace.get('profile')} profile)"


def format_guard_note(guard: dict | None) -> list[str]:
    """The format guard in words: the step the format reward came back at, or that it stayed
    off (``guard``: ``format_reward.guard`` of metrics/grpo.json, or ``partial_arm_summary``'s
    ``format_guard``); nothing for a run without one."""
    if not guard:
        return []
    if guard.get("restored_at_step") is not None:
        rate = guard.get("rate_at_restore")
        return [f"format reward back at step {guard['restored_at_step']}"
                + (f" (well-formed share of the guard's window {rate:.2f})" if rate is not None else "")]
    rate = guard.get("rate_last_window")
    return ["format reward off throughout"
            + (f" (well-formed share of the last window {rate:.2f})" if rate is not None else "")]


def partial_notes(arms: dict) -> list[str]:
    """One line an arm, from ``partial_arm_summary``: progress, zero-variance shares, guard."""
    def windows(rows: list[dict]) -> str:
        return ", ".join(f"{w['mean']:.2f}" for w in rows)

    notes = []
    for arm, row in arms.items():
        parts = [f"{arm}: {row['steps']} of {row['max_steps']} steps"
                 + (" (finished)" if row["complete"] else " (not finished)")]
        if row.get("zero_std_trained_windows"):
            parts.append("zero-variance share the loss saw, by tenths of the run: "
                         + windows(row["zero_std_trained_windows"]))
        if row.get("zero_std_drawn_windows") and row.get("extra_completions") is not None:
            parts.append("as drawn: " + windows(row["zero_std_drawn_windows"]))
            parts.append(f"{row['extra_completions']:,} extra completions")
        if row.get("pool_last"):  # in POOL_CURVES' order, also when read back from a file (sorted)
            order = [name.split("/", 1)[1] for name in POOL_CURVES]
            pool = sorted(row["pool_last"].items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order))
            parts.append("pool at the last step: " + ", ".join(f"{k} {v:g}" for k, v in pool))
        if row.get("held_out_tasks"):
            parts.append("held-out accuracy on the training tasks "
                         + " -> ".join(f"{v:.3f}" for v in row["held_out_tasks"]["value"]))
        if row.get("held_out"):
            parts.append("held-out guard accuracy "
                         + " -> ".join(f"{v:.3f}" for v in row["held_out"]["value"]))
        parts += update_notes(row.get("update_windows") or {})
        parts += mix_notes(row.get("task_mix"))
        parts += format_guard_note(row.get("format_guard"))
        notes.append("; ".join(parts))
    return notes


def against(arm: str, other: str, test: dict) -> str:
    """One paired comparison in words: "dynamic@1 against static@1: +2.2 pp, p 0.04 on 1000 problems"."""
    return f"{arm} against {other}: {pp(test['delta'])}, p {test['p']:.2g} on {test['n']} problems"


def final_notes(results: dict) -> list[str]:
    """The findings of a finished run, computed from its results: one line an arm (accuracy
    against the start with McNemar's p, zero-variance shares, extra generation, step time,
    pool at the end, held-out guard), the accuracy a benchmark of the start and each arm,
    then the seeds' spread, dynamic against static, each
    other dynamic arm against the static arm of its seed, each variant against its plain arm
    and the targets where the run has them."""
    ev = results.get("eval", {})
    start = ev.get("start", {}).get("pooled")
    notes = []
    if start is not None:
        notes.append(f"start model: {start:.3f} greedy on {ev.get('n_tasks')} task problems "
                     f"({', '.join(ev.get('tasks', []))}), {ev.get('max_new_tokens')} new tokens"
                     + workspace_note(results.get("workspace")))
    arms = {arm: results["arms"][arm] for arm in arm_order(results.get("arms", {}))}
    for arm, row in arms.items():  # in the run's order: a file read back has them sorted
        vs = row["vs_start"]
        parts = [f"{arm}: {row['steps']} steps, accuracy {row['accuracy']['pooled']:.3f} "
                 f"({pp(vs['delta'])} over the start, {vs['b_only']} won / {vs['a_only']} lost, "
                 f"p {vs['p']:.2g})"]
        parts.append(f"zero-variance groups {row['zero_std_drawn_mean'] or 0:.2f} drawn, "
                     f"{row['zero_std_trained_mean'] or 0:.2f} trained")
        if row.get("extra_completions"):
            parts.append(f"{row['extra_completions']:,} extra completions "
                         f"({row['extra_generation_share']:.2f}x the step's own)")
        parts.append(f"{row['seconds_per_step']:.1f} s a step")
        pool_start = (row.get("curriculum_start") or {}).get("pool_start") or {}
        pool_end = row.get("pool_end") or {}
        if pool_end:
            parts.append(f"pool active {pool_start.get('active', '?')} -> {pool_end['active']} of "
                         f"{pool_end['problems']} (retired {pool_end['retired']}, cooling "
                         f"{pool_end['cooling']}, fallback draws {pool_end['fallback_draws']}"
                         + (f", dry from step {pool_end['dry_step']}" if pool_end.get("dry_step") is not None
                            else "") + ")")
        tasks = row.get("held_out_tasks_curve") or {}
        if tasks.get("accuracy"):
            parts.append("held-out training-task problems at steps " + ", ".join(map(str, tasks["step"]))
                         + ": " + " -> ".join(f"{a:.3f}" for a in tasks["accuracy"]))
        guard = row.get("held_out_guard") or {}
        curve = (guard.get("curve") or {}).get("accuracy")
        if curve:
            held = row.get("held_out_vs_start")
            parts.append(f"{guard.get('benchmark')} during training " + " -> ".join(f"{a:.3f}" for a in curve)
                         + (f" (after vs start {pp(held['delta'])}, p {held['p']:.2g})" if held else ""))
        parts += update_notes(row.get("update_windows") or {})
        parts += mix_notes(row.get("task_mix"))
        parts += format_guard_note((row.get("format_reward") or {}).get("guard"))
        decision = str((row.get("format_reward") or {}).get("decision") or "")
        if decision.startswith("kept"):  # the rule left it on: no guard, and unlike an arm it turned off
            parts.append(f"format reward on throughout ({decision})")
        notes.append("; ".join(parts))
    notes += benchmark_note(ev.get("start") or {}, {arm: row.get("accuracy") for arm, row in arms.items()}, ev)
    notes += format_note(ev)
    notes += headroom_note(ev.get("start_headroom"))
    for kind, row in results.get("seeds", {}).items():
        notes.append(f"{kind} over seeds {', '.join(map(str, row['seeds']))}: gain "
                     f"{pp(row['delta_mean'])} (sd {row['delta_stdev'] * 100:.1f} pp), significant "
                     f"(p < 0.05) in {row['significant_gains']} of {len(row['seeds'])}")

    dvs = results.get("dynamic_vs_static")
    if dvs:
        notes.append(against(dvs["arms"][1], dvs["arms"][0], dvs))
    for row in results.get("vs_static", []):
        if not dvs or [row["static"], row["arm"]] != dvs["arms"]:  # that pair's line is above
            notes.append(against(row["arm"], row["static"], row))
    for row in results.get("vs_base", []):
        notes.append(against(row["arm"], row["base"], row))
    if targets := results.get("targets"):
        notes.append("targets: " + ", ".join(f"{k} {'met' if v else 'missed'}" for k, v in targets.items()))
    return notes


def benchmark_note(start: dict, arms: dict[str, dict], evaluation: dict | None = None) -> list[str]:
    """Accuracy a benchmark in words, the start's then each arm's (``arms``: arm -> its
    ``accuracy`` dict): where on the pooled problems a gain or a loss is; nothing for results
    without per-benchmark accuracy. The benchmarks come in the run's order (``evaluation``'s
    ``tasks``, then its ``held_out`` guard), which a results file read back has lost: it is
    written with sorted keys."""
    evaluation = evaluation or {}
    order = [*(evaluation.get("tasks") or []), evaluation.get("held_out")]
    names = sorted((name for name in start if name != "pooled"),
                   key=lambda name: order.index(name) if name in order else len(order))
    arms = {arm: acc for arm, acc in arms.items() if acc}
    if not names or not arms:
        return []

    def fmt(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f}"

    return [f"accuracy a benchmark, start -> {', '.join(arms)}: " + "; ".join(
        f"{name} {fmt(start[name])} -> {', '.join(fmt(acc.get(name)) for acc in arms.values())}"
        for name in names)]


def evaluation_note(done: dict) -> str:
    """``partial_evaluation``'s line in the partial notes: the start's and each evaluated arm's
    pooled accuracy, and each arm against the static arm of its seed (``vs_static``)."""
    parts = [f"evaluated so far: start {done['start']['pooled']:.3f}"]
    for arm, row in done["arms"].items():
        test = row["vs_start"]
        parts.append(f"{arm} {row['pooled']:.3f} ({pp(test['delta'])} over the start, "
                     f"p {test['p']:.2g} on {test['n']} problems)")
    parts += [against(row["arm"], row["static"], row) for row in done.get("vs_static", [])]
    return "; ".join(parts)


def cut_notes(arms: dict, done: dict | None) -> list[str]:
    """A partial file's notes: ``partial_notes`` of its arms, then ``evaluation_note``,
    ``benchmark_note`` and ``format_note`` of the evaluations finished so far (``done``, when
    there are any)."""
    if not done:
        return partial_notes(arms)
    evaluated = {arm: row.get("accuracy") for arm, row in done["arms"].items()}
    return (partial_notes(arms) + [evaluation_note(done)] + benchmark_note(done["start"], evaluated, done)
            + format_note(done))


class PartialWriter(threading.Thread):
    """Rewrites ``path`` every ``every`` seconds with the arms' partial summaries until stopped;
    ``max_steps``: each arm's own (``--arm-set`` may change it); with ``evaluation``, also the
    evaluations finished so far (``partial_evaluation``)."""

    def __init__(self, path: Path, arms: list[str], work: Path, max_steps: dict[str, int],
                 every: float, facts: dict, evaluation: tuple | None = None):
        super().__init__(daemon=True)
        self.path, self.arms, self.work, self.max_steps = path, arms, work, max_steps
        self.every, self.facts, self.halt = every, facts, threading.Event()
        self.evaluation = evaluation  # (start label, tests, task names[, guard]): partial_evaluation's
        self.lock = threading.Lock()

    def write(self) -> None:
        from common import without_local_paths

        from slm_math.jsonl import write_atomic

        arms = {arm: partial_arm_summary(arm, self.work, self.max_steps[arm]) for arm in self.arms}
        payload = {**self.facts, "complete": False, "arms": arms}
        done = partial_evaluation(self.work, self.arms, *self.evaluation) if self.evaluation else {}
        if done:
            payload["eval"] = done
        payload["notes"] = cut_notes(arms, done)
        write_atomic(self.path, json.dumps(without_local_paths(payload), indent=2, sort_keys=True) + "\n")

    def safe_write(self) -> None:
        """``write``, reporting instead of raising: a summary must never stop the run."""
        with self.lock:
            try:
                self.write()
            except Exception as exc:
                print(f"partial summary not written: {exc}", file=sys.stderr)

    def run(self) -> None:
        while not self.halt.wait(self.every):
            self.safe_write()

    def stop(self) -> None:
        self.halt.set()
        self.join()
        self.path.unlink(missing_ok=True)


# ---------------------------------------------------------------- --show of a partial file
def arm_order(arms) -> list[str]:
    """Arms in the order a run names them, for a partial file (its JSON sorts them by name):
    by seed, the static kind first, a plain arm before its variants (``static@1``,
    ``dynamic@1``, ``dynamic@1/lowlr``, ``static@2``)."""
    def key(arm: str) -> tuple:
        kind, seed, variant = parse_arm(arm)
        return seed or 0, kind != "static", variant or ""
    return sorted(arms, key=key)


def journal_tests(path: Path) -> dict[str, list[dict]]:
    """The tests of an evaluation, rebuilt from its journal: benchmark -> its problems in
    journal order (``evaluate_cell`` journals each benchmark in problem order), each once, as
    ``{"id": problem_id}`` (all that ``journal_verdicts`` reads of a problem)."""
    from slm_math.jsonl import iter_jsonl

    tests: dict[str, list[dict]] = {}
    seen: set[str] = set()
    for row in iter_jsonl(path, allow_truncated_tail=True):
        if row["problem_id"] not in seen:
            seen.add(row["problem_id"])
            tests.setdefault(row["benchmark"], []).append({"id": row["problem_id"]})
    return tests


def journal_start(results: dict, work: Path) -> str:
    """The start model's evaluation label of a partial file's run: the file's
    ``eval.start_label``, else ``start-`` + its ``grpo.init`` override, else the one
    ``start-*.jsonl`` journal in ``work``/eval."""
    if label := (results.get("eval") or {}).get("start_label"):
        return label
    if init := ((results.get("overrides") or {}).get("grpo") or {}).get("init"):
        return start_label(Path(init))
    found = sorted(p.stem for p in (work / "eval").glob("start-*.jsonl"))
    if len(found) != 1:
        raise SystemExit(f"--work {work}: the file names no start model (eval.start_label, grpo.init) "
                         f"and eval/ holds {len(found)} start-*.jsonl journals ({', '.join(found)}), not one")
    return found[0]


def journal_guard(results: dict, benchmarks) -> str | None:
    """The held-out guard's benchmark of a partial file's run: the file's ``eval.held_out``
    where it records it (None: the run had no guard), else ``grpo.held_out.benchmark`` of the
    repo's params.yaml with the file's overrides, the way the run read it; None when the
    journals lack that benchmark (a run evaluates the guard only where its test file exists)."""
    ev = results.get("eval") or {}
    if "held_out" in ev:
        return ev["held_out"]
    from slm_math.config import ParamsError, load_params

    try:
        name = load_params(ROOT / "params.yaml", results.get("overrides") or {}).grpo.held_out.benchmark
    except ParamsError as err:
        raise SystemExit(f"--show: the file's overrides on params.yaml: {err}") from None
    return name if name in benchmarks else None


def journal_evaluation(results: dict, work: Path) -> dict:
    """A partial file's ``eval`` recomputed from the journals in ``work``/eval (the run's
    --work), as its PartialWriter would: the tests rebuilt from the start's journal; the
    pooled tasks the file's ``eval.tasks``, else the journal's benchmarks but the guard's
    (``journal_guard``)."""
    start = journal_start(results, work)
    path = work / "eval" / f"{start}.jsonl"
    if not path.is_file():
        raise SystemExit(f"--work {work}: no journal of the start model at {path}")
    tests = journal_tests(path)
    guard = journal_guard(results, tests)
    tasks = (results.get("eval") or {}).get("tasks") or [name for name in tests if name != guard]
    if missing := [name for name in tasks if name not in tests]:
        raise SystemExit(f"--work {work}: {path.name} holds no problems of {', '.join(missing)}")
    print(f"evaluation from {path.parent}: start {start}, tasks {', '.join(tasks)}, guard {guard}",
          file=sys.stderr)
    return partial_evaluation(work, arm_order(results["arms"]), start, tests, tasks, guard)


def partial_show_notes(results: dict, work: Path | None, format_options: dict | None = None) -> list[str]:
    """``--show`` of a partial file: its notes as its PartialWriter writes them (``cut_notes``),
    the arms in ``arm_order``; with ``work``, its ``eval`` first recomputed from the journals
    there (``journal_evaluation``), with the well-formed shares by ``format_options``
    (``add_format_rates``)."""
    if work:
        results["eval"] = journal_evaluation(results, work)
        add_format_rates(results, work, results["eval"].get("start_label"), format_options)
    done = results.get("eval")
    if done:
        done = {**done, "arms": {arm: done["arms"][arm] for arm in arm_order(done.get("arms", {}))}}
    return cut_notes({arm: results["arms"][arm] for arm in arm_order(results["arms"])}, done)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workspace", type=Path, default=Path("."),
                        help="folder with params.yaml, data/train, data/benchmarks, models/")
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temp dir name)")
    parser.add_argument("--steps", type=int, default=None, help="grpo.max_steps of both arms")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="params overrides applied to every arm, e.g. grpo.beta=0")
    parser.add_argument("--arms", default="static,dynamic",
                        help=f"arms to run, each {ARM_SYNTAX} (e.g. static@1,dynamic@1,dynamic@1/lowlr)")
    parser.add_argument("--arm-set", action="append", nargs="+", metavar=("ARM", "KEY=VALUE"),
                        help="params overrides for one arm of --arms only, over its kind's and "
                             "seed's settings (repeatable), e.g. dynamic@1/lowlr grpo.learning_rate=1.0e-4")
    parser.add_argument("--parallel", action="store_true", help="train the arms at once (one process each)")
    parser.add_argument("--eval-limit", type=int, default=None, help="test problems a GRPO benchmark")
    parser.add_argument("--guard-limit", type=int, default=None,
                        help="problems of the held-out guard's benchmark (default: all)")
    parser.add_argument("--eval-backend", default="auto", help="auto (vllm where installed) | hf | vllm")
    parser.add_argument("--eval-max-new-tokens", type=int, default=256)
    parser.add_argument("--eval-batch-size", type=int, default=256)
    parser.add_argument("--eval-chunk", type=int, default=500)
    parser.add_argument("--seed", type=int, default=None, help="default: params.yaml's seed")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--partial-every", type=float, default=60.0,
                        help="seconds between rewrites of <out>.partial.json (see the docstring)")
    parser.add_argument("--tiny", action="store_true", help="CPU smoke run (see the docstring)")
    parser.add_argument("--show", type=Path, metavar="FILE",
                        help="print the notes of a results file, finished or partial; with --out, "
                             "write it there with its notes recomputed; with --work, fill the "
                             "update windows a finished file lacks from the arms' DVCLive curves "
                             "there, or recompute a partial file's evaluation from the journals "
                             "in its eval/; either way, the well-formed share of each "
                             "evaluation's answers from those journals (eval.format_rate)")
    return parser


def main() -> None:
    args = build_parser().parse_args()

    from common import machine, print_table, write_results

    if args.show:
        results = json.loads(args.show.read_text())
        options = show_format_options(results, args.workspace) if args.work else None
        if results.get("complete") is False:  # a cut run's <out>.partial.json
            results["notes"] = partial_show_notes(results, args.work, options)
        else:
            if args.work:
                fill_update_windows(results, args.work)
                if (args.work / "eval").is_dir():  # the evaluations' journals
                    add_format_rates(results, args.work, journal_start(results, args.work), options)
                if "start_headroom" not in results.get("eval", {}):
                    if headroom := start_headroom(args.work, results["arms"]):
                        results["eval"]["start_headroom"] = headroom
            results.update(headline(results["arms"], results.get("vs_static", [])))
            results["notes"] = final_notes(results)
        print("\n".join(f"- {note}" for note in results["notes"]))
        if args.out:
            write_results(args.out.stem, results, args.out.parent)
        return

    arms = arm_list(args.arms)
    arm_sets = parse_arm_sets(args.arm_set, arms)

    from slm_math.config import ParamsError, load_params
    from slm_math.evaluation.run import load_benchmarks

    default_work = Path(tempfile.gettempdir()) / f"grpo_dynamic{'_tiny' if args.tiny else ''}"
    work = (args.work or default_work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    ws = args.workspace.resolve()
    sets = list(args.set)
    if args.tiny:
        init = load_params(ws / "params.yaml").grpo.init if (ws / "params.yaml").is_file() else None
        if not ((ws / "data" / "train").is_dir() and init and (ws / "models" / init).is_dir()):
            ws = work / "workspace"
            build_tiny_workspace(ws)
            sets = ["grpo.init=base", "grpo.benchmarks=[products]"] + sets
        sets = TINY_SET + sets
        args.steps = args.steps or 3
        args.eval_limit = args.eval_limit or 16
        args.guard_limit = args.guard_limit or 8
        args.eval_max_new_tokens = min(args.eval_max_new_tokens, 64)
        args.eval_backend = "hf" if args.eval_backend == "auto" else args.eval_backend
    overrides = parse_set(sets)
    if args.steps:
        overrides = merge(overrides, {"grpo": {"max_steps": args.steps}})
    if args.seed is not None:
        overrides["seed"] = args.seed
    asked = overrides  # for the results file: no local paths in it
    # the store: one an arm, under --work (run_arm)
    overrides = merge(overrides, {"tracking": {"experiment": "grpo-dynamic", "log_model_files": False}})
    base = load_params(ws / "params.yaml", overrides)
    profile = base.grpo.curriculum.profile
    if profile and not Path(profile).is_absolute():  # the stage reads it from the repo root
        overrides = merge(overrides, {"grpo": {"curriculum": {"profile": str(ws / profile)}}})
    args.seed = base.seed if args.seed is None else args.seed
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    own = {arm: arm_overrides(arm, arm_sets.get(arm)) for arm in arms}
    max_steps = {}  # an arm's own: --arm-set may change grpo.max_steps
    for arm, changes in own.items():  # a typo in one arm's --arm-set stops the run before any arm trains
        try:
            max_steps[arm] = load_params(ws / "params.yaml", merge(overrides, changes)).grpo.max_steps
        except ParamsError as err:
            raise SystemExit(f"{arm}: {err}") from None
    # what the start was trained on, beside the arms' overrides (a profile, worked traces)
    workspace = {"profile": base.profile_name, "data.solution_style": base.data.solution_style}
    results: dict = {"arms": {}, "overrides": asked, "arm_overrides": own, "workspace": workspace,
                     "tiny": args.tiny, "parallel": args.parallel}
    out = args.out or (work / "grpo_dynamic-tiny.json" if args.tiny
                       else ROOT / "experiments" / "results" / "grpo_dynamic.json")
    cfg = base.grpo
    tasks = cfg.benchmarks or sorted(p.stem for p in (ws / "data" / "train").glob("*.jsonl"))
    tests = load_benchmarks(tasks, ws / "data" / "benchmarks", args.eval_limit)
    guard_name = cfg.held_out.benchmark
    if (ws / "data" / "benchmarks" / f"{guard_name}.jsonl").is_file() and guard_name not in tests:
        tests.update(load_benchmarks([guard_name], ws / "data" / "benchmarks", args.guard_limit))
    start_dir = ws / "models" / cfg.init
    partial = PartialWriter(out.with_name(f"{out.stem}.partial.json"), arms, work,
                            max_steps, args.partial_every,
                            {"overrides": asked, "workspace": workspace,
                             "machine": machine(("torch", "transformers", "trl"))},
                            (start_label(start_dir), tests, tasks, guard_name))
    partial.start()
    start_clock = time.perf_counter()
    metrics = run_arms(own, overrides, ws, work, args.parallel, (start_dir, tests, args))
    partial.safe_write()  # trained: what the arms did, before the evaluation

    verdicts = {"start": evaluate(start_dir, start_label(start_dir), tests, work, args)}
    for arm in arms:
        verdicts[arm] = evaluate(*arm_model(work, arm), tests, work, args)

    def pooled(label: str) -> list[bool]:
        return pooled_tasks(verdicts[label], tasks)

    n_pooled = len(pooled("start"))
    results["eval"] = {"tasks": tasks, "held_out": guard_name if guard_name in tests else None,
                       "n_tasks": n_pooled, "problems": {k: len(v) for k, v in tests.items()},
                       "max_new_tokens": args.eval_max_new_tokens,
                       "start": accuracies(verdicts["start"], tasks)}
    if n_pooled < 1000 and not args.tiny:
        print(f"warning: {n_pooled} paired task problems (< 1,000 asked for); raise --eval-limit "
              "or data.test_size", file=sys.stderr)
    for arm in arms:
        row = arm_summary(metrics[arm])
        row["accuracy"] = accuracies(verdicts[arm], tasks)
        row["vs_start"] = paired(pooled("start"), pooled(arm))
        if guard_name in tests:
            row["held_out_vs_start"] = paired(verdicts["start"][guard_name], verdicts[arm][guard_name])
        results["arms"][arm] = row
    add_format_rates(results, work, start_label(start_dir), format_check_options(ws))
    if headroom := start_headroom(work, arms):
        results["eval"]["start_headroom"] = headroom
    against_static = static_comparisons(arms, pooled)
    if against_static:
        results["vs_static"] = against_static
    results.update(headline(results["arms"], against_static))
    if against_base := base_comparisons(arms, pooled):
        results["vs_base"] = against_base
    if spread := seed_spread(results["arms"]):
        results["seeds"] = spread
    results["wall_time_s"] = round(time.perf_counter() - start_clock, 1)
    results["machine"] = machine(("torch", "transformers", "trl", "vllm"))

    table = [{"arm": arm, "steps": r["steps"], "zero_std_drawn": r["zero_std_drawn_mean"],
              "zero_std_trained": r["zero_std_trained_mean"],
              "extra_gen_share": r["extra_generation_share"], "s_per_step": r["seconds_per_step"],
              "accuracy": r["accuracy"]["pooled"], "delta_vs_start": r["vs_start"]["delta"],
              "p": r["vs_start"]["p"],
              "tasks": " -> ".join(f"{a:.3f}" for a in (r.get("held_out_tasks_curve") or {}).get("accuracy", [])),
              "guard": " -> ".join(f"{a:.3f}" for a in (r["held_out_guard"]["curve"] or {}).get("accuracy", []))}
             for arm, r in results["arms"].items()]
    print(f"start ({cfg.init}): pooled accuracy {results['eval']['start']['pooled']} on {n_pooled} problems")
    print_table(table, list(table[0]))
    for kind, row in results.get("seeds", {}).items():
        print(f"{kind} over seeds {row['seeds']}: gain {row['delta_mean']:+.4f} ± {row['delta_stdev']:.4f}, "
              f"significant in {row['significant_gains']} of {len(row['seeds'])}")
    results["notes"] = final_notes(results)
    partial.stop()
    write_results(out.stem, results, out.parent)


if __name__ == "__main__":
    main()
