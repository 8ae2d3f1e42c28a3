"""vLLM's OpenAI-compatible server as a local teacher: served, queried, and never orphaned."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from slm_math.generation import SamplingParams, load_generator

from tests.conftest import require_vllm

OWNER = Path(__file__).with_name("server_owner.py")
ROOT = Path(__file__).resolve().parents[2]


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of process group `pgid`."""
    members = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                members.append(int(entry))
    return members


def command_lines(pids: list[int]) -> list[str]:
    out = []
    for pid in pids:
        try:
            out.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:120])
        except OSError:
            pass
    return out


@pytest.fixture(scope="module")
def owned_server(request):
    """A process that owns a vLLM server (as a stage would); killed by the last test."""
    require_vllm()
    smollm2_model_dir = request.getfixturevalue("smollm2_model_dir")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    owner = subprocess.Popen([sys.executable, str(OWNER), smollm2_model_dir, "vllm"],
                             stdout=subprocess.PIPE, text=True, env=env)
    try:
        line = owner.stdout.readline()
        assert line, f"the owner exited with {owner.wait()} before its server was healthy"
        info = json.loads(line)
        yield owner, info
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait()
        deadline = time.monotonic() + 30
        while group_members(info["pid"]) and time.monotonic() < deadline:
            time.sleep(0.2)
        for pid in group_members(info["pid"]):  # only if a test failed: never leave a server
            os.kill(pid, signal.SIGKILL)


@pytest.mark.slow
def test_chat_through_the_openai_backend(owned_server):
    _, info = owned_server
    gen = load_generator("openai", "smol", base_url=info["base_url"], max_concurrency=4)
    prompts = [[{"role": "user", "content": "What is 15 + 27?"}], [{"role": "user", "content": "What is 100 - 37?"}]]
    greedy = gen.generate(prompts, SamplingParams(max_new_tokens=24))
    assert greedy[0][0].text.startswith("15 + 27 =") and greedy[1][0].text.startswith("100 - 37 =")
    assert all(r[0].tokens_out <= 24 and r[0].tokens_in > 20 for r in greedy)
    params = SamplingParams(temperature=1.0, max_new_tokens=12, n=4, seed=3, stop=["\n"])
    a, b = gen.generate(prompts[:1], params), gen.generate(prompts[:1], params)
    texts = [c.text for c in a[0]]
    assert len(texts) == 4 and len(set(texts)) >= 2, texts  # the n samples differ
    # The seed reaches the server: its samples repeat. Not always all of them: on AMX CPUs
    # one of the 4 parted at a near-tie ('15 + 27 = 42' then '\n' or ' adding') in CI runs,
    # also with the prefix cache emptied before each call (bf16 kernels there round by batch
    # shape, and the server batches a call's samples as it schedules them). A seed that did
    # not reach the server would repeat 12-token samples at T 1 by chance only.
    same = sum(x == y.text for x, y in zip(texts, b[0]))
    assert same >= 2, (texts, [c.text for c in b[0]])
    other = gen.generate(prompts[:1], SamplingParams(**{**vars(params), "seed": 4}))
    assert [c.text for c in other[0]] != texts
    assert all("\n" not in t and c.tokens_out <= 12 for t, c in zip(texts, a[0]))


@pytest.mark.slow
def test_a_killed_owner_leaves_no_server_behind(owned_server):
    owner, info = owned_server
    members = group_members(info["pid"])
    # the guard, vLLM's API server and its engine process at least
    assert len(members) >= 3, command_lines(members)
    assert any("vllm.entrypoints.openai.api_server" in c for c in command_lines(members))
    owner.send_signal(signal.SIGKILL)  # no cleanup code of the owner runs
    owner.wait()
    deadline = time.monotonic() + 30
    while group_members(info["pid"]) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = group_members(info["pid"])
    assert not left, f"left behind after the owner died: {command_lines(left)}"
