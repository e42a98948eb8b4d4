"""C51 and QR-DQN: the categorical projection and the quantile Huber loss by hand, the time-limit
probe, configuration errors, engine integration and smoke learning."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrl
from jaxrl.agents import c51, qr_dqn
from jaxrl.core import distributional, value_based
from jaxrl.core.buffers import ReplayBuffer, Sample, tree_leaf_values
from jaxrl.core.off_policy import Transition
from jaxrl.envs import probes


# -- the categorical projection by hand ------------------------------------------------------------
def test_support_spacing_and_expected_value():
    np.testing.assert_allclose(distributional.support(-1.0, 1.0, 5), [-1.0, -0.5, 0.0, 0.5, 1.0])
    logits = jnp.log(jnp.array([[0.2, 0.5, 0.3], [1.0, 0.0, 0.0]]) + 1e-30)
    np.testing.assert_allclose(distributional.expected_value(logits, jnp.array([0.0, 1.0, 2.0])), [1.1, 0.0], atol=1e-6)


def test_categorical_projection_by_hand():
    """3 atoms z = (0, 1, 2), next-state probabilities p = (0.2, 0.5, 0.3)."""
    z, p = jnp.array([0.0, 1.0, 2.0]), jnp.array([0.2, 0.5, 0.3])
    project = distributional.categorical_projection
    # r 0.5, discount 0.5: Tz = (0.5, 1, 1.5); 0.5 splits 0.1/0.1 onto z0/z1, 1.5 splits 0.15/0.15 onto z1/z2
    np.testing.assert_allclose(project(0.5, 0.5, p, z), [0.1, 0.75, 0.15], atol=1e-6)
    # r 1, discount 0.5: Tz = (1, 1.5, 2) -> (0, 0.2 + 0.25, 0.25 + 0.3)
    np.testing.assert_allclose(project(1.0, 0.5, p, z), [0.0, 0.45, 0.55], atol=1e-6)
    # discount 0 (terminated): everything on r = 1.3 -> 0.7 on z1, 0.3 on z2
    np.testing.assert_allclose(project(1.3, 0.0, p, z), [0.0, 0.7, 0.3], atol=1e-6)
    # shifted past the support's ends: clipped onto the end atoms
    np.testing.assert_allclose(project(5.0, 0.9, p, z), [0.0, 0.0, 1.0], atol=1e-6)
    np.testing.assert_allclose(project(-5.0, 0.9, p, z), [1.0, 0.0, 0.0], atol=1e-6)


def test_share_limits_scatter_projection_is_the_categorical_projection():
    """scripts/share_limits.py times C51's projection also as a floor/ceil scatter-add: it must be
    the same map, clipping, atoms landing exactly on the support and terminal steps included."""
    import importlib.util
    from pathlib import Path
    spec = importlib.util.spec_from_file_location("share_limits", Path(__file__).resolve().parents[1] / "scripts" / "share_limits.py")
    share_limits = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(share_limits)
    z = distributional.support(-10.0, 10.0, 21)
    keys = jax.random.split(jax.random.key(0), 3)
    rewards = jnp.concatenate([jax.random.uniform(keys[0], (60,), minval=-15.0, maxval=15.0), jnp.array([0.0, 1.0, -3.0, 25.0])])
    discounts = jnp.concatenate([jnp.where(jax.random.uniform(keys[1], (60,)) < 0.2, 0.0, 0.9), jnp.array([1.0, 1.0, 0.0, 0.5])])
    probs = jax.nn.softmax(jax.random.normal(keys[2], (64, 21)))
    both = [jax.vmap(f, in_axes=(0, 0, 0, None))(rewards, discounts, probs, z)
            for f in (distributional.categorical_projection, share_limits.projection_by_scatter)]
    np.testing.assert_allclose(both[0], both[1], atol=1e-6)
    np.testing.assert_allclose(both[1].sum(-1), 1.0, atol=1e-5)


def test_categorical_targets_of_terminated_and_truncated_transitions():
    """Through the replay buffer (gamma 0.5): a truncated transition bootstraps from its final
    observation's distribution, a terminated one collapses onto its reward."""
    g = 0.5
    buffer = ReplayBuffer(rows=4, num_envs=1, window=1)
    example = Transition(jnp.zeros(()), jnp.zeros((), jnp.int32), jnp.zeros(()), jnp.zeros((), bool),
                         jnp.zeros((), bool), jnp.zeros(()))
    state = buffer.init(example)
    # (reward, terminated, truncated): an ordinary step, a time-limit truncation, a termination
    for i, (r, term, trunc) in enumerate([(0.5, False, False), (0.5, False, True), (0.5, True, False)]):
        one = Transition(jnp.array([float(i)]), jnp.array([0]), jnp.array([r]), jnp.array([term]), jnp.array([trunc]),
                         jnp.array([float(i) + 10.0]))
        state = buffer.add(state, one)
    drawn = Sample(rows=jnp.arange(3), envs=jnp.zeros(3, jnp.int32), weights=jnp.ones(3), probs=jnp.ones(3) / 3)
    batch = value_based.minibatch(buffer, state, drawn, g)
    np.testing.assert_allclose(batch.discount, [g, g, 0.0])  # only termination zeroes the bootstrap
    np.testing.assert_allclose(batch.next_obs, [10.0, 11.0, 12.0])  # the final observations, before any reset
    z, p = jnp.array([0.0, 1.0, 2.0]), jnp.array([0.2, 0.5, 0.3])
    targets = jax.vmap(distributional.categorical_projection, in_axes=(0, 0, None, None))(batch.reward, batch.discount, p, z)
    np.testing.assert_allclose(targets, [[0.1, 0.75, 0.15],  # ordinary: Tz = (0.5, 1, 1.5)
                                         [0.1, 0.75, 0.15],  # truncated: the same bootstrap
                                         [0.5, 0.5, 0.0]],  # terminated: all mass on r = 0.5
                               atol=1e-6)


