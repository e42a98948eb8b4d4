"""Tabular agents: hand-computed updates, probe values, exact Q* by value iteration."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrl
from jaxrl.agents import tabular
from jaxrl.core.dynamic_programming import q_policy_evaluation, q_value_iteration
from jaxrl.envs import probes
from jaxrl.envs.tabular_env import TabularEnv, table_from_outcomes

# s0 -a0-> s1 (r=2), s0 -a1-> s0 (r=0); s1 -a0-> ends (r=5), s1 -a1-> s0 (r=1)
CHAIN = {
    0: {0: [(1.0, 1, 2.0, False)], 1: [(1.0, 0, 0.0, False)]},
    1: {0: [(1.0, 0, 5.0, True)], 1: [(1.0, 0, 1.0, False)]},
}
Q0 = np.array([[1.0, 0.5], [3.0, 4.0]], np.float32)


def _chain_env(max_steps=100):
    return TabularEnv(table_from_outcomes(CHAIN, np.array([1.0, 0.0])), max_steps=max_steps)


def _one_step(rule, env, hparams, q=Q0, action=None, planning_steps=0):
    config = {"planning_steps": planning_steps} if rule == "dyna_q" else {}
    agent = jaxrl.agents.make(rule, env, config=config)
    state = agent.init(jax.random.key(3), agent.hparams(hparams)).replace(params=jnp.asarray(q))
    if action is not None:
        state = state.replace(action=jnp.array([action], jnp.int32))
    new_state, metrics = jax.jit(agent.train_step)(state)
    return state, new_state, metrics


def test_single_stream_targets_by_hand():
    q_next = jnp.array([3.0, 4.0])
    assert tabular.q_learning_target(2.0, 0.9, q_next) == pytest.approx(2 + 0.9 * 4)
    assert tabular.sarsa_target(2.0, 0.9, q_next, 0) == pytest.approx(2 + 0.9 * 3)
    probs = jnp.array([0.25, 0.75])
    assert tabular.expected_sarsa_target(2.0, 0.9, q_next, probs) == pytest.approx(2 + 0.9 * 3.75)
    q, td = tabular.td_update(jnp.asarray(Q0), 0, 0, 5.6, 0.5)
    assert td == pytest.approx(4.6)
    assert q[0, 0] == pytest.approx(3.3) and q[1, 1] == Q0[1, 1]


def test_q_learning_update_by_hand():
    # greedy at s0 is a0 -> s1, r=2: target 2 + 0.9 * max(3, 4) = 5.6; Q = 1 + 0.5 * 4.6 = 3.3
    _, new, metrics = _one_step("q_learning", _chain_env(), {"learning_rate": 0.5, "gamma": 0.9, "epsilon": 0.0})
    expected = Q0.copy()
    expected[0, 0] = 3.3
    np.testing.assert_allclose(new.params, expected, rtol=1e-6)
    assert metrics["td_error"] == pytest.approx(4.6)


def test_sarsa_update_uses_the_next_action_taken():
    # epsilon=1: the next action is random; the target must use exactly the one stored for the next step
    for seed_action in (0, 1):
        old, new, _ = _one_step("sarsa", _chain_env(), {"learning_rate": 0.5, "gamma": 0.9, "epsilon": 1.0}, action=seed_action)
        taken, next_action = seed_action, int(new.action[0])
        r, s_next = (2.0, 1) if taken == 0 else (0.0, 0)
        expected = Q0.copy()
        expected[0, taken] += 0.5 * (r + 0.9 * Q0[s_next, next_action] - Q0[0, taken])
        np.testing.assert_allclose(new.params, expected, rtol=1e-6)


def test_expected_sarsa_update_by_hand():
    # epsilon=0.5 at s1: probs = [0.25, 0.75] -> expectation 3.75; the action at s0 is whatever was taken
    _, new, _ = _one_step("expected_sarsa", _chain_env(), {"learning_rate": 0.5, "gamma": 0.9, "epsilon": 0.5})
    taken = int(new.action[0])
    r, s_next = (2.0, 1) if taken == 0 else (0.0, 0)
    probs = np.full(2, 0.25) + 0.5 * (Q0[s_next] == Q0[s_next].max())
    expected = Q0.copy()
    expected[0, taken] += 0.5 * (r + 0.9 * probs @ Q0[s_next] - Q0[0, taken])
    np.testing.assert_allclose(new.params, expected, rtol=1e-6)


def test_termination_zeroes_the_bootstrap_and_truncation_does_not():
    # From s1, a0 terminates with r=5: target is 5 exactly (no bootstrap).
    env = _chain_env()
    agent = jaxrl.agents.make("q_learning", env)
    hp = agent.hparams({"learning_rate": 1.0, "gamma": 0.9, "epsilon": 0.0})
    state = agent.init(jax.random.key(0), hp)
    q = jnp.array([[0.0, 0.0], [7.0, 1.0]])
    state = state.replace(params=q, obs=jnp.array([1]), env_state=state.env_state.replace(env_state=state.env_state.env_state.replace(position=jnp.array([1]))))
    new, _ = agent.train_step(state)
    assert new.params[1, 0] == pytest.approx(5.0)
    # Time-limit probe with T=1: every step is truncated, never terminated: target 1 + 0.9 * Q
    env = probes.time_limit(max_steps=1)
    agent = jaxrl.agents.make("q_learning", env)
    state = agent.init(jax.random.key(0), hp).replace(params=jnp.array([[4.0]]))
    new, metrics = agent.train_step(state)
    assert metrics["episodes"] == 1
    assert new.params[0, 0] == pytest.approx(1.0 + 0.9 * 4.0)


def test_dyna_q_plans_from_its_model():
    # After one real step (s0, a0) -> (s1, r=2), planning replays only that pair: with lr=1 and
    # gamma=0.9 every planning update sets Q[0,0] = 2 + 0.9 * max Q[1] = 5.6 again.
    _, new, _ = _one_step("dyna_q", _chain_env(), {"learning_rate": 1.0, "gamma": 0.9, "epsilon": 0.0}, planning_steps=5)
    assert new.params[0, 0] == pytest.approx(5.6)
    assert int(new.model.num_pairs) == 1 and bool(new.model.seen[0, 0])
    assert int(new.model.next_state[0, 0]) == 1 and new.model.reward[0, 0] == 2.0


PROBE_CASES = [
    (probes.constant_reward, lambda g: [[1.0]]),
    (probes.observation_reward, lambda g: [[1.0], [-1.0]]),
    (probes.discounting, lambda g: [[g], [1.0]]),
    (probes.action_reward, lambda g: [[0.0, 1.0]]),
    (probes.observation_action_reward, lambda g: [[1.0, 0.0], [0.0, 1.0]]),
    (probes.time_limit, lambda g: [[1.0 / (1.0 - g)]]),
]


@pytest.mark.parametrize("rule", tabular.RULES)
@pytest.mark.parametrize("probe,values", PROBE_CASES, ids=[p.__name__ for p, _ in PROBE_CASES])
def test_probe_values(rule, probe, values):
    gamma = 0.9
    env = probe()
    # epsilon=1 explores every action; off-policy rules learn Q*, on-policy ones Q of the uniform
    # policy, which equals Q* on every probe except where actions differ in value.
    hparams = {"learning_rate": 0.1, "gamma": gamma, "epsilon": 1.0}
    config = {"num_envs": 4} | ({"planning_steps": 2} if rule == "dyna_q" else {})
    result = jaxrl.train(rule, env, seeds=2, steps=8_000, hparams=hparams, config=config, progress=False)
    expected = np.asarray(values(gamma))
    if rule in ("sarsa", "expected_sarsa"):
        uniform = np.full_like(expected, 1.0 / expected.shape[1])
        expected = q_policy_evaluation(env.transition_table(), uniform, gamma)
    np.testing.assert_allclose(result.final_state.params, np.broadcast_to(expected, result.final_state.params.shape), atol=0.02)


def _random_mdp(seed=0, states=6, actions=3):
    rng = np.random.default_rng(seed)
    outcomes = {}
    for s in range(states):
        outcomes[s] = {}
        for a in range(actions):
            nexts = rng.choice(states, size=2, replace=False)
            p = rng.uniform(0.2, 0.8)
            outcomes[s][a] = [(p, int(nexts[0]), float(rng.normal()), bool(rng.random() < 0.1)),
                              (1 - p, int(nexts[1]), float(rng.normal()), False)]
    return TabularEnv(table_from_outcomes(outcomes, np.ones(states)), max_steps=20)


def test_q_learning_converges_to_exact_q_star_deterministic():
    # Deterministic dynamics, lr=1 and uniform exploration: asynchronous value iteration, exact Q*.
    outcomes = {s: {a: [(1.0, (s + a + 1) % 5, float((s * 3 + a) % 4) - 1.0, s == 4 and a == 1)] for a in range(2)} for s in range(5)}
    env = TabularEnv(table_from_outcomes(outcomes, np.ones(5)), max_steps=7)
    q_star = q_value_iteration(env.transition_table(), 0.9)
    result = jaxrl.train("q_learning", env, seeds=3, steps=20_000, progress=False,
                         hparams={"learning_rate": 1.0, "gamma": 0.9, "epsilon": 1.0})
    np.testing.assert_allclose(result.final_state.params, np.broadcast_to(q_star, (3, 5, 2)), atol=1e-4)


def test_q_learning_converges_to_exact_q_star_of_frozenlake():
    env, params = jaxrl.make_env("FrozenLake-v1", is_slippery=False)
    q_star = q_value_iteration(env.transition_table(), 0.9)
    result = jaxrl.train("q_learning", "FrozenLake-v1", env_kwargs={"is_slippery": False}, seeds=2, steps=30_000,
                         hparams={"learning_rate": 1.0, "gamma": 0.9, "epsilon": 1.0}, progress=False, preset=None)
    # every reachable non-terminal state's row is exact; terminal rows stay 0, as in Q*
    np.testing.assert_allclose(result.final_state.params, np.broadcast_to(q_star, (2, 16, 4)), atol=1e-5)


def test_q_learning_converges_to_q_star_stochastic():
    env = _random_mdp()
    q_star = q_value_iteration(env.transition_table(), 0.8)
    # Constant step size leaves noise of order sqrt(lr): average 8 seeds' tables.
    result = jaxrl.train("q_learning", env, seeds=8, steps=80_000, progress=False, config={"num_envs": 4},
                         hparams={"learning_rate": 0.01, "gamma": 0.8, "epsilon": 1.0})
    np.testing.assert_allclose(result.final_state.params.mean(0), q_star, atol=0.08)


def test_tabular_rejects_continuous_envs_clearly():
    with pytest.raises(jaxrl.ConfigError, match="needs discrete observations.*CartPole"):
        jaxrl.agents.make("q_learning", "CartPole-v1")
    with pytest.raises(jaxrl.ConfigError, match="needs discrete observations.*Pendulum"):
        jaxrl.agents.make("sarsa", "Pendulum-v1")


def test_config_errors():
    with pytest.raises(jaxrl.ConfigError, match="epsilon_schedule"):
        jaxrl.agents.make("q_learning", "probe/ConstantReward", config={"epsilon_schedule": "cosine"})
    with pytest.raises(jaxrl.ConfigError, match="planning_steps is Dyna-Q's"):
        jaxrl.agents.make("q_learning", "probe/ConstantReward", config={"planning_steps": 3})
    with pytest.raises(jaxrl.ConfigError, match="Did you mean 'num_envs'"):
        jaxrl.agents.make("q_learning", "probe/ConstantReward", config={"num_env": 3})
