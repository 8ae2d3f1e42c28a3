"""Verdict traces: balanced labels, real failures before perturbed copies, and the user turn
every verifier reads."""

from __future__ import annotations

from collections import Counter

from slm_math.agents.scoring import VerifierScorer
from slm_math.prompts import verifier_prompt
from slm_math.trace_formats.tool import check_tool_trace, finish, reference_draft, run_codes
from slm_math.trace_formats.verdict import build_verdict_traces, perturb, verdict_text, wrong_answer
from slm_math.training.sft_data import chat_example

PROBLEMS = {f"products/train/{i}": {"id": f"products/train/{i}", "source": "products",
                                    "problem": f"Solve the following multiplication: {i} * 7.",
                                    "answer": str(7 * i), "rule": "numeric", "solution": f"{i} * 7 = {7 * i}"}
            for i in range(2, 12)}


def standard(pid, text=None, teacher="reference"):
    p = PROBLEMS[pid]
    i = int(pid.rsplit("/", 1)[1])
    return {"problem_id": pid, "teacher": teacher, "attempt": 1, "format": "standard",
            "text": text or f"<think>\n{i} * 7 = {7 * i}\n</think>\n{i} * 7 = {7 * i}. "
                            f"The answer is \\boxed{{{p['answer']}}}."}


def tool(pid):
    return {"problem_id": pid, "teacher": "reference_tool", "attempt": 1, "format": "tool",
            "text": finish(reference_draft(PROBLEMS[pid]))[0]}


def test_perturbed_solutions_are_wrong_in_the_way_each_format_can_be():
    std = standard("products/train/8")["text"]
    assert perturb(std, "standard", "57") == ("<think>\n8 * 7 = 57\n</think>\n8 * 7 = 57. "
                                              "The answer is \\boxed{57}.")
    text = tool("products/train/8")["text"]
    wrong = perturb(text, "tool", "57")
    assert "```output\n56\n```" in wrong and wrong.endswith("\\boxed{57}.")
    [run] = run_codes([wrong])
    assert check_tool_trace(wrong, run, "57").reason == "unsupported"  # the output disagrees
    assert perturb("no answer", "standard", "3") is None
    assert wrong_answer("12", -10) == "2" and wrong_answer("3/4") == "3/2" and wrong_answer("x") is None


def test_labels_balanced_real_failures_first_and_capped():
    verified = [standard(pid) for pid in PROBLEMS] + [tool(pid) for pid in list(PROBLEMS)[:4]]
    failed = [standard(pid, "It is \\boxed{3}.", teacher="local") for pid in list(PROBLEMS)[:3]]
    traces = build_verdict_traces(verified, failed, PROBLEMS, max_traces=None, seed=0)
    labels = Counter(t["label"] for t in traces)
    assert labels["CORRECT"] == labels["INCORRECT"] == len(verified)   # perturbed copies fill in
    origins = Counter(t["origin"] for t in traces if t["label"] == "INCORRECT")
    assert origins == {"failed_attempt": 3, "perturbed": len(verified) - 3}
    assert all(t["text"] == verdict_text(t["label"]) and t["format"] == "verdict" for t in traces)
    assert {t["solution_format"] for t in traces} == {"standard", "tool"}
    small = build_verdict_traces(verified, failed, PROBLEMS, max_traces=6, seed=0)
    assert Counter(t["label"] for t in small) == {"CORRECT": 3, "INCORRECT": 3}
    # the scarce real failures are kept before any perturbed copy
    assert Counter(t["origin"] for t in small if t["label"] == "INCORRECT") == {"failed_attempt": 3}
    assert build_verdict_traces(verified, failed, PROBLEMS, max_traces=6, seed=0) == small


def test_a_verdict_example_is_the_prompt_the_verifiers_read(tiny_hf):
    tokenizer = tiny_hf.tokenizer
    [trace] = build_verdict_traces([standard("products/train/3")], [], PROBLEMS, max_traces=2, seed=1)[:1]
    example = chat_example(PROBLEMS[trace["problem_id"]], trace["text"], "verdict", trace["solution"])
    rendered = tokenizer.apply_chat_template(example["prompt"] + example["completion"], tokenize=False)
    opened = verifier_prompt(tokenizer, PROBLEMS[trace["problem_id"]]["problem"], trace["solution"])
    # the trained text continues exactly the prompt best_of_n and grpo_verifier open with VERDICT:
    assert rendered.startswith(opened)
    assert rendered[len(opened):].startswith(f" {trace['label']}<|im_end|>")
    scorer = VerifierScorer(tiny_hf.model, tokenizer)
    label_ids = scorer.yes if trace["label"] == "CORRECT" else scorer.no
    ids = tokenizer(rendered, add_special_tokens=False).input_ids
    prompt_ids = tokenizer(opened, add_special_tokens=False).input_ids
    assert ids[:len(prompt_ids)] == prompt_ids and ids[len(prompt_ids):][:len(label_ids)] == label_ids
