"""`run_cotgen`: build the teachers from params, serve local models, run the cascade.

    report = run_cotgen(problems, params.cotgen, seed=params.seed,
                        trace_path="data/cot/traces.jsonl")
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence

from slm_math.config.params import CotgenParams, TeacherParams
from slm_math.teacher.cache import ResponseCache, model_fingerprint
from slm_math.teacher.cascade import Cascade, CascadeReport, Teacher
from slm_math.teacher.client import ChatClient, TeacherAuthError, TeacherConfigError
from slm_math.teacher.server import local_teacher_server, served_model_name
from slm_math.teacher.traces import TraceLog


def interleave(groups: Sequence[Sequence[dict]]) -> list[dict]:
    """Round-robin over groups (one per source), so a teacher's first N problems are a mix."""
    out: list[dict] = []
    for i in range(max((len(g) for g in groups), default=0)):
        out.extend(g[i] for g in groups if i < len(g))
    return out


def api_key(teacher: TeacherParams) -> str:
    """The teacher's API key from its environment variable; a clear stop when it is unset."""
    if teacher.api_key_env is None:
        return "no-key"  # a local server checks no key, but the client needs a string
    key = os.environ.get(teacher.api_key_env, "").strip()
    if not key:
        raise TeacherAuthError(f"teacher {teacher.name!r}: the API key variable "
                               f"${teacher.api_key_env} is not set (export it, or drop the teacher)")
    return key


def run_cotgen(problems: list[dict], params: CotgenParams, *, seed: int,
               trace_path: str) -> CascadeReport:
    """Traces for `problems` (in run order) by the cascade in `params`, appended to `trace_path`."""
    if params.max_problems is not None:
        problems = problems[: params.max_problems]
    keys = {t.name: api_key(t) for t in params.teachers if t.kind == "openai"}
    for t in params.teachers:
        if t.serve and not os.path.isdir(t.serve):
            raise TeacherConfigError(f"teacher {t.name!r}: serve: {t.serve!r} is not a model folder")
    with contextlib.ExitStack() as stack:
        urls: dict[str, str] = {}
        teachers = []
        for t in params.teachers:
            if t.kind == "reference":
                teachers.append(Teacher(t, model_id="reference"))
                continue
            if t.serve and t.serve not in urls:
                server = stack.enter_context(local_teacher_server(t.serve, params.server))
                urls[t.serve] = server.base_url
            model = t.model or t.serve
            model_id = f"{model}@{model_fingerprint(t.serve)}" if t.serve else model
            client = ChatClient(
                name=t.name, base_url=urls[t.serve] if t.serve else t.base_url,
                model=served_model_name(t.serve) if t.serve else model,
                api_key=keys[t.name], concurrency=t.concurrency, timeout_s=t.timeout_s,
                max_retries=t.max_retries, backoff_s=t.backoff_s, backoff_max_s=t.backoff_max_s,
                max_text_chars=params.max_text_chars)
            teachers.append(Teacher(t, model_id=model_id, client=client))
        cascade = Cascade(teachers, prompt=params.prompt, seed=seed,
                          cache=ResponseCache(params.cache_dir), log=TraceLog(trace_path),
                          stop_at_first_correct=params.stop_at_first_correct,
                          progress=params.progress)
        return cascade.run(problems)
