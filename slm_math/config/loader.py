"""Turn a params.yaml mapping into typed, validated dataclasses.

Every field of a params dataclass carries its constraints in ``field(metadata=...)``:
``help`` (one line for the reader), ``min`` / ``max`` (inclusive bounds) and, through
``typing.Literal``, the allowed values. ``build`` walks the YAML mapping against the
dataclass tree and stops at the first problem with a :class:`ParamsError` whose message
is one line naming the key path, the bad value and, for a misspelled key, the closest
valid key. Nothing deeper than this module ever sees an unchecked value.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints

import yaml


class ParamsError(ValueError):
    """A params file holds a value the pipeline cannot use; the message is one line."""


def param(default: Any = dataclasses.MISSING, *, help: str, min: float | None = None,
          max: float | None = None, default_factory: Any = dataclasses.MISSING) -> Any:
    """A dataclass field with its help text and optional inclusive numeric bounds."""
    meta = {"help": help, "min": min, "max": max}
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _type_name(tp: Any) -> str:
    if get_origin(tp) is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    if dataclasses.is_dataclass(tp):
        return "a mapping"
    return getattr(tp, "__name__", str(tp).replace("typing.", ""))


def _convert(tp: Any, value: Any, path: str, source: str) -> Any:
    """Check ``value`` against the type ``tp`` and return it converted."""
    origin = get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = get_args(tp)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _convert(option, value, path, source)
            except ParamsError as err:
                errors.append(err)
        if len(errors) == 1:
            raise errors[0]
        names = " or ".join(_type_name(o) for o in options if o is not type(None))
        raise ParamsError(f"{source}: {path}: expected {names}, got {_describe(value)}")
    if origin is Literal:
        allowed = get_args(tp)
        if value not in allowed:
            hint = ""
            if isinstance(value, str):
                close = difflib.get_close_matches(value, [str(a) for a in allowed], n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ParamsError(
                f"{source}: {path}: {_describe(value)} is not one of "
                f"{', '.join(repr(a) for a in allowed)}{hint}")
        return value
    if dataclasses.is_dataclass(tp):
        return build(tp, value, path=path, source=source)
    if origin in (list, tuple):
        if not isinstance(value, list):
            raise ParamsError(f"{source}: {path}: expected a list, got {_describe(value)}")
        (item_tp, *_) = get_args(tp) or (Any,)
        items = [_convert(item_tp, v, f"{path}[{i}]", source) for i, v in enumerate(value)]
        return items if origin is list else tuple(items)
    if origin is dict:
        if not isinstance(value, dict):
            raise ParamsError(f"{source}: {path}: expected a mapping, got {_describe(value)}")
        key_tp, val_tp = get_args(tp) or (Any, Any)
        return {_convert(key_tp, k, f"{path}", source): _convert(val_tp, v, f"{path}.{k}", source)
                for k, v in value.items()}
    if tp is Any or tp is object:
        return value
    if tp is float:
        # YAML reads 1e-4 as a string; accept ints and numeric strings for float fields.
        if isinstance(value, bool):
            raise ParamsError(f"{source}: {path}: expected a number, got {_describe(value)}")
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        raise ParamsError(f"{source}: {path}: expected a number, got {_describe(value)}")
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ParamsError(f"{source}: {path}: expected an integer, got {_describe(value)}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ParamsError(f"{source}: {path}: expected true or false, got {_describe(value)}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise ParamsError(f"{source}: {path}: expected a string, got {_describe(value)}")
        return value
    raise TypeError(f"unsupported params type {tp!r} at {path}")  # a bug in a params class


def build(cls: type, data: Any, *, path: str = "", source: str = "params.yaml") -> Any:
    """Build dataclass ``cls`` from mapping ``data``, validating every key and value."""
    where = path or "top level"
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ParamsError(f"{source}: {where}: expected a mapping, got {_describe(data)}")
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    for key in data:
        if key not in fields:
            close = difflib.get_close_matches(str(key), list(fields), n=1, cutoff=0.6)
            hint = f" (did you mean {path + '.' if path else ''}{close[0]}?)" if close else ""
            raise ParamsError(f"{source}: unknown key {path + '.' if path else ''}{key}{hint}")
    kwargs = {}
    for name, f in fields.items():
        key_path = f"{path}.{name}" if path else name
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ParamsError(f"{source}: missing required key {key_path}")
            continue
        value = _convert(hints[name], data[name], key_path, source)
        low, high = f.metadata.get("min"), f.metadata.get("max")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if low is not None and value < low:
                raise ParamsError(f"{source}: {key_path}: {value!r} is below the minimum {low}")
            if high is not None and value > high:
                raise ParamsError(f"{source}: {key_path}: {value!r} is above the maximum {high}")
        kwargs[name] = value
    obj = cls(**kwargs)
    check = getattr(obj, "check", None)
    if check is not None:
        problem = check()
        if problem:
            raise ParamsError(f"{source}: {where}: {problem}")
    return obj


def read_yaml(path: str | Path) -> dict:
    """Read a YAML mapping, reporting a syntax error with its file and line."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ParamsError(f"{path}: file not found") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "?"
        raise ParamsError(f"{path}: {where}: invalid YAML ({getattr(err, 'problem', err)})") from None
    return data or {}


def to_dict(obj: Any) -> Any:
    """A params dataclass as plain dicts and lists (for logging to MLflow, hashing)."""
    return dataclasses.asdict(obj) if dataclasses.is_dataclass(obj) else obj


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` as ``{"a.b": 1}``: the key paths DVC and MLflow use."""
    if dataclasses.is_dataclass(data):
        data = dataclasses.asdict(data)
    out: dict[str, Any] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    else:
        out[prefix] = data
    return out
