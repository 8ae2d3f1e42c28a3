"""`slm-math`: the commands that are not pipeline stages.

    slm-math run [--jobs N] [dvc repro args...]   dvc repro, streamed, then each stage's wall time
    slm-math compare A B               paired significance of two experiments' eval results
    slm-math snapshot results/<profile> [--times T]   a run's results folder (docs/profiles.md)
    slm-math params [--profile P] [K=V ...]   compose params.yaml from conf/ (DVC's Hydra)
    slm-math wheelhouse --have F --python PY  wheels for an offline GPU machine (docs/gpu.md)
    slm-math results [--check]          docs/results.md and the README's results table
    slm-math plots-template --build P=DIR ...   the offline page of dvc plots (vega inlined)

A and B are git revisions, DVC experiment names, `workspace`, or results folders
(`results/gpu`, written by `slm-math snapshot`).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Sequence

STAGE_DONE = re.compile(r"^\[(?P<stage>[^\]]+)\] done in (?P<seconds>[0-9.]+) s")
DVC_RUNNING = re.compile(r"^Running stage '(?P<stage>[^']+)'")


def stage_times(lines: Sequence[str]) -> list[tuple[str, float]]:
    """(stage, seconds) from the `[name] done in X s` lines stages print, in order."""
    out = []
    for line in lines:
        match = STAGE_DONE.match(line.strip())
        if match:
            out.append((match["stage"], float(match["seconds"])))
    return out


def split_run_args(dvc_args: Sequence[str]) -> tuple[bool, list[str], list[str]]:
    """(keep_going, options, targets) of `dvc repro` arguments as `slm-math run --jobs` reads
    them: `-k`/`--keep-going` is the runner's own, other options go to each stage's repro."""
    keep_going = any(a in ("-k", "--keep-going") for a in dvc_args)
    options = [a for a in dvc_args if a.startswith("-") and a not in ("-k", "--keep-going")]
    targets = [a for a in dvc_args if not a.startswith("-")]
    return keep_going, options, targets


def serial_stage_times(lines: Sequence[str]) -> list[dict]:
    """times.json's stage entries of one `dvc repro`'s output: each stage's own time."""
    return [{"stage": stage, "seconds": seconds} for stage, seconds in stage_times(lines)]


def parallel_stage_times(runs) -> list[dict]:
    """times.json's stage entries of finished `StageRun`s: the stage's own time (its `done in`
    line) and when, since the run began, it started and ended; a failed one has its exit
    status."""
    out = []
    for run in runs:
        inside = dict(stage_times(run.lines))
        entry = {"stage": run.stage, "seconds": inside.get(run.stage, 0.0),
                 "start_s": round(run.start_s, 1), "end_s": round(run.end_s, 1)}
        if run.returncode:
            entry["returncode"] = run.returncode  # failed: it printed no `done in` line
        out.append(entry)
    return out


