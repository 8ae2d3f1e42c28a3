"""Grading benchmark: speed on one core, latency on adversarial inputs, agreement on MATH-style pairs.

Run: `python benchmarks/grading.py` (from the repo root). Prints a table and writes
`benchmarks/results/grading.json`. The process and its grading workers are pinned to one CPU.
Targets: >= 5,000 numeric grades/s, >= 50 LaTeX grades/s, no single grade over 2 s.
"""

from __future__ import annotations

import json
import os
import platform
import random
import statistics
import sys
import time
from importlib.metadata import version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from slm_math.grading import extract_answer, grade, judge, warm_up  # noqa: E402
from slm_math.grading.timeout import pool  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "grading.json"
B = "\\boxed"

# (prediction inside the box, gold, human verdict): equivalent forms and common wrong answers.
MATH_PAIRS = [
    ("\\frac{1}{2}", "\\frac12", True), ("0.5", "\\frac{1}{2}", True), ("\\dfrac{3}{4}", "\\frac{3}{4}", True),
    ("3/4", "\\frac{3}{4}", True), ("\\frac{6}{8}", "\\frac{3}{4}", True), ("0.75", "\\frac34", True),
    ("\\frac{4}{3}", "\\frac{3}{4}", False), ("\\frac{3}{5}", "\\frac{3}{4}", False),
    ("2\\sqrt{2}", "\\sqrt{8}", True), ("\\sqrt{8}", "2\\sqrt{2}", True), ("\\sqrt{2}", "2\\sqrt{2}", False),
    ("\\frac{\\sqrt{3}}{2}", "\\frac{\\sqrt3}{2}", True), ("\\frac{1}{\\sqrt{3}}", "\\frac{\\sqrt{3}}{3}", True),
    ("\\frac{\\sqrt{2}}{2}", "\\frac{\\sqrt{3}}{2}", False), ("3\\sqrt{3}", "\\sqrt{27}", True),
    ("\\pi", "\\pi", True), ("2\\pi", "2 \\pi", True), ("\\frac{\\pi}{2}", "\\pi/2", True),
    ("\\frac{\\pi}{3}", "\\frac{\\pi}{6}", False), ("3.14", "\\pi", False), ("\\pi r^2", "\\pi r^2", True),
    ("6\\pi", "6\\pi", True), ("36\\pi", "6\\pi", False), ("\\frac{4}{3}\\pi", "\\frac{4\\pi}{3}", True),
    ("(1, 2]", "(1,2]", True), ("[1, 2]", "(1,2]", False), ("(-\\infty, 3)", "(-\\infty,3)", True),
    ("(-\\infty, 3]", "(-\\infty,3)", False), ("[0, \\infty)", "[0,\\infty)", True),
    ("(-\\infty, -2) \\cup (2, \\infty)", "(-\\infty,-2)\\cup(2,\\infty)", True),
    ("(2, \\infty)", "(-\\infty,-2)\\cup(2,\\infty)", False),
    ("(3, 4)", "(3,4)", True), ("(4, 3)", "(3,4)", False), ("(1, -2, 3)", "(1,-2,3)", True),
    ("\\left( 3, \\frac{\\pi}{2} \\right)", "\\left( 3, \\frac{\\pi}{2} \\right)", True),
    ("(3, \\frac{\\pi}{2})", "\\left( 3, \\frac{\\pi}{2} \\right)", True),
    ("\\{1, 2, 3\\}", "\\{3,2,1\\}", True), ("1, 2, 3", "1,2,3", True), ("3, 2, 1", "1,2,3", True),
    ("1, 2", "1,2,3", False), ("-2, 2", "2,-2", True), ("2", "2,-2", False), ("\\pm 2", "2,-2", True),
    ("\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "\\begin{pmatrix}1\\\\2\\end{pmatrix}", True),
    ("\\begin{pmatrix} 2 \\\\ 1 \\end{pmatrix}", "\\begin{pmatrix}1\\\\2\\end{pmatrix}", False),
    ("\\begin{pmatrix} 1 & 0 \\\\ 0 & 1 \\end{pmatrix}", "\\begin{pmatrix}1&0\\\\0&1\\end{pmatrix}", True),
    ("\\begin{pmatrix} -1 & 0 \\\\ 0 & 1 \\end{pmatrix}", "\\begin{pmatrix}1&0\\\\0&1\\end{pmatrix}", False),
    ("x^2 + 2x + 1", "(x+1)^2", True), ("(x+1)^2", "x^2+2x+1", True), ("x^2 + 1", "(x+1)^2", False),
    ("2x + 3", "3 + 2x", True), ("2x - 3", "3 - 2x", False), ("x = 5", "5", True), ("y = 2x + 3", "y=2x+3", True),
    ("\\frac{x+1}{2}", "\\frac{1}{2}x+\\frac12", True), ("a^2 - b^2", "(a-b)(a+b)", True),
    ("10", "10", True), ("10.0", "10", True), ("010", "10", True), ("1,000", "1000", True),
    ("1000", "1,\\!000", True), ("11", "10", False), ("-10", "10", False), ("10^\\circ", "10", True),
    ("10\\%", "10", True), ("\\$10", "10", True), ("10 \\text{ cm}", "10", True), ("10\\text{ inches}", "10", True),
    ("\\text{10}", "10", True), ("5", "\\text{5}", True), ("\\text{(B)}", "\\text{(B)}", True), ("B", "\\text{(B)}", True),
    ("C", "\\text{(B)}", False), ("\\text{Monday}", "\\text{Monday}", True), ("Tuesday", "\\text{Monday}", False),
    ("\\infty", "\\infty", True), ("-\\infty", "\\infty", False), ("i", "i", True), ("1 + i", "1+i", True),
    ("1 - i", "1+i", False), ("2e", "2e", True), ("e^2", "e^{2}", True), ("\\log_2 8", "3", True),
    ("\\sqrt{100}", "10", True), ("5!", "120", True), ("\\binom{5}{2}", "10", True), ("2^{10}", "1024", True),
    ("1023", "1024", False), ("\\frac{1}{3}", "0.\\overline{3}", True), ("0.333", "\\frac13", False),
    ("\\frac{2}{3}", "0.\\overline{6}", True), ("\\frac{7}{2}", "3\\frac{1}{2}", True),
    ("\\frac{-1}{2}", "-\\frac{1}{2}", True), ("-0.5", "-\\frac{1}{2}", True), ("0.5", "-\\frac{1}{2}", False),
    ("\\sqrt{3} + 1", "1 + \\sqrt{3}", True), ("\\sqrt{3} - 1", "1 - \\sqrt{3}", False),
    ("\\frac{1+\\sqrt{5}}{2}", "\\frac{1 + \\sqrt5}{2}", True), ("\\frac{1-\\sqrt{5}}{2}", "\\frac{1+\\sqrt5}{2}", False),
    ("4", "4\\text{ units}", True), ("12", "12\\text{ cm}^2", True), ("\\$1.50", "\\$1.50", True), ("1.5", "\\$1.50", True),
    ("45^\\circ", "45^\\circ", True), ("\\frac{\\pi}{4}", "45^\\circ", False), ("90", "90^\\circ", True),
]

ADVERSARIAL = {
    "100k chars": "7" * 50_000 + " " + "x" * 50_000,
    "100k in one box": B + "{" + "1+" * 50_000 + "1}",
    "1000-deep braces": B + "{" + "{" * 1000 + "1" + "}" * 1000 + "}",
    "1000-deep parens": B + "{" + "(" * 1000 + "1" + ")" * 1000 + "}",
    "9^{9^{9^{9}}}": B + "{9^{9^{9^{9}}}}",
    "\\frac chain x300": B + "{" + "\\frac{1}{" * 300 + "2" + "}" * 300 + "}",
    "\\frac chain x30": B + "{" + "\\frac{1}{1+" * 30 + "2" + "}" * 30 + "}",
    "(10^{9999999})!": B + "{(10^{9999999})!}",
    "20k unclosed boxes": (B + "{") * 20_000,
    "1e999999999": B + "{1e999999999}",
    "big polynomial": B + "{" + "+".join(f"x^{{{k}}}" for k in range(100)) + "}",
    "100k separated digits": "1," + "000," * 25_000 + "000x",
    "answer sentence x6000": "Final Answer: " + "The big one is " * 6_000 + "7",
    "x = x = ... = 7 (200 steps)": B + "{" + "x = " * 200 + "7}",
}


def machine_info() -> dict:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cpus_visible": os.cpu_count(),
        "pinned_to_cpu": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "versions": {p: version(p) for p in ("math-verify", "sympy", "latex2sympy2_extended", "antlr4-python3-runtime")},
    }


