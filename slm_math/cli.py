"""`slm-math`: the commands that are not pipeline stages.

    slm-math run [dvc repro args...]   dvc repro, streamed, then each stage's wall time
    slm-math compare A B               paired significance of two experiments' eval results

A and B are git revisions, DVC experiment names, or `workspace`.
"""

from __future__ import annotations

import argparse
import json
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


def cmd_run(args: argparse.Namespace) -> int:
    """`dvc repro` with its output streamed, then a table of stage wall times and the total."""
    from rich.console import Console
    from rich.table import Table

    start = time.perf_counter()
    command = ["dvc", "repro", *args.dvc_args]
    lines: list[str] = []
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, bufsize=1) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            lines.append(line)
    total = time.perf_counter() - start
    table = Table(title=f"`{' '.join(command)}`: stage wall times")
    table.add_column("stage")
    table.add_column("wall s", justify="right")
    for stage, seconds in stage_times(lines):
        table.add_row(stage, f"{seconds:.1f}")
    table.add_row("total (incl. DVC)", f"{total:.1f}", style="bold")
    Console(stderr=True).print(table)
    return proc.returncode


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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `slm-math`."""
    parser = argparse.ArgumentParser(prog="slm-math", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="dvc repro with per-stage wall times",
                         description="Run `dvc repro` (extra arguments go to it), then print each "
                                     "stage's wall time and the total.")
    run.add_argument("dvc_args", nargs=argparse.REMAINDER, help="arguments for dvc repro")
    run.set_defaults(func=cmd_run)
    compare = sub.add_parser("compare", help="paired significance between two experiments",
                             description="Compare the eval rows of two revisions cell by cell.")
    compare.add_argument("a", help="baseline: git revision, DVC experiment name, or 'workspace'")
    compare.add_argument("b", help="candidate: git revision, DVC experiment name, or 'workspace'")
    compare.add_argument("--repo", default=".", help="the project root (default: .)")
    compare.add_argument("--alpha", type=float, default=0.05, help="significance level to mark")
    compare.add_argument("--json", action="store_true", help="print JSON instead of a table")
    compare.set_defaults(func=cmd_compare)
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
