"""Thin DVC stage entry points: ``python -m stages.<name>`` from the repo root."""
