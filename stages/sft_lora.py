"""sft_lora: verified teacher traces → models/sft_lora/, metrics/sft_lora.json, DVCLive curves.

Reads params: seed, sft_lora.*, tracking.*. Trains with TRL's SFTTrainer (loss on the
assistant turn only), resumes an interrupted run from its last checkpoint, and registers
the result in the MLflow Model Registry (tracking.registered_models.sft_lora, alias current).
Runs unchanged under `accelerate launch --config_file configs/accelerate/<fsdp|deepspeed_zero2>.yaml -m stages.sft_lora`.
"""

from __future__ import annotations

from slm_math.config import Params
from slm_math.stage_runner import run_stage
from slm_math.training.sft_stage import run_sft_stage


def main(params: Params) -> None:
    """Train, write the model and metrics, register the checkpoint."""
    run_sft_stage("sft_lora", params)


if __name__ == "__main__":
    run_stage("sft_lora", main)
