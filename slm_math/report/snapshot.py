"""A profile's results folder: what one run of the pipeline measured, with its machine.

`slm-math snapshot results/<profile>` copies what a reader needs to check a run without its
DVC cache: params.yaml and dvc.lock (what ran, with every output's hash), metrics/ (the
metrics files, summary.md, report plots), dvclive/ (the training curves), the eval rows
without their traces (`eval/<cell>/<benchmark>.jsonl`, enough for `slm-math compare`), and
`run.json`: the machine (processor and flags, GPUs, versions), the commit (with `-dirty`
when the code or params had uncommitted changes), the profile, and, when `slm-math run
--times` wrote them, each stage's wall time, the whole run's and the load average around it.
The folder is replaced whole, so a rerun leaves nothing stale.
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


def snapshot(root: str | Path, dest: str | Path, *, times: dict | None = None,
             commit: str | None = None) -> dict:
    """Write the results folder `dest` from the project at `root`; returns run.json's content.

    `times`: what `slm-math run --times` wrote (stage wall times; the whole `dvc repro` wall
    time and the load average at its start and end where recorded)."""
    root, dest = Path(root), Path(dest)
    params = yaml.safe_load((root / "params.yaml").read_text()) or {}
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}-"))
    try:
        for name in ("params.yaml", "dvc.lock"):
            if (root / name).exists():
                shutil.copy2(root / name, staging / name)
        for folder in ("metrics", "dvclive"):
            if (root / folder).is_dir():
                shutil.copytree(root / folder, staging / folder)
        rows = 0
        for path in sorted((root / EVAL_ROWS).glob("*/*.jsonl")):
            out = staging / "eval" / path.parent.name / path.name
            out.parent.mkdir(parents=True, exist_ok=True)
            compact = [compact_row(r) for r in iter_jsonl(path)]
            write_jsonl(out, compact)
            rows += len(compact)
        run = {"profile": params.get("profile_name"), "commit": commit or git_commit(root),
               "machine": machine_facts(), "eval_rows": rows}
        if times is not None:
            run["stages"] = times["stages"]
            run["stages_s"] = round(sum(s["seconds"] for s in times["stages"]), 1)
            # the whole dvc repro (DVC and each stage's interpreter start included)
            run["total_s"] = times.get("total_s", run["stages_s"])
            for key in ("returncode", "load_average_start", "load_average_end"):
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