def gsm8k_like(rng: random.Random, n: int) -> list[tuple[str, str]]:
    items = []
    for _ in range(n):
        value = rng.randint(0, 10**6)
        shown = value if rng.random() < 0.7 else value + rng.choice([-1, 1, 10])
        style = rng.randrange(4)
        body = "Natalia sold 48 clips in April and half as many in May. 48 / 2 = 24. 48 + 24 = 72.\n" * 3
        answer = [f"#### {shown:,}", f"The answer is ${shown}.", f"{B}{{{shown}}}", f"so she has {shown} apples"][style]
        items.append((body + answer, str(value)))
    return items


def latex_like(rng: random.Random, n: int) -> list[tuple[str, str]]:
    """Unique MATH-style answers that need math-verify (no plain numbers, no identical strings)."""
    items = []
    for _ in range(n):
        a, b, c = rng.randint(1, 50), rng.randint(2, 50), rng.randint(2, 30)
        kind = rng.randrange(4)
        if kind == 0:
            pred, gold = f"\\frac{{{a}\\sqrt{{{c}}}}}{{{b}}}", f"{a}\\sqrt{{{c}}}/{b}"
        elif kind == 1:
            pred, gold = f"({a}, {a + b}]", f"\\left({a},{a + b}\\right]"
        elif kind == 2:
            pred, gold = f"{a}x^2 + {b}x", f"x({a}x+{b})"
        else:
            pred, gold = f"\\frac{{{a}\\pi}}{{{b}}}", f"{a}\\pi/{b}"
        if rng.random() < 0.3:
            gold = gold.replace(str(a), str(a + 1), 1)
        items.append((f"Solution steps...\nTherefore the answer is ${B}{{{pred}}}$.", gold))
    return items