def test_cross_entropy_by_hand():
    target, logits = jnp.array([0.1, 0.75, 0.15]), jnp.log(jnp.array([0.2, 0.5, 0.3]))
    expected = -(0.1 * np.log(0.2) + 0.75 * np.log(0.5) + 0.15 * np.log(0.3))
    assert float(distributional.categorical_cross_entropy(target, logits)) == pytest.approx(expected, rel=1e-6)


# -- the quantile Huber loss by hand ---------------------------------------------------------------
def test_quantile_midpoints():
    np.testing.assert_allclose(distributional.quantile_midpoints(4), [1 / 8, 3 / 8, 5 / 8, 7 / 8])


def test_quantile_huber_loss_by_hand():
    """theta = (0, 1) at tau = (1/4, 3/4), target samples (0.5, 3): u_ij = target_j - theta_i.
    i=0: u = (0.5, 3), both >= 0 so weight tau = 1/4; Huber(0.5) = 0.125, Huber(3) = 2.5
         -> mean(0.03125, 0.625) = 0.328125
    i=1: u = (-0.5, 2); weights |3/4 - 1| = 1/4 and 3/4; Huber 0.125 and 1.5
         -> mean(0.03125, 1.125) = 0.578125;  total 0.90625."""
    theta, target, tau = jnp.array([0.0, 1.0]), jnp.array([0.5, 3.0]), distributional.quantile_midpoints(2)
    assert float(distributional.quantile_huber_loss(theta, target, tau, 1.0)) == pytest.approx(0.90625, rel=1e-6)
    # kappa 2 (Huber divided by kappa): i=0: (0.125/2, 2*(3-1)/2) x 1/4 -> mean 0.2578125;
    # i=1: (0.125/2 x 1/4, 0.5*4/2 x 3/4) -> mean 0.3828125; total 0.640625
    assert float(distributional.quantile_huber_loss(theta, target, tau, 2.0)) == pytest.approx(0.640625, rel=1e-6)
    # the gradient w.r.t. theta_i inside the quadratic zone: -mean_j |tau_i - 1{u<0}| u_ij
    grad = jax.grad(distributional.quantile_huber_loss)(theta, jnp.array([0.5, 0.2]), tau, 1.0)
    np.testing.assert_allclose(grad, [-(0.25 * 0.5 + 0.25 * 0.2) / 2, -(0.25 * -0.5 + 0.25 * -0.8) / 2], rtol=1e-6)


