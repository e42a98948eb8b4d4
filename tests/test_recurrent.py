"""Recurrent PPO/A2C (GRU, LSTM): hidden-state resets at episode ends, truncation bootstrap with the
final observation's carry, sequence re-runs, the memory probe, StatelessCartPole, policies and
evaluation of recurrent agents, and bad input."""

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrl
from jaxrl import cli
from jaxrl.core import actor_critic
from jaxrl.core.agent import carried_act
from jaxrl.envs import make_env, probes
from jaxrl.errors import ConfigError
from jaxrl.io import render

# The memory probe: a cue at t = 0, blanks after, +1/-1 at the 4th step for matching the cue.
CUE_CONFIG = {"recurrent": "gru", "recurrent_size": 16, "hidden": (16,), "num_envs": 8, "rollout_len": 16,
              "num_minibatches": 2}
CUE_HP = {"learning_rate": 3e-3}
CUE_STEPS = 16_000


@pytest.fixture(scope="module")
def cue_result():
    """Recurrent PPO (GRU) trained on the memory probe, 2 seeds (shared by several tests)."""
    return jaxrl.train("ppo", "probe/MemoryCue", seeds=2, steps=CUE_STEPS, config=CUE_CONFIG, hparams=CUE_HP,
                       progress=False, preset=None)


# -- environments ----------------------------------------------------------------------------------
@pytest.mark.parametrize("max_steps", [500, 12])  # CartPole-v1's own limit (terminations); a short one (truncations)
def test_stateless_cartpole_is_cartpole_observed_as_position_and_angle(max_steps):
    ours, our_params = make_env("StatelessCartPole-v1", max_episode_steps=max_steps)
    full, full_params = make_env("CartPole-v1", max_episode_steps=max_steps)
    assert our_params == full_params and make_env("StatelessCartPole-v1")[1].max_steps_in_episode == 500
    assert ours.observation_space(our_params).shape == (2,)
    num_envs, steps = 16, 300

    def trajectory(env, params):
        """``steps`` random-action steps of ``num_envs`` envs (same keys for both envs)."""
        keys = jax.random.split(jax.random.key(0), num_envs)
        obs, state = jax.vmap(env.reset, in_axes=(0, None))(keys, params)

        def step(state, key):
            actions = jax.random.bernoulli(key, 0.5, (num_envs,)).astype(jnp.int32)
            env_keys = jax.random.split(jax.random.fold_in(key, 1), num_envs)
            obs, state, reward, terminated, truncated, info = jax.vmap(env.step, in_axes=(0, 0, 0, None))(
                env_keys, state, actions, params)
            return state, (state, obs, reward, terminated, truncated, info["final_observation"])

        return obs, jax.lax.scan(step, state, jax.random.split(jax.random.key(1), steps))[1]

    obs, (states, observations, *outcome, final_obs) = jax.jit(trajectory, static_argnums=0)(ours, our_params)
    full_obs, (full_states, full_observations, *full_outcome, full_final_obs) = jax.jit(trajectory, static_argnums=0)(full, full_params)
    np.testing.assert_array_equal(obs, full_obs[:, [0, 2]])
    jax.tree.map(np.testing.assert_array_equal, states, full_states)  # the same dynamics, state for state
    np.testing.assert_array_equal(observations, full_observations[..., [0, 2]])
    np.testing.assert_array_equal(final_obs, full_final_obs[..., [0, 2]])
    for a, b in zip(outcome, full_outcome):  # reward, terminated, truncated
        np.testing.assert_array_equal(a, b)
    counts = np.array([int(outcome[1].sum()), int(outcome[2].sum())])
    assert counts.min() > 0 if max_steps == 12 else counts[0] > 0  # both kinds of episode end were compared


def test_memory_cue_probe():
    env, params = make_env("probe/MemoryCue")
    obs, state = env.reset(jax.random.key(3), params)
    cue = int(state.cue)
    np.testing.assert_array_equal(obs, np.eye(2)[cue])
    rewards = []
    for t in range(4):
        obs, state, reward, terminated, truncated, info = env.step(jax.random.key(t), state, cue, params)
        rewards.append(float(reward))
        if t < 3:
            np.testing.assert_array_equal(obs, [0.0, 0.0])
            assert not terminated
    assert rewards == [0.0, 0.0, 0.0, 1.0] and bool(terminated) and not bool(truncated)
    _, state = env.reset(jax.random.key(3), params)
    for t in range(4):
        _, state, reward, *_ = env.step(jax.random.key(t), state, 1 - cue, params)
    assert float(reward) == -1.0
    _, short = make_env("probe/MemoryCue", max_episode_steps=3)
    _, state = env.reset(jax.random.key(3), short)
    for t in range(3):
        _, state, reward, terminated, truncated, _ = env.step(jax.random.key(t), state, cue, short)
    assert bool(truncated) and not bool(terminated) and float(reward) == 0.0


