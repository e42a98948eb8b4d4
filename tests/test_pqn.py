"""PQN: Q(lambda) returns against a plain-Python reference, the LayerNorm network, a hand-computed
update, the time-limit probe, configuration errors, engine integration and smoke learning."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrl
from jaxrl.agents import pqn
from jaxrl.core import optim
from jaxrl.core.minibatches import shuffled_minibatches
from jaxrl.core.networks import QNetwork
from jaxrl.core.returns import discounted_returns, q_lambda_returns
from jaxrl.envs import probes


# -- Q(lambda) against a plain-Python reference ----------------------------------------------------
def reference_q_lambda(rewards, next_values, terminated, truncated, gamma, lam):
    """Loops, no jax: the recursion written forward from each step t, to the first episode end
    or the rollout's end."""
    T, returns = len(rewards), []
    for t in range(T):
        # G_t = sum over k of (gamma lambda)^k-weighted pieces, unrolled: walk forward, keeping the
        # weight of the lambda-continuation
        total, weight = 0.0, 1.0
        for k in range(t, T):
            total += weight * rewards[k]
            ends = terminated[k] or truncated[k] or k == T - 1
            bootstrap = 0.0 if terminated[k] else next_values[k]
            if ends:
                total += weight * gamma * bootstrap
                break
            total += weight * gamma * (1 - lam) * bootstrap
            weight *= gamma * lam
        returns.append(total)
    return np.array(returns)


# a trajectory with a termination and a truncation in the middle, and an ongoing episode at the end
REWARDS = [1.0, 0.5, -1.0, 2.0, 0.0, 1.5, 1.0, -0.5, 0.25]
NEXT_VALUES = [3.0, 2.0, 9.0, 1.0, 4.0, 7.0, 0.5, 1.5, 6.0]  # max_a Q(final obs of step t)
TERMINATED = [False, False, True, False, False, False, False, False, False]
TRUNCATED = [False, False, False, False, False, True, False, False, False]


def _q_lambda(gamma, lam, rewards=REWARDS, next_values=NEXT_VALUES, terminated=TERMINATED, truncated=TRUNCATED):
    return np.asarray(q_lambda_returns(jnp.array(rewards), jnp.array(next_values), jnp.array(terminated),
                                       jnp.array(truncated), gamma, lam))


@pytest.mark.parametrize("lam", [0.0, 0.3, 0.65, 0.95, 1.0])
def test_q_lambda_matches_plain_python_reference(lam):
    expected = reference_q_lambda(REWARDS, NEXT_VALUES, TERMINATED, TRUNCATED, 0.9, lam)
    np.testing.assert_allclose(_q_lambda(0.9, lam), expected, rtol=1e-6)


def test_q_lambda_by_hand_around_the_episode_ends():
    g, lam = 0.5, 0.5
    got = _q_lambda(g, lam)
    assert got[2] == pytest.approx(-1.0)  # terminated: the reward alone, the 9.0 bootstrap ignored
    assert got[5] == pytest.approx(1.5 + g * 7.0)  # truncated: bootstraps from its final observation
    assert got[8] == pytest.approx(0.25 + g * 6.0)  # rollout end: bootstraps from the last final obs
    # step 1 continues to step 2 (terminated, G = -1): 0.5 + g (lam (-1) + (1 - lam) 2.0)
    assert got[1] == pytest.approx(0.5 + g * (lam * -1.0 + (1 - lam) * 2.0))
    # step 4 continues into the truncated step 5
    assert got[4] == pytest.approx(0.0 + g * (lam * got[5] + (1 - lam) * 4.0))


def test_q_lambda_zero_is_the_one_step_target():
    one_step = [r + 0.9 * (0.0 if term else v) for r, v, term in zip(REWARDS, NEXT_VALUES, TERMINATED)]
    np.testing.assert_allclose(_q_lambda(0.9, 0.0), one_step, rtol=1e-6)


