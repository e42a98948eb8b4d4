"""Bad and hostile input, table-driven: every case is refused before anything compiles, with a
message that names the problem, no traceback, and no file created or changed.

CLI cases assert exit status 2 and the message on stderr; API cases assert a ``ConfigError``.
Run-directory cases (locks, resume, damaged files, a full disk) are in tests/test_run_dir_safety.py.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

import jaxrl
from jaxrl.cli import main

FROZEN = ["--env", "FrozenLake-v1"]
CARTPOLE = ["--env", "CartPole-v1"]

# (argv, a substring of the message)
CLI_CASES: list[tuple[list[str], str]] = [
    # names
    (["train", "qlearning", *FROZEN], "unknown algorithm 'qlearning'. Did you mean 'q_learning'"),
    (["train", "q_learning", "--env", "FrozenLake-v9"], "unknown env id 'FrozenLake-v9'"),
    (["train", "q_learning", *CARTPOLE], "q_learning is tabular"),
    (["train", "dqn", "--env", "Pendulum-v1"], "dqn needs a discrete action space"),
    (["train", "sac", *CARTPOLE], "sac is for continuous actions"),
    (["train", "q_learning", *FROZEN, "--set", "gama=0.9"], "unknown q_learning setting (--set) 'gama'. Did you mean 'gamma'"),
    (["train", "ppo", *CARTPOLE, "--set", "total_steps=-5"], "total_steps is set by the engine"),
    (["train", "q_learning", *FROZEN, "--set", "learning_rate"], "expected KEY=VALUE"),
    (["train", "q_learning", *FROZEN, "--set", "learning_rate=0.1", "--set", "learning_rate=0.2"], "learning_rate is given twice"),
    (["algos", "ppo2"], "unknown algorithm 'ppo2'"),
    # hyperparameter bounds and types
    (["train", "sarsa", *FROZEN, "--set", "learning_rate=-1"], "learning_rate=-1.0 must be > 0"),
    (["train", "sarsa", *FROZEN, "--set", "gamma=1.2"], "gamma=1.2 must be in [0, 1]"),
    (["train", "sarsa", *FROZEN, "--set", "epsilon=2"], "epsilon=2.0 must be in [0, 1]"),
    (["train", "sarsa", *FROZEN, "--set", "learning_rate=abc"], "learning_rate='abc' is not a number"),
    (["train", "sarsa", *FROZEN, "--set", "learning_rate=nan"], "learning_rate=nan is not finite"),
    (["train", "ppo", *CARTPOLE, "--set", "gae_lambda=2"], "gae_lambda=2.0 must be in [0, 1]"),
    (["train", "ppo", *CARTPOLE, "--set", "clip_eps=-0.2"], "clip_eps=-0.2 must be > 0"),
    (["train", "a2c", *CARTPOLE, "--set", "ent_coef=-1"], "ent_coef=-1.0 must be >= 0"),
    (["train", "dqn", *CARTPOLE, "--set", "tau=0"], "tau=0.0 must be in (0, 1]"),
    (["train", "sac", "--env", "Pendulum-v1", "--set", "alpha_init=0"], "alpha_init=0.0 must be > 0"),
    # static config
    (["train", "dqn", *CARTPOLE, "--set", "num_envs=2.5"], "num_envs='2.5' is not a whole number"),
    (["train", "dqn", *CARTPOLE, "--set", "torso=transformer"], "torso='transformer': choose 'mlp', 'cnn', 'nature_cnn' or 'auto'"),
    (["train", "dqn", *CARTPOLE, "--set", "dueling=maybe"], "dueling='maybe' is not a boolean"),
    (["train", "dqn", *CARTPOLE, "--set", "hidden=64,x"], "hidden='x' is not a whole number"),
    (["train", "dqn", *CARTPOLE, "--set", "num_envs=4", "--set", "buffer_capacity=1002"], "must be a multiple of num_envs=4"),
    (["train", "dqn", *CARTPOLE, "--set", "batch_size=128", "--set", "buffer_capacity=100"], "does not fit in buffer_capacity"),
    (["train", "dqn", *CARTPOLE, "--set", "learning_starts=10"], "learning_starts=10 is too early"),
    (["train", "dqn", *CARTPOLE, "--set", "count_bins=1"], "count_bins=1"),
    (["train", "ppo", *CARTPOLE, "--set", "num_minibatches=3"], "does not divide into num_minibatches=3"),
    (["train", "ppo", *FROZEN, "--set", "normalize_obs=true"], "normalize_obs is for continuous observations"),
    (["train", "td3", "--env", "Pendulum-v1", "--set", "policy_delay=0"], "policy_delay=0"),
    (["train", "dyna_q", *FROZEN, "--set", "planning_steps=0"], "dyna_q needs planning_steps >= 1"),
    (["train", "sarsa", *FROZEN, "--set", "planning_steps=3"], "planning_steps is Dyna-Q's"),
    (["train", "reinforce", *CARTPOLE, "--set", "baseline=mean"], "choose 'normalize', 'value' or 'none'"),
    # run arguments
    (["train", "q_learning", *FROZEN, "--seeds", "0"], "--seeds 0 must be >= 1"),
    (["train", "q_learning", *FROZEN, "--chunks", "0"], "--chunks 0 must be >= 1"),
    (["train", "q_learning", *FROZEN, "--eval-episodes", "0"], "--eval-episodes 0 must be >= 1"),
    (["train", "q_learning", *FROZEN, "--log-interval", "0"], "--log-interval 0 must be >= 1"),
    (["train", "q_learning", *FROZEN, "--log-interval", "-5"], "--log-interval -5 must be >= 1"),
    (["train", "ppo", *CARTPOLE, "--steps", "10"], "steps=10 is fewer than one train_step"),
    (["train", "q_learning", *FROZEN, "--seed", "-1"], "seed=-1 must be >= 0"),
    (["train", "q_learning", *FROZEN, "--seed", str(10**24)], "must be <= 4294967295"),
    # env arguments
    (["train", "q_learning", *FROZEN, "--env-arg", "is_slippery=maybe"], "is_slippery='maybe' is not a boolean"),
    (["train", "q_learning", *FROZEN, "--env-arg", "max_episode_steps=2.7"], "max_episode_steps=2.7 is not a whole number"),
    (["train", "q_learning", *FROZEN, "--env-arg", "max_episode_steps=abc"], "max_episode_steps='abc' is not a whole number"),
    (["train", "q_learning", *FROZEN, "--env-arg", "max_episode_steps=0"], "max_episode_steps=0 must be >= 1"),
    (["train", "q_learning", *FROZEN, "--env-arg", "slippery=false"], "unknown keyword argument of FrozenLake-v1 'slippery'"),
    (["train", "q_learning", *FROZEN, "--env-arg", "map_name=5x5"], "unknown FrozenLake map_name '5x5'"),
    (["train", "dqn", *CARTPOLE, "--env-arg", "gravity=strong"], "gravity='strong' is not a number"),
    # sizes that cannot fit
    (["train", "dqn", *CARTPOLE, "--set", "buffer_capacity=10000000000"], "the training state needs about"),
    (["train", "ppo", *CARTPOLE, "--seeds", "1000000"], "the training state needs about"),
    # sweeps
    (["sweep", "q_learning", *FROZEN], "needs either --grid"),
    (["sweep", "q_learning", *FROZEN, "--grid", "learning_rate=0.1,0.2", "--grid", "learning_rate=0.5"],
     "--grid learning_rate is given twice"),
    (["sweep", "q_learning", *FROZEN, "--set", "learning_rate=0.1", "--grid", "learning_rate=0.2,0.3"],
     "learning_rate is both fixed with --set and swept with --grid"),
    (["sweep", "q_learning", *FROZEN, "--grid", "learning_rate=0.1,0.2", "--top", "0"], "--top 0 must be >= 1"),
    (["sweep", "q_learning", *FROZEN, "--grid", "learning_rate=0.1,0.2", "--top", "-1"], "--top -1 must be >= 1"),
    (["sweep", "ppo", *CARTPOLE, "--grid", "num_envs=1,2"], "num_envs is a static config option"),
    (["sweep", "q_learning", *FROZEN, "--grid", "gamma=0.9,1.5"], "gamma=1.5 must be in [0, 1]"),
    (["sweep", "q_learning", *FROZEN, "--grid", "learning_rate="], "has no values"),
    (["sweep", "q_learning", *FROZEN, "--grid", "learning_rate=a,b"], "values must be numbers"),
    (["sweep", "q_learning", *FROZEN, "--random", "learning_rate=0.5:0.1"], "low=0.5 must be <= high=0.1"),
    (["sweep", "q_learning", *FROZEN, "--random", "learning_rate=log:-1:1"], "needs low > 0"),
    (["sweep", "q_learning", *FROZEN, "--random", "learning_rate=abc"], "expected LOW:HIGH"),
    (["sweep", "q_learning", *FROZEN, "--random", "learning_rate=0.1:0.5", "--samples", "0"], "samples=0 must be >= 1"),
    # reading run directories that are not there
    (["eval", "no-such-run"], "is not a jaxrl run directory"),
    (["render", "no-such-run"], "is not a jaxrl run directory"),
    (["report", "no-such-run"], "is not a jaxrl run directory"),
]


def _snapshot(root: Path) -> dict[str, str]:
    """Every file under ``root`` with a hash of its bytes."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("argv,message", CLI_CASES, ids=[" ".join(argv)[:70] for argv, _ in CLI_CASES])
