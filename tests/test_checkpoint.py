"""Checkpoints and --resume: a run SIGKILLed part-way and resumed ends bit-identical to an uninterrupted one."""

import os
import subprocess
import sys

import jax
import numpy as np
import pytest

import jaxrl
from jaxrl import cli
from jaxrl.core import buffers
from jaxrl.core.hparams import stack_hparams
from jaxrl.io import checkpoint, tensorboard
from jaxrl.train import init_runs

RUN_FILES = ("metrics.jsonl", "metrics.csv", "params.msgpack", "checkpoint.msgpack", "eval.json", "config.json")

# Trains through the CLI and SIGKILLs itself just before the checkpoint after chunk KILL_AT is
# written: by then metrics.jsonl/csv already hold that chunk's points, which resume must drop.
KILLED_RUN = """
import os, signal, sys
from jaxrl import cli
from jaxrl.core import buffers
from jaxrl.core.hparams import stack_hparams
from jaxrl.io import checkpoint, tensorboard
original = checkpoint.save
def save(path, ckpt):
    if ckpt.chunks_done == int(os.environ["KILL_AT"]):
        os.kill(os.getpid(), signal.SIGKILL)
    original(path, ckpt)
checkpoint.save = save
sys.exit(cli.main(sys.argv[1:]))
"""

# Resumes in a fresh process, then loads the finished run there and prints a policy's actions.
RESUME_AND_LOAD = """
import sys, numpy as np, jaxrl
from jaxrl import cli
argv, observations = sys.argv[1:-1], eval(sys.argv[-1])
assert cli.main(argv) == 0
policy = jaxrl.load(argv[argv.index("--resume") + 1]).policy(seed=1)
print("ACTIONS", repr([policy(np.asarray(o)) for o in observations]))
"""

OBSERVATIONS = {"q_learning": list(range(16)), "ppo": [[0.0, 0.1, -0.02, 0.3], [0.05, -0.5, 0.1, -0.4]]}

CASES = {
    "q_learning": ["q_learning", "--env", "FrozenLake-v1", "--seeds", "3", "--steps", "3000", "--set", "learning_rate=0.5"],
    "ppo": ["ppo", "--env", "CartPole-v1", "--seeds", "2", "--steps", "640", "--set", "num_envs=4", "--set", "rollout_len=16",
            "--set", "num_minibatches=2", "--set", "hidden=8"],
}


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}


