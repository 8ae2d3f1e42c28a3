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
    code or params differ from the commit); 'unknown' outside git. A params.yaml that is
    exactly its named profile's composition from the committed conf/ (`slm-math params
    --profile gpu`) is not a change: that commit and the profile reproduce it."""
    exclude = [f":(exclude,top){path}" for path in RUN_OUTPUTS]
    git = lambda *args: subprocess.run(["git", *args], cwd=cwd, capture_output=True,  # noqa: E731
                                       text=True, check=True).stdout
    try:
        head = git("rev-parse", "HEAD").strip()
        changed = git("status", "--porcelain", "--untracked-files=no", "--", ":(top)", *exclude)
        paths = [line[3:] for line in changed.splitlines()]  # "XY path", from the top
        if paths == ["params.yaml"] and is_profile_composition(
                Path(git("rev-parse", "--show-toplevel").strip())):
            return head
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head}-dirty" if paths else head


def is_profile_composition(root: Path) -> bool:
    """Whether `root`/params.yaml is byte for byte what `slm-math params --profile <its
    profile_name>` composes from `root`/conf/ (False where either cannot be read)."""
    import yaml

    from slm_math.config.profiles import available_profiles, composed_text

    try:
        text = (root / "params.yaml").read_text()
        profile = (yaml.safe_load(text) or {}).get("profile_name")
        if profile not in available_profiles(root):
            return False
        return composed_text(root, profile) == text
    except Exception:  # noqa: BLE001 - an unreadable params.yaml or conf/ is simply not clean
        return False
