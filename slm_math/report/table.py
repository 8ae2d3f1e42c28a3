"""The ablation table: rows model × agent, columns benchmarks, deltas with paired tests.

Each cell of the table is accuracy with its 95% Wilson interval; below it, for every row
but the baselines, the change against the zero-shot baseline (and the few-shot one) with
McNemar's exact p-value on the problems both rows answered (paired by problem_id). The last
column says whether the model still speaks the agent's formats (`metrics.format_use_block`):
the share of problems whose code ran (and ran cleanly), the share of verifier calls that
gave a verdict and, where the verifier scored samples (best_of_n), how well its scores rank
a problem's right samples above its wrong ones (`verifier_auc`, 0.5 at chance); `–` for an
agent that uses neither.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from slm_math.evaluation.metrics import accuracy_block, format_use_block, scored_samples_block
from slm_math.evaluation.stats import PairedTest, mcnemar_exact

Rows = Sequence[Mapping[str, Any]]
# cell name ("<model>-<agent>") -> benchmark -> eval rows
Results = Mapping[str, Mapping[str, Rows]]


def paired(a: Rows, b: Rows) -> PairedTest:
    """McNemar's exact test of B against A on the problems both hold (by problem_id)."""
    a_by_id = {r["problem_id"]: bool(r["correct"]) for r in a}
    common = [r for r in b if r["problem_id"] in a_by_id]
    return mcnemar_exact([a_by_id[r["problem_id"]] for r in common], [bool(r["correct"]) for r in common])


def format_p(p: float) -> str:
    """A p-value as a reader wants it: 3 significant digits, `<0.001` below that."""
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def format_accuracy(rows: Rows) -> str:
    """`41.0% [31.9, 50.8]`: accuracy and its 95% Wilson interval, in percent."""
    block = accuracy_block(rows)
    low, high = block["ci95"]
    return f"{100 * block['accuracy']:.1f}% [{100 * low:.1f}, {100 * high:.1f}]"


def format_delta(test: PairedTest) -> str:
    """`+4.0 pp (p=0.021)`: the paired change in percentage points and its p-value."""
    return f"{100 * test.delta:+.1f} pp (p={format_p(test.p_value)})"


FORMAT_COLUMN = "code ran · verdicts given"


def format_use(rows: Rows) -> str:
    """`code 84% (clean 80%)<br>verdicts 97% of 150, AUC 0.62`, the parts that apply, else `–`."""
    block = format_use_block(rows) | scored_samples_block(rows)
    parts = []
    if "code_executed_rate" in block:
        parts.append(f"code {100 * block['code_executed_rate']:.0f}% "
                     f"(clean {100 * block['code_ok_rate']:.0f}%)")
    if "verdict_parsed_rate" in block:
        parts.append(f"verdicts {100 * block['verdict_parsed_rate']:.0f}% of {block['verdicts']}"
                     + (f", AUC {block['verifier_auc']:.2f}" if "verifier_auc" in block else ""))
    return "<br>".join(parts) or "–"


def ablation_table(results: Results, *, baseline: str, fewshot_baseline: str | None = None,
                   order: Sequence[str] | None = None) -> str:
    """The markdown ablation table (see the module docstring); `order` sorts the rows."""
    benchmarks = list(dict.fromkeys(b for cell in results.values() for b in cell))
    names = [n for n in (order or results) if n in results]
    baselines = [(baseline, "zero-shot")] + ([(fewshot_baseline, "few-shot")] if fewshot_baseline else [])
    baselines = [(b, label) for b, label in baselines if b in results]
    header = ["model × agent", *benchmarks, "all", FORMAT_COLUMN]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name in names:
        cells = [name]
        for bench in [*benchmarks, None]:
            rows = _rows(results, name, bench, benchmarks)
            if not rows:
                cells.append("–")
                continue
            parts = [format_accuracy(rows)]
            for base, label in baselines:
                base_rows = _rows(results, base, bench, benchmarks)
                # the zero-shot baseline row is the reference: no deltas on it
                if base_rows and name not in (base, baseline):
                    parts.append(f"Δ{label} {format_delta(paired(base_rows, rows))}")
            cells.append("<br>".join(parts))
        cells.append(format_use(_rows(results, name, None, benchmarks)))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _rows(results: Results, name: str, bench: str | None, benchmarks: Sequence[str]) -> list:
    """A cell's rows on one benchmark, or pooled over all of them (bench None)."""
    if bench is None:
        return [r for b in benchmarks for r in results[name].get(b, [])]
    return list(results[name].get(bench, []))


def steps_table(results: Results, steps: Sequence[Sequence[str]]) -> str:
    """Markdown: each [before, after] pair of cells on the problems both answered (pooled over
    their shared benchmarks): accuracies, the paired change and McNemar's exact p."""
    lines = ["| before | after | n | before | after | Δ | p |", "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for before, after in steps:
        if before not in results or after not in results:
            continue
        shared = [b for b in results[before] if b in results[after]]
        rows_b = [r for b in shared for r in results[after][b]]
        ids = {r["problem_id"] for r in rows_b}
        rows_a = [r for b in shared for r in results[before][b] if r["problem_id"] in ids]
        ids_a = {r["problem_id"] for r in rows_a}
        rows_b = [r for r in rows_b if r["problem_id"] in ids_a]
        if not rows_a:
            continue
        test = paired(rows_a, rows_b)
        lines.append(f"| {before} | {after} | {len(rows_a)} | {format_accuracy(rows_a)} | "
                     f"{format_accuracy(rows_b)} | {100 * test.delta:+.1f} pp | {format_p(test.p_value)} |")
    return "\n".join(lines) if len(lines) > 2 else ""
