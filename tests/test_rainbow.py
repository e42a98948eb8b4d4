"""NoisyNets and Rainbow: the factorised noise's statistics and structure, a noise-free greedy
policy, fresh noise per env step and per update, the time-limit probe, configuration errors,
chunking, and learning."""

import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrl
from jaxrl.agents import c51, dqn, rainbow
from jaxrl.core import networks, value_based
from jaxrl.core.networks import NoisyDense
from jaxrl.envs import probes

E_ABS_NORMAL = math.sqrt(2.0 / math.pi)  # E|eps| = E[f(eps)^2] for eps ~ N(0, 1), f(x) = sgn(x) sqrt(|x|)


# -- the noisy layer ---------------------------------------------------------------------------------
def _noisy_weights(params, key, fan_in):
    """The layer's kernel and bias under the noise of ``key``: rows of y(I) - y(0), and y(0)."""
    layer = NoisyDense(3)
    bias = layer.apply(params, jnp.zeros((1, fan_in)), rngs={"noise": key})[0]
    kernel = layer.apply(params, jnp.eye(fan_in), rngs={"noise": key}) - bias
    return kernel, bias


def test_noisy_dense_initialisation():
    fan_in = 4
    params = NoisyDense(3).init(jax.random.key(0), jnp.zeros((fan_in,)))["params"]
    bound = 1 / math.sqrt(fan_in)
    for name in ("kernel", "bias"):
        assert np.all(np.abs(params[name]) <= bound) and np.std(params[name]) > 0.1 * bound
    np.testing.assert_allclose(params["sigma_kernel"], bound)
    np.testing.assert_allclose(params["sigma_bias"], bound)
    scaled = networks.scale_noise({"params": params}, 0.5)["params"]
    np.testing.assert_allclose(scaled["sigma_kernel"], 0.5 * bound)  # sigma0 / sqrt(fan_in)
    np.testing.assert_array_equal(scaled["kernel"], params["kernel"])


def test_factorised_noise_is_an_outer_product_with_the_stated_statistics():
    """w = mu_w + sigma_w * f(eps_out) f(eps_in)^T and b = mu_b + sigma_b * f(eps_out): the kernel's
    standardised noise is rank one, its columns scaled copies of the bias's, and over many draws
    its entries have mean 0 and variance E[f^2]^2 = (2/pi), the bias's E[f^2] = sqrt(2/pi)."""
    fan_in = 5
    variables = NoisyDense(3).init(jax.random.key(0), jnp.zeros((fan_in,)))
    mu, sigma = variables["params"], variables["params"]
    keys = jax.random.split(jax.random.key(1), 4000)
    kernels, biases = jax.vmap(lambda k: _noisy_weights(variables, k, fan_in))(keys)
    kernel_noise = (kernels - mu["kernel"]) / sigma["sigma_kernel"]  # f(eps_in)_i f(eps_out)_j
    bias_noise = (biases - mu["bias"]) / sigma["sigma_bias"]  # f(eps_out)_j
    ratio = kernel_noise / bias_noise[:, None, :]  # f(eps_in)_i, the same for every j
    np.testing.assert_allclose(ratio, np.broadcast_to(ratio[:, :, :1], ratio.shape), rtol=2e-3, atol=2e-4)
    n = keys.shape[0]
    assert abs(float(kernel_noise.mean())) < 5 * math.sqrt(2 / math.pi / (n * fan_in * 3)) * 3
    assert float(kernel_noise.var()) == pytest.approx(2 / math.pi, rel=0.05)
    assert float(bias_noise.var()) == pytest.approx(E_ABS_NORMAL, rel=0.05)
    assert abs(float(bias_noise.mean())) < 0.05
    # f itself, directly
    f_in, f_out = networks.factorised_noise(jax.random.key(2), 20_000, 3)
    assert float(jnp.mean(f_in**2)) == pytest.approx(E_ABS_NORMAL, rel=0.03)
    assert float(jnp.mean(f_in)) == pytest.approx(0.0, abs=0.03)
    np.testing.assert_allclose(networks.scaled_noise(jnp.array([-4.0, 0.0, 0.25])), [-2.0, 0.0, 0.5])


