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
def test_native_bf16_is_read_from_the_cpu_flags(cpuinfo, native):
    assert vllm_env.cpu_has_native_bf16(cpuinfo) is native


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