def _python(code: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code, *args], env=env or _env(), capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("algo", ["q_learning", pytest.param("ppo", marks=pytest.mark.slow)])
def test_sigkilled_run_resumes_bit_identical(tmp_path, algo):
    common = ["train", *CASES[algo], "--chunks", "5", "--eval-episodes", "3", "--quiet", "--no-preset"]
    killed, reference = tmp_path / "killed", tmp_path / "reference"

    out = _python(KILLED_RUN, *common, "--out", str(killed), env={**_env(), "KILL_AT": "3"})
    assert out.returncode == -9, out.stderr  # really killed, part-way
    assert checkpoint.load(killed).chunks_done == 2
    assert not (killed / "params.msgpack").exists()
    logged = (killed / "metrics.jsonl").read_text().splitlines()
    assert len(logged) == 3 * len(checkpoint.load(killed).env_steps) // 2  # chunk 3's points were written

    resumed = _python(RESUME_AND_LOAD, *common, "--resume", str(killed), repr(OBSERVATIONS[algo]))
    assert resumed.returncode == 0, resumed.stderr
    assert cli.main([*common, "--out", str(reference)]) == 0
    for name in RUN_FILES:
        assert (killed / name).read_bytes() == (reference / name).read_bytes(), name
    assert checkpoint.load(reference).chunks_done == 5
    assert (reference / "learning_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if tensorboard.available():
        assert {p.name for p in (killed / "tensorboard").iterdir()} >= {"seed_0", "seed_1", "mean"}
    # jaxrl.load(RUN_DIR).policy(seed=i) in that fresh process acted as the run's policy does here
    policy = jaxrl.load(reference).policy(seed=1)
    observations = [np.asarray(o).tolist() for o in OBSERVATIONS[algo]]
    assert resumed.stdout.split("ACTIONS")[1].strip() == repr([policy(np.asarray(o)) for o in observations])


def test_checkpoint_restores_every_leaf_with_its_type():
    agent = jaxrl.agents.make("ppo", "CartPole-v1", config={"num_envs": 2, "rollout_len": 16, "num_minibatches": 1})
    keys = jax.random.split(jax.random.key(0), 2)
    hparams = jax.tree.map(lambda x: np.repeat(x, 2), stack_hparams(agent.hparams_cls, [agent.default_hparams]))
    state = init_runs(agent, keys, hparams)
    assert any(jax.typeof(x).weak_type for x in jax.tree.leaves(state))  # the case that needs care
    ckpt = checkpoint.Checkpoint.from_state(state, 1, 1, np.arange(1), {"loss": np.ones((2, 1), np.float32)})
    restored = checkpoint.Checkpoint.from_bytes(ckpt.to_bytes()).restore(state)
    for a, b in zip(jax.tree.leaves(state), jax.tree.leaves(restored)):
        assert jax.typeof(a) == jax.typeof(b)  # key types and weak types included
        if jax.dtypes.issubdtype(a.dtype, jax.dtypes.prng_key):
            a, b = jax.random.key_data(a), jax.random.key_data(b)
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    other = jaxrl.agents.make("q_learning", "FrozenLake-v1")
    with pytest.raises(jaxrl.ConfigError, match="different structure"):
        ckpt.restore(init_runs(other, keys, jax.tree.map(lambda x: np.repeat(x, 2), stack_hparams(other.hparams_cls, [other.default_hparams]))))


def test_a_checkpoint_with_the_sum_tree_in_one_array_restores_into_its_levels(monkeypatch):
    """Checkpoints written before the sum tree was held one array per level still resume."""
    config = {"num_envs": 2, "buffer_capacity": 24, "batch_size": 4, "learning_starts": 4, "prioritized": True,
              "n_step": 2}
    monkeypatch.setattr(buffers, "TOP_LEVELS", 3)  # a top array and two deeper levels
    agent = jaxrl.agents.make("dqn", "CartPole-v1", config=config)
    keys = jax.random.split(jax.random.key(0), 2)
    hparams = jax.tree.map(lambda x: np.repeat(x, 2), stack_hparams(agent.hparams_cls, [agent.default_hparams]))
    state = init_runs(agent, keys, hparams)
    train_step = jax.jit(jax.vmap(lambda s: agent.train_step(s)[0]))  # one program, not op by op
    for _ in range(12):  # fill the tree with priorities
        state = train_step(state)
    levels = state.buffer.tree
    assert len(levels) == 3 and np.asarray(levels[0])[:, 1].min() > 0  # top: levels 0-3 (root at 1); then 4, 5
    ckpt = checkpoint.Checkpoint.from_state(state, 1, 1, np.arange(1), {"loss": np.ones((2, 1), np.float32)})
    # rewrite it the old way: one leaf ".buffer.tree", [runs, 2P], node i at index i (index 0 unused)
    first = ckpt.paths.index(".buffer.tree[0]")
    one_array = np.concatenate([np.asarray(x) for x in levels], axis=-1)
    old_paths = ckpt.paths[:first] + [".buffer.tree"] + ckpt.paths[first + len(levels):]
    old_leaves = ckpt.leaves[:first] + [one_array] + ckpt.leaves[first + len(levels):]
    old = checkpoint.Checkpoint(1, 1, np.arange(1), ckpt.metrics, old_leaves, old_paths)
    restored = checkpoint.Checkpoint.from_bytes(old.to_bytes()).restore(state)
    for a, b in zip(jax.tree.leaves(state), jax.tree.leaves(restored)):
        if jax.dtypes.issubdtype(a.dtype, jax.dtypes.prng_key):
            a, b = jax.random.key_data(a), jax.random.key_data(b)
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_resume_refuses_a_foreign_or_different_run(tmp_path, capsys):
    not_a_run = tmp_path / "notes"
    not_a_run.mkdir()
    (not_a_run / "notes.txt").write_text("mine")
    base = ["train", *CASES["q_learning"], "--quiet"]
    assert cli.main([*base, "--resume", str(not_a_run)]) == 2
    assert "is not a jaxrl run directory" in capsys.readouterr().err
    assert os.listdir(not_a_run) == ["notes.txt"]

    run = tmp_path / "run"
    assert cli.main([*base, "--out", str(run), "--chunks", "2", "--eval-episodes", "2"]) == 0
    before = {name: (run / name).read_bytes() for name in RUN_FILES}
    assert cli.main([*base, "--resume", str(run), "--chunks", "2", "--seeds", "4"]) == 2
    assert "differs from this command (seeds: saved 3, given 4)" in capsys.readouterr().err
    assert cli.main([*base, "--resume", str(run), "--out", str(tmp_path / "elsewhere")]) == 2
    assert "drop --out" in capsys.readouterr().err
    assert {name: (run / name).read_bytes() for name in RUN_FILES} == before


@pytest.mark.slow
def test_resume_with_the_seed_axis_sharded_over_4_devices(tmp_path):
    """Killed and resumed with the runs sharded over 4 simulated devices: equal to an uninterrupted 4-device run."""
    common = ["train", *CASES["ppo"], "--seeds", "4", "--chunks", "5", "--eval-episodes", "3", "--quiet", "--no-preset"]
    env = {**_env(), "XLA_FLAGS": "--xla_force_host_platform_device_count=4"}
    killed, reference = tmp_path / "killed", tmp_path / "reference"
    assert _python(KILLED_RUN, *common, "--out", str(killed), env={**env, "KILL_AT": "3"}).returncode == -9
    run = "import sys; from jaxrl import cli; sys.exit(cli.main(sys.argv[1:]))"
    resumed = _python(run, *common, "--resume", str(killed), env=env)
    assert resumed.returncode == 0, resumed.stderr
    assert _python(run, *common, "--out", str(reference), env=env).returncode == 0
    for name in RUN_FILES:
        assert (killed / name).read_bytes() == (reference / name).read_bytes(), name


def test_a_run_directory_written_with_total_steps_in_its_settings_loads_and_resumes(tmp_path):
    # before the engine owned total_steps, config.json recorded it in every setting
    import json

    base = ["train", *CASES["ppo"], "--quiet", "--chunks", "2", "--eval-episodes", "2"]
    run = tmp_path / "run"
    assert cli.main([*base, "--out", str(run)]) == 0
    config = json.loads((run / "config.json").read_text())
    assert "total_steps" not in config["hparams"][0]
    config["hparams"] = [{**setting, "total_steps": 640.0} for setting in config["hparams"]]
    (run / "config.json").write_text(json.dumps(config))
    loaded = jaxrl.load(run)
    assert loaded.hparams == [{k: v for k, v in s.items() if k != "total_steps"} for s in config["hparams"]]
    (run / "params.msgpack").unlink()  # as a run killed after its last checkpoint (a finished run is not resumed)
    assert cli.main([*base, "--resume", str(run)]) == 0
