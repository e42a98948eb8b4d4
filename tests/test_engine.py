"""The training engine: determinism, batching of seeds and settings, input errors, evaluation."""

import jax
import numpy as np
import pytest

import jaxrl
from jaxrl.envs import probes
from jaxrl.envs.tabular_env import TabularEnv, table_from_outcomes

ARGS = dict(seeds=3, steps=6_000, log_interval=200, progress=False)


def _slippery_chain():
    """A stochastic 4-state chain so results depend on every random draw."""
    outcomes = {s: {a: [(0.7, min(3, s + a), float(s == 3), s == 3), (0.3, max(0, s - 1), 0.0, False)] for a in range(2)} for s in range(4)}
    return TabularEnv(table_from_outcomes(outcomes, np.array([1.0, 0, 0, 0])), max_steps=12)


def _same_bits(a, b):
    def bits(x):
        return np.asarray(jax.random.key_data(x) if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key) else x)

    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_array_equal(bits(x), bits(y))


@pytest.mark.parametrize("algo", ["q_learning", "sarsa", "dyna_q"])
def test_chunking_never_changes_results(algo):
    env = _slippery_chain()
    runs = [jaxrl.train(algo, env, num_chunks=n, seed=7, **ARGS) for n in (1, 3, 30)]
    for other in runs[1:]:
        _same_bits(runs[0].final_state, other.final_state)
        for name in runs[0].metrics:
            np.testing.assert_array_equal(runs[0].metrics[name], other.metrics[name])
    assert runs[0].metrics["episode_return"].shape == (3, 30)
    np.testing.assert_array_equal(runs[0].env_steps, np.arange(1, 31) * 200)


def test_seeds_differ_and_seed_i_does_not_depend_on_batch_size():
    env = _slippery_chain()
    three = jaxrl.train("q_learning", env, **ARGS)
    five = jaxrl.train("q_learning", env, **{**ARGS, "seeds": 5})
    _same_bits(three.final_state.params, five.final_state.params[:3])
    assert not np.array_equal(three.final_state.params[0], three.final_state.params[1])
    other_seed = jaxrl.train("q_learning", env, seed=1, **ARGS)
    assert not np.array_equal(three.final_state.params, other_seed.final_state.params)


def test_hyperparameter_settings_train_side_by_side():
    env = _slippery_chain()
    settings = [{"learning_rate": 0.1}, {"learning_rate": 0.5, "gamma": 0.5}]
    batch = jaxrl.train("q_learning", env, hparams=settings, **ARGS)
    assert batch.final_state.params.shape == (2, 3, 4, 2)
    assert batch.metrics["episode_return"].shape == (2, 3, 30)
    assert batch.hparams[1]["gamma"] == 0.5 and batch.hparams[0]["gamma"] == 0.99
    # each setting equals its own single-setting run, bit for bit
    single = jaxrl.train("q_learning", env, hparams=settings[1], **ARGS)
    _same_bits(batch.final_state.params[1], single.final_state.params)


def test_steps_round_up_to_whole_logging_periods():
    result = jaxrl.train("q_learning", probes.constant_reward(), seeds=1, steps=1000, log_interval=300,
                         config={"num_envs": 7}, progress=False)
    assert result.env_steps[-1] >= 1000 and result.env_steps[-1] % 7 == 0
    assert np.all(np.diff(result.env_steps) == result.env_steps[0])


def test_episode_metrics_count_completed_episodes_only():
    # TimeLimit probe with T=5: exactly one episode of return 5 and length 5 per 5 steps.
    result = jaxrl.train("q_learning", probes.time_limit(5), seeds=2, steps=100, log_interval=10, progress=False)
    np.testing.assert_array_equal(result.metrics["episodes"], 2.0)
    np.testing.assert_array_equal(result.metrics["episode_return"], 5.0)
    np.testing.assert_array_equal(result.metrics["episode_length"], 5.0)
    # periods in which no episode ends report NaN, never a stale value
    short = jaxrl.train("q_learning", probes.time_limit(5), seeds=1, steps=20, log_interval=2, progress=False)
    assert np.isnan(short.metrics["episode_return"][0, 0]) and short.metrics["episode_return"][0, 2] == 5.0


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(algo="q_learnin", env="FrozenLake-v1"), "unknown algorithm 'q_learnin'. Did you mean 'q_learning'"),
        (dict(algo="q_learning", env="FrozenLak-v1"), "unknown env id 'FrozenLak-v1'. Did you mean 'FrozenLake-v1'"),
        (dict(algo="q_learning", env="CartPole-v1"), "needs discrete observations"),
        (dict(algo="q_learning", env="FrozenLake-v1", hparams={"learning_rate": -0.1}), "learning_rate=-0.1 must be > 0"),
        (dict(algo="q_learning", env="FrozenLake-v1", hparams={"gamma": 1.5}), r"gamma=1.5 must be in \[0, 1\]"),
        (dict(algo="q_learning", env="FrozenLake-v1", hparams={"epsilon": -0.2}), r"epsilon=-0.2 must be in \[0, 1\]"),
        (dict(algo="q_learning", env="FrozenLake-v1", hparams={"gama": 0.9}), "Did you mean 'gamma'"),
        (dict(algo="q_learning", env="FrozenLake-v1", seeds=0), "seeds=0 must be >= 1"),
        (dict(algo="q_learning", env="FrozenLake-v1", steps=0), "steps=0 is fewer than one train_step"),
        (dict(algo="q_learning", env="FrozenLake-v1", env_kwargs={"slippery": False}), "Did you mean 'is_slippery'"),
    ],
)
def test_bad_input_fails_before_anything_compiles(monkeypatch, kwargs, match):
    import importlib

    engine = importlib.import_module("jaxrl.train")

    def no_compiling(*args, **kw):
        raise AssertionError("compiled before validating input")

    monkeypatch.setattr(engine, "_make_chunk_fn", no_compiling)
    monkeypatch.setattr(engine, "_run_init", no_compiling)
    kwargs = dict(kwargs)
    algo, env = kwargs.pop("algo"), kwargs.pop("env")
    with pytest.raises(jaxrl.ConfigError, match=match):
        jaxrl.train(algo, env, progress=False, **kwargs)


