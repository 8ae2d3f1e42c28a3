"""`dvc repro` with independent stages at once: `slm-math run --jobs N`.

`dvc repro` runs one stage at a time. On a GPU that a 135M model leaves mostly idle, the eval
cells of the base and SFT models, SFT itself and the GRPO chain have no data between them and
can share the device. This runner reads the pipeline's graph from DVC, then starts
`dvc --wait-for-lock repro --single-item <stage>` for each stage once every stage upstream of
it has succeeded, up to `jobs` at a time, the stage with the most stages downstream first.
Each of those is an ordinary `dvc repro`: DVC decides whether the stage changed (a stage that
did not is skipped, so an interrupted run resumes), runs its command with the repository
unlocked, and writes its dvc.lock entry and cache under the repository lock, which
`--wait-for-lock` makes the others wait for instead of failing. The result is the dvc.lock
that a serial `dvc repro` writes.

A failure stops new launches (the running ones finish) unless `keep_going`, with which only
the stages downstream of the failure are skipped, as with `dvc repro --keep-going`.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class StageRun:
    """One stage's run under the parallel runner: outcome, timing and its output lines."""

    stage: str
    returncode: int | None = None  # None: not started (skipped after a failure upstream)
    start_s: float | None = None   # since the runner started
    end_s: float | None = None
    lines: list[str] = field(default_factory=list)


def pipeline_graph(root: str | Path = ".") -> dict[str, list[str]]:
    """Each stage of the project at `root` (its DVC address, `agent_eval@base-standard`) with
    the stages whose outputs it depends on, in dvc.yaml order. Stages without a command
    (`.dvc` files) are left out, their edges passed through."""
    from dvc.repo import Repo

    with Repo(str(root)) as repo:
        graph = repo.index.graph  # an edge runs from a stage to a stage it depends on

        def upstream(stage) -> set[str]:
            out: set[str] = set()
            for dep in graph.successors(stage):
                out |= {dep.addressing} if dep.cmd else upstream(dep)
            return out

        return {s.addressing: sorted(upstream(s)) for s in repo.index.stages if s.cmd}


def downstream_counts(graph: dict[str, list[str]]) -> dict[str, int]:
    """How many stages depend, directly or not, on each stage (the launch priority)."""
    children: dict[str, set[str]] = {s: set() for s in graph}
    for stage, ups in graph.items():
        for up in ups:
            children[up].add(stage)

    def below(stage: str, seen: set[str]) -> set[str]:
        for child in children[stage] - seen:
            seen.add(child)
            below(child, seen)
        return seen

    return {s: len(below(s, set())) for s in graph}


def run_parallel(graph: dict[str, list[str]], jobs: int, *, keep_going: bool = False,
                 dvc_args: Sequence[str] = (), dvc: Sequence[str] = ("dvc",),
                 echo: Callable[[str, str], None] | None = None,
                 on_done: Callable[[list[StageRun]], None] | None = None) -> list[StageRun]:
    """Run every stage of `graph` (from `pipeline_graph`) with `dvc repro --single-item`,
    at most `jobs` at once, each after all its upstream stages succeeded. `dvc_args` go to
    each `dvc repro` (`--force`, say). `echo(stage, line)` receives each output line as it
    comes; `on_done(finished)` is called after each stage ends with the stages finished so far,
    in the order they started. Returns one `StageRun` a stage, in the order they started
    (unstarted ones last)."""
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    unknown = {up for ups in graph.values() for up in ups} - set(graph)
    if unknown:
        raise ValueError(f"stages depend on stages not in the graph: {sorted(unknown)}")
    priority = downstream_counts(graph)
    index = {s: i for i, s in enumerate(graph)}
    runs = {s: StageRun(s) for s in graph}
    started: list[str] = []
    pending = set(graph)
    running: set[str] = set()
    done = threading.Condition()
    t0 = time.perf_counter()

    def work(stage: str) -> None:
        run = runs[stage]
        run.start_s = time.perf_counter() - t0
        command = [*dvc, "--wait-for-lock", "repro", "--single-item", *dvc_args, stage]
        with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, bufsize=1) as proc:
            assert proc.stdout is not None
            for line in proc.stdout:
                run.lines.append(line)
                if echo is not None:
                    echo(stage, line)
        run.returncode = proc.returncode
        run.end_s = time.perf_counter() - t0
        with done:
            running.discard(stage)
            if on_done is not None:
                on_done([runs[s] for s in started if runs[s].returncode is not None])
            done.notify()

    def ready() -> list[str]:
        ok = [s for s in pending
              if all(runs[u].returncode == 0 for u in graph[s])]
        return sorted(ok, key=lambda s: (-priority[s], index[s]))

    def blocked(stage: str) -> bool:  # an upstream stage failed or will never run
        return any(runs[u].returncode not in (0, None) or blocked(u) for u in graph[stage])

    with done:
        while True:
            if not keep_going and any(r.returncode not in (0, None) for r in runs.values()):
                pending.clear()
            pending -= {s for s in pending if blocked(s)}
            launchable = ready()[:max(0, jobs - len(running))]
            for stage in launchable:
                pending.discard(stage)
                running.add(stage)
                started.append(stage)
                threading.Thread(target=work, args=(stage,), daemon=True).start()
            if not running and not (pending and ready()):
                break
            done.wait()
    return [runs[s] for s in started] + [runs[s] for s in graph if s not in started]


def print_line(stage: str, line: str) -> None:
    """The default echo: each line with its stage's name in front."""
    sys.stdout.write(f"{stage} | {line}")
    sys.stdout.flush()
