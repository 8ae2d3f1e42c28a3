"""majority_vote, python_tools and code_feedback: control flow on scripted text (see
scripted.py), and seeded sampling on the tiny real model."""

from __future__ import annotations

from slm_math.agents import build_agent
from slm_math.generation import SamplingParams
from tests.agents.conftest import TOY
from tests.agents.scripted import ScriptedGenerator, assistant_prefix

SAMPLING = SamplingParams(max_new_tokens=32, seed=11)


def scripted_runs(texts, tokenizer):
    """Run 1 is greedy (temperature 0); sampled run j+2 answers texts[j+1]."""
    return ScriptedGenerator(lambda t, p, j: texts[0] if p.temperature == 0 else texts[j + 1], tokenizer)


def test_majority_vote_counts_equal_values(tokenizer):
    gen = scripted_runs(["\\boxed{3}", "\\boxed{1/2}", "\\boxed{0.5}"], tokenizer)
    [r] = build_agent("majority_vote", sampling=SAMPLING, runs=3).solve(gen, TOY[:1])
    assert r.answer == "1/2"                          # 1/2 and 0.5 outvote 3
    assert r.trace[-1] == {"role": "vote", "winner_run": 2, "answer": "1/2"}
    assert len(r.samples) == 3 and r.iterations == 3
    greedy, sampled = gen.calls[0][1], gen.calls[1][1]
    assert greedy.temperature == 0 and sampled.temperature == 0.7 and sampled.n == 2
    assert len(gen.calls) == 2                        # one call per pass, over all problems


def test_majority_vote_tie_goes_to_the_first_run(tokenizer):
    gen = scripted_runs(["\\boxed{4}", "\\boxed{9}", "no answer", "\\boxed{9}", "\\boxed{4}"], tokenizer)
    [r] = build_agent("majority_vote", sampling=SAMPLING, runs=5).solve(gen, TOY[:1])
    assert r.answer == "4" and r.trace[-1]["winner_run"] == 1
    gen = scripted_runs(["nothing", "\\boxed{9}", "\\boxed{4}"], tokenizer)
    [r] = build_agent("majority_vote", sampling=SAMPLING, runs=3).solve(gen, TOY[:1])
    assert r.answer == "9"                            # the greedy run has no vote: first that does


def test_majority_vote_seeds_distinct_on_a_real_model(tiny_hf):
    mv = build_agent("majority_vote", sampling=SamplingParams(max_new_tokens=8, seed=3),
                     runs=4, temperature=1.0, top_p=1.0)
    [r] = mv.solve(tiny_hf, TOY[:1])
    runs = [s for s in r.trace if "run" in s]
    assert [s["seed"] for s in runs] == [None, 3, 3, 3] and [s.get("sample_index") for s in runs] == [None, 0, 1, 2]
    assert len(set(r.samples[1:])) == 3               # each sample its own noise
    greedy = tiny_hf.generate([mv.prompt(TOY[0])], SamplingParams(max_new_tokens=8))[0][0].text
    assert r.samples[0] == greedy                      # run 1 is the greedy completion
    [again] = mv.solve(tiny_hf, TOY[:1])
    assert again.samples == r.samples                  # seeded: reproducible


def test_python_tools_answers_from_the_code_output(tokenizer):
    replies = {"What is 0 + 3?": "```python\nprint(2 ** 10)\n```\nSo \\boxed{1000}",
               "What is 1 + 3?": "```python\nprint(1/0)\n```\n\\boxed{4}",
               "What is 2 + 3?": "It is \\boxed{5}"}
    gen = ScriptedGenerator(lambda t, p, j: next(v for k, v in replies.items() if k in t), tokenizer)
    results = build_agent("python_tools", sampling=SAMPLING).solve(gen, TOY)
    assert len(gen.calls) == 1 and gen.calls[0][1].stop == ["```output"]  # the sandbox writes it
    assert results[0].answer == "1024"                 # the code's output beats the model's 1000
    # the response is a tool-integrated trace: reply cut after the code, output, box
    assert results[0].response == ("```python\nprint(2 ** 10)\n```\n```output\n1024\n```\n"
                                   "The answer is \\boxed{1024}.")
    assert results[1].answer == "4"                    # the code failed: the model's answer stands
    tool = next(s for s in results[1].trace if s["role"] == "tool")
    assert tool["ran"] and tool["exit_code"] != 0 and "ZeroDivisionError" in tool["content"]
    assert results[2].answer == "5"                    # no code: the trace says so
    assert [s for s in results[2].trace if s["role"] == "tool"] == [
        {"role": "tool", "ran": False, "reason": "no ```python block in the reply"}]


def test_python_tools_sandbox_limits_apply(tokenizer):
    gen = ScriptedGenerator(lambda t, p, j: "```python\nwhile True: pass\n```\n\\boxed{6}", tokenizer)
    [r] = build_agent("python_tools", sampling=SAMPLING, sandbox_timeout_s=1).solve(gen, TOY[:1])
    tool = next(s for s in r.trace if s["role"] == "tool")
    assert tool["limit"] in ("time", "cpu") and r.answer == "6"


def test_code_feedback_continues_the_reply_after_the_output(tokenizer):
    prompts = []

    def reply(text, params, j):
        prompts.append(text)
        if "```output" in assistant_prefix(text):
            return "The output is 42, so \\boxed{42}"
        if "What is 1 + 3?" in text:
            return "No code needed: \\boxed{4}"
        # blocks share state; a guessed output and answer after the code are dropped
        return "```python\nx = 6\n```\n```python\nprint(x * 7)\n```\n```output\n41\n```\n\\boxed{41}"

    gen = ScriptedGenerator(reply, tokenizer)
    results = build_agent("code_feedback", sampling=SAMPLING).solve(gen, TOY[:2])
    assert [len(p) for p, _ in gen.calls] == [2, 1]    # round 2 only for the reply with code
    followup = prompts[-1]                             # the same assistant turn, continued
    assert isinstance(gen.calls[1][0][0], str)
    assert followup.endswith("print(x * 7)\n```\n```output\n42\n```\n")
    assert followup.count("<|im_start|>assistant") == 1 and "41" not in followup
    assert results[0].answer == "42" and results[0].iterations == 2
    assert results[0].response.endswith("```output\n42\n```\nThe output is 42, so \\boxed{42}")
    assert results[1].answer == "4" and results[1].iterations == 1
    assert any(s.get("ran") is False for s in results[1].trace)
