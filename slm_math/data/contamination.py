"""Train/test contamination check: word n-gram overlap, GPT-3 style.

A train problem is contaminated when it shares any word n-gram (default 13) with any test
problem. Problems shorter than n words are compared by their whole normalized text, so two
copies of "Calculate 5 - 3." still collide. Generated problems share template text ("Find
the Least Common Multiple (LCM) of these numbers: 12, ..."), so an n-gram found in two or
more test problems counts as template text, not contamination; a copy of a test problem
still collides through the grams that are that problem's own.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

_TOKEN = re.compile(r"[a-z0-9]+|[^\sa-z0-9]")


def normalize_words(text: str) -> list[str]:
    """Lower-cased word and symbol tokens, whitespace and case ignored."""
    return _TOKEN.findall(text.lower())


def ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    """All word n-grams of ``text``; a text shorter than n is one gram of itself."""
    words = normalize_words(text)
    if len(words) < n:
        return {tuple(words)} if words else set()
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def find_contaminated(train: Iterable[str], test: Iterable[str], n: int = 13) -> list[int]:
    """Indices of ``train`` texts that share an n-gram with some ``test`` text."""
    test = list(test)
    frequency: Counter = Counter()
    for text in test:
        frequency.update(ngrams(text, n))
    test_grams = {gram for gram, count in frequency.items() if count == 1}
    return [i for i, text in enumerate(train) if ngrams(text, n) & test_grams]
