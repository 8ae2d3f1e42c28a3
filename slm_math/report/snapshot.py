"""A profile's results folder: what one run of the pipeline measured, with its machine.

`slm-math snapshot results/<profile>` copies what a reader needs to check a run without its
DVC cache: params.yaml and dvc.lock (what ran, with every output's hash), metrics/ (the
metrics files, summary.md, report plots), dvclive/ (the training curves), the eval rows
without their traces (`eval/<cell>/<benchmark>.jsonl`, enough for `slm-math compare`), and
`run.json`: the machine (processor and flags, GPUs, versions), the commit (with `-dirty`
when the code or params had uncommitted changes), the profile, and, when `slm-math run
--times` wrote them, each stage's wall time, the whole run's and the load average around it.
The folder is replaced whole, so a rerun leaves nothing stale.

Only what the current params produced goes in: the outputs of a stage that `dvc status`
reports changed (a stage that did not run in this profile, whose files are another run's) are
left out and named in run.json's `stale_stages`.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import yaml

from slm_math.jsonl import iter_jsonl, write_jsonl
from slm_math.tracking.fingerprint import git_commit
from slm_math.tracking.machine import machine_facts

EVAL_ROWS = Path("data/eval")
# row keys left out: the model's text (traces can be megabytes); correctness stays
DROPPED_KEYS = ("trace", "response", "text")


def compact_row(row: dict) -> dict:
    """An eval row without its texts; sampled answers keep their answer and correctness."""
    out = {k: v for k, v in row.items() if k not in DROPPED_KEYS}
    if isinstance(out.get("samples"), list):
        out["samples"] = [{k: s.get(k) for k in ("answer", "correct")} for s in out["samples"]]
    return out


def stale_outputs(root: Path) -> tuple[list[str], set[str]]:
    """Stages `dvc status` reports changed, and the output paths their lock entries name (a
    stage's DVCLive folder with its plots). Outside a DVC project: none."""
    if not (root / ".dvc").is_dir():
        return [], set()
    from dvc.repo import Repo

    with Repo(str(root)) as repo:
        # keys are `name`, or `<path>/dvc.yaml:name` when the repo is not the working dir
        stale = sorted(name.rsplit(":", 1)[-1] for name in repo.status())
    lock_path = root / "dvc.lock"
    lock = yaml.safe_load(lock_path.read_text()) if lock_path.exists() else {}
    paths = {out["path"] for name in stale
             for out in ((lock or {}).get("stages", {}).get(name, {}).get("outs") or [])}
    paths |= {"/".join(p.split("/")[:2]) for p in paths if p.startswith("dvclive/")}
    return stale, paths


def _is_under(path: Path, root: Path, stale: set[str]) -> bool:
    rel = path.relative_to(root).as_posix()
    return any(rel == s or rel.startswith(s.rstrip("/") + "/") for s in stale)


def snapshot(root: str | Path, dest: str | Path, *, times: dict | None = None,
             commit: str | None = None) -> dict:
    """Write the results folder `dest` from the project at `root`; returns run.json's content.

    `times`: what `slm-math run --times` wrote (stage wall times; the whole `dvc repro` wall
    time and the load average at its start and end where recorded)."""
    root, dest = Path(root), Path(dest)
    params = yaml.safe_load((root / "params.yaml").read_text()) or {}
    stale_stages, stale = stale_outputs(root)

    def keep(path: Path) -> bool:
        return not _is_under(path, root, stale)

    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}-"))
    try:
        for name in ("params.yaml", "dvc.lock"):
            if (root / name).exists():
                shutil.copy2(root / name, staging / name)
        for folder in ("metrics", "dvclive"):
            for path in sorted((root / folder).rglob("*")) if (root / folder).is_dir() else []:
                if path.is_file() and keep(path):
                    out = staging / path.relative_to(root)
                    out.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(path, out)
        rows = 0
        for path in sorted((root / EVAL_ROWS).glob("*/*.jsonl")):
            if not keep(path):
                continue
            out = staging / "eval" / path.parent.name / path.name
            out.parent.mkdir(parents=True, exist_ok=True)
            compact = [compact_row(r) for r in iter_jsonl(path)]
            write_jsonl(out, compact)
            rows += len(compact)
        run = {"profile": params.get("profile_name"), "commit": commit or git_commit(root),
               # the machine the run recorded (its ISA cap included), else this one
               "machine": (times or {}).get("machine") or machine_facts(), "eval_rows": rows,
               "stale_stages": stale_stages}
        if times is not None:
            run["stages"] = times["stages"]
            run["stages_s"] = round(sum(s["seconds"] for s in times["stages"]), 1)
            # the whole dvc repro (DVC and each stage's interpreter start included)
            run["total_s"] = times.get("total_s", run["stages_s"])
            for key in ("returncode", "complete", "jobs", "load_average_start", "load_average_end"):
                if key in times:
                    run[key] = times[key]
        (staging / "run.json").write_text(json.dumps(run, indent=2) + "\n")
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return run