def test_q_lambda_one_is_the_monte_carlo_return_within_episodes():
    mc = discounted_returns(jnp.array(REWARDS), jnp.array(NEXT_VALUES), jnp.array(TERMINATED), jnp.array(TRUNCATED), 0.9)
    np.testing.assert_allclose(_q_lambda(0.9, 1.0), np.asarray(mc), rtol=1e-6)
    # written out for the first episode (terminated at step 2): no bootstrap at all
    assert _q_lambda(0.9, 1.0)[0] == pytest.approx(1.0 + 0.9 * 0.5 + 0.81 * -1.0)


def test_q_lambda_over_envs_and_random_trajectories():
    rng = np.random.default_rng(0)
    T, N = 12, 5
    rewards, values = rng.normal(size=(T, N)), rng.normal(size=(T, N))
    terminated, truncated = rng.random((T, N)) < 0.15, rng.random((T, N)) < 0.15
    got = jax.vmap(q_lambda_returns, in_axes=(1, 1, 1, 1, None, None), out_axes=1)(
        jnp.array(rewards), jnp.array(values), jnp.array(terminated), jnp.array(truncated), 0.97, 0.7)
    for env in range(N):
        expected = reference_q_lambda(rewards[:, env], values[:, env], terminated[:, env], truncated[:, env], 0.97, 0.7)
        np.testing.assert_allclose(np.asarray(got)[:, env], expected, rtol=1e-5, atol=1e-6)


# -- the network and the update by hand -------------------------------------------------------------
def test_layer_norm_option_normalises_before_each_activation():
    net = QNetwork(2, hidden=(8, 8), activation="relu", layer_norm=True)
    params = net.init(jax.random.key(0), jnp.zeros(3))
    assert {"LayerNorm_0", "LayerNorm_1"} <= set(params["params"]["MLP_0"])
    # the output is invariant to scaling the input (LayerNorm after the first linear map; zero biases)
    obs = jax.random.normal(jax.random.key(1), (4, 3))
    np.testing.assert_allclose(net.apply(params, obs), net.apply(params, 10.0 * obs), rtol=1e-4, atol=1e-5)
    plain = QNetwork(2, hidden=(8, 8), activation="relu")
    assert not any(k.startswith("LayerNorm") for k in plain.init(jax.random.key(0), jnp.zeros(3))["params"]["MLP_0"])


def test_shuffled_minibatches_partition_the_batch():
    batch = {"x": jnp.arange(12), "y": jnp.arange(12) * 10}
    minibatches = shuffled_minibatches(jax.random.key(3), batch, 3)
    assert minibatches["x"].shape == (3, 4)
    np.testing.assert_array_equal(np.sort(np.asarray(minibatches["x"]).ravel()), np.arange(12))
    np.testing.assert_array_equal(minibatches["y"], minibatches["x"] * 10)


