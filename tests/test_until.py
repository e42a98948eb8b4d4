"""The stopping rule (`until`): training ends after the first chunk at which every run's greedy
policy reaches the target; the curves and parameters are the uninterrupted run's up to that chunk,
and a run killed part-way resumes to the same stop."""

import json

import jax
import numpy as np
import pytest

import jaxrl
from jaxrl import cli
from jaxrl.errors import ConfigError
from jaxrl.io import checkpoint
from test_checkpoint import KILLED_RUN, _env, _python

# Deterministic FrozenLake: q-learning's greedy policy reaches the goal (return 1) after a few
# thousand steps, well before the 20,000 steps asked.
RUN = dict(algo="q_learning", env="FrozenLake-v1", env_kwargs={"is_slippery": False}, seeds=4, steps=20_000,
           num_chunks=20, hparams={"learning_rate": 0.5, "epsilon": 0.5}, preset=None, progress=False)
COMMAND = ["train", "q_learning", "--env", "FrozenLake-v1", "--env-arg", "is_slippery=false", "--seeds", "4", "--steps",
           "20000", "--chunks", "20", "--set", "learning_rate=0.5", "--set", "epsilon=0.5", "--no-preset",
           "--eval-episodes", "5", "--quiet", "--until", "1"]


def test_training_stops_at_the_first_chunk_every_run_reaches_the_target():
    stopped = jaxrl.train(**RUN, until=1.0)
    states = []
    full = jaxrl.train(**RUN, callbacks=[lambda report: states.append(jax.device_get(report.state))])  # donated next chunk
    logs = len(stopped.env_steps)
    assert stopped.stopped_early and not full.stopped_early
    assert 0 < logs < len(full.env_steps)  # stopped part-way
    np.testing.assert_array_equal(stopped.env_steps, full.env_steps[:logs])
    for name, curve in stopped.metrics.items():  # the same curve, cut where it stopped
        np.testing.assert_array_equal(curve, full.metrics[name][:, :logs], err_msg=name)
    chunk = logs // (len(full.env_steps) // len(states)) - 1
    assert chunk >= 1
    for a, b in zip(jax.tree.leaves(stopped.final_params), jax.tree.leaves(states[chunk].params)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b).reshape(np.shape(a)))
    assert np.all(jaxrl.evaluate(stopped, episodes=10).returns == 1.0)
    screen_seed = 2 * (chunk - 1) + 1  # the rule's seeds for the chunk before (base seed 0)
    screen = jaxrl.evaluate(stopped.agent, states[chunk - 1].params, episodes=10, seed=screen_seed).returns
    confirm = jaxrl.evaluate(stopped.agent, states[chunk - 1].params, episodes=100, seed=screen_seed + 1).returns
    assert not (np.all(screen.mean(-1) >= 1.0) and np.all(confirm.mean(-1) >= 1.0))  # the chunk before did not reach it
    assert {"setup", "compile", "train", "write", "stop_checks"} <= set(stopped.timings)


def test_a_target_never_reached_trains_every_step():
    result = jaxrl.train(**{**RUN, "steps": 2_000}, until=2.0)  # a return of 2 is impossible here
    assert not result.stopped_early and result.env_steps[-1] >= 2_000


@pytest.mark.parametrize("until, episodes, message", [
    ("475", 10, "until='475' is not a finite number"),
    (float("nan"), 10, "until=nan is not a finite number"),
    (True, 10, "until=True is not a finite number"),
    (1.0, 0, "until_episodes"),
])
def test_bad_stopping_rules_are_refused_before_anything_compiles(until, episodes, message):
    with pytest.raises(ConfigError, match=message):
        jaxrl.train(**RUN, until=until, until_episodes=episodes)


def test_a_killed_run_with_a_stopping_rule_resumes_to_the_same_stop(tmp_path):
    killed, reference = tmp_path / "killed", tmp_path / "reference"
    assert cli.main([*COMMAND, "--out", str(reference)]) == 0
    done = checkpoint.load(reference).chunks_done
    assert 1 < done < 20  # stopped early, after more than one chunk
    timings = json.loads((reference / "timings.json").read_text())
    assert timings["stop_checks"] > 0 and timings["train"] > 0 and timings["evaluate"] > 0

    out = _python(KILLED_RUN, *COMMAND, "--out", str(killed), env={**_env(), "KILL_AT": str(done)})  # the last checkpoint: chunk done - 1
    assert out.returncode == -9, out.stderr
    assert cli.main([*COMMAND, "--resume", str(killed)]) == 0
    for name in ("metrics.jsonl", "metrics.csv", "params.msgpack", "checkpoint.msgpack", "eval.json", "config.json"):
        assert (killed / name).read_bytes() == (reference / name).read_bytes(), name


def test_a_checkpoint_already_past_the_target_resumes_without_training(tmp_path):
    """Killed after the stopping chunk's checkpoint but before the final files: resume trains no more."""
    reference, killed = tmp_path / "reference", tmp_path / "killed"
    assert cli.main([*COMMAND, "--out", str(reference)]) == 0
    done = checkpoint.load(reference).chunks_done
    kill_at_params = KILLED_RUN.replace("original = checkpoint.save", "from jaxrl.io import run_dir\noriginal = checkpoint.save\n"
                                        "run_dir.save_params = lambda *a: os.kill(os.getpid(), signal.SIGKILL)")
    out = _python(kill_at_params, *COMMAND, "--out", str(killed), env={**_env(), "KILL_AT": "999"})
    assert out.returncode == -9, out.stderr
    assert checkpoint.load(killed).chunks_done == done
    assert cli.main([*COMMAND, "--resume", str(killed)]) == 0
    for name in ("metrics.jsonl", "params.msgpack", "checkpoint.msgpack", "eval.json"):
        assert (killed / name).read_bytes() == (reference / name).read_bytes(), name
    assert json.loads((killed / "timings.json").read_text())["compile"] == 0.0  # nothing left to compile


def test_resume_refuses_a_different_target(tmp_path, capsys):
    killed = tmp_path / "killed"
    out = _python(KILLED_RUN, *COMMAND, "--out", str(killed), env={**_env(), "KILL_AT": "1"})
    assert out.returncode == -9, out.stderr
    assert cli.main([*COMMAND[:-1], "0.5", "--resume", str(killed)]) == 2
    assert "until: saved 1.0, given 0.5" in capsys.readouterr().err