def _cpu_seconds() -> float:
    """CPU time of this process plus its live grading workers (from /proc; Linux)."""
    total = time.process_time()
    tick = os.sysconf("SC_CLK_TCK")
    for worker in list(pool()._idle):
        try:
            fields = Path(f"/proc/{worker.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            pass
    return total


def rate(items, rule: str) -> tuple[float, float, float]:
    """(grades per wall second, grades per CPU second of parent + workers, max latency)."""
    start, cpu_start = time.perf_counter(), _cpu_seconds()
    latencies = []
    for response, gold in items:
        t0 = time.perf_counter()
        grade(response, gold, rule=rule)
        latencies.append(time.perf_counter() - t0)
    elapsed, cpu = time.perf_counter() - start, _cpu_seconds() - cpu_start
    return len(items) / elapsed, len(items) / max(cpu, 1e-9), max(latencies)


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def plain_math_verify(response: str, gold: str) -> bool:
    from math_verify import parse, verify

    try:
        return bool(verify(parse(f"${gold}$"), parse(response)))
    except Exception:
        return False


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # workers inherit it
    rng = random.Random(0)
    assert warm_up(1, timeout_s=60)

    load_before = load_average()
    numeric_items = gsm8k_like(rng, 20_000)
    numeric_rate, numeric_cpu_rate, numeric_max = rate(numeric_items, "numeric")
    auto_rate, _, _ = rate(numeric_items[:5_000], "auto")
    latex_items = latex_like(rng, 300)
    latex_rate, latex_cpu_rate, latex_max = rate(latex_items, "latex")
    math_items = [(f"So the final answer is ${B}{{{p}}}$.", g) for p, g, _ in MATH_PAIRS]
    math_rate, math_cpu_rate, _ = rate(math_items, "latex")
    worker_stats_after_speed = dict(pool().stats)

    adversarial = {}
    all_latencies = []
    for name, text in ADVERSARIAL.items():
        for rule in ("numeric", "latex", "auto"):
            runs = []
            for _ in range(3):
                t0 = time.perf_counter()
                verdict = judge(text, "5", rule=rule)
                runs.append(time.perf_counter() - t0)
            all_latencies += runs
            adversarial[f"{name} [{rule}]"] = {"max_s": round(max(runs), 4), "correct": verdict.correct, "reason": verdict.reason}

    rows = []
    for pred, gold, label in MATH_PAIRS:
        response = f"We simplify step by step.\nSo the final answer is ${B}{{{pred}}}$."
        ours = grade(response, gold, rule="latex")
        mv = plain_math_verify(response, gold)
        exact = extract_answer(response) == gold
        rows.append({"prediction": pred, "gold": gold, "label": label, "ours": ours, "math_verify": mv, "exact": exact})
    n = len(rows)

    def agree(key_a, key_b):
        return sum(r[key_a] == r[key_b] for r in rows) / n

    results = {
        "machine": machine_info(),
        "speed_one_core": {
            "load_average_at_start": load_before,
            "note": "wall rates share the pinned core with other load on the machine; per-CPU-second "
                    "rates count only this process's and its workers' CPU time",
            "numeric_grades_per_s": round(numeric_rate),
            "numeric_grades_per_cpu_s": round(numeric_cpu_rate),
            "numeric_n": len(numeric_items),
            "numeric_max_latency_s": round(numeric_max, 5),
            "auto_on_numeric_grades_per_s": round(auto_rate),
            "latex_grades_per_s": round(latex_rate, 1),
            "latex_grades_per_cpu_s": round(latex_cpu_rate, 1),
            "math_pairs_grades_per_s": round(math_rate, 1),
            "math_pairs_grades_per_cpu_s": round(math_cpu_rate, 1),
            "latex_n_unique": len(latex_items),
            "latex_max_latency_s": round(latex_max, 4),
            "worker_stats": worker_stats_after_speed,
        },
        "adversarial": {
            "p99_s": round(percentile(all_latencies, 0.99), 4),
            "max_s": round(max(all_latencies), 4),
            "n_grades": len(all_latencies),
            "cases": adversarial,
            "worker_stats": dict(pool().stats),
        },
        "math_pairs": {
            "n": n,
            "agreement_with_math_verify": round(agree("ours", "math_verify"), 4),
            "agreement_with_exact_match": round(agree("ours", "exact"), 4),
            "accuracy_vs_label": {k: round(agree(k, "label"), 4) for k in ("ours", "math_verify", "exact")},
            "disagreements_with_math_verify": [r for r in rows if r["ours"] != r["math_verify"]],
            "disagreements_with_exact_match": [r for r in rows if r["ours"] != r["exact"]],
            "wrong_vs_label": [r for r in rows if r["ours"] != r["label"]],
        },
        "targets": {"numeric_grades_per_s": 5000, "latex_grades_per_s": 50, "max_single_grade_s": 2.0},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")

    speed = results["speed_one_core"]
    print(f"{'metric':45s} {'value':>12s} {'target':>10s}")
    print(f"load average at start: {load_before}")
    print(f"{'numeric grades/s (1 core)':45s} {speed['numeric_grades_per_s']:>12} {'>= 5000':>10s}")
    print(f"{'numeric grades per CPU-second':45s} {speed['numeric_grades_per_cpu_s']:>12}")
    print(f"{'auto grades/s on numeric golds (1 core)':45s} {speed['auto_on_numeric_grades_per_s']:>12}")
    print(f"{'LaTeX grades/s (1 core, unique answers)':45s} {speed['latex_grades_per_s']:>12} {'>= 50':>10s}")
    print(f"{'LaTeX grades per CPU-second':45s} {speed['latex_grades_per_cpu_s']:>12}")
    print(f"{'MATH pairs (latex rule) grades/s (1 core)':45s} {speed['math_pairs_grades_per_s']:>12}")
    print(f"{'MATH pairs grades per CPU-second':45s} {speed['math_pairs_grades_per_cpu_s']:>12}")
    print(f"{'adversarial p99 latency (s)':45s} {results['adversarial']['p99_s']:>12} {'':>10s}")
    print(f"{'adversarial max latency (s)':45s} {results['adversarial']['max_s']:>12} {'< 2':>10s}")
    mp = results["math_pairs"]
    print(f"{'MATH pairs: agreement with math-verify':45s} {mp['agreement_with_math_verify']:>12}")
    print(f"{'MATH pairs: agreement with exact match':45s} {mp['agreement_with_exact_match']:>12}")
    for key, value in mp["accuracy_vs_label"].items():
        print(f"{'MATH pairs: accuracy vs human label, ' + key:45s} {value:>12}")
    print("\nadversarial cases (max of 3 runs):")
    for name, case in adversarial.items():
        print(f"  {name:40s} {case['max_s']:>8}s  {case['reason']}")
    for title, key in (("disagreements with plain math-verify", "disagreements_with_math_verify"),
                       ("disagreements with exact string match", "disagreements_with_exact_match"),
                       ("ours vs human label", "wrong_vs_label")):
        print(f"\n{title} ({len(mp[key])}):")
        for r in mp[key]:
            print(f"  pred={r['prediction']!r:45s} gold={r['gold']!r:35s} label={r['label']!s:5s} "
                  f"ours={r['ours']!s:5s} mv={r['math_verify']!s:5s} exact={r['exact']!s:5s}")
    print(f"\nwrote {RESULTS}")


if __name__ == "__main__":
    main()