def test_no_noise_stream_is_the_mean_layer():
    variables = NoisyDense(3).init(jax.random.key(0), jnp.zeros((4,)))
    x = jax.random.normal(jax.random.key(1), (7, 4))
    p = variables["params"]
    np.testing.assert_allclose(NoisyDense(3).apply(variables, x), x @ p["kernel"] + p["bias"], rtol=1e-6)
    noisy = NoisyDense(3).apply(variables, x, rngs={"noise": jax.random.key(2)})
    assert not np.allclose(noisy, x @ p["kernel"] + p["bias"])


# -- the agents' noise ---------------------------------------------------------------------------
NOISY = {"exploration": "noisy", "hidden": (16,), "num_envs": 4, "buffer_capacity": 400, "batch_size": 16,
         "learning_starts": 32}


@pytest.mark.parametrize("algo,extra", [("dqn", {}), ("rainbow", {}), ("qr_dqn", {"dueling": True})])
def test_every_dense_layer_is_noisy_and_sigma0_is_traced(algo, extra):
    agent = jaxrl.agents.make(algo, "CartPole-v1", config={**NOISY, **extra})
    state = jax.vmap(agent.init)(jax.random.split(jax.random.key(0), 2),
                                 jax.tree.map(lambda a, b: jnp.stack([a, b]), agent.hparams({"noisy_sigma0": 0.1}),
                                              agent.hparams({"noisy_sigma0": 0.7})))
    layers = jax.tree_util.tree_leaves_with_path(state.params)
    names = {jax.tree_util.keystr(path[:-1]) for path, _ in layers}
    assert all("NoisyDense" in name for name in names), names
    sigma = state.params["params"]["MLP_0"]["NoisyDense_0"]["sigma_bias"]
    np.testing.assert_allclose(sigma[:, 0], [0.1 / 2, 0.7 / 2], rtol=1e-6)  # fan_in 4


def _parts_and_state(algo, config, sigma0, key=0):
    agent = jaxrl.agents.make(algo, "CartPole-v1", config=config)
    hparams = agent.hparams({"noisy_sigma0": sigma0, **({"v_min": 0.0, "v_max": 20.0} if algo != "dqn" else {})})
    head = c51.head(agent.config) if algo == "rainbow" else dqn.HEAD
    parts = dqn.build_parts(agent.env, agent.env_params, agent.config, head)
    return agent, parts, agent.init(jax.random.key(key), hparams)


@pytest.mark.parametrize("algo", ["dqn", "rainbow"])
def test_greedy_policy_is_the_noise_free_mean_network(algo):
    agent, parts, state = _parts_and_state(algo, NOISY, 2.0)
    obs = jax.random.normal(jax.random.key(1), (32, 4))
    acts = [jax.vmap(agent.act, in_axes=(None, 0, 0))(state.params, obs, jax.random.split(jax.random.key(k), 32))
            for k in range(3)]
    for a in acts[1:]:
        np.testing.assert_array_equal(a, acts[0])  # no noise: the keys only break (absent) ties
    mean_only = networks.scale_noise(state.params, 0.0)  # sigma 0: the mu-only network
    scores = parts.head.greedy_scores(value_based.outputs(parts, mean_only, obs, jax.random.key(5)))
    np.testing.assert_array_equal(acts[0], jnp.argmax(scores, axis=-1))
    np.testing.assert_allclose(value_based.outputs(parts, state.params, obs),
                               value_based.outputs(parts, mean_only, obs, jax.random.key(5)), rtol=1e-5, atol=1e-6)
    noisy = value_based.outputs(parts, state.params, obs, jax.random.key(5))
    assert not np.allclose(noisy, value_based.outputs(parts, state.params, obs), atol=1e-3)