# -- resets, bootstraps and sequence re-runs -------------------------------------------------------
def _episodes_by_hand(parts, params, traj, start_carry, reset: bool = True):
    """Every env's rollout stepped one observation at a time in Python, the carry set back to the
    initial carry after each episode end (``reset``): values, log-probs, V(final obs), final carry."""
    values, log_probs, next_values, carries = [], [], [], []
    apply = jax.jit(parts.network.apply)
    for e in range(traj.reward.shape[1]):
        carry = jax.tree.map(lambda c: c[e], start_carry)
        env_values, env_log_probs, env_next = [], [], []
        for t in range(traj.reward.shape[0]):
            carry, (dist, value) = apply(params.network, carry, traj.obs[t, e])
            _, (_, next_value) = apply(params.network, carry, traj.final_obs[t, e])
            env_values.append(value)
            env_log_probs.append(dist.log_prob(traj.action[t, e]))
            env_next.append(next_value)
            if reset and (traj.terminated[t, e] or traj.truncated[t, e]):
                carry = parts.initial_carry
        values.append(env_values), log_probs.append(env_log_probs), next_values.append(env_next), carries.append(carry)
    stack = lambda x: np.asarray(x).T  # noqa: E731  [E, T] -> [T, E]
    return stack(values), stack(log_probs), stack(next_values), jax.tree.map(lambda *c: np.stack(c), *carries)


@pytest.mark.parametrize("cell", ["gru", "lstm"])
@pytest.mark.parametrize("env_kwargs,ends", [({"length": 3}, "terminated"), ({"length": 9, "max_episode_steps": 3}, "truncated")])
def test_carry_resets_exactly_at_episode_ends_and_bootstraps_with_the_final_observations_carry(cell, env_kwargs, ends):
    agent = jaxrl.agents.make("ppo", "probe/MemoryCue", config={**CUE_CONFIG, "recurrent": cell, "num_envs": 3,
                                                                "rollout_len": 8, "num_minibatches": 1}, **env_kwargs)
    parts = actor_critic.build("ppo", agent.env, agent.env_params, agent.config)
    state = agent.init(jax.random.key(0), agent.hparams())
    state = actor_critic.collect(parts, state, jax.random.key(1))[0]  # start the second rollout mid-episode
    start_carry = state.carry
    state, traj, _ = actor_critic.collect(parts, state, jax.random.key(2))
    assert bool(getattr(traj, ends).any()) and not bool(getattr(traj, "truncated" if ends == "terminated" else "terminated").any())
    values, log_probs, next_values, final_carry = _episodes_by_hand(parts, state.params, traj, start_carry)
    np.testing.assert_allclose(traj.value, values, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(traj.log_prob, log_probs, rtol=1e-5, atol=1e-6)
    # V(final observation) with the carry that observation produces, also where the episode ended
    np.testing.assert_allclose(actor_critic.bootstrap_values(parts, state.params, traj), next_values, rtol=1e-5, atol=1e-6)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), state.carry, final_carry)
    # The update's re-run of the stored sequences reproduces the rollout
    dist, value = actor_critic.sequence_apply(parts, state.params.network, actor_critic.sequences(traj, start_carry))
    np.testing.assert_allclose(value, np.asarray(traj.value).reshape(-1), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dist.log_prob(traj.action.reshape(-1)), np.asarray(traj.log_prob).reshape(-1), rtol=1e-5, atol=1e-6)
    # ... which a missing reset would not: the check can fail
    unreset = _episodes_by_hand(parts, state.params, traj, start_carry, reset=False)[0]
    assert np.abs(unreset - values).max() > 1e-4


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_sequence_mode_is_flax_s_cell_stepped_one_step_at_a_time(cell):
    """The network's sequence mode (input products before the time loop, gates fused) gives what
    flax's own cell gives stepped one step at a time with resets, outputs and gradients alike."""
    from jaxrl.core.networks import RecurrentActorCritic, initial_carry
    network = RecurrentActorCritic(hidden=(8,), cell=cell, size=6, num_actions=3)
    zero = initial_carry(cell, 6)
    keys = jax.random.split(jax.random.key(0), 4)
    length, envs = 7, 5
    obs = jax.random.normal(keys[0], (length, envs, 4))
    starts = jax.random.bernoulli(keys[1], 0.3, (length, envs))
    carry = jax.tree.map(lambda c: jax.random.normal(keys[2], (envs,) + c.shape), zero)
    params = network.init(keys[3], zero, obs[0, 0])
    params = jax.tree.map(lambda p: p + 0.1 * jax.random.normal(keys[3], p.shape), params)  # nonzero biases too

    def stepped(params):
        def step(carry, inputs):
            x, start = inputs
            carry = jax.tree.map(lambda c, z: jnp.where(start[:, None], z, c), carry, zero)
            return network.apply(params, carry, x)
        return jax.lax.scan(step, carry, (obs, starts))

    def fused(params):
        return network.apply(params, carry, obs, starts=starts)

    def loss(run, params):
        last, (dist, value) = run(params)
        return jnp.sum(dist.logits ** 2) + jnp.sum(value) + sum(jnp.sum(x) for x in jax.tree.leaves(last))

    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), stepped(params), fused(params))
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5),
                 jax.grad(partial(loss, stepped))(params), jax.grad(partial(loss, fused))(params))
    assert float(jnp.abs(stepped(params)[1][1]).max()) > 1e-2  # not a vacuous comparison