def cmd_run(args: argparse.Namespace) -> int:
    """`dvc repro` with its output streamed (with `--jobs N`, up to N independent stages at
    once: slm_math.parallel_repro), then a table of stage wall times and the total. With
    `--times`, the JSON is rewritten as each stage ends (`complete` false until the run
    ends), so an interrupted run keeps the times of the stages it finished."""
    from rich.console import Console
    from rich.table import Table

    from slm_math.jsonl import write_atomic
    from slm_math.tracking.machine import machine_facts

    start = time.perf_counter()
    load_before = list(os.getloadavg())
    machine = machine_facts() if args.times else None

    def write_times(stages: list[dict], returncode: int | None) -> None:
        if not args.times:
            return
        write_atomic(args.times, json.dumps({
            "command": command, "returncode": returncode, "complete": returncode is not None,
            "jobs": args.jobs, "total_s": round(time.perf_counter() - start, 1),
            "stages": stages, "load_average_start": load_before,
            "load_average_end": list(os.getloadavg()), "machine": machine}, indent=2) + "\n")

    if args.jobs > 1:
        from slm_math.parallel_repro import pipeline_graph, print_line, run_parallel

        keep_going, options, targets = split_run_args(args.dvc_args)
        if targets:
            print(f"error: run: --jobs runs the whole pipeline; got targets {targets} "
                  "(leave --jobs out to reproduce chosen stages)", file=sys.stderr)
            return 2
        command = ["dvc", "repro", *args.dvc_args, f"(--jobs {args.jobs})"]
        runs = run_parallel(pipeline_graph("."), args.jobs, keep_going=keep_going,
                            dvc_args=options, echo=print_line,
                            on_done=lambda done: write_times(parallel_stage_times(done), None))
        stages = parallel_stage_times(r for r in runs if r.returncode is not None)
        failed = [r.stage for r in runs if r.returncode not in (0, None)]
        skipped = [r.stage for r in runs if r.returncode is None]
        for label, names in (("failed", failed), ("not run", skipped)):
            if names:
                print(f"{label}: {', '.join(names)}", file=sys.stderr)
        returncode = 1 if failed or skipped else 0
    else:
        command = ["dvc", "repro", *args.dvc_args]
        lines: list[str] = []
        with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, bufsize=1) as proc:
            assert proc.stdout is not None
            for line in proc.stdout:
                sys.stdout.write(line)
                sys.stdout.flush()
                lines.append(line)
                if STAGE_DONE.match(line.strip()):
                    write_times(serial_stage_times(lines), None)
        returncode = proc.returncode
        stages = serial_stage_times(lines)
    total = time.perf_counter() - start
    table = Table(title=f"`{' '.join(command)}`: stage wall times")
    table.add_column("stage")
    table.add_column("wall s", justify="right")
    for entry in stages:
        table.add_row(entry["stage"], f"{entry['seconds']:.1f}")
    table.add_row("total (incl. DVC)", f"{total:.1f}", style="bold")
    Console(stderr=True).print(table)
    write_times(stages, returncode)
    return returncode


def cmd_compare(args: argparse.Namespace) -> int:
    """Per cell and benchmark: accuracy A, B, paired delta, McNemar p, bootstrap CI."""
    from rich.console import Console
    from rich.table import Table

    from slm_math.report.compare import (RevisionError, compare_results, comparison_rows,
                                         read_results_at)
    from slm_math.report.table import format_p

    try:
        a = read_results_at(args.repo, args.a)
        b = read_results_at(args.repo, args.b)
    except RevisionError as err:
        print(f"error: compare: {err}", file=sys.stderr)
        return 2
    comparisons = compare_results(a, b)
    if not comparisons:
        print(f"error: compare: {args.a} and {args.b} share no eval cell "
              f"({', '.join(a)} vs {', '.join(b)})", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"a": args.a, "b": args.b, "cells": comparison_rows(comparisons)}, indent=2))
        return 0
    table = Table(title=f"A = {args.a}   B = {args.b}   (paired on the same problems)")
    for column in ("cell", "benchmark", "n", "acc A", "acc B", "Δ (pp)", "95% CI of Δ", "McNemar p"):
        table.add_column(column, justify="left" if column in ("cell", "benchmark") else "right")
    for c in comparisons:
        star = " *" if c.p_value < args.alpha else ""
        table.add_row(c.cell, c.benchmark, str(c.n), f"{100 * c.accuracy_a:.1f}",
                      f"{100 * c.accuracy_b:.1f}", f"{100 * c.delta:+.1f}",
                      f"[{100 * c.delta_ci95[0]:+.1f}, {100 * c.delta_ci95[1]:+.1f}]",
                      format_p(c.p_value) + star)
    Console().print(table)
    print(f"* p < {args.alpha}; n = problems both answered. CI: paired bootstrap.")
    return 0


