"""vLLM's CPU dtype: bf16 only where the CPU computes it natively (no vllm import needed)."""

from __future__ import annotations

import pytest

from slm_math.generation import vllm_env

AVX2_EPYC = "processor\t: 0\nflags\t\t: fpu sse2 ssse3 fma avx avx2 bmi2\n"
SAPPHIRE_RAPIDS = "flags\t\t: fpu avx2 avx512f avx512bw avx512_bf16 amx_tile amx_bf16\n"
ZEN4 = "flags\t\t: fpu avx2 avx512f avx512_bf16 avx512_vnni\n"
GRAVITON3 = "Features\t: fp asimd sve bf16\n"


@pytest.mark.parametrize("cpuinfo, native", [
    (AVX2_EPYC, False), (SAPPHIRE_RAPIDS, True), (ZEN4, True),
    ("flags\t\t: avx512f avx512bw\n", False),  # AVX-512 without its bf16 extension
    (GRAVITON3, False), ("", False),
])
def test_native_bf16_is_read_from_the_cpu_flags(cpuinfo, native, monkeypatch):
    for cap in vllm_env.ISA_CAPS:
        monkeypatch.delenv(cap, raising=False)
    assert vllm_env.cpu_has_native_bf16(cpuinfo) is native


@pytest.mark.parametrize("name, value, capped", [
    ("ATEN_CPU_CAPABILITY", "avx2", True), ("ATEN_CPU_CAPABILITY", "AVX2", True),
    ("ATEN_CPU_CAPABILITY", "default", True), ("ATEN_CPU_CAPABILITY", "avx512", False),
    ("ONEDNN_MAX_CPU_ISA", "AVX2", True), ("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_BF16", False),
    ("ONEDNN_MAX_CPU_ISA", "ALL", False), ("MKL_ENABLE_INSTRUCTIONS", "AVX2", True),
    ("MKL_ENABLE_INSTRUCTIONS", "AVX512", False),
])
def test_an_isa_cap_below_avx512_makes_a_bf16_cpu_an_fp32_one(name, value, capped, monkeypatch):
    for other in vllm_env.ISA_CAPS:
        monkeypatch.delenv(other, raising=False)
    monkeypatch.setenv(name, value)
    assert (vllm_env.isa_capped() == f"{name}={value}") is capped
    assert vllm_env.cpu_has_native_bf16(ZEN4) is not capped


def test_auto_dtype_is_fp32_without_native_bf16_and_explicit_values_stay(monkeypatch):
    monkeypatch.setattr(vllm_env, "cpu_has_native_bf16", lambda: False)
    assert vllm_env.cpu_dtype("auto") == vllm_env.cpu_dtype(None) == "float32"
    assert vllm_env.cpu_dtype("bfloat16") == "bfloat16"
    monkeypatch.setattr(vllm_env, "cpu_has_native_bf16", lambda: True)
    assert vllm_env.cpu_dtype("auto") == "bfloat16"
    assert vllm_env.cpu_dtype("float32") == "float32"


def test_the_cpu_server_command_carries_the_cpu_dtype(monkeypatch):
    monkeypatch.setattr(vllm_env, "has_cuda", lambda: False)
    monkeypatch.setattr(vllm_env, "cpu_has_native_bf16", lambda: False)
    argv = vllm_env.vllm_server_command()
    assert argv[argv.index("--dtype") + 1] == "float32"
    monkeypatch.setattr(vllm_env, "has_cuda", lambda: True)  # a GPU keeps vLLM's own choice
    argv = vllm_env.vllm_server_command()
    assert argv[argv.index("--dtype") + 1] == "auto"


def test_training_precision_follows_an_isa_cap_as_the_vllm_dtype_does(monkeypatch):
    import torch

    from slm_math.training.model_loading import resolve_precision

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # the CPU rule, on any machine
    for cap in vllm_env.ISA_CAPS:
        monkeypatch.delenv(cap, raising=False)
    monkeypatch.setenv("MKL_ENABLE_INSTRUCTIONS", "AVX2")  # torch's own bf16 check ignores this one
    assert resolve_precision("auto") == "fp32" and vllm_env.cpu_dtype("auto") == "float32"
    assert resolve_precision("bf16_mixed") == "bf16_mixed"  # an explicit value stays
