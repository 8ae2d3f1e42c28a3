"""Benchmarks and training problems: registry, hub and offline sources, splits, checks."""

from slm_math.data.schema import Problem, read_problems

__all__ = ["Problem", "read_problems"]