def test_quantile_regression_finds_the_quantiles():
    """Minimising the loss against samples of a distribution puts theta_i at its tau_i-quantiles."""
    samples = jnp.arange(8.0)  # uniform over 0..7
    tau = distributional.quantile_midpoints(4)  # 1/8, 3/8, 5/8, 7/8 -> between 0|1, 2|3, 4|5, 6|7
    theta = jnp.zeros(4)
    step = jax.jit(jax.grad(lambda t: distributional.quantile_huber_loss(t, samples, tau, 0.01)))
    for _ in range(4000):
        theta = theta - 0.1 * step(theta)
    assert np.all(np.asarray(theta) >= [0, 2, 4, 6]) and np.all(np.asarray(theta) <= [1, 3, 5, 7]), theta


# -- probes ----------------------------------------------------------------------------------------
PROBE_CONFIG = {"num_envs": 4, "buffer_capacity": 2_000, "batch_size": 32, "learning_starts": 200, "hidden": (16,)}
PROBE_HP = {"learning_rate": 3e-3, "epsilon": 1.0, "epsilon_end": 1.0, "target_update_period": 1, "tau": 0.05}
AGENTS = {"c51": (c51, {"v_min": 0.0, "v_max": 10.0}), "qr_dqn": (qr_dqn, {})}


@pytest.mark.parametrize("config", [{}, {"double": True, "dueling": True, "n_step": 3, "prioritized": True}],
                         ids=["plain", "double-dueling-3step-prioritized"])
@pytest.mark.parametrize("algo", list(AGENTS))
def test_time_limit_probe_learns_one_over_one_minus_gamma(algo, config):
    """Reward 1 forever, truncated every 5 steps: only bootstrapping through truncation from the
    final observation's distribution gives Q = 1 / (1 - 0.8) = 5 (ignoring truncation: about 3.4)."""
    module, extra = AGENTS[algo]
    hparams = {**PROBE_HP, **extra, "gamma": 0.8}
    result = jaxrl.train(algo, probes.time_limit(5), seeds=1, steps=12_000, progress=False,
                         config={**PROBE_CONFIG, **config}, hparams=hparams)
    q = module.q_function(result.agent, hparams)(result.params(seed=0), jnp.asarray(0))
    np.testing.assert_allclose(np.asarray(q), [5.0], rtol=0.05)
    if algo == "qr_dqn":  # a deterministic return: every quantile at it
        quantiles = qr_dqn.quantile_function(result.agent)(result.params(seed=0), jnp.asarray(0))
        np.testing.assert_allclose(np.asarray(quantiles)[0], 5.0, rtol=0.05)


def test_c51_greedy_action_is_the_argmax_of_the_expected_value():
    """act needs no support bounds: its scores are an increasing affine map of the mean return."""
    agent = jaxrl.agents.make("c51", "CartPole-v1", config={"hidden": (8,)})
    hparams = agent.hparams({"v_min": -3.0, "v_max": 7.0})
    state = agent.init(jax.random.key(0), hparams)
    obs = jax.random.normal(jax.random.key(1), (64, 4))
    q = c51.q_function(agent, hparams)(state.params, obs)
    actions = jax.vmap(agent.act, in_axes=(None, 0, 0))(state.params, obs, jax.random.split(jax.random.key(2), 64))
    np.testing.assert_array_equal(actions, jnp.argmax(q, axis=-1))


