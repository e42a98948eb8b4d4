"""The Gymnasium bridge (``gymnasium:ID``, ``register_gymnasium_env``): transitions equal to Gymnasium's
own, stepped side by side with the same seeds; truncation kept apart from termination; learning."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

gymnasium = pytest.importorskip("gymnasium")

import jaxrl  # noqa: E402
from bridge_steps import jaxrl_trajectory as _jaxrl_trajectory  # noqa: E402
from jaxrl.envs import gymnasium_bridge  # noqa: E402
from jaxrl.errors import ConfigError  # noqa: E402


def _gymnasium_trajectory(make, reset_seeds, step_seeds, actions):
    """The same trajectories in Gymnasium itself: one env per copy, SAME_STEP auto-reset by hand."""
    envs = [make() for _ in reset_seeds]
    first = [env.reset(seed=int(s))[0] for env, s in zip(envs, reset_seeds)]
    rows = []
    for t in range(actions.shape[0]):
        row = []
        for i, env in enumerate(envs):
            action = actions[t, i]
            obs, reward, terminated, truncated, _ = env.step(int(action) if action.ndim == 0 else action)
            final = obs
            if terminated or truncated:
                obs, _ = env.reset(seed=int(step_seeds[t, i]))
            row.append((obs, reward, terminated, truncated, final))
        rows.append(row)
    return first, rows


CASES = {
    "CartPole-v1": dict(kwargs={"max_episode_steps": 20}, actions=lambda rng, shape: rng.integers(0, 2, shape)),
    "FrozenLake-v1": dict(kwargs={"is_slippery": True, "max_episode_steps": 7},
                          actions=lambda rng, shape: rng.integers(0, 4, shape)),
    "LunarLander-v3": dict(kwargs={"max_episode_steps": 40}, actions=lambda rng, shape: rng.integers(0, 4, shape)),
    "HalfCheetah-v5": dict(kwargs={"max_episode_steps": 25},  # MuJoCo: float64 observations, 6-d Box actions
                           actions=lambda rng, shape: rng.uniform(-1, 1, shape + (6,)).astype(np.float32)),
    "Pendulum-v1": dict(kwargs={"max_episode_steps": 15},
                        actions=lambda rng, shape: rng.uniform(-2, 2, shape + (1,)).astype(np.float32)),
}


@pytest.mark.parametrize("env_id", list(CASES))
def test_transitions_equal_gymnasium_side_by_side(env_id):
    case = CASES[env_id]
    env, params = jaxrl.make_env(f"gymnasium:{env_id}", **case["kwargs"])
    actions = case["actions"](np.random.default_rng(0), (60, 3))
    first, reset_seeds, (obs, reward, terminated, truncated, final, step_seeds), _ = _jaxrl_trajectory(
        env, params, jax.random.key(3), jnp.asarray(actions))
    make = lambda: gymnasium.make(env_id, **case["kwargs"])  # noqa: E731
    ref_first, rows = _gymnasium_trajectory(make, reset_seeds, step_seeds, actions)
    np.testing.assert_array_equal(first, np.asarray(ref_first, first.dtype))
    for t, row in enumerate(rows):
        for i, (ref_obs, ref_reward, ref_terminated, ref_truncated, ref_final) in enumerate(row):
            np.testing.assert_array_equal(obs[t, i], np.asarray(ref_obs, obs.dtype))
            np.testing.assert_array_equal(final[t, i], np.asarray(ref_final, final.dtype))
            assert reward[t, i] == np.float32(ref_reward)
            assert (terminated[t, i], truncated[t, i]) == (ref_terminated, ref_truncated)
    assert truncated.any(), "the short time limit must truncate some episode"
    # Gymnasium's TimeLimit may report both on one step (an ending on the limit's step): kept as it is,
    # and termination then zeroes the bootstrap in every jaxrl agent.
    assert len(set(reset_seeds.tolist())) == 3  # every copy its own seed


class ConstantReward(gymnasium.Env):
    """One observation, one action, reward 1, never terminates: with a time limit of T steps, Q is
    1 / (1 - gamma) only when the learner bootstraps through the truncation."""

    observation_space = gymnasium.spaces.Discrete(1)
    action_space = gymnasium.spaces.Discrete(1)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return 0, {}

    def step(self, action):
        return 0, 1.0, False, False, {}


def test_registered_class_truncates_at_its_time_limit_and_q_learning_bootstraps_through_it():
    if "ConstantReward-v0" not in jaxrl.list_envs():
        jaxrl.register_gymnasium_env("ConstantReward-v0", ConstantReward)
    env, params = jaxrl.make_env("ConstantReward-v0", max_episode_steps=5)
    assert params.max_steps_in_episode == 5
    *_, (_, reward, terminated, truncated, final, _), _ = _jaxrl_trajectory(env, params, jax.random.key(0),
                                                                         jnp.zeros((10, 1), jnp.int32))
    assert truncated[:, 0].tolist() == [False] * 4 + [True] + [False] * 4 + [True] and not terminated.any()
    result = jaxrl.train("q_learning", "ConstantReward-v0", env_kwargs={"max_episode_steps": 5}, seeds=1, steps=2_000,
                         hparams={"gamma": 0.8, "learning_rate": 0.1}, progress=False)
    np.testing.assert_allclose(np.asarray(result.final_state.params).reshape(-1), [5.0], rtol=0.02)  # cut: ~3.4


class EchoAction(gymnasium.Env):
    """Observes the action it was given (a 2x3 Box) and is rewarded its sum: checks that the bridge
    carries matrix actions and rewards across the host exactly, in order, for every copy."""

    observation_space = gymnasium.spaces.Box(-np.inf, np.inf, (6,), np.float64)
    action_space = gymnasium.spaces.Box(-1.0, 1.0, (2, 3), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(6), {}

    def step(self, action):
        action = np.asarray(action, np.float64)
        return action.reshape(-1), float(action.sum()), False, False, {}


def test_matrix_actions_and_rewards_cross_the_bridge_exactly_per_copy():
    if "EchoAction-v0" not in jaxrl.list_envs():
        jaxrl.register_gymnasium_env("EchoAction-v0", EchoAction)
    env, params = jaxrl.make_env("EchoAction-v0", max_episode_steps=3)
    actions = jax.random.uniform(jax.random.key(0), (5, 4, 2, 3), minval=-1.0, maxval=1.0)
    *_, (obs, reward, terminated, truncated, final, _), _ = _jaxrl_trajectory(env, params, jax.random.key(1), actions)
    flat = np.asarray(actions).reshape(5, 4, 6)
    np.testing.assert_array_equal(final, flat)  # what each copy's action led to, exactly (float32 -> float64 -> float32)
    np.testing.assert_array_equal(reward, flat.astype(np.float64).sum(-1).astype(np.float32))
    np.testing.assert_array_equal(obs[truncated], 0.0)  # the time limit's reset observation
    np.testing.assert_array_equal(obs[~truncated], flat[~truncated])
    assert truncated[:, 0].tolist() == [False, False, True, False, False] and not terminated.any()


def test_dqn_learns_and_chunking_changes_nothing():
    """A tiny DQN run through the bridge: same seed, one chunk or three, the same curves and weights."""
    config = {"num_envs": 2, "buffer_capacity": 2_000, "batch_size": 32, "learning_starts": 200, "hidden": (32,)}
    runs = [jaxrl.train("dqn", "gymnasium:CartPole-v1", seeds=2, steps=1_500, config=config, num_chunks=chunks,
                        log_interval=300, progress=False, seed=4) for chunks in (1, 3)]
    for name in runs[0].metrics:
        np.testing.assert_array_equal(runs[0].metrics[name], runs[1].metrics[name])
    jax.tree.map(np.testing.assert_array_equal, runs[0].final_state.params, runs[1].final_state.params)
    assert np.isfinite(runs[0].metrics["episode_return"][:, -1]).all()
    evaluation = jaxrl.evaluate(runs[0], episodes=3)
    assert 8 <= evaluation.mean_return <= 500


def test_a_stale_state_starts_a_new_episode_as_a_truncation():
    """Host envs are not in a checkpoint: a state whose stamp is not its env's current one (another
    process's checkpoint, or a state stepped before) starts a new episode in a new env, the step
    reported as a time-limit truncation with reward 0 whose final observation is the state's own."""
    env, params = jaxrl.make_env("gymnasium:CartPole-v1")
    obs, state = jax.jit(env.reset)(jax.random.key(0))
    step = jax.jit(lambda key, state: env.step(key, state, jnp.int32(1)))
    fresh = step(jax.random.key(1), state)
    assert not bool(fresh[4]) and float(fresh[2]) == 1.0
    for stale in (state, state.replace(stamp=state.stamp + 12_345)):  # stepped before; another process's
        next_obs, next_state, reward, terminated, truncated, info = step(jax.random.key(2), stale)
        assert bool(truncated) and not bool(terminated) and float(reward) == 0.0
        np.testing.assert_array_equal(info["final_observation"], obs)
        seed = int(env._seed(jax.random.key(2)))
        np.testing.assert_array_equal(next_obs, gymnasium.make("CartPole-v1").reset(seed=seed)[0].astype(np.float32))
        assert int(next_state.slot) not in (int(state.slot), int(fresh[1].slot))


def test_bad_ids_and_spaces_are_refused_with_the_fix():
    with pytest.raises(ConfigError, match="CartPole-v1"):
        jaxrl.make_env("gymnasium:CartPol-v1")

    class Tuple(ConstantReward):
        observation_space = gymnasium.spaces.Tuple((gymnasium.spaces.Discrete(2), gymnasium.spaces.Discrete(2)))

    with pytest.raises(ConfigError, match="FlattenObservation"):
        gymnasium_bridge.GymnasiumEnv("Tuple-v0", Tuple)
    with pytest.raises(ConfigError, match="already registered"):
        jaxrl.register_gymnasium_env("CartPole-v1", ConstantReward)
