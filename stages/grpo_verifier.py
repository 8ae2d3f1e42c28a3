"""grpo_verifier: GRPO for a verifier (reward: verdict accuracy) → models/grpo_verifier/.

Reads params: seed, grpo_verifier.*, tracking.*. The start model's graded solutions to
training problems become verification prompts (verify.jinja, the reply opened with
`VERDICT:`); the reward is a right verdict (` CORRECT` / ` INCORRECT`) at the start of the
completion; verdict accuracy on held-out problems before and after.
Runs unchanged under `accelerate launch --config_file configs/accelerate/<fsdp|deepspeed_zero2>.yaml -m stages.grpo_verifier`.
"""

from __future__ import annotations

from slm_math.config import Params
from slm_math.stage_runner import register_user_error, run_stage
from slm_math.training.grpo import GenerationBackendError, StartModelError
from slm_math.training.grpo_stage import CurriculumError, run_grpo_stage


def main(params: Params) -> None:
    """Train, write the model and metrics, register the checkpoint."""
    run_grpo_stage(params, stage="grpo_verifier")


for _error in (GenerationBackendError, StartModelError, CurriculumError):
    register_user_error(_error)

if __name__ == "__main__":
    run_stage("grpo_verifier", main)
