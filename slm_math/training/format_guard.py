"""The format reward back on once the trained model's format drifts.

``grpo.format_reward_off_at`` sets the format reward's weight to 0 when the start model
formats at least that share of its samples (``grpo_stage.format_rule``, docs/grpo.md): at
that rate the reward is a near-constant and carries no signal. That is measured once, on the
start model, and the correctness reward does not care about an answer's shape, so nothing
holds the format during training: in a 200-step GPU run the share of well-formed samples fell
from 0.99 to about 0.85 and the trained model's greedy answers stopped closing their
``<think>`` block (none of 1,000 test answers was well formed; the start's were).

:class:`FormatGuard` watches the format reward, which TRL still computes and logs as a
monitor, on every completion the trainer samples; once the share of well-formed ones among
the last ``window`` falls below the same threshold, the weight returns to its configured
value for the rest of the run. While the model formats, the guard changes nothing; once the
format drifts, the reward varies within groups again and so carries signal.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Any

log = logging.getLogger(__name__)


class FormatGuard:
    """Restores the format reward's ``weight`` once the well-formed share of the last
    ``window`` sampled completions falls below ``threshold`` (once per run)."""

    def __init__(self, *, weight: float, threshold: float, window: int):
        if window < 1:
            raise ValueError(f"format guard: window must be at least 1 completion, got {window}")
        self.weight, self.threshold, self.window = weight, threshold, window
        self.recent: deque[bool] = deque(maxlen=window)
        self.restored_at_step: int | None = None
        self.rate_at_restore: float | None = None

    @property
    def restored(self) -> bool:
        """Whether the weight is back (the run's format reward counts again)."""
        return self.restored_at_step is not None

    @property
    def rate(self) -> float | None:
        """The well-formed share of the last ``window`` completions seen (None before any)."""
        return sum(self.recent) / len(self.recent) if self.recent else None

    def observe(self, formatted: list[bool], step: int) -> bool:
        """Counts one scored batch's completions (True: well formed) at training ``step``;
        True exactly once, at the batch after which the weight is to be restored."""
        if self.restored:
            return False
        self.recent.extend(formatted)
        rate = self.rate
        if len(self.recent) < self.window or rate is None or rate >= self.threshold:
            return False
        self.restored_at_step, self.rate_at_restore = step, round(rate, 4)
        log.warning("grpo: the format rate of the last %d sampled completions fell to %.3f "
                    "(< %s) at step %d: the format reward's weight is back to %s",
                    self.window, rate, self.threshold, step, self.weight)
        return True

    def summary(self) -> dict[str, Any]:
        """What metrics/grpo.json keeps: the window, and when and at which rate it restored."""
        return {"window": self.window, "restored_at_step": self.restored_at_step,
                "rate_at_restore": self.rate_at_restore,
                "rate_last_window": None if self.rate is None else round(self.rate, 4)}

    def state_dict(self) -> dict[str, Any]:
        """The guard's state for a checkpoint (a resumed run neither restores twice nor forgets a restore)."""
        return {"recent": list(self.recent), "restored_at_step": self.restored_at_step,
                "rate_at_restore": self.rate_at_restore}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """The state :meth:`state_dict` wrote."""
        self.recent = deque((bool(v) for v in state.get("recent", [])), maxlen=self.window)
        self.restored_at_step = state.get("restored_at_step")
        self.rate_at_restore = state.get("rate_at_restore")
