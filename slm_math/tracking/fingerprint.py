"""Short content hashes that identify what a checkpoint was made from.

A registered version is tagged with the git commit (the code), the params hash (the
stage's own params section plus the keys it shares) and the data hash (the bytes of its
input files), so two versions with equal tags came from the same inputs.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

from slm_math.config import to_dict


def params_hash(*sections: Any) -> str:
    """sha256 (16 hex digits) of params sections, key order ignored."""
    payload = json.dumps([to_dict(s) for s in sections], sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def data_hash(*paths: str | Path) -> str:
    """sha256 (16 hex digits) over the bytes of files, directories walked in sorted order."""
    digest = hashlib.sha256()
    for root in paths:
        root = Path(root)
        files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
        for file in files:
            digest.update(str(file.relative_to(root) if root.is_dir() else file.name).encode())
            with open(file, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()[:16]


RUN_OUTPUTS = ("dvc.lock", "metrics", "dvclive", "results", "benchmarks/results",
               "experiments/results")
"""Tracked paths that a run of the pipeline, a benchmark or an experiment rewrites itself: a
change there leaves the code and params that made it clean (else every stage after the first,
or every benchmark after the first of a series, would read '-dirty')."""


def git_commit(cwd: str | Path = ".") -> str:
    """HEAD's commit, with '-dirty' when tracked files other than `RUN_OUTPUTS` changed (the
    code or params differ from the commit); 'unknown' outside git."""
    exclude = [f":(exclude,top){path}" for path in RUN_OUTPUTS]
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--",
                                ":(top)", *exclude],
                               cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head}-dirty" if dirty else head
