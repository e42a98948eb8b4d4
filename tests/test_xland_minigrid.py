"""XLand-MiniGrid through jaxrl's adapter: every transition equals xminigrid's own stepping, the
time limit is truncation (bootstrapped) and reaching the goal termination, and PPO learns."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

xminigrid = pytest.importorskip("xminigrid")

import jaxrl  # noqa: E402
from jaxrl.envs import make_env  # noqa: E402
from jaxrl.envs.xland_minigrid import LAST  # noqa: E402
from jaxrl.errors import ConfigError  # noqa: E402

ENVS, STEPS, LIMIT = 32, 60, 12


def test_every_transition_equals_xminigrids_own_stepping():
    env, params = make_env("xminigrid/MiniGrid-Empty-5x5", max_episode_steps=LIMIT)
    native, native_params = xminigrid.make("MiniGrid-Empty-5x5")
    native_params = native_params.replace(max_steps=LIMIT)
    keys = jax.random.split(jax.random.key(3), ENVS)
    obs, state = jax.vmap(env.reset, in_axes=(0, None))(keys, params)
    timestep = jax.vmap(native.reset, in_axes=(None, 0))(native_params, keys)
    np.testing.assert_array_equal(obs, timestep.observation.astype(np.float32))
    step = jax.jit(jax.vmap(env.step, in_axes=(0, 0, 0, None)))
    native_step = jax.jit(jax.vmap(native.step, in_axes=(None, 0, 0)))
    native_reset = jax.jit(jax.vmap(native.reset, in_axes=(None, 0)))
    ends = {"terminated": 0, "truncated": 0}
    for t in range(STEPS):
        step_keys = jax.random.split(jax.random.key(100 + t), ENVS)
        actions = jax.random.randint(jax.random.key(200 + t), (ENVS,), 0, 3)  # forward, left, right: goals get reached
        obs, state, reward, terminated, truncated, info = step(step_keys, state, actions, params)
        timestep = native_step(native_params, timestep, actions)
        last = np.asarray(timestep.step_type == LAST)
        np.testing.assert_array_equal(info["final_observation"], timestep.observation.astype(np.float32))
        np.testing.assert_array_equal(reward, timestep.reward)
        np.testing.assert_array_equal(terminated, last & (np.asarray(timestep.discount) == 0))
        np.testing.assert_array_equal(truncated, last & (np.asarray(timestep.discount) == 1))
        ends["terminated"] += int(terminated.sum())
        ends["truncated"] += int(truncated.sum())
        # auto-reset: the next episode's first observation, from the reset half of the step's key
        reset = native_reset(native_params, jax.vmap(lambda k: jax.random.split(k)[1])(step_keys))
        timestep = jax.tree.map(lambda r, s: jnp.where(last.reshape((-1,) + (1,) * (s.ndim - 1)), r, s), reset, timestep)
        np.testing.assert_array_equal(obs, timestep.observation.astype(np.float32))
    assert ends["terminated"] > 0 and ends["truncated"] > 0, ends  # both endings were exercised
    assert truncated.dtype == jnp.bool_ and terminated.dtype == jnp.bool_


def test_the_time_limit_is_truncation_and_the_goal_success():
    env, params = make_env("xminigrid/MiniGrid-Empty-5x5", max_episode_steps=3)
    assert params.max_steps_in_episode == 3
    _, state = env.reset(jax.random.key(0), params)
    for t in range(3):  # turning in place never reaches the goal
        _, state, reward, terminated, truncated, info = env.step(jax.random.key(t), state, 1, params)
    assert bool(truncated) and not bool(terminated) and float(reward) == 0.0
    assert not bool(env.is_success(None, reward, terminated))
    assert env.is_success(None, jnp.float32(0.7), jnp.bool_(True))


def test_bad_ids_name_the_fix():
    with pytest.raises(ConfigError, match="unknown XLand-MiniGrid env 'MiniGrid-Empty-7x7'"):
        make_env("xminigrid/MiniGrid-Empty-7x7")
    with pytest.raises(ConfigError, match="downloads at run time"):
        make_env("xminigrid/XLand-MiniGrid-R1-9x9")


def test_ppo_learns_an_empty_room():
    result = jaxrl.train("ppo", "xminigrid/MiniGrid-Empty-5x5", seeds=2, steps=24_576, progress=False, preset=None,
                         config={"num_envs": 16, "rollout_len": 64})
    evaluation = jaxrl.evaluate(result, episodes=10)
    assert evaluation.summary()["success_rate"] == 1.0, evaluation.summary()
    assert evaluation.summary()["mean_length"] < 10  # the shortest path is 5 steps
