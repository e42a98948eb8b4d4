"""`jaxrl tune`: workers sharing one Optuna study through its storage (SQLite, Optuna's journal
file) finish exactly the trials asked, and a worker killed mid-batch has its trials retried."""

import os
import signal
import subprocess
import sys

import pytest

optuna = pytest.importorskip("optuna")

from jaxrl import cli  # noqa: E402

TUNE = ["tune", "q_learning", "--env", "FrozenLake-v1", "--env-arg", "is_slippery=false", "--random",
        "learning_rate=log:0.01:1", "--seeds", "2", "--steps", "2000", "--trials-per-batch", "2", "--quiet",
        "--eval-episodes", "2", "--study", "lake"]

# A worker that dies (SIGKILL) once it has claimed its first batch, before telling any result.
KILLED_WORKER = """
import os, signal, sys
from jaxrl import cli, tuning
tuning.execute = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)
sys.exit(cli.main(sys.argv[1:]))
"""


def _environ():
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p), "JAXRL_COMPILE_CACHE": "0"}


def _worker(*args, code=None):
    command = [sys.executable, "-c", code, *args] if code else [sys.executable, "-m", "jaxrl.cli", *args]
    return subprocess.Popen(command, env=_environ(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _trials(storage):
    from jaxrl.tuning import open_storage

    return optuna.load_study(study_name="lake", storage=open_storage(storage)).get_trials()


@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_two_workers_at_once_finish_exactly_the_trials_asked(tmp_path, kind):
    storage = f"sqlite:///{tmp_path / 'tune.db'}" if kind == "sqlite" else f"journal:{tmp_path / 'tune.log'}"
    workers = [_worker(*TUNE, "--trials", "5", "--storage", storage) for _ in range(2)]
    outputs = [w.communicate(timeout=600) for w in workers]
    assert all(w.returncode == 0 for w in workers), [o[1][-2000:] for o in outputs]
    trials = _trials(storage)
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(complete) == 5  # not 6: the worker that asked one too many failed it at once
    assert all(t.user_attrs.get("surplus") for t in trials if t.state == optuna.trial.TrialState.FAIL)
    assert len({t.number for t in trials}) == len(trials) and all(len(t.user_attrs["per_seed_return"]) == 2 for t in complete)
    assert "5 complete trials" in outputs[0][0] and "best: jaxrl train q_learning --env FrozenLake-v1" in outputs[0][0]


def test_a_killed_workers_trials_are_retried_by_the_others(tmp_path):
    storage = f"sqlite:///{tmp_path / 'tune.db'}"
    args = [*TUNE, "--trials", "4", "--storage", storage, "--heartbeat", "1"]
    killed = _worker(*args, code=KILLED_WORKER)
    killed.communicate(timeout=300)
    assert killed.returncode == -signal.SIGKILL
    orphans = {t.number for t in _trials(storage) if t.state == optuna.trial.TrialState.RUNNING}
    assert len(orphans) == 2  # its whole first batch, claimed and never told
    survivor = _worker(*args)
    out, err = survivor.communicate(timeout=600)
    assert survivor.returncode == 0, err[-2000:]
    trials = _trials(storage)
    assert sum(t.state == optuna.trial.TrialState.COMPLETE for t in trials) == 4
    assert {t.number for t in trials if t.state == optuna.trial.TrialState.FAIL} == orphans  # failed as stale...
    retried = {t.system_attrs.get("failed_trial") for t in trials if t.state == optuna.trial.TrialState.COMPLETE}
    assert orphans <= retried  # ...and trained again, with their parameters, by the survivor


def test_show_and_bad_input(tmp_path, capsys):
    storage = f"sqlite:///{tmp_path / 'tune.db'}"
    assert cli.main([*TUNE, "--trials", "2", "--storage", storage]) == 0
    capsys.readouterr()
    assert cli.main(["tune", "--study", "lake", "--storage", storage, "--show", "--top", "1"]) == 0
    shown = capsys.readouterr().out
    assert "2 complete trials" in shown and shown.count("\n0 ") + shown.count("\n1 ") == 1  # one row
    assert cli.main([*TUNE, "--trials", "2", "--storage", storage, "--seeds", "3"]) == 2  # another study definition
    assert "was started with other settings (seeds differ)" in capsys.readouterr().err
    assert cli.main(["tune", "--study", "nope", "--storage", storage, "--show"]) == 2
    assert "there is no study 'nope'" in capsys.readouterr().err
    assert cli.main(["tune", "q_learning", "--env", "FrozenLake-v1", "--storage", storage, "--trials", "2"]) == 2
    assert "at least one --random" in capsys.readouterr().err
    assert cli.main([*TUNE, "--trials", "2", "--storage", "tune.db"]) == 2
    assert "is not a storage URL" in capsys.readouterr().err
