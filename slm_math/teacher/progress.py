"""The cotgen progress bar: problems done, rate and ETA (tqdm), yield so far and spend."""

from __future__ import annotations

import time

from tqdm import tqdm


class CascadeProgress:
    """A tqdm bar over problems whose postfix shows yield %, USD spent and output tokens/s."""

    def __init__(self, total: int, *, enabled: bool = True):
        self.bar = tqdm(total=total, unit="problem", desc="cotgen", disable=not enabled,
                        mininterval=0.5, dynamic_ncols=True)
        self.done = self.solved = self.tokens_out = 0
        self.cost_usd = 0.0
        self.start = time.perf_counter()

    def problem_done(self, *, solved: bool) -> None:
        """One problem left the cascade (solved or not)."""
        self.done += 1
        self.solved += solved
        self.bar.update(1)
        self._postfix()

    def spent(self, cost_usd: float, tokens_out: int) -> None:
        """A request was answered: add its cost and tokens."""
        self.cost_usd += cost_usd
        self.tokens_out += tokens_out
        self._postfix()

    def _postfix(self) -> None:
        elapsed = max(time.perf_counter() - self.start, 1e-9)
        yield_pct = 100.0 * self.solved / self.done if self.done else 0.0
        self.bar.set_postfix_str(
            f"yield {yield_pct:.1f}% ${self.cost_usd:.4f} {self.tokens_out / elapsed:.1f} tok/s",
            refresh=False)

    def __enter__(self) -> "CascadeProgress":
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.close()
