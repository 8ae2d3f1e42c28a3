"""grpo: GRPO (TRL) from base, sft_lora or sft_full → models/grpo/, metrics/grpo.json, plots.

Reads params: seed, grpo.*, tracking.*. Selects problems by the curriculum (pass rates to
data/grpo/pass_rates.jsonl), measures held-out accuracy before and after, trains with the
correctness and format rewards, resumes an interrupted run, registers the model in MLflow.
Runs unchanged under `accelerate launch --config_file configs/accelerate/<fsdp|deepspeed_zero2>.yaml -m stages.grpo`.
"""

from __future__ import annotations

from slm_math.config import Params
from slm_math.stage_runner import register_user_error, run_stage
from slm_math.training.grpo import GenerationBackendError, StartModelError
from slm_math.training.grpo_stage import CurriculumError, run_grpo_stage


def main(params: Params) -> None:
    """Train, write the model and metrics, register the checkpoint."""
    run_grpo_stage(params, stage="grpo")


for _error in (GenerationBackendError, StartModelError, CurriculumError):
    register_user_error(_error)

if __name__ == "__main__":
    run_stage("grpo", main)
