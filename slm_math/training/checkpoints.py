"""Resuming an interrupted training run from its last complete checkpoint.

Trainer checkpoints go to a scratch folder outside the stage's DVC outputs (DVC deletes a
stage's outputs before it runs it). The folder carries a fingerprint of the run's inputs
(params hash + data hash): a rerun with the same fingerprint resumes from the newest
complete checkpoint; a different fingerprint clears the folder and starts fresh.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

FINGERPRINT_FILE = "fingerprint.txt"
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


def last_complete_checkpoint(folder: str | Path) -> Path | None:
    """The highest ``checkpoint-N`` holding ``trainer_state.json`` (written last by Trainer)."""
    folder = Path(folder)
    if not folder.is_dir():
        return None
    found = [(int(m.group(1)), p) for p in folder.iterdir()
             if (m := _CHECKPOINT.match(p.name)) and (p / "trainer_state.json").is_file()]
    return max(found)[1] if found else None


def resumable_checkpoint(folder: str | Path, fingerprint: str) -> Path | None:
    """The checkpoint a run with ``fingerprint`` would resume from (nothing is changed)."""
    marker = Path(folder) / FINGERPRINT_FILE
    if not marker.is_file() or marker.read_text().strip() != fingerprint:
        return None
    return last_complete_checkpoint(folder)


def prepare_checkpoint_dir(folder: str | Path, fingerprint: str) -> Path | None:
    """Make ``folder`` ready for this run; return the checkpoint to resume from, if any.

    Call it on the main process first (``args.main_process_first()``): it may delete
    checkpoints that another fingerprint made.
    """
    folder = Path(folder)
    marker = folder / FINGERPRINT_FILE
    if folder.exists():
        stored = marker.read_text().strip() if marker.is_file() else None
        if stored != fingerprint:
            shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if not marker.is_file():
        marker.write_text(fingerprint + "\n")
    return last_complete_checkpoint(folder)


def clear_checkpoints(folder: str | Path) -> None:
    """Remove the scratch checkpoints once the final model is safely written."""
    shutil.rmtree(folder, ignore_errors=True)
