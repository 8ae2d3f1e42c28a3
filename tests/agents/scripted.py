"""A `Generator` whose completions a test scripts, for testing agent control flow.

Agents decide what to do from the exact text the model writes (a verdict line, a code
block, a boxed answer). A random tiny model cannot be made to write given text, so these
tests script the text: `ScriptedGenerator(reply)` calls `reply(prompt_text, params,
sample_index)` for each completion. It is a real `Generator` subclass with the real SmolLM2
tokenizer (token counts and context budget are real); only the text is chosen by the test.
The generation path itself is tested in tests/generation; the agents also run on the tiny
real model (the `tiny_hf` fixture) in test_standard.py, test_best_of_n.py,
test_solver_verifier.py and test_vote_and_code_agents.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from slm_math.generation import Completion, Generator, Prompt, SamplingParams


class ScriptedGenerator(Generator):
    """Completions from `reply(prompt_text, params, sample_index) -> str`; calls recorded."""

    def __init__(self, reply: Callable[[str, SamplingParams, int], str], tokenizer,
                 context_length: int | None = 8192):
        self.reply = reply
        self.tokenizer = tokenizer
        self.context_length = context_length
        self.calls: list[tuple[list[Prompt], SamplingParams]] = []

    def generate(self, prompts: Sequence[Prompt], params: SamplingParams | None = None):
        params = params or SamplingParams()
        self.calls.append((list(prompts), params))
        out = []
        for prompt in prompts:
            text = self.format_prompt(prompt)
            n_in = self.count_tokens(prompt)
            out.append([Completion(t, n_in, max(1, len(t.split())), "stop", 0.01)
                        for t in (self.reply(text, params, j) for j in range(params.n))])
        return out


def last_user(text: str) -> str:
    """The last user turn of a chat-formatted prompt (SmolLM2's template)."""
    return text.rsplit("<|im_start|>user\n", 1)[-1]


def assistant_prefix(text: str) -> str:
    """What a prompt already holds of the assistant turn it continues ("" for a new turn)."""
    return text.rsplit("<|im_start|>assistant\n", 1)[-1]