# -- configuration errors --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "algo,env,config,match",
    [
        ("c51", "Pendulum-v1", {}, "c51 needs a discrete action space"),
        ("qr_dqn", "Pendulum-v1", {}, "qr_dqn needs a discrete action space"),
        ("c51", "CartPole-v1", {"num_atoms": 1}, "num_atoms=1: c51's support needs at least 2 atoms"),
        ("qr_dqn", "CartPole-v1", {"num_quantiles": 0}, "num_quantiles=0 must be >= 1"),
        ("c51", "CartPole-v1", {"loss": "huber"}, "loss='huber'"),
        ("qr_dqn", "CartPole-v1", {"loss": "mse"}, "loss='mse'"),
        ("c51", "CartPole-v1", {"num_envs": 4, "buffer_capacity": 1_002}, "must be a multiple of num_envs=4"),
    ],
)
def test_config_errors(algo, env, config, match):
    with pytest.raises(jaxrl.ConfigError, match=match):
        jaxrl.agents.make(algo, env, config=config)


@pytest.mark.parametrize(
    "algo,hparams,match",
    [
        ("c51", {"v_min": 10.0, "v_max": -10.0}, "v_min=10 and v_max=-10: C51's support needs v_min < v_max"),
        ("c51", {"v_min": 5.0, "v_max": 5.0}, "needs v_min < v_max"),
        ("c51", {"v_max": float("nan")}, "v_max=nan is not finite"),
        ("qr_dqn", {"kappa": 0.0}, "kappa=0.0 must be > 0"),
        ("qr_dqn", {"v_min": 0.0}, "Unknown|unknown"),
    ],
)
def test_hparam_errors_before_compiling(algo, hparams, match):
    with pytest.raises(jaxrl.ConfigError, match=match):
        jaxrl.train(algo, "CartPole-v1", steps=1_000, hparams=hparams, progress=False, preset=None)
    with pytest.raises(jaxrl.ConfigError, match=match):
        jaxrl.agents.make(algo, "CartPole-v1").hparams(hparams)


def test_sweep_checks_every_setting_of_the_support():
    with pytest.raises(jaxrl.ConfigError, match="v_min=0 and v_max=-20"):
        jaxrl.sweep("c51", "CartPole-v1", steps=1_000, hparams={"v_min": 0.0}, grid={"v_max": [50.0, -20.0]},
                    seeds=1, progress=False, preset=None)


def test_registry_declares_the_static_and_traced_options():
    assert jaxrl.agents.spec("c51").default_config()["num_atoms"] == 51
    assert jaxrl.agents.spec("qr_dqn").default_config()["num_quantiles"] == 32
    assert {"v_min", "v_max"} <= set(c51.C51HParams.names())
    assert "kappa" in qr_dqn.QRDQNHParams.names()


# -- engine integration and smoke learning ---------------------------------------------------------
TINY = {"num_envs": 2, "buffer_capacity": 200, "batch_size": 16, "learning_starts": 32, "hidden": (8,),
        "n_step": 2, "prioritized": True, "double": True, "dueling": True}


@pytest.mark.parametrize("algo", list(AGENTS))
def test_chunking_never_changes_results_and_priorities_come_from_the_loss(algo):
    hparams = AGENTS[algo][1]
    runs = [jaxrl.train(algo, "CartPole-v1", seeds=2, steps=400, log_interval=40, num_chunks=n, config=TINY, preset=None,
                        hparams=hparams, progress=False) for n in (1, 4)]
    states = [(r.final_state.params, r.final_state.target_params, r.final_state.opt_state, r.final_state.buffer)
              for r in runs]
    for a, b in zip(jax.tree.leaves(states[0]), jax.tree.leaves(states[1])):
        np.testing.assert_array_equal(a, b)
    metric = {"c51": "cross_entropy", "qr_dqn": "quantile_loss"}[algo]
    np.testing.assert_array_equal(runs[0].metrics[metric], runs[1].metrics[metric])
    assert np.all(np.isfinite(runs[0].metrics[metric])) and np.all(runs[0].metrics[metric][:, -1] > 0)
    # prioritised replay: sampled entries got priorities other than the initial maximum
    first_run_tree = jax.tree.map(lambda x: x[0], runs[0].final_state.buffer.tree)
    leaves = np.asarray(tree_leaf_values(first_run_tree))  # the sum tree's leaves: priority ** alpha
    assert len(np.unique(leaves[leaves > 0])) > 10


