"""solver_verifier control flow: stop rules, feedback, code fed back, memory modes, budget.

The solver's and verifier's text is scripted (see scripted.py for why); prompts, token
counts, the sandbox and the grading are real.
"""

from __future__ import annotations

import pytest

from slm_math.agents import build_agent
from slm_math.evaluation.metrics import cell_metrics
from slm_math.evaluation.run import evaluate_cell
from slm_math.generation import SamplingParams
from tests.agents.conftest import TOY
from tests.agents.scripted import ScriptedGenerator, assistant_prefix, last_user

SAMPLING = SamplingParams(max_new_tokens=64)


def is_verify(text: str) -> bool:
    return "Proposed solution:" in last_user(text)


def agent(**options):
    return build_agent("solver_verifier", sampling=SAMPLING, **{"tools": False, **options})


def test_stops_on_correct(tokenizer):
    gen = ScriptedGenerator(lambda t, p, j: "Looks right.\nVERDICT: CORRECT" if is_verify(t)
                            else "3 + 3 = 6. \\boxed{6}", tokenizer)
    [r] = agent(max_iterations=5).solve(gen, TOY[:1])
    assert r.iterations == 1 and r.answer == "6"
    assert len(gen.calls) == 2                               # one solve, one verify
    assert r.trace[-1] == {"role": "stop", "reason": "verified", "iteration": 1}
    assert [s.get("verdict") for s in r.trace if s.get("step") == "verify"] == ["CORRECT"]
    assert [s.get("verdict_parsed") for s in r.trace if s.get("step") == "verify"] == [True]


def test_stops_at_max_iterations_and_feeds_the_feedback_back(tokenizer):
    seen = []

    def reply(text, params, j):
        if is_verify(text):
            return "The sum is off by one.\nVERDICT: INCORRECT"
        seen.append(text)
        return f"Attempt {len(seen)}: \\boxed{{{len(seen) + 4}}}"

    gen = ScriptedGenerator(reply, tokenizer)
    [r] = agent(max_iterations=3).solve(gen, TOY[:1])
    assert r.iterations == 3 and len(seen) == 3
    assert len(gen.calls) == 5                       # 3 solves, 2 verifies (none after the last)
    assert r.trace[-1]["reason"] == "max_iterations"
    assert "The sum is off by one." in last_user(seen[1])
    assert "VERDICT" not in last_user(seen[1])       # the verdict line is not feedback
    assert r.answer == "7" and r.iteration_responses == ["Attempt 1: \\boxed{5}",
                                                         "Attempt 2: \\boxed{6}", "Attempt 3: \\boxed{7}"]


def test_an_unclear_verdict_means_another_round(tokenizer):
    verdicts = iter(["I am not sure.\nVERDICT: UNCLEAR", "VERDICT: CORRECT"])
    gen = ScriptedGenerator(lambda t, p, j: next(verdicts) if is_verify(t) else "\\boxed{6}", tokenizer)
    [r] = agent(max_iterations=5).solve(gen, TOY[:1])
    assert r.iterations == 2
    assert [s["verdict"] for s in r.trace if s.get("step") == "verify"] == ["UNCLEAR", "CORRECT"]
    assert [s["verdict_parsed"] for s in r.trace if s.get("step") == "verify"] == [True, True]


def test_a_missing_verdict_stops_with_the_attempt_unless_told_to_revise(tokenizer):
    def run(**options):
        verdicts = iter(["I am not sure.", "VERDICT: CORRECT"])
        answers = iter(["\\boxed{6}", "\\boxed{7}"])
        gen = ScriptedGenerator(lambda t, p, j: next(verdicts) if is_verify(t) else next(answers),
                                tokenizer)
        [r] = agent(max_iterations=5, **options).solve(gen, TOY[:1])
        return r, gen

    r, gen = run()  # on_no_verdict: stop (the default): no judgment to revise on
    assert r.iterations == 1 and r.answer == "6" and len(gen.calls) == 2
    assert r.trace[-1] == {"role": "stop", "reason": "no_verdict", "iteration": 1}
    assert [(s["verdict"], s["verdict_parsed"]) for s in r.trace if s.get("step") == "verify"] == [
        ("UNCLEAR", False)]
    r, _ = run(on_no_verdict="revise")  # as on UNCLEAR: another attempt, then verified
    assert r.iterations == 2 and r.answer == "7" and r.trace[-1]["reason"] == "verified"
    assert [s["verdict_parsed"] for s in r.trace if s.get("step") == "verify"] == [False, True]
    with pytest.raises(ValueError, match="on_no_verdict must be one of"):
        agent(on_no_verdict="guess")


