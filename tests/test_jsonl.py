"""JSONL I/O: errors name file and line; writes are atomic; appends survive a torn tail."""

from __future__ import annotations

import os

import pytest

from slm_math.jsonl import DataFileError, JsonlAppender, read_jsonl, write_json, write_jsonl


def test_round_trip_keeps_unicode(tmp_path):
    path = tmp_path / "x.jsonl"
    assert write_jsonl(path, [{"a": 1}, {"b": "π ≈ 3.14"}]) == 2
    assert read_jsonl(path) == [{"a": 1}, {"b": "π ≈ 3.14"}]
    assert "π" in path.read_text(encoding="utf-8")


def test_corrupt_line_reports_path_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"a": 1}\n{"a": 2\n{"a": 3}\n')
    with pytest.raises(DataFileError, match=r"bad\.jsonl: line 2: not valid JSON"):
        read_jsonl(path)


def test_non_object_line_is_reported(tmp_path):
    path = tmp_path / "list.jsonl"
    path.write_text('{"a": 1}\n[1, 2]\n')
    with pytest.raises(DataFileError, match="line 2: expected a JSON object"):
        read_jsonl(path)


def test_invalid_utf8_is_reported(tmp_path):
    path = tmp_path / "bytes.jsonl"
    path.write_bytes(b'{"a": 1}\n{"a": "\xff"}\n')
    with pytest.raises(DataFileError, match="line 2"):
        read_jsonl(path)


def test_truncated_tail_is_an_error_unless_allowed(tmp_path):
    path = tmp_path / "torn.jsonl"
    path.write_bytes(b'{"a": 1}\n{"a": 2}\n{"a": ')
    with pytest.raises(DataFileError, match="line 3"):
        read_jsonl(path)
    assert read_jsonl(path, allow_truncated_tail=True) == [{"a": 1}, {"a": 2}]


def test_missing_file_names_it(tmp_path):
    with pytest.raises(DataFileError, match="nope.jsonl: file not found"):
        read_jsonl(tmp_path / "nope.jsonl")


def test_atomic_write_leaves_no_temp_and_normal_mode(tmp_path):
    path = tmp_path / "sub" / "m.json"
    write_json(path, {"b": 1, "a": 2})
    assert path.read_text().startswith("{\n")
    assert os.listdir(path.parent) == ["m.json"]
    assert path.stat().st_mode & 0o044  # readable by others like any output, not 0600


def test_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "keep.jsonl"
    write_jsonl(path, [{"ok": True}])

    def records():
        yield {"new": 1}
        raise RuntimeError("killed mid-write")

    with pytest.raises(RuntimeError):
        write_jsonl(path, records())
    assert read_jsonl(path) == [{"ok": True}]
    assert os.listdir(tmp_path) == ["keep.jsonl"]


def test_appender_repairs_torn_tail_and_appends(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_bytes(b'{"i": 0}\n{"i": 1}\n{"i": 2, "tex')
    with JsonlAppender(path) as log:
        log.append({"i": 2})
    assert read_jsonl(path) == [{"i": 0}, {"i": 1}, {"i": 2}]
