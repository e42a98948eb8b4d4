"""Brax through jaxrl's adapter: every transition equals brax's own raw stepping, the time limit is
truncation (bootstrapped) and brax's ``done`` termination, bad names are refused, and an agent learns."""

import re
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

pytest.importorskip("brax")

import jaxrl  # noqa: E402
from jaxrl.envs import make_env  # noqa: E402
from jaxrl.envs.brax_envs import available_ids, require_brax  # noqa: E402
from jaxrl.errors import ConfigError  # noqa: E402

ENVS, STEPS, LIMIT = 32, 60, 25


def _where(mask: np.ndarray, a, b):
    """``a`` where ``mask`` (one flag per env), else ``b``, leaf by leaf."""
    return jax.tree.map(lambda x, y: jnp.where(mask.reshape((-1,) + (1,) * (x.ndim - 1)), x, y), a, b)


@pytest.mark.parametrize("name, backend", [
    ("inverted_pendulum", None),  # the default backend (spring): a reward of 1 a step, done when the pole tips
    pytest.param("hopper", None, marks=pytest.mark.slow),  # rewards that vary, done when it falls
    pytest.param("hopper", "generalized", marks=pytest.mark.slow),  # brax's own default backend
])
def test_every_transition_equals_brax_own_stepping(name, backend):
    env, params = make_env("brax/" + name, max_episode_steps=LIMIT, backend=backend)
    native = require_brax().get_environment(name, backend=env.backend)  # raw: no wrappers
    size = env.action_space(params).shape[0]
    keys = jax.random.split(jax.random.key(3), ENVS)
    obs, state = jax.vmap(env.reset, in_axes=(0, None))(keys, params)
    native_reset = jax.jit(jax.vmap(native.reset))
    native_step = jax.jit(jax.vmap(native.step))
    brax_state = native_reset(keys)
    np.testing.assert_array_equal(obs, brax_state.obs)
    step = jax.jit(jax.vmap(env.step, in_axes=(0, 0, 0, None)))
    count = np.zeros(ENVS, int)  # steps into each native episode
    ends = {"terminated": 0, "truncated": 0}
    for t in range(STEPS):
        step_keys = jax.random.split(jax.random.key(100 + t), ENVS)
        actions = jax.random.uniform(jax.random.key(200 + t), (ENVS, size), minval=-1.0, maxval=1.0)
        obs, state, reward, terminated, truncated, info = step(step_keys, state, actions, params)
        brax_state = native_step(brax_state, actions)
        count += 1
        done = np.asarray(brax_state.done) > 0
        np.testing.assert_array_equal(info["final_observation"], brax_state.obs)
        np.testing.assert_array_equal(reward, brax_state.reward)
        np.testing.assert_array_equal(terminated, done)
        np.testing.assert_array_equal(truncated, (count >= LIMIT) & ~done)
        ends["terminated"] += int(terminated.sum())
        ends["truncated"] += int(truncated.sum())
        # auto-reset: brax's reset from the reset half of the step's key gives the next first observation
        ended = np.asarray(terminated | truncated)
        brax_state = _where(ended, native_reset(jax.vmap(lambda k: jax.random.split(k)[1])(step_keys)), brax_state)
        count[ended] = 0
        np.testing.assert_array_equal(obs, brax_state.obs)
        np.testing.assert_array_equal(state.time, count)
    assert ends["terminated"] > 0 and ends["truncated"] > 0, ends  # both endings were exercised
    assert obs.dtype == reward.dtype == jnp.float32
    assert terminated.dtype == truncated.dtype == jnp.bool_


def test_the_time_limit_is_truncation_not_termination():
    env, params = make_env("brax/inverted_pendulum", max_episode_steps=3)
    assert params.max_steps_in_episode == 3
    assert env.action_space(params).shape == (1,) and env.observation_space(params).shape == (4,)
    step = jax.jit(env.step)
    _, state = env.reset(jax.random.key(0), params)
    for t in range(3):  # no force: the pole, started within 0.01 rad of upright, stays up for 3 steps
        obs, state, reward, terminated, truncated, info = step(jax.random.key(t), state, jnp.zeros(1), params)
        assert not bool(terminated) and bool(truncated) == (t == 2) and float(reward) == 1.0
    assert int(state.time) == 0  # auto-reset
    assert not np.array_equal(obs, info["final_observation"])  # the final observation is kept, not the reset one