def test_the_verifier_reply_is_opened_with_verdict_as_the_verifier_was_trained(tokenizer):
    """open_verdict (default): the verify prompt ends in `VERDICT:` (grpo_verifier's and
    best_of_n's form); the word the reply begins with is the verdict, the rest feedback."""
    verify_prompts, seen = [], []

    def reply(text, params, j):
        if is_verify(text):
            verify_prompts.append(text)
            return " INCORRECT. The sum is off by one." if len(verify_prompts) == 1 else " correct"
        seen.append(text)
        return f"\\boxed{{{len(seen) + 4}}}"

    [r] = agent(max_iterations=3).solve(ScriptedGenerator(reply, tokenizer), TOY[:1])
    assert [assistant_prefix(t) for t in verify_prompts] == ["VERDICT:", "VERDICT:"]
    steps = [s for s in r.trace if s.get("step") == "verify"]
    assert [(s["verdict"], s["verdict_parsed"], s["opened_with"]) for s in steps] == [
        ("INCORRECT", True, "VERDICT:"), ("CORRECT", True, "VERDICT:")]
    assert r.iterations == 2 and r.trace[-1]["reason"] == "verified"
    feedback = last_user(seen[1])
    assert "The sum is off by one." in feedback and "INCORRECT" not in feedback


def test_an_opened_reply_without_a_verdict_word_falls_back_to_its_verdict_line(tokenizer):
    replies = iter(["Checked it.\nVERDICT: CORRECT"])
    gen = ScriptedGenerator(lambda t, p, j: next(replies) if is_verify(t) else "\\boxed{6}", tokenizer)
    [r] = agent(max_iterations=3).solve(gen, TOY[:1])
    [step] = [s for s in r.trace if s.get("step") == "verify"]
    assert (step["verdict"], step["verdict_parsed"]) == ("CORRECT", True)


def test_a_verifier_that_copies_the_choices_gave_no_verdict(tokenizer):
    """verify.jinja ends with the choices; the CPU default's verifier copied them."""
    replies = iter([" CORRECT, VERDICT: INCORRECT, or VERDICT: UNCLEAR.", " CORRECT"])
    gen = ScriptedGenerator(lambda t, p, j: next(replies) if is_verify(t) else "\\boxed{6}", tokenizer)
    [r] = agent(max_iterations=3).solve(gen, TOY[:1])
    steps = [s for s in r.trace if s.get("step") == "verify"]
    assert [(s["verdict"], s["verdict_parsed"]) for s in steps] == [("UNCLEAR", False)]
    assert r.iterations == 1 and r.trace[-1]["reason"] == "no_verdict"  # the copy was no verdict


def test_open_verdict_off_leaves_the_reply_to_the_verifier(tokenizer):
    prefixes = []

    def reply(text, params, j):
        if is_verify(text):
            prefixes.append(assistant_prefix(text))
            return " CORRECT"                    # not a verdict line: free text reads none
        return "\\boxed{6}"

    [r] = agent(max_iterations=2, open_verdict=False).solve(ScriptedGenerator(reply, tokenizer), TOY[:1])
    assert prefixes == [""]
    [step] = [s for s in r.trace if s.get("step") == "verify"]
    assert (step["verdict"], step["verdict_parsed"]) == ("UNCLEAR", False) and "opened_with" not in step


def test_batched_each_step_is_one_call_over_open_problems(tokenizer):
    def reply(text, params, j):
        if is_verify(text):  # problem 0 is verified at once; the others never
            return "VERDICT: CORRECT" if "What is 0 + 3?" in text else "VERDICT: INCORRECT"
        return "\\boxed{3}"

    gen = ScriptedGenerator(reply, tokenizer)
    results = agent(max_iterations=3).solve(gen, TOY)
    assert [len(prompts) for prompts, _ in gen.calls] == [3, 3, 2, 2, 2]
    assert [r.iterations for r in results] == [1, 3, 3]