def test_minatar_cnn_c51_runs():
    config = {"num_envs": 4, "buffer_capacity": 400, "batch_size": 8, "learning_starts": 40, "hidden": (16,),
              "dueling": True, "num_atoms": 11}
    result = jaxrl.train("c51", "Breakout-MinAtar", seeds=1, steps=160, config=config, progress=False,
                         hparams={"v_min": 0.0, "v_max": 20.0})
    assert np.all(np.isfinite(result.metrics["cross_entropy"]))


# A few thousand CartPole steps (each test well under 30 s on a free core): the random policy
# returns about 22, an untrained greedy network about 9; measured 175 (C51) and 159 (QR-DQN).
SMOKE = {"num_envs": 4, "buffer_capacity": 20_000, "batch_size": 64, "learning_starts": 1_000, "hidden": (64, 64),
         "activation": "swish", "double": True}
SMOKE_HP = {"learning_rate": 1e-3, "target_update_period": 4, "tau": 0.05, "epsilon": 1.0, "epsilon_end": 0.05,
            "epsilon_decay_duration": 4_000}


@pytest.mark.parametrize("algo", list(AGENTS))
def test_cartpole_smoke(algo):
    result = jaxrl.train(algo, "CartPole-v1", seeds=2, steps=8_000, config=SMOKE, progress=False, preset=None,
                         hparams={**SMOKE_HP, **{"c51": {"v_min": 0.0, "v_max": 100.0}, "qr_dqn": {}}[algo]})
    assert jaxrl.evaluate(result, episodes=5).mean_return > 100


# -- learning at the budget (slow) ----------------------------------------------------------
# DQN's CartPole preset settings (rejax's CartPole DQN plus Double, dueling, prioritised replay over
# the whole run and 3-step returns; see tests/test_dqn.py and jaxrl/presets/dqn.json); C51's support
# [0, 100] covers CartPole's discounted returns at gamma 0.99 (at most about 99.3).
CARTPOLE = {"num_envs": 10, "buffer_capacity": 200_000, "batch_size": 100, "learning_starts": 5_000, "gradient_steps": 5,
            "hidden": (64, 64), "activation": "swish", "anneal_lr": True, "prioritized": True, "n_step": 3,
            "double": True, "dueling": True}
CARTPOLE_HP = {"learning_rate": 1e-3, "max_grad_norm": 10.0, "target_update_period": 10, "tau": 0.02,
               "epsilon": 1.0, "epsilon_end": 0.05, "epsilon_decay_duration": 100_000}


@pytest.mark.slow
@pytest.mark.parametrize("algo", list(AGENTS))
def test_cartpole_8_seeds_200k_steps(algo):
    result = jaxrl.train(algo, "CartPole-v1", seeds=8, steps=200_000, config=CARTPOLE, preset=None,
                         hparams={**CARTPOLE_HP, **AGENTS[algo][1], **({"v_max": 100.0} if algo == "c51" else {})},
                         progress=False)
    assert jaxrl.evaluate(result, episodes=10, seed=7).mean_return >= 475


def test_qr_dqn_compiles_without_ynn_reduce_fusions_where_the_jaxlib_knows_the_option():
    """QR-DQN's training program asks XLA's CPU backend for YNNPACK's dot fusions only (its reduce
    fusions made the quantile loss 2.4x slower); an option the installed jaxlib does not know is
    left out instead of failing the compile, and other agents keep XLA's defaults."""
    from jaxrl.compilation import _known_cpu_option, cpu_compiler_options

    options = jaxrl.agents.make("qr_dqn", "CartPole-v1").cpu_compile_options
    assert options == qr_dqn.CPU_COMPILE_OPTIONS
    known = all(_known_cpu_option(k, v) for k, v in options.items())
    assert cpu_compiler_options(None, options) == (dict(options) if known else None)
    assert cpu_compiler_options(2, {"xla_cpu_no_such_option": "1"}) == {"xla_backend_optimization_level": 2}
    assert jaxrl.agents.make("c51", "CartPole-v1").cpu_compile_options is None
