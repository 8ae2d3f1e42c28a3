"""Training: SFT (LoRA and full) on TRL's SFTTrainer; shared pieces GRPO reuses.

- :mod:`~slm_math.training.sft_data`: verified traces + problems → chat examples.
- :mod:`~slm_math.training.sft`: ``train_sft`` (one run, resumable, LoRA or full).
- :mod:`~slm_math.training.sft_stage`: the sft_lora / sft_full stage flow.
- shared: :mod:`~slm_math.training.model_loading`, :mod:`~slm_math.training.batching`,
  :mod:`~slm_math.training.checkpoints`, :mod:`~slm_math.training.callbacks`.
"""