def test_one_train_step_by_hand():
    """One env, a 3-step rollout, one epoch of one minibatch: the targets from the network before
    the update, then one clipped Adam step on 0.5 x mean squared error, computed outside the agent."""
    config = {"num_envs": 1, "rollout_len": 3, "num_epochs": 1, "num_minibatches": 1, "hidden": (4,)}
    hp = {"gamma": 0.8, "q_lambda": 0.5, "learning_rate": 0.01, "epsilon": 0.0, "epsilon_end": 0.0, "reward_scale": 2.0}
    agent = jaxrl.agents.make("pqn", probes.time_limit(2), config=config)
    hparams = agent.hparams(hp)
    state = agent.init(jax.random.key(0), hparams)
    new_state, metrics = jax.jit(agent.train_step)(state)
    q = pqn.q_function(agent)
    q0 = float(q(state.params, jnp.asarray(0))[0])  # one state, one action: every bootstrap is q0
    # rewards 1 (scaled to 2); the time limit 2 truncates steps 1 (and 3, beyond the rollout)
    g2 = 2.0 + 0.8 * q0  # step 2: the rollout's end
    g1 = 2.0 + 0.8 * q0  # step 1: truncated, bootstraps from its final observation
    g0 = 2.0 + 0.8 * (0.5 * g1 + 0.5 * q0)  # step 0 continues
    targets = jnp.array([g0, g1, g2])

    def loss(params):
        return jnp.mean(0.5 * (targets - q(params, jnp.zeros(3, jnp.int32))[:, 0]) ** 2)

    expected_params, _ = optim.step(state.params, state.opt_state, jax.grad(loss)(state.params))
    for a, b in zip(jax.tree.leaves(new_state.params), jax.tree.leaves(expected_params)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    assert float(metrics["loss"]) == pytest.approx(float(loss(state.params)), rel=1e-5)
    assert int(new_state.steps) == 3


# -- probes ----------------------------------------------------------------------------------------
PROBE_CONFIG = {"num_envs": 8, "rollout_len": 16, "num_epochs": 2, "num_minibatches": 4, "hidden": (16,)}


@pytest.mark.parametrize("lam", [0.0, 0.9])
def test_time_limit_probe_learns_one_over_one_minus_gamma(lam):
    """Reward 1 forever, truncated every 5 steps: only bootstrapping through truncation from the
    final observation gives Q = 1 / (1 - 0.8) = 5 (cutting it as if terminated: about 3.4)."""
    result = jaxrl.train("pqn", probes.time_limit(5), seeds=1, steps=40_000, progress=False, config=PROBE_CONFIG,
                         hparams={"gamma": 0.8, "q_lambda": lam, "learning_rate": 3e-3})
    q = pqn.q_function(result.agent)(result.params(seed=0), jnp.asarray(0))
    np.testing.assert_allclose(np.asarray(q), [5.0], rtol=0.03)


def test_value_and_action_probes():
    by_obs = jaxrl.train("pqn", probes.observation_reward(), seeds=1, steps=20_000, progress=False, config=PROBE_CONFIG,
                         hparams={"gamma": 0.9, "learning_rate": 3e-3})
    q = pqn.q_function(by_obs.agent)(by_obs.params(seed=0), jnp.array([0, 1]))
    np.testing.assert_allclose(np.asarray(q)[:, 0], [1.0, -1.0], atol=0.05)
    by_action = jaxrl.train("pqn", probes.observation_action_reward(), seeds=1, steps=20_000, progress=False,
                            config=PROBE_CONFIG, hparams={"learning_rate": 3e-3, "epsilon_decay_duration": 10_000})
    q = pqn.q_function(by_action.agent)(by_action.params(seed=0), jnp.array([0, 1]))
    np.testing.assert_allclose(np.asarray(q), [[1.0, 0.0], [0.0, 1.0]], atol=0.07)
    assert jaxrl.evaluate(by_action, episodes=20).mean_return == 1.0


# -- configuration errors --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "env,config,match",
    [
        ("Pendulum-v1", {}, "pqn needs a discrete action space"),
        ("CartPole-v1", {"num_envs": 3, "rollout_len": 5, "num_minibatches": 4},
         "num_envs x rollout_len = 3 x 5 = 15 does not divide into num_minibatches=4"),
        ("CartPole-v1", {"num_epochs": 0}, "num_epochs=0 must be >= 1"),
        ("CartPole-v1", {"hidden": ()}, "hidden=\\(\\) must list positive layer widths"),
        ("CartPole-v1", {"torso": "rnn"}, "torso"),
        ("CartPole-v1", {"epsilon_schedule": "cosine"}, "epsilon_schedule"),
        ("CartPole-v1", {"q_lambda": 0.9}, "unknown pqn config key .q_lambda."),
    ],
)
def test_config_errors(env, config, match):
    with pytest.raises(jaxrl.ConfigError, match=match):
        jaxrl.agents.make("pqn", env, config=config)


@pytest.mark.parametrize(
    "hparams,match",
    [
        ({"q_lambda": 1.5}, "q_lambda=1.5 must be in \\[0, 1\\]"),
        ({"learning_rate": 0.0}, "learning_rate=0.0 must be > 0"),
        ({"reward_scale": -1.0}, "reward_scale=-1.0 must be > 0"),
        ({"num_envs": 8}, "num_envs is a static config option of pqn"),
        ({"tau": 0.5}, "Unknown|unknown"),
    ],
)
def test_hparam_errors_before_compiling(hparams, match):
    with pytest.raises(jaxrl.ConfigError, match=match):
        jaxrl.train("pqn", "CartPole-v1", steps=1_000, hparams=hparams, progress=False, preset=None)


