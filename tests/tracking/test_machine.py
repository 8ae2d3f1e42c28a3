"""machine_facts: what a result file records about the machine, an ISA cap included."""

from __future__ import annotations

from slm_math.tracking.machine import machine_facts


def test_machine_facts_record_an_isa_cap_only_when_one_is_set(monkeypatch):
    from slm_math.generation.vllm_env import ISA_CAPS

    for cap in ISA_CAPS:
        monkeypatch.delenv(cap, raising=False)
    facts = machine_facts()
    assert "isa_cap" not in facts and facts["cpu_count"] >= 1
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    assert machine_facts()["isa_cap"] == "ONEDNN_MAX_CPU_ISA=AVX2"
