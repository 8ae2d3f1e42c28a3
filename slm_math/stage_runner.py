"""What every stage entry point shares: params loading, clear failures, timing.

``run_stage(name, main)`` loads params.yaml, calls ``main(params)``, and turns the errors a
user can cause (bad params, a bad data file, a missing model) into one line on stderr and
exit status 2, never a traceback from deep inside a library.
"""

from __future__ import annotations

import sys
import time
from typing import Callable

from slm_math.config import Params, ParamsError, load_params
from slm_math.jsonl import DataFileError

USER_ERRORS: tuple[type[BaseException], ...] = (ParamsError, DataFileError)


def register_user_error(kind: type[BaseException]) -> None:
    """Treat ``kind`` as a user-facing error: one line, exit 2 (pieces call this)."""
    global USER_ERRORS
    if kind not in USER_ERRORS:
        USER_ERRORS = USER_ERRORS + (kind,)


def run_stage(name: str, main: Callable[[Params], None], params_path: str = "params.yaml") -> None:
    """Run one stage's ``main`` with validated params; exit 2 with one line on user error."""
    from slm_math.base_model import ModelSourceError
    from slm_math.data.hub_source import HubUnavailableError

    start = time.perf_counter()
    try:
        params = load_params(params_path)
        main(params)
    except (*USER_ERRORS, ModelSourceError, HubUnavailableError) as err:
        print(f"error: {name}: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    print(f"[{name}] done in {time.perf_counter() - start:.1f} s", file=sys.stderr)
