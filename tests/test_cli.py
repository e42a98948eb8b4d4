"""The jaxrl command line: a real tiny run end to end, and every bad input failing fast and clearly."""

import json
import os
import subprocess
import sys

import pytest

from jaxrl import cli
from jaxrl import runs
from jaxrl.io import files, run_dir


def test_train_writes_a_run_directory_and_eval_reads_it(tmp_path, capsys):
    out = tmp_path / "run"
    code = cli.main(["train", "q_learning", "--env", "FrozenLake-v1", "--env-arg", "is_slippery=false",
                     "--seeds", "4", "--steps", "3000", "--set", "learning_rate=0.8", "--set", "gamma=0.95",
                     "--set", "epsilon_schedule=exponential", "--out", str(out), "--quiet", "--eval-episodes", "5"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "return (mean ± std over seeds)" in printed and "success rate" in printed
    config = json.loads((out / "config.json").read_text())
    assert config["algo"] == "q_learning" and config["env_kwargs"] == {"is_slippery": False}
    assert config["hparams"][0]["learning_rate"] == 0.8 and config["config"]["epsilon_schedule"] == "exponential"
    records = run_dir.read_metrics(out)
    assert len(records) == 100 and records[-1]["env_steps"] == 3000 and len(records[-1]["episode_return"]) == 4
    evaluation = json.loads((out / "eval.json").read_text())
    assert len(evaluation["per_seed_return"]) == 4
    assert cli.main(["eval", str(out), "--episodes", "5"]) == 0
    assert "greedy, 5 episodes per seed" in capsys.readouterr().out
    loaded = runs.load(out)
    assert loaded.policy(seed=3)(0) in range(4)


def test_existing_run_directory_is_never_overwritten(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    code = cli.main(["train", "q_learning", "--env", "FrozenLake-v1", "--out", str(out), "--quiet"])
    assert code == 2
    assert "already exists and is not empty" in capsys.readouterr().err
    assert os.listdir(out) == ["notes.txt"] and (out / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize(
    "argv,message",
    [
        (["train", "qlearning", "--env", "FrozenLake-v1"], "unknown algorithm 'qlearning'. Did you mean 'q_learning'"),
        (["train", "q_learning", "--env", "Taxi-v9"], "unknown env id 'Taxi-v9'. Did you mean"),
        (["train", "q_learning", "--env", "Pendulum-v1"], "needs discrete observations and actions"),
        (["train", "sarsa", "--env", "FrozenLake-v1", "--set", "learning_rate=-1"], "learning_rate=-1.0 must be > 0"),
        (["train", "sarsa", "--env", "FrozenLake-v1", "--set", "gamma=1.2"], r"gamma=1.2 must be in [0, 1]"),
        (["train", "sarsa", "--env", "FrozenLake-v1", "--set", "epsilon=2"], r"epsilon=2.0 must be in [0, 1]"),
        (["train", "sarsa", "--env", "FrozenLake-v1", "--seeds", "0"], "--seeds 0 must be >= 1"),
        (["train", "sarsa", "--env", "FrozenLake-v1", "--set", "lr=0.1"], "unknown sarsa setting (--set) 'lr'"),
        (["train", "sarsa", "--env", "FrozenLake-v1", "--set", "gamma"], "expected KEY=VALUE"),
        (["train", "sarsa", "--env", "FrozenLake-v1", "--env-arg", "map_name=5x5"], "map_name"),
        (["eval", "/nonexistent/run"], "is not a jaxrl run directory"),
    ],
)
def test_bad_input_is_a_clear_error(tmp_path, capsys, argv, message):
    if argv[0] == "train":
        argv = argv + ["--out", str(tmp_path / "never"), "--quiet"]
    assert cli.main(argv) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "never").exists()


def test_envs_lists_ids_with_spaces(capsys):
    assert cli.main(["envs"]) == 0
    printed = capsys.readouterr().out
    for line in ("Taxi-v3", "CliffWalking-v0", "FrozenLake-v1", "CartPole-v1", "Breakout-MinAtar"):
        assert line in printed
    assert "Discrete(500)" in printed and "Box(4,)" in printed
    assert "Gymnasium ids stepped on the host, as gymnasium:ID" in printed  # the bridge's ids, counted
    assert "brax/inverted_pendulum" in printed or 'pip install "jaxrl[brax]"' in printed  # Brax's ids, or its extra
    assert cli.main(["envs", "--gymnasium"]) == 0
    assert "gymnasium:LunarLander-v3" in capsys.readouterr().out.splitlines()


def test_console_script_is_installed():
    out = subprocess.run([sys.executable, "-m", "jaxrl.cli", "algos"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "dyna_q" in out.stdout and "planning_steps=0" in out.stdout


def test_atomic_write_keeps_the_old_file_when_interrupted(tmp_path, monkeypatch):
    target = tmp_path / "params.msgpack"
    target.write_bytes(b"old")

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        files.atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["params.msgpack"]


def test_compilation_cache_can_be_turned_off_and_on(tmp_path, monkeypatch):
    import jax

    from jaxrl.compilation import enable_compilation_cache

    before = jax.config.jax_compilation_cache_dir
    try:
        monkeypatch.setenv("JAXRL_COMPILE_CACHE", "0")
        assert enable_compilation_cache(tmp_path / "off") is None and not (tmp_path / "off").exists()
        monkeypatch.setenv("JAXRL_COMPILE_CACHE", "1")
        assert enable_compilation_cache(tmp_path / "on") == tmp_path / "on"
        assert jax.config.jax_compilation_cache_dir == str(tmp_path / "on")
    finally:
        jax.config.update("jax_compilation_cache_dir", before)