def cmd_snapshot(args: argparse.Namespace) -> int:
    """Write a profile's results folder from the workspace (slm_math.report.snapshot)."""
    from slm_math.report.snapshot import snapshot

    times = json.loads(open(args.times).read()) if args.times else None
    run = snapshot(args.repo, args.dest, times=times, commit=args.commit)
    print(f"wrote {args.dest}: profile {run['profile']}, commit {run['commit']}, "
          f"{run['eval_rows']} eval rows")
    return 0


def cmd_params(args: argparse.Namespace) -> int:
    """Compose params.yaml from conf/ for a profile (what `dvc exp run -S profile=P` does)."""
    from slm_math.config.profiles import available_profiles, compose_params

    if args.list:
        print("\n".join(available_profiles(args.repo)))
        return 0
    try:
        path = compose_params(args.repo, args.profile, args.overrides, args.output)
    except ValueError as err:
        print(f"error: params: {err}", file=sys.stderr)
        return 2
    except Exception as err:  # Hydra's composition errors name the override or file
        print(f"error: params: {type(err).__name__}: {err}", file=sys.stderr)
        return 2
    print(f"wrote {path} (profile {args.profile or 'default'})")
    return 0


def cmd_wheelhouse(args: argparse.Namespace) -> int:
    """Build a folder of wheels for an offline GPU machine (slm_math.wheelhouse)."""
    from pathlib import Path

    from slm_math.wheelhouse import WheelhouseError, build_wheelhouse

    try:
        manifest = build_wheelhouse(Path(args.requirements), Path(args.have), args.python,
                                    Path(args.dest), progress=lambda m: print(m, flush=True))
    except WheelhouseError as err:
        print(f"error: wheelhouse: {err}", file=sys.stderr)
        return 2
    print(f"{args.dest}: {len(manifest['files'])} wheels, {manifest['bytes'] / 1e6:.1f} MB; "
          f"{manifest['target_packages_kept']} packages the target already has are left out")
    return 0


def cmd_results(args: argparse.Namespace) -> int:
    """Write docs/results.md and the README's results table (slm_math.report.results_page)."""
    from slm_math.report.results_page import write_results_docs

    try:
        stale = write_results_docs(args.repo, check=args.check)
    except ValueError as err:
        print(f"error: results: {err}", file=sys.stderr)
        return 2
    if args.check:
        for path in stale:
            print(f"{path}: differs from `slm-math results`", file=sys.stderr)
        return 1 if stale else 0
    print(f"wrote {', '.join(map(str, stale)) or 'nothing (up to date)'}")
    return 0