def test_evaluate_and_policy_on_a_known_table():
    # action 1 is the only rewarded one: a hand-set Q-table that prefers it scores 1 every episode
    env = probes.action_reward()
    agent = jaxrl.agents.make("q_learning", env)
    params = np.array([[[0.0, 1.0]], [[1.0, 0.0]]], np.float32)  # two "seeds": good and bad
    evaluation = jaxrl.evaluate(agent, params, episodes=10)
    assert evaluation.returns.shape == (2, 10)
    np.testing.assert_array_equal(evaluation.per_run()["return"], [1.0, 0.0])
    assert evaluation.success_rate is None and evaluation.mean_length == 1.0
    result = jaxrl.train("q_learning", env, seeds=2, steps=500, progress=False, hparams={"epsilon": 1.0})
    policy = result.policy(seed=1)
    assert policy(0) == 1 and isinstance(policy(np.int64(0)), int)
    assert result.evaluate(episodes=5).mean_return == 1.0
    with pytest.raises(jaxrl.ConfigError, match="seed=2 is out of range"):
        result.policy(seed=2)


def test_sharded_over_simulated_devices_equals_single_device(tmp_path):
    """Run the same training in a subprocess with 4 simulated CPU devices."""
    import subprocess
    import sys

    code = (
        "import jax, numpy as np, jaxrl\n"
        "assert len(jax.devices()) == 4\n"
        "r = jaxrl.train('q_learning', 'FrozenLake-v1', seeds=8, steps=2000, progress=False)\n"
        "np.save(%r, np.asarray(r.final_state.params))\n"
        "print(r.final_state.params.sharding)\n" % str(tmp_path / "sharded.npy")
    )
    env = {"XLA_FLAGS": "--xla_force_host_platform_device_count=4", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    single = jaxrl.train("q_learning", "FrozenLake-v1", seeds=8, steps=2000, progress=False)
    np.testing.assert_array_equal(np.load(tmp_path / "sharded.npy"), np.asarray(single.final_state.params))


def test_training_compiles_one_init_and_one_training_program(caplog):
    # Compile time is most of a short run's wait: key derivation happens inside the init program
    # and the state reaches the devices through host memory, so nothing else compiles (resharding
    # device arrays compiled a slicing program per leaf shape: 16 of them, 0.5 s, for PPO).
    agent = jaxrl.agents.make("ppo", "CartPole-v1", config=dict(num_envs=2, rollout_len=8, num_minibatches=2))
    with jax.log_compiles(True), caplog.at_level("WARNING"):
        jaxrl.train(agent, seeds=4, steps=64, progress=False)
    compiled = [r.getMessage().split("of jit(")[1].split(")")[0] for r in caplog.records
                if r.getMessage().startswith("Finished XLA compilation of jit(")]
    assert compiled.count("init_all") == 1 and compiled.count("run_one") == 1
    # with several devices, the state's PRNG keys (no host form) are resliced by one program
    others = [name for name in compiled if name not in ("init_all", "run_one")]
    assert others in ([], ["_multi_slice"]), f"training compiled more than its two programs: {compiled}"


def test_training_program_llvm_level_is_a_setting(monkeypatch):
    # init compiles without LLVM optimisation; the training program at compilation.TRAIN_PROGRAM_LLVM_LEVEL
    import importlib

    from jaxrl import compilation

    engine = importlib.import_module("jaxrl.train")
    levels = []

    def recording(level, extra=None):
        levels.append(level)
        return compilation.cpu_compiler_options(level, extra)

    monkeypatch.setattr(engine, "cpu_compiler_options", recording)
    monkeypatch.setattr(compilation, "TRAIN_PROGRAM_LLVM_LEVEL", 2)
    result = jaxrl.train("q_learning", "FrozenLake-v1", seeds=2, steps=500, progress=False)
    assert levels == [2, 0]  # the training program's level is checked first, before anything compiles
    assert np.isfinite(np.asarray(result.final_state.params)).all()
    assert compilation.cpu_compiler_options(2) == {"xla_backend_optimization_level": 2}
    assert compilation.cpu_compiler_options(None) is None


def test_bad_llvm_level_fails_before_anything_compiles(monkeypatch):
    import importlib

    from jaxrl import compilation

    engine = importlib.import_module("jaxrl.train")
    monkeypatch.setattr(engine, "_run_init", lambda *a, **k: pytest.fail("compiled before validating the level"))
    monkeypatch.setattr(compilation, "TRAIN_PROGRAM_LLVM_LEVEL", 5)
    with pytest.raises(jaxrl.ConfigError, match="TRAIN_PROGRAM_LLVM_LEVEL to one of them"):
        jaxrl.train("q_learning", "FrozenLake-v1", steps=500, progress=False)
