"""params.yaml as typed, validated dataclasses.

``load_params()`` reads the file once and validates all of it, so a typo anywhere stops a
stage before it does any work, with one line naming the key path and the value.
"""

from __future__ import annotations

import sys
from pathlib import Path

from slm_math.config.loader import ParamsError, build, flatten, read_yaml, to_dict
from slm_math.config.params import (AgentParams, DataParams, EvalParams, ModelParams, Params,
                                    ProfileParams, ReportParams, TaskParams)

__all__ = ["AgentParams", "DataParams", "EvalParams", "ReportParams", "ModelParams", "Params", "ParamsError", "ProfileParams", "TaskParams", "flatten",
           "load_params", "merge_overrides", "to_dict", "exit_on_params_error"]


def load_params(path: str | Path = "params.yaml", overrides: dict | None = None) -> Params:
    """Load and validate ``path``; ``overrides`` (nested dict) is merged on top first."""
    data = read_yaml(path)
    if overrides:
        data = merge_overrides(data, overrides)
    return build(Params, data, source=str(path))


def merge_overrides(base: dict, extra: dict) -> dict:
    """``base`` with the nested mapping ``extra`` merged on top (a new dict; mappings merge
    key by key, anything else replaces)."""
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_overrides(out[key], value)
        else:
            out[key] = value
    return out


def exit_on_params_error(err: ParamsError) -> None:
    """Print the one-line message of a params problem and exit with status 2."""
    print(f"error: {err}", file=sys.stderr)
    raise SystemExit(2)
