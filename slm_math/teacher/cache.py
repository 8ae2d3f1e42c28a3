"""A content-addressed cache of teacher responses, one small JSON file per request.

The key is the sha256 of everything that determines an answer: the teacher model (with a
fingerprint of its weights for a locally served folder), the prompt, the sampling params
and the attempt number. A response is written here (atomically) before its trace is
appended to data/cot/traces.jsonl, so a run killed between the two re-appends it from here
without asking again. The cache lives outside DVC's outputs: a `dvc checkout` or a param
change and back never costs a request twice.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from slm_math.jsonl import write_atomic
from slm_math.teacher.prompts import stable_hash


def request_key(*, model: str, messages: list[dict], sampling: dict, attempt: int) -> str:
    """The cache key of one request: (teacher model, prompt, sampling params, attempt)."""
    return stable_hash({"model": model, "messages": messages, "sampling": sampling,
                        "attempt": attempt})


class ResponseCache:
    """Responses by key under `root/<key[:2]>/<key>.json`; a corrupt entry reads as a miss."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict | None:
        """The stored response for `key`, or None."""
        try:
            return json.loads(self._path(key).read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return None

    def put(self, key: str, response: dict) -> None:
        """Store `response` durably (atomic rename after fsync)."""
        write_atomic(self._path(key), json.dumps(response, ensure_ascii=False))


def model_fingerprint(folder: str | Path) -> str:
    """A short content hash of a model folder: names, sizes, small files whole, big ones'
    first and last MiB (hashing 500 MB of weights on every run would cost seconds)."""
    digest = hashlib.sha256()
    for path in sorted(Path(folder).rglob("*")):
        if not path.is_file():
            continue
        size = path.stat().st_size
        digest.update(f"{path.relative_to(folder)}\0{size}\0".encode())
        with path.open("rb") as handle:
            if size <= 8 << 20:
                digest.update(handle.read())
            else:
                digest.update(handle.read(1 << 20))
                handle.seek(size - (1 << 20))
                digest.update(handle.read())
    return digest.hexdigest()[:16]
