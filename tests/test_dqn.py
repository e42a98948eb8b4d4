"""DQN family: targets by hand, n-step windows, probes with exact values, config errors, smoke learning."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxrl
from jaxrl.agents import dqn
from jaxrl.core import exploration, networks, off_policy
from jaxrl.core.optim import periodic_soft_update
from jaxrl.core.buffers import ReplayBuffer
from jaxrl.core.targets import (
    crossed_multiple,
    double_q_learning_target,
    n_step_window,
    q_learning_target,
)
from jaxrl.envs import probes


# -- targets by hand -------------------------------------------------------------------------------
def test_dqn_and_double_dqn_targets_by_hand():
    q_target = jnp.array([1.0, 3.0, 2.0])  # target network at s'
    q_online = jnp.array([5.0, 0.0, 6.0])  # online network at s': selects action 2
    assert float(q_learning_target(1.0, 0.9, q_target)) == pytest.approx(1.0 + 0.9 * 3.0)
    assert float(double_q_learning_target(1.0, 0.9, q_target, q_online)) == pytest.approx(1.0 + 0.9 * 2.0)
    assert float(q_learning_target(1.0, 0.0, q_target)) == 1.0  # terminated: no bootstrap


def test_n_step_window_by_hand():
    g = 0.9
    r = jnp.array([1.0, 2.0, 4.0, 8.0])
    no = jnp.zeros(4, bool)
    # no episode end: 4 rewards, bootstrap gamma^4 from the last step's final obs
    reward, discount, last = n_step_window(r, no, no, g)
    assert float(reward) == pytest.approx(1 + g * 2 + g**2 * 4 + g**3 * 8, rel=1e-6)
    assert float(discount) == pytest.approx(g**4, rel=1e-6) and int(last) == 3
    # truncated at step 1: the window closes there and bootstraps gamma^2 V(final obs of step 1)
    trunc = no.at[1].set(True)
    reward, discount, last = n_step_window(r, no, trunc, g)
    assert float(reward) == pytest.approx(1 + g * 2, rel=1e-6)
    assert float(discount) == pytest.approx(g**2, rel=1e-6) and int(last) == 1
    # terminated at step 2 (after a later truncation would have mattered): no bootstrap
    term = no.at[2].set(True)
    reward, discount, last = n_step_window(r, term, no.at[3].set(True), g)
    assert float(reward) == pytest.approx(1 + g * 2 + g**2 * 4, rel=1e-6)
    assert float(discount) == 0.0 and int(last) == 2
    # terminated on the first step
    reward, discount, last = n_step_window(r, no.at[0].set(True), no, g)
    assert (float(reward), float(discount), int(last)) == (1.0, 0.0, 0)


def test_n_step_targets_through_the_buffer():
    """A stream with a truncation and a termination: the sampled windows reduce by hand."""
    g = 0.5
    buffer = ReplayBuffer(rows=8, num_envs=1, window=3)
    state = buffer.init({"r": jnp.zeros(()), "term": jnp.zeros((), bool), "trunc": jnp.zeros((), bool)})
    rewards, terms, truncs = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [0, 0, 0, 1, 0, 0], [0, 1, 0, 0, 0, 0]
    for r, te, tr in zip(rewards, terms, truncs):
        state = buffer.add(state, {"r": jnp.array([r]), "term": jnp.array([bool(te)]), "trunc": jnp.array([bool(tr)])})
    rows = jnp.arange(4)  # rows 0..3 have complete windows
    window = buffer.window_of(state, (state.data["r"], state.data["term"], state.data["trunc"]), rows, jnp.zeros(4, jnp.int32))
    reward, discount, last = jax.vmap(n_step_window, in_axes=(0, 0, 0, None))(*window, g)
    # row 0: r0 + g r1, truncated at 1 -> bootstrap g^2; row 1: truncated at once -> g
    # row 2: r2 + g r3, terminated at 3 -> 0;              row 3: terminated at once -> 0
    np.testing.assert_allclose(reward, [1 + g * 2, 2, 3 + g * 4, 4])
    np.testing.assert_allclose(discount, [g**2, g, 0, 0])
    np.testing.assert_array_equal(last, [1, 0, 1, 0])


def test_target_update_rules():
    params, target = {"w": jnp.array([1.0])}, {"w": jnp.array([0.0])}
    assert float(periodic_soft_update(params, target, True, 1.0)["w"][0]) == 1.0  # hard copy
    assert float(periodic_soft_update(params, target, True, 0.1)["w"][0]) == pytest.approx(0.1)  # Polyak
    assert float(periodic_soft_update(params, target, False, 1.0)["w"][0]) == 0.0
    # counters moving by num_envs: due when a multiple of the period is crossed
    assert [bool(crossed_multiple(b, b + 4, 10)) for b in (0, 4, 8, 12, 16)] == [False, False, True, False, True]


def test_count_bonus_by_hand():
    index = exploration.state_index(jnp.array([0.1, -2.0]), jnp.array([-1.0, -1.0]), jnp.array([1.0, 1.0]), 4)
    assert int(index) == 2 + 4 * 0  # 0.1 in bin 2 of 4 over [-1, 1]; -2 clipped into bin 0
    counts = jnp.array([0, 4, 1])
    np.testing.assert_allclose(exploration.count_bonus(counts, jnp.array([1, 2, 0]), 0.5), [0.25, 0.5, 0.5])


# -- probes ----------------------------------------------------------------------------------------
PROBE_CONFIG = {"num_envs": 4, "buffer_capacity": 2_000, "batch_size": 32, "learning_starts": 200, "hidden": (16,)}
PROBE_HP = {"learning_rate": 3e-3, "epsilon": 1.0, "epsilon_end": 1.0, "target_update_period": 1, "tau": 0.05}


def _q(result, obs_list):
    q = dqn.q_function(result.agent)
    params = result.params(seed=0)
    return np.array([np.asarray(q(params, jnp.asarray(o))) for o in obs_list])


def _train(env, steps, config=None, hparams=None, algo="dqn"):
    return jaxrl.train(algo, env, seeds=1, steps=steps, progress=False, config={**PROBE_CONFIG, **(config or {})},
                       hparams={**PROBE_HP, **(hparams or {})})


@pytest.mark.parametrize(
    "config",
    [{}, {"double": True, "dueling": True, "n_step": 3, "prioritized": True}],
    ids=["dqn", "double-dueling-3step-prioritized"],
)
def test_time_limit_probe_learns_one_over_one_minus_gamma(config):
    """Reward 1 forever, truncated every 5 steps: only bootstrapping through truncation gives 5."""
    result = _train(probes.time_limit(5), 12_000, config, {"gamma": 0.8})
    np.testing.assert_allclose(_q(result, [0])[0], [5.0], rtol=0.05)  # ignoring truncation: about 3.4


def test_value_and_discount_probes():
    by_obs = _train(probes.observation_reward(), 4_000, hparams={"gamma": 0.9})
    np.testing.assert_allclose(_q(by_obs, [0, 1])[:, 0], [1.0, -1.0], atol=0.05)
    discount = _train(probes.discounting(), 6_000, hparams={"gamma": 0.9})
    np.testing.assert_allclose(_q(discount, [0, 1])[:, 0], [0.9, 1.0], atol=0.05)


def test_action_probe_values_and_greedy_policy():
    result = _train(probes.observation_action_reward(), 6_000, {"double": True})
    np.testing.assert_allclose(_q(result, [0, 1]), [[1.0, 0.0], [0.0, 1.0]], atol=0.07)
    assert jaxrl.evaluate(result, episodes=20).mean_return == 1.0


# -- configuration errors --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "env,config,match",
    [
        ("Pendulum-v1", {}, "dqn needs a discrete action space"),
        ("CartPole-v1", {"num_envs": 4, "buffer_capacity": 1_002}, "must be a multiple of num_envs=4"),
        ("CartPole-v1", {"batch_size": 256, "buffer_capacity": 128, "learning_starts": 256}, "does not fit in buffer_capacity"),
        ("CartPole-v1", {"batch_size": 64, "learning_starts": 10}, "learning_starts=10 is too early"),
        ("CartPole-v1", {"loss": "l1"}, "loss='l1'"),
        ("CartPole-v1", {"count_bins": 100}, "needs a table of 100\\^4"),
    ],
)
def test_config_errors(env, config, match):
    with pytest.raises(jaxrl.ConfigError, match=match):
        jaxrl.agents.make("dqn", env, config=config)


@pytest.mark.parametrize(
    "hparams,match",
    [({"learning_rate": -1e-3}, "learning_rate=-0.001 must be > 0"), ({"tau": 0.0}, "tau=0.0 must be in"),
     ({"priority_beta": 2.0}, "priority_beta=2.0 must be in")],
)
def test_hparam_errors(hparams, match):
    with pytest.raises(jaxrl.ConfigError, match=match):
        jaxrl.train("dqn", "CartPole-v1", steps=1_000, hparams=hparams, progress=False, preset=None)


# -- engine integration and smoke learning ---------------------------------------------------------
TINY = {"num_envs": 2, "buffer_capacity": 200, "batch_size": 16, "learning_starts": 32, "hidden": (8,),
        "n_step": 2, "prioritized": True, "double": True, "count_bins": 4}


def test_chunking_never_changes_results():
    runs = [jaxrl.train("dqn", "CartPole-v1", seeds=2, steps=800, log_interval=80, num_chunks=n, config=TINY, preset=None,
                        hparams={"count_bonus": 0.1}, progress=False) for n in (1, 10)]
    states = [(r.final_state.params, r.final_state.target_params, r.final_state.buffer, r.final_state.counts) for r in runs]
    for a, b in zip(jax.tree.leaves(states[0]), jax.tree.leaves(states[1])):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(runs[0].metrics["td_error"], runs[1].metrics["td_error"])
    counts = runs[0].final_state.counts
    assert int(counts[0].sum()) == 800  # every env step counted once


def test_learning_starts_and_target_updates():
    config = {"num_envs": 4, "buffer_capacity": 400, "batch_size": 16, "learning_starts": 400, "hidden": (8,)}
    agent = jaxrl.agents.make("dqn", "CartPole-v1", config=config)
    hparams = agent.hparams({"target_update_period": 300})
    state = agent.init(jax.random.key(0), hparams)
    step = jax.jit(agent.train_step)
    first = state.params
    for _ in range(99):  # 396 env steps: still collecting, uniformly at random
        state, metrics = step(state)
    assert all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(first), jax.tree.leaves(state.params)))
    assert float(metrics["epsilon"]) == 1.0 and float(metrics["td_error"]) == 0.0
    state, metrics = step(state)  # 400: the first update
    assert float(metrics["td_error"]) > 0
    assert int(state.buffer.rows_filled) == 100
    assert any(not np.array_equal(a, b) for a, b in zip(jax.tree.leaves(state.params), jax.tree.leaves(state.target_params)))
    state, _ = step(state)  # 404: no target update due (300 was crossed before learning; next at 600)
    assert not all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(state.params), jax.tree.leaves(state.target_params)))
    for _ in range(49):  # 600: hard copy
        state, _ = step(state)
    assert all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(state.params), jax.tree.leaves(state.target_params)))


def test_dqn_cartpole_smoke():
    config = {**CARTPOLE, "learning_starts": 2_000, "double": True, "dueling": True}
    hparams = {**CARTPOLE_HP, "epsilon_decay_duration": 20_000}
    result = jaxrl.train("dqn", "CartPole-v1", seeds=2, steps=40_000, config=config, hparams=hparams, progress=False,
                         preset=None)
    assert jaxrl.evaluate(result, episodes=5).mean_return > 100  # random policy: about 22


def test_minatar_cnn_dqn_runs():
    config = {"num_envs": 4, "buffer_capacity": 400, "batch_size": 8, "learning_starts": 40, "hidden": (16,), "dueling": True}
    result = jaxrl.train("dqn", "Breakout-MinAtar", seeds=1, steps=160, config=config, progress=False, preset=None)
    paths = [jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_leaves_with_path(result.final_state.params)]
    assert any("PatchConv" in p for p in paths)
    assert np.all(np.isfinite(result.metrics["td_error"]))


def test_mlp_torso_flattens_image_frames():
    """torso="mlp" on MinAtar frames (as rejax's DQN runs them): the first layer sees the whole
    10x10x4 frame, and Q has one value per action for a batch of frames or for one frame."""
    config = {"num_envs": 4, "buffer_capacity": 400, "batch_size": 8, "learning_starts": 40, "hidden": (16,), "torso": "mlp"}
    result = jaxrl.train("dqn", "Breakout-MinAtar", seeds=1, steps=160, config=config, progress=False, preset=None)
    params = jax.tree.map(lambda x: x[0], result.final_state.params)
    torso = [x.shape for p, x in jax.tree_util.tree_leaves_with_path(params) if "MLP_0" in jax.tree_util.keystr(p)
             and "kernel" in jax.tree_util.keystr(p)]
    assert torso == [(10 * 10 * 4, 16)], torso
    q = dqn.q_function(result.agent)
    frames = jnp.zeros((5, 10, 10, 4))
    assert q(params, frames).shape == (5, 3) and q(params, frames[0]).shape == (3,)
    assert np.all(np.isfinite(result.metrics["td_error"]))


def test_tabular_count_bonus_adds_beta_over_sqrt_visits():
    """Tabular agents share the bonus: on the constant-reward probe (one state, reward 1, every
    visit terminal), Q-learning with alpha 1 ends at Q = 1 + beta / sqrt(visits)."""
    result = jaxrl.train("q_learning", probes.constant_reward(), seeds=1, steps=16, progress=False,
                         config={"count_states": True}, hparams={"learning_rate": 1.0, "count_bonus": 0.5})
    assert int(result.final_state.counts[0, 0]) == 16
    assert float(result.params(seed=0)[0, 0]) == pytest.approx(1.0 + 0.5 / 4.0)


# -- learning at the budgets (slow) ----------------------------------------------------------
# rejax's CartPole DQN settings (10 envs, 5 gradient steps per 10 env steps, batch 100, swish 64x64,
# squared error), with the learning rate annealed to 0 and Polyak-averaged targets; see BENCHMARKS.md.
CARTPOLE = {"num_envs": 10, "buffer_capacity": 50_000, "batch_size": 100, "learning_starts": 5_000, "gradient_steps": 5,
            "hidden": (64, 64), "activation": "swish", "loss": "mse", "anneal_lr": True}
CARTPOLE_HP = {"learning_rate": 1e-3, "max_grad_norm": 10.0, "target_update_period": 10, "tau": 0.02,
               "epsilon": 1.0, "epsilon_end": 0.05, "epsilon_decay_duration": 100_000}


# The CartPole runs add prioritised replay, a buffer holding the whole run and 3-step returns
# (experiments/dqn_cartpole.py --variant prioritized-nstep; experiments/dqn_cartpole_search_log.md).
# Measured: 500.0 for all 8 seeds, plain DQN and Double + dueling alike.
CARTPOLE_PRIORITIZED = {**CARTPOLE, "buffer_capacity": 200_000, "prioritized": True, "n_step": 3}


@pytest.mark.slow
@pytest.mark.parametrize("variant", [{"double": False, "dueling": False}, {"double": True, "dueling": True}],
                         ids=["dqn", "double-dueling"])
def test_dqn_cartpole_8_seeds_200k_steps(variant):
    result = jaxrl.train("dqn", "CartPole-v1", seeds=8, steps=200_000, config={**CARTPOLE_PRIORITIZED, **variant}, preset=None,
                         hparams=CARTPOLE_HP, progress=False)
    assert jaxrl.evaluate(result, episodes=10, seed=7).mean_return >= 475


@pytest.mark.slow
def test_dqn_acrobot_8_seeds():
    config = {**CARTPOLE, "buffer_capacity": 10_000, "learning_starts": 1_000, "double": True, "dueling": True}
    hparams = {**CARTPOLE_HP, "epsilon_decay_duration": 50_000}
    result = jaxrl.train("dqn", "Acrobot-v1", seeds=8, steps=100_000, config=config, hparams=hparams, progress=False)
    assert jaxrl.evaluate(result, episodes=10, seed=7).mean_return >= -100


# -- the dueling head and the Double target's selector pass --------------------------------------------
@pytest.mark.parametrize("atoms,noisy", [(0, False), (5, False), (5, True)], ids=["scalar", "distributional", "noisy"])
def test_folded_dueling_head_is_value_plus_centred_advantage(atoms, noisy):
    """The dueling head folds its two streams into one map of the features; its outputs are
    ``V(s) + A(s, a) - mean_a A(s, a)`` computed stream by stream from the same parameters (value
    stream ``Dense_0``/``NoisyDense_0``, advantage ``Dense_1``/``NoisyDense_1``: the names and
    shapes checkpoints hold), atom by atom for a distributional head (a noisy one's mean network)."""
    num_actions, hidden = 3, (8, 8)
    net = networks.QNetwork(num_actions, hidden, "relu", dueling=True, atoms=atoms, noisy=noisy)
    obs = jax.random.normal(jax.random.key(1), (6, 4))
    params = net.init(jax.random.key(0), obs)["params"]
    layer = "NoisyDense" if noisy else "Dense"
    value, advantage = params[f"{layer}_0"], params[f"{layer}_1"]
    width = max(atoms, 1)
    assert value["kernel"].shape == (8, width) and advantage["kernel"].shape == (8, num_actions * width)
    features = networks.MLP(hidden, "relu", noisy=noisy).apply({"params": params["MLP_0"]}, obs)
    v = (features @ value["kernel"] + value["bias"])[:, None, :]
    a = (features @ advantage["kernel"] + advantage["bias"]).reshape(6, num_actions, width)
    expected = v + a - a.mean(axis=1, keepdims=True)
    out = net.apply({"params": params}, obs)
    np.testing.assert_allclose(out, expected if atoms else expected[..., 0], rtol=1e-5, atol=1e-6)


def test_double_selector_pass_adds_nothing_to_the_gradient():
    """Double DQN's loss: the online network picks ``a* = argmax_a Q(s', a)`` and the target network
    values it; its gradient equals that of the loss with ``a*`` fixed in advance (the pass over s'
    is held constant, so it costs a forward pass and no backward one)."""
    config = dqn.DQNConfig(batch_size=16, hidden=(16, 16), double=True, dueling=True)
    env, env_params = jaxrl.make_env("CartPole-v1")
    parts = dqn.build_parts(env, env_params, config)
    keys = jax.random.split(jax.random.key(0), 6)
    params = parts.network.init(keys[0], jnp.zeros((1, 4)))
    target_params = parts.network.init(keys[1], jnp.zeros((1, 4)))
    batch = off_policy.Batch(jax.random.normal(keys[2], (16, 4)), jax.random.randint(keys[3], (16,), 0, 2),
                             jax.random.normal(keys[4], (16,)), jnp.full(16, 0.99).at[3].set(0.0),
                             jax.random.normal(keys[5], (16, 4)))
    weights = jnp.linspace(0.5, 1.0, 16)
    grads = jax.grad(lambda p: dqn.dqn_loss(p, target_params, parts, batch, weights)[0])(params)
    a_star = jnp.argmax(parts.network.apply(params, batch.next_obs), axis=-1)

    def fixed_selector_loss(p):
        q_target = jnp.take_along_axis(parts.network.apply(target_params, batch.next_obs), a_star[:, None], 1)[:, 0]
        q = jnp.take_along_axis(parts.network.apply(p, batch.obs), batch.action[:, None], 1)[:, 0]
        td_error = batch.reward + batch.discount * q_target - q
        return jnp.mean(weights * optax.huber_loss(td_error))

    expected = jax.grad(fixed_selector_loss)(params)
    for got, want in zip(jax.tree.leaves(grads), jax.tree.leaves(expected)):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)
