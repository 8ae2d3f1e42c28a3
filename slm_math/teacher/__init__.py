"""Teacher chain-of-thought: the cotgen cascade over OpenAI-compatible APIs, and verify.

- `run_cotgen(problems, params.cotgen, seed=..., trace_path=...) -> CascadeReport`: ask the
  teachers in cascade order (attempts each, bounded concurrency, retries with backoff),
  grade every answer, append each trace durably; resumable through the response cache.
- `select_verified(traces, problems, policy=...)` and `cot_metrics(...)`: the verify stage.
- `ChatClient`: one async OpenAI-compatible teacher; `local_teacher_server`: a model folder
  served on 127.0.0.1 (vLLM where installed, else this package's hf server) for the length of a
  `with` block.
- Errors that stop a run: `TeacherAuthError` (key missing or rejected),
  `TeacherConfigError` (URL/model not found); prompts: `PromptError`.
"""

from slm_math.teacher.cascade import Cascade, CascadeReport, Teacher
from slm_math.teacher.client import (ChatClient, ChatResult, RetriesExhausted, TeacherAuthError,
                                     TeacherConfigError)
from slm_math.teacher.cotgen import interleave, run_cotgen
from slm_math.teacher.prompts import PromptError
from slm_math.teacher.server import local_teacher_server
from slm_math.teacher.verify import cot_metrics, select_verified

__all__ = [
    "Cascade", "CascadeReport", "ChatClient", "ChatResult", "PromptError", "RetriesExhausted",
    "Teacher", "TeacherAuthError", "TeacherConfigError", "cot_metrics", "interleave",
    "local_teacher_server", "run_cotgen", "select_verified",
]
