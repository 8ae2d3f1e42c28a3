"""Benchmarks from the Hugging Face hub, read from the files the hub serves.

Each benchmark names its dataset repo and, per split, the file pattern inside it (parquet or
jsonl, as the hub lays them out). Files come from ``data.hub_dir`` when set (a folder laid
out as ``<repo_id>/<path in repo>``, which is also how tests feed local files) or else from
the HF cache through ``snapshot_download``; offline and not cached is one clear error.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from slm_math.base_model import hub_cache_dir, hub_offline
from slm_math.grading.extract import last_boxed
from slm_math.jsonl import DataFileError, iter_jsonl


class HubUnavailableError(RuntimeError):
    """A hub dataset is neither in hub_dir, nor cached, nor reachable."""


def dataset_files(repo_id: str, pattern: str, hub_dir: str | Path | None = None) -> list[Path]:
    """Local paths of the files matching ``pattern`` in the dataset repo ``repo_id``."""
    if hub_dir is not None:
        root = Path(hub_dir) / repo_id
        files = sorted(root.glob(pattern))
        if not files:
            raise HubUnavailableError(f"{root}: no file matching {pattern!r} (data.hub_dir)")
        return files
    from huggingface_hub import snapshot_download

    cache = hub_cache_dir()
    try:
        folder = snapshot_download(repo_id, repo_type="dataset", allow_patterns=[pattern],
                                   local_files_only=hub_offline(), cache_dir=cache)
    except Exception:
        try:
            folder = snapshot_download(repo_id, repo_type="dataset", allow_patterns=[pattern],
                                       local_files_only=True, cache_dir=cache)
        except Exception:
            raise HubUnavailableError(
                f"dataset {repo_id} ({pattern}) is not in the local Hugging Face cache and the "
                f"hub is unreachable; set data.hub_dir to a folder holding {repo_id}/{pattern}, "
                f"or use the offline benchmarks (gsm_symbolic, champ, data.tasks)") from None
    files = sorted(Path(folder).glob(pattern))
    if not files:
        raise HubUnavailableError(f"dataset {repo_id}: no file matching {pattern!r}")
    return files


def read_rows(path: Path) -> list[dict]:
    """Rows of a parquet, jsonl or json file as dicts."""
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            return pq.read_table(path).to_pylist()
        except Exception as err:
            raise DataFileError(f"{path}: not a readable parquet file ({err})") from None
    if path.suffix == ".jsonl":
        return list(iter_jsonl(path))
    if path.suffix == ".json":
        try:
            data = json.loads(path.read_text())
        except ValueError as err:
            raise DataFileError(f"{path}: not valid JSON ({err})") from None
        return data if isinstance(data, list) else data.get("data", [])
    raise DataFileError(f"{path}: unsupported file type {path.suffix!r}")


def rows(repo_id: str, pattern: str, hub_dir: str | Path | None) -> list[tuple[Path, dict]]:
    """(file, row) pairs of every file matching ``pattern``."""
    return [(path, row) for path in dataset_files(repo_id, pattern, hub_dir)
            for row in read_rows(path)]


def _field(row: dict, name: str, path: Path) -> object:
    if name not in row or row[name] is None:
        raise DataFileError(f"{path}: a row has no field {name!r} (fields: {sorted(row)})")
    return row[name]


def _level(value: object) -> int | None:
    match = re.search(r"\d+", str(value))
    return int(match.group()) if match else None


def load_gsm8k(hub_dir=None) -> dict[str, list[dict]]:
    """GSM8K (openai/gsm8k, main): train 7,473 / test 1,319; answer after ``####``."""
    out: dict[str, list[dict]] = {}
    for split in ("train", "test"):
        records = []
        for i, (path, row) in enumerate(rows("openai/gsm8k", f"main/{split}-*.parquet", hub_dir)):
            full = str(_field(row, "answer", path))
            if "####" not in full:
                raise DataFileError(f"{path}: row {i}: answer has no '####' line")
            solution, answer = full.rsplit("####", 1)
            records.append({"id": f"gsm8k/{split}/{i}", "source": "gsm8k", "split": split,
                            "problem": str(_field(row, "question", path)).strip(),
                            "answer": answer.strip().replace(",", ""), "rule": "numeric",
                            "solution": solution.strip()})
        out[split] = records
    return out