def test_bad_names_and_arguments_are_refused(monkeypatch):
    with pytest.raises(ConfigError, match="unknown Brax env 'hoper'. Did you mean 'hopper'"):
        make_env("brax/hoper")
    with pytest.raises(ConfigError, match="backend should be in"):
        make_env("brax/hopper", backend="physx")
    with pytest.raises(ConfigError, match="does not take these arguments"):
        make_env("brax/hopper", healthy_rewrd=2.0)
    env, _ = make_env("brax/hopper", backend="generalized", healthy_reward=2.0)  # the task's own arguments
    assert env.backend == "generalized" and env.brax_env._healthy_reward == 2.0
    monkeypatch.setitem(sys.modules, "brax.envs", None)  # as if the extra were not installed
    with pytest.raises(ConfigError, match=re.escape('brax/ envs need Brax: pip install "jaxrl[brax]"')):
        make_env("brax/hopper")
    assert available_ids() == []


def test_ppo_learns_to_balance_the_pendulum():
    # the shipped preset's settings at a tenth of a budget (its annealing over these steps), no stopping rule
    result = jaxrl.train("ppo", "brax/inverted_pendulum", seeds=2, steps=200_000, progress=False, until=None)
    returns = result.metrics["episode_return"]
    assert (returns[:, 0] < 30).all(), returns[:, 0]  # random-like at first: the pole falls within ~20 steps
    greedy = jaxrl.evaluate(result, episodes=10).returns.mean(-1)
    # each seed's greedy policy keeps the pole up far longer than no force at all does (about 75 steps)
    assert (greedy > 150).all(), greedy


@pytest.mark.parametrize("name, left_out", [
    ("inverted_pendulum", 0),  # q is the observation's head
    ("inverted_double_pendulum", 0),  # the hinges observed as sines and cosines
    pytest.param("hopper", 1, marks=pytest.mark.slow),  # the torso's slide observed as its height
    pytest.param("ant", 2, marks=pytest.mark.slow),  # the free joint's x and y left out
])
def test_drawings_recover_the_joint_positions_from_the_observation(name, left_out):
    """``joint_positions`` (what the drawing poses the model with) is brax's own ``q`` along random
    trajectories, less the coordinates the task leaves out of its observation (then 0)."""
    env, _ = make_env("brax/" + name)
    native = env.brax_env
    size = native.action_size
    state, step = jax.jit(native.reset)(jax.random.key(1)), jax.jit(native.step)
    for t in range(12):
        state = step(state, jax.random.uniform(jax.random.key(t), (size,), minval=-1.0, maxval=1.0))
        q = np.asarray(state.pipeline_state.q, np.float64).copy()
        q[:left_out] = 0.0
        np.testing.assert_allclose(env.joint_positions(state.obs), q, atol=2e-6)


def test_a_brax_policy_renders_from_the_side(tmp_path):
    """The pendulum's pole leans the way its hinge angle says, and a policy renders to a GIF."""
    from PIL import Image

    from jaxrl.io import render

    env, _ = make_env("brax/inverted_pendulum")
    draw = render.drawer_for(env)

    def pole_columns(obs):
        pixels = np.asarray(draw(np.asarray(obs, np.float32)))
        upper = pixels[: render.SIZE // 2]  # the pole reaches above the cart's rail
        return np.nonzero(np.any(upper != (235, 240, 248), axis=-1))[1]

    upright, leaning = pole_columns([0.0, 0.0, 0.0, 0.0]), pole_columns([0.0, 0.5, 0.0, 0.0])
    assert abs(upright.mean() - render.SIZE / 2) < 4  # the cart at 0, the pole straight up the middle
    assert leaning.mean() - upright.mean() > 10  # a positive hinge angle leans it to +x, to the right
    assert abs(pole_columns([0.5, 0.0, 0.0, 0.0]).mean() - upright.mean() - 0.5 * render.SIZE / 3.2) < 4  # the cart moved
    agent = jaxrl.agents.make("ppo", "brax/inverted_pendulum", config={"num_envs": 1})
    params = agent.init(jax.random.key(0), agent.hparams()).params
    episodes = render.render_gif(agent, params, tmp_path / "episode.gif", episodes=1, max_steps=5)
    assert Image.open(tmp_path / "episode.gif").n_frames == len(episodes[0]["observations"])
    with pytest.raises(ConfigError, match="no drawing for brax/reacher"):
        render.drawer_for(make_env("brax/reacher")[0])  # before any rollout
