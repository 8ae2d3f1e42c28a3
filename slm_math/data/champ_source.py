"""CHAMP (Mao et al., 2024): 270 human-written competition problems, shipped on PyPI.

Its numeric-answer subset is the offline stand-in for MATH-500/AIME: a held-out test set
of real competition problems with a final number. Answers such as "C(10, 5), or
equivalently 252" contribute their stated number; symbolic answers ("2^(n-1)") are left out.
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

_NUMBER = r"-?\d+(?:\.\d+)?(?:/\d+)?"
_EQUIVALENTLY = re.compile(rf"^.*?,? or equivalently ({_NUMBER})\s*$")


def champ_file() -> Path:
    """Path of CHAMP's v0.json inside the installed champ-dataset package."""
    spec = importlib.util.find_spec("champ_dataset")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the champ benchmark needs the package champ-dataset==1.0.0")
    return Path(list(spec.submodule_search_locations)[0]) / "dataset_files" / "v0.json"


def numeric_answer(answer: str) -> str | None:
    """The final number of a CHAMP answer, or None when the answer is not a number."""
    text = answer.strip().rstrip(".")
    if re.fullmatch(_NUMBER, text):
        return text
    match = _EQUIVALENTLY.match(text)
    return match.group(1) if match else None


def load_champ(path: Path | None = None) -> list[dict]:
    """CHAMP's numeric-answer problems as test records, in file order."""
    path = path or champ_file()
    try:
        problems = json.loads(path.read_text())["problems"]
    except (OSError, ValueError, KeyError) as err:
        raise ValueError(f"{path}: cannot read CHAMP problems ({err})") from None
    out = []
    for key, item in problems.items():
        answer = numeric_answer(str(item.get("_answer", "")))
        if answer is None:
            continue
        steps = item.get("solution", {}).get("steps", [])
        out.append({"id": f"champ/{key}", "source": "champ", "split": "test",
                    "problem": item["_text"].strip(), "answer": answer, "rule": "numeric",
                    "solution": "\n".join(s["_text"] for s in steps),
                    "subject": item.get("category")})
    return out