def test_cli_refuses_bad_input_cleanly(argv, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "existing.txt").write_text("the user's file")
    before = _snapshot(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]  # a preset's one-line notice may come first
    assert last.startswith("jaxrl: error: ") and message in last, err
    assert "Traceback" not in err
    assert _snapshot(tmp_path) == before  # nothing created or changed


def test_cli_refuses_a_bad_compile_cache_setting(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JAXRL_COMPILE_CACHE", "maybe")
    assert main(["train", "q_learning", *FROZEN]) == 2
    assert "JAXRL_COMPILE_CACHE='maybe' must be 1" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("value", ["abc", "1000"])
def test_a_bad_cpu_device_count_is_a_clean_error_not_an_import_traceback(value, tmp_path):
    env = {**os.environ, "JAXRL_CPU_DEVICES": value}
    done = subprocess.run([sys.executable, "-m", "jaxrl.cli", "train", "q_learning", *FROZEN], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert f"JAXRL_CPU_DEVICES={value!r} is not a positive integer" in done.stderr and "Traceback" not in done.stderr
    assert not any(tmp_path.iterdir())


class _NotAnEnv:
    pass


def _policy(algo: str, env: str) -> Any:
    result = jaxrl.train(algo, env, steps=200 if algo == "q_learning" else 1_024, progress=False,
                         config=None if algo == "q_learning" else {"num_envs": 4, "rollout_len": 32})
    return result.policy()


def _train(**kwargs: Any) -> Callable[[], Any]:
    args = {"algo": "q_learning", "env": "FrozenLake-v1", "steps": 1_000, "progress": False, **kwargs}
    return lambda: jaxrl.train(args.pop("algo"), args.pop("env"), **args)


# (a call that must raise ConfigError, a substring of the message)
API_CASES: list[tuple[Callable[[], Any], str]] = [
    (_train(seeds=2.5), "seeds=2.5 is not a whole number"),
    (_train(seeds="two"), "seeds='two' is not a whole number"),
    (_train(steps=float("nan")), "steps=nan is not a whole number"),
    (_train(steps=-5), "steps=-5 is fewer than one train_step"),
    (_train(num_chunks=2.5), "num_chunks=2.5 is not a whole number"),
    (_train(log_interval=0), "log_interval=0 must be >= 1"),
    (_train(seed=10**24), "must be <= 4294967295"),
    (_train(hparams="str"), "hyperparameters must be a dict"),
    (_train(hparams=[]), "give at least one hyperparameter setting"),
    (_train(algo="ppo", env="CartPole-v1", hparams={"total_steps": 5}), "total_steps is set by the engine"),
    (_train(hparams={"planning_steps": 5}), "planning_steps is a static config option"),
    (_train(env=42), "env=42 is neither an env id"),
    (_train(algo=42), "algo=42 is neither an algorithm name"),
    (_train(env=None), "name the environment"),
    (_train(env_kwargs="slippery"), "env_kwargs must be a dict"),
    (_train(env_kwargs={"is_slippery": "maybe"}), "is_slippery='maybe' is not a boolean"),
    (_train(resume="runs/x"), "resume='runs/x' is not a checkpoint"),
    (_train(config={"num_envs": 2.5}), "config num_envs=2.5 is not a whole number"),
    (_train(config="x"), "config must be a dict"),
    (_train(on_divergence="ignore"), "on_divergence='ignore': choose 'stop' or 'continue'"),
    (lambda: jaxrl.register_env("NotAnEnv-v0", _NotAnEnv) or jaxrl.make_env("NotAnEnv-v0"), "not a gymnax Environment"),
    (lambda: jaxrl.register_env("FrozenLake-v1", _NotAnEnv), "already registered"),
    (lambda: jaxrl.agents.make("dqn", "CartPole-v1", config={"loss": "l1"}), "loss='l1': choose 'huber' or 'mse'"),
    (lambda: jaxrl.sweep("q_learning", "FrozenLake-v1", grid={"learning_rate": [0.1]}, ranges={}, progress=False),
     "give either grid"),
    (lambda: _policy("q_learning", "FrozenLake-v1")(99), "observation 99 is not in this policy's observation space Discrete(16)"),
    (lambda: _policy("q_learning", "FrozenLake-v1")(-1), "observation -1 is not in"),
    (lambda: _policy("q_learning", "FrozenLake-v1")(3.7), "observation 3.7 is not in"),
    (lambda: _policy("ppo", "CartPole-v1")(np.zeros(3)), "observation of shape (3,) does not fit"),
]


@pytest.mark.parametrize("call,message", API_CASES, ids=[m[:60] for _, m in API_CASES])
def test_api_refuses_bad_input_with_a_config_error(call, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(jaxrl.ConfigError) as error:
        call()
    assert message in str(error.value)
    assert not any(tmp_path.iterdir())


def test_the_table_covers_at_least_sixty_cases():
    assert len(CLI_CASES) + len(API_CASES) >= 60
