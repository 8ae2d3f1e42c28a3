"""Running model-written Python safely: separate process, limits, no network, no writes outside a temp dir.

    from slm_math.sandbox import run_python
    result = run_python("print(2 + 2)")   # SandboxResult(stdout="4\n", exit_code=0, limit=None, ...)

A leaf of slm_math: imports nothing else of it, nor torch or transformers. isolation.py says
what each isolation mode guarantees and which is used where.
"""

from .blocks import extract_python_blocks, python_block_spans
from .isolation import available_isolations, default_isolation
from .limits import LIMIT_NAMES, Limits
from .result import SandboxResult
from .runner import run_many, run_python

__all__ = [
    "LIMIT_NAMES",
    "Limits",
    "SandboxResult",
    "available_isolations",
    "default_isolation",
    "extract_python_blocks",
    "python_block_spans",
    "run_many",
    "run_python",
]
