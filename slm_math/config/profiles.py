"""Profiles: params.yaml composed from conf/ by DVC's own Hydra composition.

`conf/config.yaml` holds the CPU default and names the profile group; each
`conf/profile/<name>.yaml` overrides what differs (`# @package _global_`) and sets
`profile_name`. With `hydra.enabled` in .dvc/config, `dvc exp run -S profile=gpu` composes
params.yaml before it runs, so `dvc exp show` shows the profile beside every param. For
`dvc repro`, `compose_params` (the `slm-math params` command) writes the same file through
the same DVC function, so both paths give byte-identical params.yaml.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

CONFIG_DIR = "conf"
CONFIG_NAME = "config"
PROFILE_GROUP = "profile"


def available_profiles(root: str | Path = ".") -> list[str]:
    """The profile names in `root`/conf/profile/, sorted."""
    return sorted(p.stem for p in Path(root, CONFIG_DIR, PROFILE_GROUP).glob("*.yaml"))


def composed_text(root: str | Path = ".", profile: str | None = None,
                  overrides: Sequence[str] = ()) -> str:
    """params.yaml as DVC composes it for `profile` (None: the default) and Hydra `overrides`."""
    from dvc.utils.hydra import compose_and_dump

    root = Path(root).resolve()
    names = available_profiles(root)
    if profile is not None and profile not in names:
        raise ValueError(f"{root / CONFIG_DIR / PROFILE_GROUP}: no profile {profile!r} "
                         f"(available: {', '.join(names) or 'none'})")
    all_overrides = [*([f"{PROFILE_GROUP}={profile}"] if profile else []), *overrides]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp, "params.yaml")
        compose_and_dump(out, str(root / CONFIG_DIR), None, CONFIG_NAME, str(root), all_overrides)
        return out.read_text()


def compose_params(root: str | Path = ".", profile: str | None = None,
                   overrides: Sequence[str] = (), output: str | Path | None = None) -> Path:
    """Write the composition to `output` (default `root`/params.yaml) atomically."""
    text = composed_text(root, profile, overrides)
    output = Path(output) if output is not None else Path(root, "params.yaml")
    fd, tmp = tempfile.mkstemp(dir=output.parent, prefix=".params-", suffix=".yaml")
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, output)
    return output