def test_time_limit_probe_recurrent_value_is_one_over_one_minus_gamma():
    """Reward 1 forever, truncated every 5 steps: the recurrent value bootstraps through truncation."""
    config = {"recurrent": "gru", "recurrent_size": 8, "num_envs": 4, "rollout_len": 8, "hidden": (16,), "num_minibatches": 2}
    result = jaxrl.train("ppo", probes.time_limit(5), seeds=1, steps=24_000, config=config,
                         hparams={"gamma": 0.8, "learning_rate": 3e-3}, progress=False, preset=None)
    agent = result.agent
    parts = actor_critic.build(agent.name, agent.env, agent.env_params, agent.config)
    params, carry, values = result.params(seed=0), parts.initial_carry, []
    for _ in range(5):  # every step of an episode: 1 / (1 - 0.8) = 5; a zero bootstrap at the cut gives 5 .. 1
        carry, (_, value) = actor_critic.recurrent_apply(parts, params, carry, jnp.asarray(0))
        values.append(float(value))
    np.testing.assert_allclose(values, 5.0, rtol=0.06)


# -- learning --------------------------------------------------------------------------------------
def test_recurrent_ppo_solves_the_memory_probe(cue_result):
    np.testing.assert_array_equal(cue_result.evaluate(episodes=100).per_run()["return"], 1.0)


def test_feed_forward_ppo_cannot_beat_chance_on_the_memory_probe():
    result = jaxrl.train("ppo", "probe/MemoryCue", seeds=2, steps=CUE_STEPS, config={**CUE_CONFIG, "recurrent": "none"},
                         hparams=CUE_HP, progress=False, preset=None)
    returns = result.evaluate(episodes=200).per_run()["return"]
    assert np.all(np.abs(returns) < 0.25), returns  # chance is 0 (a coin flip between +1 and -1)


@pytest.mark.parametrize("algo", ["a2c", pytest.param("reinforce", marks=pytest.mark.slow)])
def test_recurrent_policy_gradients_learn_the_memory_probe(algo):
    config = {"recurrent": "lstm", "recurrent_size": 16, "hidden": (16,), "num_envs": 16, "rollout_len": 8}
    result = jaxrl.train(algo, "probe/MemoryCue", seeds=1, steps=16_000 if algo == "a2c" else 24_000, config=config,
                         hparams={"learning_rate": 1e-2}, progress=False, preset=None)
    assert result.evaluate(episodes=100).mean_return >= 0.9


def test_recurrent_training_is_deterministic_however_chunked():
    config = {**CUE_CONFIG, "recurrent": "lstm", "recurrent_size": 8, "num_envs": 4, "rollout_len": 8}
    runs = [jaxrl.train("ppo", "probe/MemoryCue", seeds=2, steps=1_024, log_interval=128, num_chunks=n, config=config,
                        progress=False, preset=None) for n in (1, 4)]
    for a, b in zip(jax.tree.leaves(runs[0].final_state.params), jax.tree.leaves(runs[1].final_state.params)):
        np.testing.assert_array_equal(a, b)
    jax.tree.map(np.testing.assert_array_equal, runs[0].final_state.carry, runs[1].final_state.carry)
    for name in runs[0].metrics:
        np.testing.assert_array_equal(runs[0].metrics[name], runs[1].metrics[name])


# -- policies, evaluation, render, load ------------------------------------------------------------
def test_policy_carries_its_hidden_state_and_reset_starts_an_episode(cue_result):
    env, params = make_env("probe/MemoryCue")
    policy = cue_result.policy(seed=1)
    for cue in (0, 1, 1, 0):
        policy.reset()
        actions = [policy(np.eye(2, dtype=np.float32)[cue])] + [policy(np.zeros(2, np.float32)) for _ in range(3)]
        assert actions[-1] == cue  # remembered from the episode's first observation
    # reset() sets the carry back: the same observations then give the same actions
    policy.reset()
    first = [policy(np.zeros(2, np.float32)) for _ in range(3)]
    policy.reset()
    assert [policy(np.zeros(2, np.float32)) for _ in range(3)] == first
    # a plain loop over the env, as a Gymnasium user writes it
    for episode in range(6):
        obs, state = env.reset(jax.random.key(episode), params)
        policy.reset()
        done, total = False, 0.0
        while not done:
            obs, state, reward, terminated, truncated, _ = env.step(jax.random.key(0), state, policy(np.asarray(obs)), params)
            total, done = total + float(reward), bool(terminated | truncated)
        assert total == 1.0