def cmd_plots_template(args: argparse.Namespace) -> int:
    """Write .dvc/plots/offline.html from unpacked npm packages (slm_math.report.plots_page)."""
    from pathlib import Path

    from slm_math.report.plots_page import BUILDS, write_template

    packages = dict(b.split("=", 1) for b in args.build)
    missing = sorted(set(BUILDS) - set(packages))
    if missing:
        print(f"error: plots-template: no --build for {', '.join(missing)}", file=sys.stderr)
        return 2
    try:
        path = write_template(args.repo, {k: Path(v) for k, v in packages.items()})
    except (OSError, ValueError, KeyError) as err:
        print(f"error: plots-template: {err}", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `slm-math`."""
    parser = argparse.ArgumentParser(prog="slm-math", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="dvc repro with per-stage wall times",
                         description="Run `dvc repro` (extra arguments go to it), then print each "
                                     "stage's wall time and the total.")
    run.add_argument("--times", default=None,
                     help="also write the stage wall times to this JSON file (slm-math snapshot reads it)")
    run.add_argument("--jobs", "-j", type=int, default=1,
                     help="run up to this many independent stages at once (each with `dvc repro "
                          "--single-item`; the whole pipeline only). Default 1: plain dvc repro")
    run.add_argument("dvc_args", nargs=argparse.REMAINDER, help="arguments for dvc repro")
    run.set_defaults(func=cmd_run)
    compare = sub.add_parser("compare", help="paired significance between two experiments",
                             description="Compare the eval rows of two revisions cell by cell.")
    compare.add_argument("a", help="baseline: git revision, DVC experiment name, 'workspace' or a results folder")
    compare.add_argument("b", help="candidate: git revision, DVC experiment name, 'workspace' or a results folder")
    compare.add_argument("--repo", default=".", help="the project root (default: .)")
    compare.add_argument("--alpha", type=float, default=0.05, help="significance level to mark")
    compare.add_argument("--json", action="store_true", help="print JSON instead of a table")
    compare.set_defaults(func=cmd_compare)
    snap = sub.add_parser("snapshot", help="a run's results folder (metrics, curves, rows, machine)",
                          description="Copy params, dvc.lock, metrics/, dvclive/ and trace-free eval "
                                      "rows into a results folder with run.json (machine, commit, "
                                      "stage times).")
    snap.add_argument("dest", help="the results folder, e.g. results/gpu (replaced whole)")
    snap.add_argument("--times", default=None, help="stage times JSON from `slm-math run --times`")
    snap.add_argument("--commit", default=None, help="the source commit (default: this checkout's)")
    snap.add_argument("--repo", default=".", help="the project root (default: .)")
    snap.set_defaults(func=cmd_snapshot)
    params = sub.add_parser("params", help="compose params.yaml from conf/ for a profile",
                            description="Write params.yaml as `dvc exp run -S profile=P` composes "
                                        "it (DVC's Hydra), for `dvc repro`.")
    params.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. grpo.beta=0")
    params.add_argument("--profile", default=None, help="conf/profile/<name>.yaml (default: cpu)")
    params.add_argument("--repo", default=".", help="the project root (default: .)")
    params.add_argument("--output", default=None, help="where to write (default: params.yaml)")
    params.add_argument("--list", action="store_true", help="list the profiles and exit")
    params.set_defaults(func=cmd_params)
    wheels = sub.add_parser("wheelhouse", help="wheels for an offline GPU machine",
                            description="Resolve requirements-gpu.txt against the packages a GPU "
                                        "machine already has and fetch the rest as wheels.")
    wheels.add_argument("--have", required=True,
                        help="the target's `python3 -m pip list --format=freeze` output")
    wheels.add_argument("--python", required=True,
                        help="a Python of the target's minor version (resolves, builds sdists)")
    wheels.add_argument("--requirements", default="requirements-gpu.txt", help="what to install")
    wheels.add_argument("--dest", default="wheelhouse", help="the folder to fill")
    wheels.set_defaults(func=cmd_wheelhouse)
    results = sub.add_parser("results", help="docs/results.md and the README's results table",
                             description="Generate docs/results.md and the README's results "
                                         "table from results/<profile>/, benchmarks/results/ and "
                                         "experiments/results/.")
    results.add_argument("--check", action="store_true",
                         help="write nothing; exit 1 if a generated file differs")
    results.add_argument("--repo", default=".", help="the project root (default: .)")
    results.set_defaults(func=cmd_results)
    plots = sub.add_parser("plots-template", help="the offline page of dvc plots show/diff",
                           description="Inline vega, vega-lite and vega-embed (unpacked npm "
                                       "packages) into .dvc/plots/offline.html.")
    plots.add_argument("--build", action="append", default=[], metavar="PACKAGE=DIR",
                       help="an unpacked npm package (the folder with package.json); repeat")
    plots.add_argument("--repo", default=".", help="the project root (default: .)")
    plots.set_defaults(func=cmd_plots_template)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `slm-math` console script."""
    parser = build_parser()
    # `slm-math run --keep-going`: argparse's REMAINDER refuses a leading option, so the
    # options it does not know go to dvc repro too
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        if args.command != "run":
            parser.error(f"unrecognized arguments: {' '.join(unknown)}")
        args.dvc_args = [*unknown, *args.dvc_args]
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
