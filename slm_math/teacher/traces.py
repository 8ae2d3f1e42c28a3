"""data/cot/traces.jsonl: one record per (problem, teacher, attempt), exactly once.

Trace record: ``problem_id, source, rule, teacher, model, attempt, prompt_hash, cache_key,
text, answer, correct, tokens_in, tokens_out, cost_usd, latency_s, finish_reason, error``
(``error`` is None for a well-formed response; a failed attempt has ``correct: false``).

On start the log keeps the records whose slot the current params would ask the same way
(same cache key), drops stale and doubled ones with one atomic rewrite, and from then on
appends each record with flush + fsync as it arrives; the cascade visits each slot once,
so the file never holds two records of one slot, even when the run is killed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from slm_math.jsonl import JsonlAppender, iter_jsonl, write_jsonl

Slot = tuple[str, str, int]  # (problem_id, teacher, attempt)


def slot_of(record: dict) -> Slot:
    """The (problem, teacher, attempt) a trace record answers."""
    return (record["problem_id"], record["teacher"], int(record["attempt"]))


class TraceLog:
    """The append-only trace file, with the records a previous run left, by slot."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.previous: dict[Slot, dict] = {}
        self._used: set[Slot] = set()
        self._appender: JsonlAppender | None = None

    def open(self, key_for: Callable[[Slot], str | None]) -> "TraceLog":
        """Keep what a previous (maybe killed) run wrote that is still current; open to append.

        `key_for(slot)` is the cache key the current params give a slot (None: the slot is
        not in the current cascade). Records with another key, or a second record of a
        slot, are dropped by one atomic rewrite before anything is appended.
        """
        JsonlAppender(self.path).close()  # repairs a torn last line first
        dropped = 0
        for record in iter_jsonl(self.path) if self.path.exists() else ():
            slot = slot_of(record)
            if slot in self.previous or record.get("cache_key") != key_for(slot):
                dropped += 1
            else:
                self.previous[slot] = record
        if dropped:
            write_jsonl(self.path, self.previous.values())
        self.dropped = dropped
        self._appender = JsonlAppender(self.path)
        return self

    def reuse(self, slot: Slot) -> dict | None:
        """The previous run's record for `slot` (asked exactly as now), if there is one."""
        record = self.previous.get(slot)
        if record is not None:
            self._used.add(slot)
        return record

    def append(self, record: dict) -> None:
        """Write one record durably."""
        assert self._appender is not None, "TraceLog.open() first"
        slot = slot_of(record)
        assert slot not in self._used, f"slot {slot} written twice"
        self._used.add(slot)
        self._appender.append(record)

    def close(self, *, complete: bool) -> int:
        """Close; after a complete run, drop records of slots the cascade no longer visits
        (an attempt 2 kept from a run where attempt 1 had failed). Returns how many.

        An incomplete run (stopped early) keeps everything: the next run may need them.
        """
        if self._appender is not None:
            self._appender.close()
            self._appender = None
        if not complete or not self.path.exists():
            return 0
        records = list(iter_jsonl(self.path))
        kept = [r for r in records if slot_of(r) in self._used]
        if len(kept) != len(records):
            write_jsonl(self.path, kept)
        return len(records) - len(kept)