def test_feed_forward_policy_reset_is_a_no_op():
    result = jaxrl.train("ppo", "CartPole-v1", seeds=1, steps=512, config={"num_envs": 4, "rollout_len": 32},
                         progress=False, preset=None)
    policy = result.policy()
    obs = np.array([0.01, 0.2, -0.03, 0.1], np.float32)
    before = policy(obs)
    policy.reset()
    assert policy(obs) == before
    assert result.agent.initial_carry is None and not result.agent.recurrent


def test_evaluate_and_render_a_recurrent_agent(cue_result):
    agent, params = cue_result.agent, cue_result.params(seed=0)
    np.testing.assert_array_equal(jaxrl.evaluate(agent, params, episodes=20).returns, 1.0)
    episodes = render.rollout_observations(agent, params, episodes=4, seed=2)
    assert [e["return"] for e in episodes] == [1.0] * 4
    assert agent.recurrent and jax.tree.map(jnp.shape, carried_act(agent)[0]) == (16,)
    with pytest.raises(ConfigError, match="recurrent_act"):
        agent.act(params, jnp.zeros(2), jax.random.key(0))


def test_render_a_recurrent_policy_on_stateless_cartpole(tmp_path):
    agent = jaxrl.agents.make("ppo", "StatelessCartPole-v1", config={"recurrent": "gru", "recurrent_size": 8, "hidden": (8,)})
    params = agent.init(jax.random.key(0), agent.hparams()).params
    episodes = render.render_gif(agent, params, tmp_path / "episode.gif", episodes=1, max_steps=20)
    assert (tmp_path / "episode.gif").stat().st_size > 0 and np.shape(episodes[0]["observations"][0]) == (2,)


def test_a_saved_recurrent_run_loads_and_evaluates(tmp_path):
    out = tmp_path / "run"
    argv = ["train", "ppo", "--env", "probe/MemoryCue", "--seeds", "2", "--steps", "512", "--no-preset", "--quiet",
            "--eval-episodes", "2", "--out", str(out), "--set", "recurrent=lstm", "--set", "recurrent_size=8",
            "--set", "num_envs=4", "--set", "rollout_len=16", "--set", "num_minibatches=2"]
    assert cli.main(argv) == 0
    run = jaxrl.load(out)
    assert run.agent.recurrent
    evaluated = run.evaluate(episodes=10)
    assert evaluated.returns.shape == (2, 10) and set(np.unique(evaluated.returns)) <= {-1.0, 1.0}
    assert run.policy(seed=1)(np.zeros(2, np.float32)) in (0, 1)


# -- bad input -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "algo,config,match",
    [
        ("ppo", {"recurrent": "rnn"}, "recurrent"),
        ("a2c", {"recurrent": "transformer"}, "recurrent"),
        ("ppo", {"recurrent": "gru", "recurrent_size": 0}, "recurrent_size=0"),
        ("a2c", {"recurrent": "lstm", "recurrent_size": -4}, "recurrent_size=-4"),
        ("ppo", {"recurrent": "gru", "num_envs": 6, "num_minibatches": 4}, "whole env sequences"),
    ],
)
def test_bad_recurrent_config_is_a_config_error(algo, config, match):
    with pytest.raises(ConfigError, match=match):
        jaxrl.agents.make(algo, "CartPole-v1", config=config)


@pytest.mark.slow
def test_recurrent_ppo_balances_stateless_cartpole():
    """GRU PPO on CartPole without velocities: >= 400 mean greedy return over 8 seeds (README's figure)."""
    config = {"recurrent": "gru", "recurrent_size": 64, "hidden": (64,), "activation": "relu", "num_envs": 16,
              "rollout_len": 32, "num_minibatches": 2, "num_epochs": 10, "anneal_lr": True}
    hparams = {"learning_rate": 1e-3, "clip_eps": 0.1, "ent_coef": 0.0, "gamma": 0.98, "gae_lambda": 0.8}
    result = jaxrl.train("ppo", "StatelessCartPole-v1", seeds=8, steps=200_000, config=config, hparams=hparams,
                         progress=False, preset=None)
    assert result.evaluate(episodes=20).mean_return >= 400
