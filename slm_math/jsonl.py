"""JSONL files the stages exchange: strict reading, atomic writing, durable appending.

Reading reports a corrupt or truncated line with its path and line number; writing goes
to a temporary file in the same folder and is renamed into place, so a killed stage never
leaves half a file where a whole one is expected; appending flushes and fsyncs each record
so a resumable stage loses at most the record being written.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any


class DataFileError(ValueError):
    """A data file cannot be read; the message names the file and the line."""


def iter_jsonl(path: str | Path, *, allow_truncated_tail: bool = False) -> Iterator[dict]:
    """Yield the objects of a JSONL file; a bad line raises :class:`DataFileError`.

    ``allow_truncated_tail`` skips a last line that has no newline and does not parse:
    what a process killed mid-append leaves behind (append-only logs use it to resume).
    """
    path = Path(path)
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise DataFileError(f"{path}: file not found") from None
    with handle:
        lines = handle.read().split(b"\n")
    last = len(lines)
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            if allow_truncated_tail and number == last:
                return
            raise DataFileError(f"{path}: line {number}: not valid JSON ({err})") from None
        if not isinstance(obj, dict):
            raise DataFileError(f"{path}: line {number}: expected a JSON object, "
                                f"got {type(obj).__name__}")
        yield obj


def read_jsonl(path: str | Path, **kwargs: Any) -> list[dict]:
    """All objects of a JSONL file (see :func:`iter_jsonl`)."""
    return list(iter_jsonl(path, **kwargs))


def write_atomic(path: str | Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and an atomic rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
            handle.flush()
            os.fsync(handle.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file normal permissions
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def dumps(record: dict) -> str:
    """One record as a JSONL line (no trailing newline), non-ASCII kept readable."""
    return json.dumps(record, ensure_ascii=False, sort_keys=False)


def write_jsonl(path: str | Path, records: Iterable[dict]) -> int:
    """Atomically write ``records`` as JSONL; returns how many were written."""
    lines = [dumps(r) for r in records]
    write_atomic(path, "".join(line + "\n" for line in lines))
    return len(lines)


def write_json(path: str | Path, obj: Any) -> None:
    """Atomically write ``obj`` as indented JSON (metrics files)."""
    write_atomic(path, json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=True) + "\n")


class JsonlAppender:
    """Append records durably: each ``append`` is written, flushed and fsync'd.

    Opening repairs a tail left by a killed writer (a last line without its newline) by
    truncating it, so the file stays one valid record per line.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._repair_tail()
        self._handle = self.path.open("ab")

    def _repair_tail(self) -> None:
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            keep = data.rfind(b"\n") + 1
            with self.path.open("r+b") as handle:
                handle.truncate(keep)

    def append(self, record: dict) -> None:
        """Write one record and make it durable before returning."""
        self._handle.write((dumps(record) + "\n").encode("utf-8"))
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        """Close the file."""
        self._handle.close()

    def __enter__(self) -> JsonlAppender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
