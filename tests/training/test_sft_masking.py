"""The loss covers the assistant turn and nothing else, checked token by token."""

from __future__ import annotations

from slm_math.training.sft import build_sft_trainer
from slm_math.training.sft_data import load_problems, load_sft_examples, split_held_out
from tests.training.helpers import quick_params


def test_labels_mask_everything_but_the_assistant_turn(tiny_model_dir, sft_data, tmp_path):
    problems_dir, traces = sft_data
    examples = load_sft_examples(traces, load_problems(problems_dir))
    train, held = split_held_out(examples, 4, seed=0, max_examples=6)
    trainer, _, _ = build_sft_trainer(
        base_model=tiny_model_dir, train_examples=train, eval_examples=held,
        cfg=quick_params("full", max_length=256), mode="full",
        checkpoint_dir=tmp_path / "ckpt", seed=0)
    tokenizer = trainer.processing_class
    assert len(trainer.train_dataset) == len(train)
    for row, example in zip(trainer.train_dataset, train):
        ids, labels = row["input_ids"], row["labels"]
        # what the model's own chat template renders, with and without the answer
        prompt_ids = tokenizer.apply_chat_template(example["prompt"], add_generation_prompt=True,
                                                   tokenize=True, return_dict=True)["input_ids"]
        full_ids = tokenizer.apply_chat_template(example["prompt"] + example["completion"],
                                                 tokenize=True, return_dict=True)["input_ids"]
        assert ids == full_ids
        assert ids[:len(prompt_ids)] == prompt_ids
        for position, (token, label) in enumerate(zip(ids, labels)):
            if position < len(prompt_ids):
                assert label == -100, (position, tokenizer.decode([token]))
            else:
                assert label == token, (position, tokenizer.decode([token]))
        trained = tokenizer.decode(ids[len(prompt_ids):])
        assert trained == example["completion"][0]["content"] + "<|im_end|>\n"
        untrained = tokenizer.decode(prompt_ids)
        assert untrained.startswith("<|im_start|>system\n")
        assert untrained.endswith(example["prompt"][0]["content"]
                                  + "<|im_end|>\n<|im_start|>assistant\n")


def test_packing_keeps_the_mask_and_trains(tiny_model_dir, sft_data, tmp_path):
    problems_dir, traces = sft_data
    examples = load_sft_examples(traces, load_problems(problems_dir))
    train, held = split_held_out(examples, 4, seed=0, max_examples=12)
    cfg = quick_params("full", max_length=256, packing=True, max_steps=-1, epochs=1.0)
    trainer, _, _ = build_sft_trainer(
        base_model=tiny_model_dir, train_examples=train, eval_examples=held, cfg=cfg,
        mode="full", checkpoint_dir=tmp_path / "ckpt", seed=0)
    tokenizer = trainer.processing_class
    packed = trainer.train_dataset
    assert len(packed) < len(train)  # several examples share a 256-token block
    expected = sum(len(tokenizer.apply_chat_template(e["prompt"] + e["completion"],
                                                     tokenize=True, return_dict=True)["input_ids"])
                   - len(tokenizer.apply_chat_template(e["prompt"], add_generation_prompt=True,
                                                      tokenize=True, return_dict=True)["input_ids"])
                   for e in train)
    trained = sum(sum(1 for label in row["labels"] if label != -100) for row in packed)
    assert trained == expected  # exactly the assistant tokens of every example, no more
    result = trainer.train()
    assert result.training_loss > 0 and trainer.state.global_step == -(-len(packed) // 4)
    # one epoch: every packed token counted once (packed batches have no padding)
    assert trainer.state.num_input_tokens_seen == sum(len(row["input_ids"]) for row in packed)
