"""Paired comparison of two experiments: the eval rows of each, cell by cell.

`dvc metrics diff` shows two experiments' accuracies side by side; this adds whether the
difference is more than noise: for each cell (model × agent) and benchmark both hold,
accuracy A and B, the paired difference, McNemar's exact p-value and a paired-bootstrap
95% interval of the difference, on the problems both answered.

A revision is `workspace` (the files on disk), a git revision (commit, branch, tag), a
DVC experiment name (rows read through DVC at that revision, from the cache), or a results
folder written by `slm-math snapshot` (its `eval/<cell>/<benchmark>.jsonl`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from slm_math.evaluation.stats import paired_bootstrap
from slm_math.jsonl import DataFileError
from slm_math.report.table import paired

EVAL_DIR = "data/eval"
Results = dict[str, dict[str, list[dict[str, Any]]]]


class RevisionError(ValueError):
    """A revision that names no commit or experiment, or holds no eval rows."""


def resolve_revision(repo_root: str | Path, rev: str) -> str | None:
    """The commit of `rev` (a DVC experiment name or a git revision); None for `workspace`."""
    if rev == "workspace":
        return None
    from dvc.repo import Repo
    from dvc.repo.experiments.utils import resolve_name

    with Repo(str(repo_root)) as repo:
        ref = resolve_name(repo.scm, [rev]).get(rev)
        if ref is not None:
            return repo.scm.get_ref(str(ref))
        try:
            return repo.scm.resolve_rev(rev)
        except Exception:
            raise RevisionError(f"{rev!r} is neither a git revision nor a DVC experiment "
                                f"of {repo_root}") from None


def _parse_rows(text: str, where: str) -> list[dict[str, Any]]:
    import json

    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as err:
                raise DataFileError(f"{where}: line {number}: not valid JSON ({err})") from None
    return rows


def read_results_at(repo_root: str | Path, rev: str) -> Results:
    """cell -> benchmark -> eval rows at revision `rev` (see the module docstring)."""
    out: Results = {}
    folder = Path(rev) if Path(rev).is_absolute() else Path(repo_root, rev)
    if rev != "workspace" and (folder / "run.json").is_file():
        for path in sorted((folder / "eval").glob("*/*.jsonl")):
            out.setdefault(path.parent.name, {})[path.stem] = _parse_rows(path.read_text(), str(path))
        if not out:
            raise RevisionError(f"{rev!r}: a results folder without eval rows under eval/")
        return out
    commit = resolve_revision(repo_root, rev)
    if commit is None:
        for path in sorted(Path(repo_root, EVAL_DIR).glob("*/*.jsonl")):
            out.setdefault(path.parent.name, {})[path.stem] = _parse_rows(path.read_text(), str(path))
    else:
        from dvc.api import DVCFileSystem

        fs = DVCFileSystem(str(repo_root), rev=commit)
        if fs.exists(EVAL_DIR):
            for path in sorted(fs.find(EVAL_DIR)):
                rel = Path(path).relative_to("/" + EVAL_DIR if path.startswith("/") else EVAL_DIR)
                if len(rel.parts) == 2 and rel.suffix == ".jsonl":
                    with fs.open(path, "r") as handle:
                        out.setdefault(rel.parts[0], {})[rel.stem] = _parse_rows(
                            handle.read(), f"{rev}:{path}")
    if not out:
        raise RevisionError(f"{rev!r}: no eval rows under {EVAL_DIR}/ (has agent_eval run there?)")
    return out


@dataclass(frozen=True)
class CellComparison:
    """A versus B on one cell and benchmark (`all`: pooled over the benchmarks both hold)."""

    cell: str
    benchmark: str
    n: int
    accuracy_a: float
    accuracy_b: float
    delta: float
    p_value: float
    delta_ci95: tuple[float, float]


def compare_results(a: Results, b: Results, *, resamples: int = 2000) -> list[CellComparison]:
    """Every cell and benchmark both results hold, paired by problem_id."""
    out = []
    for cell in [c for c in a if c in b]:
        shared = [bench for bench in a[cell] if bench in b[cell]]
        for bench in [*shared, "all"]:
            rows_a = [r for s in shared for r in a[cell][s]] if bench == "all" else a[cell][bench]
            rows_b = [r for s in shared for r in b[cell][s]] if bench == "all" else b[cell][bench]
            by_id = {r["problem_id"]: bool(r["correct"]) for r in rows_a}
            common = [r for r in rows_b if r["problem_id"] in by_id]
            if not common:
                continue
            xs = [by_id[r["problem_id"]] for r in common]
            ys = [bool(r["correct"]) for r in common]
            test = paired(rows_a, common)
            _, ci, _ = paired_bootstrap(xs, ys, resamples=resamples)
            out.append(CellComparison(cell, bench, len(common), sum(xs) / len(xs), sum(ys) / len(ys),
                                      test.delta, test.p_value, ci))
    return out


def comparison_rows(comparisons: list[CellComparison]) -> list[Mapping[str, Any]]:
    """The comparisons as JSON-ready dicts."""
    return [{**vars(c), "delta_ci95": list(c.delta_ci95)} for c in comparisons]
