"""The formats a model is taught beyond the standard solution, and the agents read back.

- `tool`: tool-integrated solutions (reasoning, a ```python block, the sandbox's output in
  an ```output block, the boxed answer): what python_tools, code_feedback and
  solver_verifier's solver write; built from reference solutions or finished from a
  teacher's reply, and checked by running the code (`trace_formats.tool`).
- `verdict`: a graded solution and `VERDICT: CORRECT` / `VERDICT: INCORRECT`, what the
  verifiers write (`trace_formats.verdict`).

`FORMATS` names every format a trace may have; the user turn of each is
`slm_math.prompts.user_turn(format, ...)`, the same for the cotgen teachers, SFT and the
agents. Uses grading, sandbox and prompts only.
"""

from slm_math.prompts import FORMAT_TEMPLATES

FORMATS = tuple(FORMAT_TEMPLATES)
"""standard, tool, verdict."""

__all__ = ["FORMATS"]