def test_noise_is_resampled_every_env_step_and_epsilon_is_zero():
    """Past learning_starts, the same state stepped with different keys acts differently under
    noise (sigma0 large) and identically without it (sigma0 0): the behaviour is greedy on the
    noisy values, noise drawn afresh per step; the reported epsilon is 0."""
    for sigma0, expect_varied in ((3.0, True), (0.0, False)):
        agent, parts, state = _parts_and_state("dqn", {**NOISY, "num_envs": 64, "buffer_capacity": 640, "learning_starts": 64}, sigma0)
        state = state.replace(steps=jnp.asarray(64, jnp.int32))
        step = jax.jit(partial(dqn.env_step, parts))
        steps = [step(state, jax.random.key(k)) for k in range(4)]
        actions = [np.asarray(s.buffer.data.action[0]) for s, _ in steps]
        assert all(float(m["epsilon"]) == 0.0 for _, m in steps)
        varied = any(not np.array_equal(actions[0], a) for a in actions[1:])
        assert varied == expect_varied, sigma0
    # before learning starts: uniform actions, epsilon 1
    agent, parts, state = _parts_and_state("dqn", NOISY, 0.5)
    assert float(dqn.env_step(parts, state, jax.random.key(0))[1]["epsilon"]) == 1.0


# dqn's case is slow-only: rainbow's covers the same update path (the default suite's time budget)
@pytest.mark.parametrize("algo", [pytest.param("dqn", marks=pytest.mark.slow), "rainbow"])
def test_noise_is_resampled_every_update_independently_for_online_and_target(algo):
    agent, parts, state = _parts_and_state(algo, {**NOISY, "learning_starts": 32}, 1.0)
    step = jax.jit(partial(dqn.env_step, parts))
    for k in range(20):  # fill the buffer past a minibatch
        state, _ = step(state, jax.random.key(100 + k))
    drawn, batch = value_based.sample(parts, state, jax.random.key(0))
    noise = value_based.update_noise(parts.config, jax.random.key(0))
    assert not np.array_equal(jax.random.key_data(noise.online), jax.random.key_data(noise.target))
    loss = jax.jit(lambda n: parts.head.loss(state.params, state.target_params, parts, batch, drawn.weights,
                                             state.hparams, n)[0])
    other = value_based.update_noise(parts.config, jax.random.key(1))
    losses = [float(loss(noise)), float(loss(other)), float(loss(None))]
    assert len(set(losses)) == 3  # another update's noise, and the mean network, give other losses
    # the target network's noise is its own: changing only it changes the loss
    assert float(loss(noise._replace(target=other.target))) != losses[0]
    assert float(loss(noise._replace(online=other.online))) != losses[0]
    # the key the update uses for its noise is the learn step's: two learn calls with two keys differ
    ready = state.replace(steps=jnp.asarray(10_000, jnp.int32))
    learn = jax.jit(partial(dqn.learn, parts))
    a, b = learn(ready, jax.random.key(3))[0].params, learn(ready, jax.random.key(4))[0].params
    assert any(not np.array_equal(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


def test_no_update_noise_without_noisy_exploration():
    config = jaxrl.agents.make("dqn", "CartPole-v1").config
    assert value_based.update_noise(config, jax.random.key(0)) is None
    assert value_based.acting_noise(config, jax.random.key(0)) is None


# -- probes ----------------------------------------------------------------------------------------
PROBE_CONFIG = {"num_envs": 4, "buffer_capacity": 2_000, "batch_size": 32, "learning_starts": 200, "hidden": (16,)}
PROBE_HP = {"learning_rate": 3e-3, "target_update_period": 1, "tau": 0.05, "gamma": 0.8}


@pytest.mark.parametrize("algo,config,hparams", [
    ("rainbow", {}, {"v_min": 0.0, "v_max": 10.0}),
    ("dqn", {"exploration": "noisy"}, {}),
    pytest.param("dqn", {"exploration": "noisy", "double": True, "dueling": True, "n_step": 3, "prioritized": True}, {},
                 marks=pytest.mark.slow),  # rainbow's case runs the same options on C51's head
], ids=["rainbow", "dqn-noisy", "dqn-noisy-double-dueling-3step-prioritized"])
def test_time_limit_probe_learns_one_over_one_minus_gamma(algo, config, hparams):
    """Reward 1 forever, truncated every 5 steps: only bootstrapping through truncation from the
    final observation gives Q = 1 / (1 - 0.8) = 5 (ignoring truncation: about 3.4)."""
    hparams = {**PROBE_HP, **hparams}
    result = jaxrl.train(algo, probes.time_limit(5), seeds=1, steps=12_000, progress=False,
                         config={**PROBE_CONFIG, **config}, hparams=hparams)
    module = rainbow if algo == "rainbow" else None
    q = (module.q_function(result.agent, hparams) if module else dqn.q_function(result.agent))(
        result.params(seed=0), jnp.asarray(0))
    np.testing.assert_allclose(np.asarray(q), [5.0], rtol=0.05)


# -- configuration errors --------------------------------------------------------------------------
@pytest.mark.parametrize("algo,env,config,match", [
    ("rainbow", "Pendulum-v1", {}, "rainbow needs a discrete action space"),
    ("rainbow", "CartPole-v1", {"num_atoms": 1}, "num_atoms=1: rainbow's support needs at least 2 atoms"),
    ("dqn", "CartPole-v1", {"exploration": "noisy", "epsilon_schedule": "exponential"},
     "epsilon_schedule='exponential' has no effect with exploration='noisy'"),
    ("rainbow", "CartPole-v1", {"schedule_unit": "episodes"}, "schedule_unit='episodes' has no effect"),
    ("dqn", "CartPole-v1", {"exploration": "noisey"}, "noisey"),
    ("q_learning", "FrozenLake-v1", {"exploration": "noisy"}, "noisy"),  # a Q-table has no noisy layers
])
def test_config_errors(algo, env, config, match):
    with pytest.raises(jaxrl.ConfigError, match=match):
        jaxrl.agents.make(algo, env, config=config)


@pytest.mark.parametrize("algo,config,hparams,match", [
    ("dqn", {"exploration": "noisy"}, {"temperature": 0.5}, "temperature is Boltzmann exploration's"),
    ("rainbow", {}, {"temperature": 0.5}, "exploration='noisy' acts greedily"),
    ("dqn", {}, {"noisy_sigma0": 0.3}, "noisy_sigma0 sets NoisyNets' noise, but exploration='epsilon_greedy'"),
    ("rainbow", {}, {"noisy_sigma0": -0.1}, "noisy_sigma0=-0.1 must be >= 0"),
    ("rainbow", {}, {"v_min": 1.0, "v_max": 0.0}, "needs v_min < v_max"),
])
def test_hparam_errors_before_compiling(algo, config, hparams, match):
    with pytest.raises(jaxrl.ConfigError, match=match):
        jaxrl.train(algo, "CartPole-v1", steps=1_000, config=config, hparams=hparams, progress=False, preset=None)
    with pytest.raises(jaxrl.ConfigError, match=match):
        jaxrl.agents.make(algo, "CartPole-v1", config=config).hparams(hparams)


def test_registry_declares_rainbow():
    config = jaxrl.agents.spec("rainbow").default_config()
    assert {k: config[k] for k in ("double", "dueling", "n_step", "prioritized", "exploration", "num_atoms")} == {
        "double": True, "dueling": True, "n_step": 3, "prioritized": True, "exploration": "noisy", "num_atoms": 51}
    defaults = rainbow.RainbowHParams.defaults()
    assert (defaults["priority_alpha"], defaults["priority_beta"], defaults["noisy_sigma0"]) == (0.5, 0.4, 0.5)
    assert (defaults["v_min"], defaults["v_max"]) == (-10.0, 10.0)


# -- engine integration ------------------------------------------------------------------------------
TINY = {"num_envs": 2, "buffer_capacity": 200, "batch_size": 16, "learning_starts": 32, "hidden": (8,), "num_atoms": 11}


def test_rainbow_chunking_never_changes_results():
    runs = [jaxrl.train("rainbow", "CartPole-v1", seeds=2, steps=400, log_interval=40, num_chunks=n, config=TINY,
                        preset=None, hparams={"v_min": 0.0, "v_max": 20.0}, progress=False) for n in (1, 4)]
    states = [(r.final_state.params, r.final_state.target_params, r.final_state.opt_state, r.final_state.buffer)
              for r in runs]
    for a, b in zip(jax.tree.leaves(states[0]), jax.tree.leaves(states[1])):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(runs[0].metrics["cross_entropy"], runs[1].metrics["cross_entropy"])
    assert np.all(np.isfinite(runs[0].metrics["cross_entropy"]))
    assert np.all(runs[0].metrics["epsilon"][:, -1] == 0.0)  # greedy on the noisy network


@pytest.mark.slow  # a structural check; the default suite's time budget
def test_noisy_composes_with_the_count_bonus():
    result = jaxrl.train("dqn", "CartPole-v1", seeds=1, steps=400, preset=None, progress=False,
                         config={**{k: v for k, v in TINY.items() if k != "num_atoms"}, "exploration": "noisy",
                                 "count_bins": 4},
                         hparams={"count_bonus": 0.1})
    assert np.all(np.isfinite(result.metrics["td_error"]))
    assert int(result.final_state.counts.sum()) == 400


@pytest.mark.slow  # c51's MinAtar test covers the CNN torso in the default suite; this adds its noisy dense layers
def test_minatar_cnn_rainbow_runs():
    config = {"num_envs": 4, "buffer_capacity": 400, "batch_size": 8, "learning_starts": 40, "hidden": (16,),
              "num_atoms": 11}
    result = jaxrl.train("rainbow", "Breakout-MinAtar", seeds=1, steps=160, config=config, progress=False,
                         hparams={"v_min": 0.0, "v_max": 20.0})
    assert np.all(np.isfinite(result.metrics["cross_entropy"]))
    names = {jax.tree_util.keystr(p[:-1]) for p, _ in jax.tree_util.tree_leaves_with_path(result.final_state.params)}
    assert any("PatchConv" in n for n in names) and any("NoisyDense" in n for n in names)


# -- learning ----------------------------------------------------------------------------------------
# A few thousand CartPole steps: the random policy returns about 22, an untrained greedy network about 9.
SMOKE = {"num_envs": 4, "buffer_capacity": 20_000, "batch_size": 64, "learning_starts": 1_000, "hidden": (64, 64),
         "activation": "swish"}
SMOKE_HP = {"learning_rate": 1e-3, "target_update_period": 4, "tau": 0.05, "v_min": 0.0, "v_max": 100.0}


def test_rainbow_cartpole_smoke():
    result = jaxrl.train("rainbow", "CartPole-v1", seeds=2, steps=8_000, config=SMOKE, progress=False, preset=None,
                         hparams=SMOKE_HP)
    assert jaxrl.evaluate(result, episodes=5).mean_return > 100


# The README's CartPole-v1 figure settings: C51's (DQN's preset: 10 envs, 5 updates per step,
# prioritised replay over the whole run, annealed lr, Polyak targets) with Rainbow's defaults.
CARTPOLE = {"num_envs": 10, "buffer_capacity": 200_000, "batch_size": 100, "learning_starts": 5_000, "gradient_steps": 5,
            "hidden": (64, 64), "activation": "swish", "anneal_lr": True}
CARTPOLE_HP = {"learning_rate": 1e-3, "max_grad_norm": 10.0, "target_update_period": 10, "tau": 0.02,
               "v_min": 0.0, "v_max": 100.0}


@pytest.mark.slow
def test_rainbow_cartpole_8_seeds_200k_steps():
    result = jaxrl.train("rainbow", "CartPole-v1", seeds=8, steps=200_000, config=CARTPOLE, hparams=CARTPOLE_HP,
                         preset=None, progress=False)
    evaluation = jaxrl.evaluate(result, episodes=10, seed=7)
    assert evaluation.mean_return >= 475, evaluation.per_run()["return"]
