"""A jaxrl policy drives the matching Gymnasium env in a plain Gymnasium loop and scores there as in jaxrl."""

import warnings

import jax

import numpy as np
import pytest

import jaxrl
from jaxrl.core.dynamic_programming import q_value_iteration
from jaxrl.envs import make_env

gym = pytest.importorskip("gymnasium")


def gymnasium_returns(env_id: str, policy, episodes: int, seed: int = 0, observe=lambda obs: obs, **kwargs) -> np.ndarray:
    """The plain Gymnasium loop a user writes: reset (the env and the policy's hidden state),
    step(policy(obs)) until done. ``observe`` maps Gymnasium's observation to the policy's."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        env = gym.make(env_id, **kwargs)
    returns = []
    for episode in range(episodes):
        obs, _ = env.reset(seed=seed + episode)
        policy.reset()  # a recurrent policy starts each episode from its initial carry; feed-forward: nothing
        total, done = 0.0, False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(policy(observe(obs)))
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    return np.array(returns)


def assert_same_score(jaxrl_returns: np.ndarray, gym_returns: np.ndarray, floor: float = 0.0) -> None:
    """Means agree within 4 standard errors of their difference (plus ``floor`` for spread-free cases)."""
    se = np.sqrt(jaxrl_returns.var(ddof=1) / len(jaxrl_returns) + gym_returns.var(ddof=1) / len(gym_returns))
    assert abs(jaxrl_returns.mean() - gym_returns.mean()) <= 4 * se + floor, (jaxrl_returns.mean(), gym_returns.mean(), se)


def test_trained_frozenlake_policy_solves_gymnasium_frozenlake():
    result = jaxrl.train("q_learning", "FrozenLake-v1", env_kwargs={"is_slippery": False}, seeds=2, steps=3000,
                         hparams={"learning_rate": 0.8, "gamma": 0.95}, progress=False)
    assert result.evaluate(episodes=5).mean_return == 1.0
    for seed in range(2):
        returns = gymnasium_returns("FrozenLake-v1", result.policy(seed=seed), 5, is_slippery=False)
        np.testing.assert_array_equal(returns, 1.0)


def test_optimal_taxi_policy_scores_the_same_in_gymnasium():
    # Q* by value iteration on our Taxi table, as a q_learning agent's parameters: the policy of a
    # fully trained agent without the training cost. A wrong observation or action mapping never
    # delivers the passenger (return -200), so agreement to within sampling error is a real check.
    env, _ = make_env("Taxi-v3")
    agent = jaxrl.agents.make("q_learning", "Taxi-v3")
    q_star = np.asarray(q_value_iteration(env.transition_table(), 0.99), np.float32)
    ours = jaxrl.evaluate(agent, q_star, episodes=300, seed=3).returns
    policy = jaxrl.Policy(agent, q_star, jax.random.key(0))
    theirs = gymnasium_returns("Taxi-v4", policy, 300)
    assert ours.min() > 0 and theirs.min() > 0  # every episode delivered
    assert_same_score(ours, theirs)


@pytest.mark.slow
@pytest.mark.parametrize(
    "algo,env_id,steps,config",
    [
        ("ppo", "CartPole-v1", 60_000, {}),
        ("ppo", "Pendulum-v1", 200_000, {"num_envs": 16, "rollout_len": 256, "num_epochs": 10, "normalize_obs": True}),
    ],
)
def test_trained_deep_policy_scores_the_same_in_gymnasium(algo, env_id, steps, config):
    result = jaxrl.train(algo, env_id, seeds=1, steps=steps, config=config, progress=False, preset=None)
    ours = result.evaluate(episodes=50, seed=1).returns[0]
    theirs = gymnasium_returns(env_id, result.policy(seed=0), 50)
    assert_same_score(ours, theirs, floor=0.02 * abs(ours.mean()))


@pytest.mark.slow
def test_recurrent_policy_scores_the_same_in_gymnasium_cartpole_without_velocities():
    """A GRU policy trained on StatelessCartPole-v1 drives Gymnasium's CartPole-v1 seeing only
    (position, angle): its hidden state carried between calls and reset per episode."""
    config = {"recurrent": "gru", "hidden": (64,), "activation": "relu", "num_envs": 16, "rollout_len": 32,
              "num_minibatches": 2, "num_epochs": 10, "anneal_lr": True}
    hparams = {"learning_rate": 1e-3, "ent_coef": 0.0, "gamma": 0.98, "gae_lambda": 0.8}
    result = jaxrl.train("ppo", "StatelessCartPole-v1", seeds=1, steps=200_000, config=config, hparams=hparams,
                         progress=False, preset=None)
    ours = result.evaluate(episodes=30, seed=1).returns[0]
    theirs = gymnasium_returns("CartPole-v1", result.policy(seed=0), 30, observe=lambda obs: obs[[0, 2]])
    assert ours.mean() > 100  # the policy balances: a wrong hidden-state handling would not score alike
    assert_same_score(ours, theirs, floor=0.02 * abs(ours.mean()))
