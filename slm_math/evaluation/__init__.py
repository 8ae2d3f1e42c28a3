"""Evaluation: run agents over benchmarks (`run`), score the rows (`metrics`, `stats`),
and resolve matrix model names to generators (`models`)."""