def test_code_blocks_run_in_the_sandbox_and_the_output_is_fed_back(tokenizer):
    prompts = []

    def reply(text, params, j):
        if is_verify(text):
            return "VERDICT: CORRECT"
        prompts.append(text)
        if len(prompts) == 1:
            return "Let me compute.\n```python\nimport math\nprint(math.factorial(5) + 1)\n```"
        return "The code says 121, so \\boxed{121}"

    gen = ScriptedGenerator(reply, tokenizer)
    [r] = agent(tools=True).solve(gen, TOY[:1])
    # the solver continues its own reply after the sandbox's output block
    assert prompts[1].endswith("print(math.factorial(5) + 1)\n```\n```output\n121\n```\n")
    assert prompts[1].count("<|im_start|>assistant") == 1
    tool = next(s for s in r.trace if s["role"] == "tool")
    assert tool["ran"] and tool["exit_code"] == 0 and tool["content"] == "121"
    assert r.answer == "121" and r.iterations == 1
    assert r.response.endswith("```output\n121\n```\nThe code says 121, so \\boxed{121}")


def test_memory_modes_shape_the_revision_prompt(tokenizer):
    def run(memory):
        solves, summaries = [], []

        def reply(text, params, j):
            if is_verify(text):
                return "Step one is wrong.\nVERDICT: INCORRECT"
            if "Summarize in at most" in text:
                summaries.append(text)
                return "Tried 5; the checker says step one is wrong."
            solves.append(text)
            return f"FIRST-ATTEMPT-{len(solves)} \\boxed{{5}}"

        gen = ScriptedGenerator(reply, tokenizer)
        agent(max_iterations=2, memory=memory).solve(gen, TOY[:1])
        return solves[1], summaries

    chat, _ = run("chat")
    assert chat.count("<|im_start|>assistant") == 2          # the earlier attempt as a turn
    assert "FIRST-ATTEMPT-1" in chat and "Step one is wrong." in chat
    stateless, _ = run("stateless")
    assert stateless.count("<|im_start|>user") == 1           # one fresh user turn
    assert "Your previous solution:\nFIRST-ATTEMPT-1" in stateless
    summary, summaries = run("summary")
    assert len(summaries) == 1 and "FIRST-ATTEMPT-1" in summaries[0]
    assert "Tried 5; the checker says" in summary and "FIRST-ATTEMPT-1" not in summary


def test_context_budget_drops_old_rounds_then_stops(tokenizer):
    def reply(text, params, j):
        return "VERDICT: INCORRECT" if is_verify(text) else "work " * 150 + "\\boxed{5}"

    gen = ScriptedGenerator(reply, tokenizer, context_length=600)
    [r] = agent(max_iterations=4).solve(gen, TOY[:1])
    assert any(s["role"] == "context" and s["dropped_rounds"] >= 1 for s in r.trace)
    assert r.answer == "5"


def test_accuracy_by_iteration_in_the_metrics(tokenizer):
    def reply(text, params, j):  # 7 first, 3 after feedback: right for 0 + 3, never for 1 + 3
        if is_verify(text):
            return "VERDICT: INCORRECT"
        return "\\boxed{3}" if "checker reviewed" in text else "\\boxed{7}"

    gen = ScriptedGenerator(reply, tokenizer)
    rows = evaluate_cell(agent(max_iterations=2), gen, {"toy": TOY[:2]}, model="m", agent_name="sv")
    assert [r["iteration_correct"] for r in rows["toy"]] == [[False, True], [False, False]]
    m = cell_metrics(rows)
    assert m["accuracy_by_iteration"] == [0.0, 0.5] and m["accuracy"] == 0.5


def test_verifier_may_be_another_checkpoint(tiny_hf, tiny_model_dir):
    sv = build_agent("solver_verifier", sampling=SamplingParams(max_new_tokens=6),
                     max_iterations=2, tools=False, verifier_model=tiny_model_dir,
                     verifier_max_new_tokens=5, on_no_verdict="revise")
    results = sv.solve(tiny_hf, TOY[:2])
    assert sv._verifier is not None and sv._verifier is not tiny_hf
    for r in results:  # a random model writes no verdict: UNCLEAR, and (revise) one more round
        assert [s["verdict"] for s in r.trace if s.get("step") == "verify"] == ["UNCLEAR"]
        assert r.iterations == 2 and len(r.iteration_responses) == 2
