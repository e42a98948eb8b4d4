"""Jumanji through jaxrl's adapter: every transition equals Jumanji's own stepping, a time-out is
truncation (bootstrapped) although Snake and Maze report it as termination, a real ending on the
last step stays a termination, unsupported envs are refused, and PPO learns a small Snake."""

import re
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

jumanji = pytest.importorskip("jumanji")

import jaxrl  # noqa: E402
from jaxrl.envs import make_env  # noqa: E402
from jaxrl.envs.jumanji_suite import LAST  # noqa: E402
from jaxrl.errors import ConfigError  # noqa: E402
from jumanji.environments.routing.maze.generator import RandomGenerator  # noqa: E402

ENVS, STEPS = 24, 40
NO_LIMIT = 10**6


def maze(time_limit):
    return jumanji.make("Maze-v0", generator=RandomGenerator(num_rows=5, num_cols=5), time_limit=time_limit)


# id -> (jaxrl's env kwargs, the time limit, Jumanji's env with a given time limit (None: it has
# none), jaxrl's Discrete action as Jumanji's)
CASES = {
    # Snake and Maze report their time-out as termination; a 6x6 snake also dies (walls, its body)
    "Snake-v1": ({"num_rows": 6, "num_cols": 6}, 15, lambda limit: jumanji.make("Snake-v1", num_rows=6, num_cols=6,
                                                                                time_limit=limit), lambda a: a),
    "Maze-v0": ({"num_rows": 5, "num_cols": 5}, 8, maze, lambda a: a),
    # no time limit of its own: max_episode_steps is the adapter's
    "Game2048-v1": ({"board_size": 3}, 25, None, lambda a: a),
    # a MultiDiscreteArray (row, column) flattened row-major; random clicks end episodes (mines)
    "Minesweeper-v0": ({}, None, None, lambda a: jnp.stack([a // 10, a % 10], -1).astype(jnp.int32)),
}


def flat(observation):
    """One env's observation NamedTuple as the float32 vector the README documents (field order)."""
    return np.concatenate([np.asarray(x, np.float32).reshape(x.shape[0], -1) for x in jax.tree.leaves(observation)], 1)


def where(done, new, old):
    return jax.tree.map(lambda n, o: jnp.where(done.reshape((-1,) + (1,) * (o.ndim - 1)), n, o), new, old)


@pytest.mark.parametrize("name", list(CASES))
def test_every_transition_equals_jumanjis_own_stepping(name):
    kwargs, limit, native_with_limit, native_action = CASES[name]
    env, params = make_env("jumanji/" + name, max_episode_steps=limit, **kwargs)
    assert env.time_limit == limit and params.max_steps_in_episode == (limit or 10_000)
    own_limit = native_with_limit is not None
    # Jumanji's env as a user builds it (its own time limit), and the same env with the time-out
    # out of play: its LAST says which of the first one's endings are real
    native = native_with_limit(limit) if own_limit else jumanji.make(name, **kwargs)
    free = native_with_limit(NO_LIMIT) if own_limit else native
    keys = jax.random.split(jax.random.key(3), ENVS)
    step = jax.jit(jax.vmap(env.step, in_axes=(0, 0, 0, None)))

    @jax.jit
    def native_step(native_state, free_state, actions):
        actions = jax.vmap(native_action)(actions)
        return jax.vmap(native.step)(native_state, actions) + jax.vmap(free.step)(free_state, actions)

    native_reset = jax.jit(lambda keys: jax.vmap(native.reset)(keys) + jax.vmap(free.reset)(keys))
    obs, state = jax.jit(jax.vmap(env.reset, in_axes=(0, None)))(keys, params)
    native_state, timestep, free_state, _ = native_reset(keys)
    np.testing.assert_array_equal(obs, flat(timestep.observation))
    steps = np.zeros(ENVS, int)
    ends = {"terminated": 0, "truncated": 0}
    for t in range(STEPS):
        step_keys = jax.random.split(jax.random.key(100 + t), ENVS)
        actions = jax.random.randint(jax.random.key(200 + t), (ENVS,), 0, env.num_actions)
        obs, state, reward, terminated, truncated, info = step(step_keys, state, actions, params)
        native_state, timestep, free_state, free_timestep = native_step(native_state, free_state, actions)
        steps += 1
        last = np.asarray(timestep.step_type == LAST)
        assert np.all(np.asarray(timestep.discount)[last] == 0)  # every ending is LAST with discount 0
        np.testing.assert_array_equal(info["final_observation"], flat(timestep.observation))
        np.testing.assert_array_equal(reward, timestep.reward)
        if own_limit:  # the time-out takes nothing else from the env: same observations, rewards
            np.testing.assert_array_equal(flat(free_timestep.observation), flat(timestep.observation))
            np.testing.assert_array_equal(free_timestep.reward, timestep.reward)
            real = np.asarray(free_timestep.step_type == LAST)
            timed_out = last & ~real
            np.testing.assert_array_equal(timed_out, last & (np.asarray(native_state.step_count) >= limit) & ~real)
        elif limit is not None:  # the adapter's own limit
            real, timed_out = last, (steps >= limit) & ~last
        else:
            real, timed_out = last, np.zeros(ENVS, bool)
        np.testing.assert_array_equal(terminated, real)
        np.testing.assert_array_equal(truncated, timed_out)
        ends["terminated"] += int(terminated.sum())
        ends["truncated"] += int(truncated.sum())
        # auto-reset: the next episode's first observation, from the reset half of the step's key
        done = last | timed_out
        reset_keys = jax.vmap(lambda k: jax.random.split(k)[1])(step_keys)
        reset_state, reset_timestep, free_reset_state, _ = native_reset(reset_keys)
        native_state, timestep = where(done, (reset_state, reset_timestep), (native_state, timestep))
        free_state = where(done, free_reset_state, free_state)
        steps[done] = 0
        np.testing.assert_array_equal(obs, flat(timestep.observation))
    assert ends["terminated"] > 0, ends
    assert (ends["truncated"] > 0) == (limit is not None), ends  # both endings were exercised where both exist


@pytest.mark.parametrize("name", ["Snake-v1", "Maze-v0"])
def test_a_time_out_is_truncation_though_jumanji_says_termination(name):
    env, params = make_env("jumanji/" + name, max_episode_steps=3)
    native = jumanji.make(name, time_limit=3)
    key = jax.random.key(5)
    _, state = env.reset(key, params)
    native_state, timestep = jax.jit(native.reset)(key)
    native_step = jax.jit(native.step)
    for t in range(3):
        action = int(np.argmax(timestep.observation.action_mask))  # a legal move: nobody dies
        obs, state, reward, terminated, truncated, info = env.step(jax.random.key(t), state, action, params)
        native_state, timestep = native_step(native_state, action)
    assert int(timestep.step_type) == LAST and float(timestep.discount) == 0  # Jumanji: "termination"
    assert bool(truncated) and not bool(terminated) and float(reward) == float(timestep.reward) == 0.0
    np.testing.assert_array_equal(info["final_observation"], flat(jax.tree.map(lambda x: x[None], timestep.observation))[0])
    assert int(state.time) == 0  # auto-reset


def test_reaching_the_target_on_the_last_step_is_a_termination():
    native = maze(NO_LIMIT)
    key = jax.random.key(11)
    native_state, timestep = native.reset(key)
    step = jax.jit(native.step)
    actions = []
    rng = np.random.default_rng(0)
    while int(timestep.step_type) != LAST:  # random legal moves until the target
        actions.append(int(rng.choice(np.flatnonzero(np.asarray(timestep.observation.action_mask)))))
        native_state, timestep = step(native_state, actions[-1])
    assert float(timestep.reward) == 1.0 and len(actions) > 1
    env, params = make_env("jumanji/Maze-v0", num_rows=5, num_cols=5, max_episode_steps=len(actions))
    _, state = env.reset(key, params)
    for t, action in enumerate(actions):
        obs, state, reward, terminated, truncated, info = env.step(jax.random.key(t), state, action, params)
        assert bool(terminated) == (t == len(actions) - 1) and not bool(truncated)
    assert float(reward) == 1.0 and bool(env.is_success(info["final_observation"], reward, terminated))


def test_unsupported_envs_and_bad_arguments_are_refused():
    with pytest.raises(ConfigError, match="unknown Jumanji env 'Snake-v9'"):
        make_env("jumanji/Snake-v9")
    with pytest.raises(ConfigError, match="multi-agent"):
        make_env("jumanji/RobotWarehouse-v0")
    with pytest.raises(ConfigError, match="discrete actions"):
        make_env("jumanji/MultiCVRP-v0")
    with pytest.raises(ConfigError, match="joint actions"):
        make_env("jumanji/JobShop-v0")
    with pytest.raises(ConfigError, match="unknown keyword argument of jumanji/Maze-v0.*'num_rowz'"):
        make_env("jumanji/Maze-v0", num_rowz=5)
    with pytest.raises(ConfigError, match="disagree"):
        make_env("jumanji/Snake-v1", time_limit=5, max_episode_steps=6)
    env, params = make_env("jumanji/Snake-v1", time_limit=7)
    assert env.time_limit == 7 and params.max_steps_in_episode == 7 and env.jumanji_env.time_limit == 8


def test_without_jumanji_the_error_names_the_extra(monkeypatch, capsys):
    from jaxrl import cli

    monkeypatch.setitem(sys.modules, "jumanji", None)  # import jumanji raises ImportError
    with pytest.raises(ConfigError, match=re.escape('pip install "jaxrl[jumanji]"')):
        make_env("jumanji/Snake-v1")
    cli._print_suite_ids()
    assert 'once installed: pip install "jaxrl[jumanji]"' in capsys.readouterr().out


def test_jaxrl_envs_lists_the_ids(capsys):
    from jaxrl import cli

    cli._print_suite_ids()
    out = capsys.readouterr().out
    assert "jumanji/Snake-v1" in out and "jumanji/Maze-v0" in out


def test_ppo_learns_a_small_snake():
    # the uniform-random policy eats 0.155 fruits per episode on this 6x6 grid (200 episodes)
    result = jaxrl.train("ppo", "jumanji/Snake-v1", seeds=2, steps=131_072, progress=False, preset=None,
                         env_kwargs={"num_rows": 6, "num_cols": 6}, config={"num_envs": 16, "rollout_len": 64})
    summary = jaxrl.evaluate(result, episodes=20).summary()
    assert summary["mean_return"] >= 1.5, summary  # 2.4 and 4.75 fruits here
