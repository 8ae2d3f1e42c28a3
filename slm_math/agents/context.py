"""The context budget: fit a multi-round prompt into the model's context window.

An iterative agent's prompt is a *head* (system turn, few-shot turns, the problem) and a
list of *rounds* (one round: the model's reply and the messages answering it — code
output, verifier feedback). The rule, applied by `fit_rounds`:

1. The budget is `generator.context_length - reserve` tokens (`reserve`: the tokens the
   next completion may generate), counted with `generator.count_tokens` on the whole
   chat-formatted prompt.
2. While the prompt is over budget and more than one round is left, the OLDEST round is
   dropped whole. The head and the latest round are always kept.
3. No message is ever shortened: a reply is kept whole or dropped whole, so the model
   never sees an answer cut mid-way.
4. If the head and the latest round alone are over budget, `ContextOverflow` is raised;
   the agent then stops that problem and answers with what it has.

Without a known `context_length` (an openai server that does not say), nothing is dropped.
"""

from __future__ import annotations

from collections.abc import Sequence

from slm_math.generation import Generator, Message


class ContextOverflow(Exception):
    """Even the head and the latest round do not fit the model's context."""


def fit_rounds(generator: Generator, head: Sequence[Message], rounds: Sequence[Sequence[Message]],
               *, reserve: int) -> tuple[list[Message], int]:
    """The prompt `head + rounds` within the budget, and how many oldest rounds were dropped.

    See the module docstring for the rule. Raises `ContextOverflow` when nothing fits.
    """
    limit = generator.context_length
    flat = lambda kept: [*head, *(m for r in kept for m in r)]  # noqa: E731
    if limit is None:
        return flat(rounds), 0
    budget = limit - reserve
    for dropped in range(max(len(rounds), 1)):
        messages = flat(rounds[dropped:])
        if generator.count_tokens(messages) <= budget:
            return messages, dropped
    raise ContextOverflow(
        f"the prompt needs {generator.count_tokens(flat(rounds[-1:]))} tokens with only the "
        f"problem and the latest round; the budget is {budget} "
        f"(context {limit} - {reserve} reserved for the reply)")


def fit_continuation(generator: Generator, head: Sequence[Message], rounds: Sequence[Sequence[Message]],
                     partial: str, *, reserve: int) -> tuple[str, int]:
    """The prompt that continues an assistant reply begun with `partial` (a tool-integrated
    reply up to its code's output): `head + rounds` fitted as by `fit_rounds` with room for
    `partial` too, chat-formatted with the assistant turn opened, then `partial`. Returns the
    text and the rounds dropped; raises `ContextOverflow` when nothing fits."""
    room = generator.count_tokens(partial) if generator.context_length is not None else 0
    messages, dropped = fit_rounds(generator, head, rounds, reserve=reserve + room)
    text = generator.format_prompt(messages)
    tokenizer = generator.tokenizer
    bos = getattr(tokenizer, "bos_token", None)
    # a plain-text prompt gets the tokenizer's special tokens: a BOS the template wrote would double
    if bos and text.startswith(bos) and tokenizer("").input_ids[:1] == [tokenizer.bos_token_id]:
        text = text[len(bos):]
    return text + partial, dropped