def test_registry_declares_the_static_and_traced_options():
    config = jaxrl.agents.spec("pqn").default_config()
    assert config["layer_norm"] is True and config["num_minibatches"] >= 1
    assert {"gamma", "q_lambda", "learning_rate", "max_grad_norm", "epsilon", "epsilon_end",
            "epsilon_decay_duration", "reward_scale"} <= set(pqn.PQNHParams.names())


# -- engine integration and smoke learning ---------------------------------------------------------
TINY = {"num_envs": 4, "rollout_len": 8, "num_epochs": 2, "num_minibatches": 2, "hidden": (8,), "anneal_lr": True}


def test_chunking_never_changes_results():
    runs = [jaxrl.train("pqn", "CartPole-v1", seeds=2, steps=640, log_interval=64, num_chunks=n, config=TINY,
                        preset=None, progress=False) for n in (1, 5)]
    for a, b in zip(jax.tree.leaves((runs[0].final_state.params, runs[0].final_state.opt_state)),
                    jax.tree.leaves((runs[1].final_state.params, runs[1].final_state.opt_state))):
        np.testing.assert_array_equal(a, b)
    for name in ("loss", "epsilon", "episode_return"):
        np.testing.assert_array_equal(runs[0].metrics[name], runs[1].metrics[name])
    assert np.all(np.isfinite(runs[0].metrics["loss"]))


def test_minatar_cnn_pqn_runs():
    config = {"num_envs": 4, "rollout_len": 16, "num_epochs": 1, "num_minibatches": 2, "hidden": (16,)}
    result = jaxrl.train("pqn", "Breakout-MinAtar", seeds=1, steps=256, config=config, progress=False, preset=None)
    assert "PatchConv_0" in result.final_state.params["params"]["MinAtarCNN_0"]
    assert "LayerNorm_0" in result.final_state.params["params"]["MinAtarCNN_0"]
    assert np.all(np.isfinite(result.metrics["loss"]))


# A few ten thousand CartPole steps: the random policy returns about 22, an untrained greedy
# network about 9.
SMOKE = {"num_envs": 16, "rollout_len": 32, "num_epochs": 4, "num_minibatches": 8, "hidden": (64, 64)}
SMOKE_HP = {"learning_rate": 1e-3, "q_lambda": 0.65, "epsilon_end": 0.05, "epsilon_decay_duration": 15_000}


def test_cartpole_smoke():
    result = jaxrl.train("pqn", "CartPole-v1", seeds=2, steps=30_000, config=SMOKE, hparams=SMOKE_HP, progress=False,
                         preset=None)
    assert jaxrl.evaluate(result, episodes=5).mean_return > 150


# -- learning at the budget (slow) ----------------------------------------------------------
# purejaxql's CartPole settings (config/alg/pqn_cartpole.yaml): 32 envs x 64 steps, 4 epochs of 16
# minibatches, 256x256 LayerNorm MLP, Adam 1e-4 annealed to 0, rewards scaled by 0.1, lambda 0.95,
# epsilon 1 -> 0.2 over the first 100k steps. Measured: 500.0 for each of the 8 seeds.
CARTPOLE = {"num_envs": 32, "rollout_len": 64, "num_epochs": 4, "num_minibatches": 16, "hidden": (256, 256),
            "anneal_lr": True}
CARTPOLE_HP = {"learning_rate": 1e-4, "q_lambda": 0.95, "reward_scale": 0.1, "epsilon_end": 0.2,
               "epsilon_decay_duration": 100_000, "max_grad_norm": 10.0, "gamma": 0.99}


@pytest.mark.slow
def test_cartpole_8_seeds_500k_steps():
    result = jaxrl.train("pqn", "CartPole-v1", seeds=8, steps=500_000, config=CARTPOLE, hparams=CARTPOLE_HP,
                         progress=False, preset=None)
    assert jaxrl.evaluate(result, episodes=10, seed=7).mean_return >= 475