MATH_SUBJECTS = ("algebra", "counting_and_probability", "geometry", "intermediate_algebra",
                 "number_theory", "prealgebra", "precalculus")


def load_math500(hub_dir=None) -> dict[str, list[dict]]:
    """MATH-500 (HuggingFaceH4/MATH-500): the 500-problem test subset, level and subject."""
    records = []
    for path, row in rows("HuggingFaceH4/MATH-500", "test.jsonl", hub_dir):
        uid = str(_field(row, "unique_id", path))
        records.append({"id": f"math500/{uid}", "source": "math500", "split": "test",
                        "problem": str(_field(row, "problem", path)).strip(),
                        "answer": str(_field(row, "answer", path)).strip(), "rule": "latex",
                        "solution": str(row.get("solution") or ""),
                        "level": _level(row.get("level")), "subject": row.get("subject")})
    return {"test": records}


def load_math(hub_dir=None) -> dict[str, list[dict]]:
    """MATH train: the 12,000 problems of MATH (EleutherAI/hendrycks_math) not in MATH-500."""
    held_out = {r["problem"] for r in load_math500(hub_dir)["test"]}
    records = []
    for subject in MATH_SUBJECTS:
        for split in ("train", "test"):
            pattern = f"{subject}/{split}-*.parquet"
            for i, (path, row) in enumerate(rows("EleutherAI/hendrycks_math", pattern, hub_dir)):
                problem = str(_field(row, "problem", path)).strip()
                if problem in held_out:
                    continue
                solution = str(_field(row, "solution", path))
                answer = last_boxed(solution)
                if not answer:
                    continue
                records.append({"id": f"math/{subject}/{split}/{i}", "source": "math",
                                "split": "train", "problem": problem, "answer": answer,
                                "rule": "latex", "solution": solution,
                                "level": _level(row.get("level")), "subject": subject})
    return {"train": records}


def load_aime24(hub_dir=None) -> dict[str, list[dict]]:
    """AIME 2024 (HuggingFaceH4/aime_2024): 30 integer-answer problems."""
    records = [{"id": f"aime24/{row.get('id', i)}", "source": "aime24", "split": "test",
                "problem": str(_field(row, "problem", path)).strip(),
                "answer": str(_field(row, "answer", path)).strip(), "rule": "numeric",
                "solution": str(row.get("solution") or "")}
               for i, (path, row) in enumerate(rows("HuggingFaceH4/aime_2024",
                                                    "data/train-*.parquet", hub_dir))]
    return {"test": records}


def load_aime25(hub_dir=None) -> dict[str, list[dict]]:
    """AIME 2025 (math-ai/aime25): 30 integer-answer problems."""
    records = [{"id": f"aime25/{row.get('id', i)}", "source": "aime25", "split": "test",
                "problem": str(_field(row, "problem", path)).strip(),
                "answer": str(_field(row, "answer", path)).strip(), "rule": "numeric"}
               for i, (path, row) in enumerate(rows("math-ai/aime25", "test.jsonl", hub_dir))]
    return {"test": records}


def load_olympiadbench(hub_dir=None) -> dict[str, list[dict]]:
    """OlympiadBench (Hothan/OlympiadBench, OE_TO_maths_en_COMP): its numeric-answer subset."""
    records = []
    for i, (path, row) in enumerate(rows("Hothan/OlympiadBench",
                                         "OE_TO_maths_en_COMP/train-*.parquet", hub_dir)):
        answers = row.get("final_answer") or []
        if row.get("answer_type") != "Numerical" or row.get("is_multiple_answer") \
                or row.get("unit") or len(answers) != 1:
            continue
        answer = str(answers[0]).strip().strip("$")
        solution = row.get("solution") or []
        records.append({"id": f"olympiadbench/{row.get('id', i)}", "source": "olympiadbench",
                        "split": "test", "problem": str(_field(row, "question", path)).strip(),
                        "answer": answer, "rule": "latex",
                        "solution": "\n".join(solution) if isinstance(solution, list)
                        else str(solution), "subject": row.get("subfield")})
    return {"test": records}
