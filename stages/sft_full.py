"""sft_full: verified teacher traces → models/sft_full/, metrics/sft_full.json, DVCLive curves.

Reads params: seed, sft_full.*, tracking.*. Trains with TRL's SFTTrainer (loss on the
assistant turn only), resumes an interrupted run from its last checkpoint, and registers
the result in the MLflow Model Registry (tracking.registered_models.sft_full, alias current).
Runs unchanged under `accelerate launch --config_file configs/accelerate/<fsdp|deepspeed_zero2>.yaml -m stages.sft_full`.
"""

from __future__ import annotations

from slm_math.config import Params
from slm_math.stage_runner import run_stage
from slm_math.training.sft_stage import run_sft_stage


def main(params: Params) -> None:
    """Train, write the model and metrics, register the checkpoint."""
    run_sft_stage("sft_full", params)


if __name__ == "__main__":
    run_stage("sft_full", main)
