"""On-policy agents (REINFORCE, A2C, PPO): hand-computed losses, statistics, probes, smoke learning."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrl
from jaxrl.agents import pg, ppo
from jaxrl.core import actor_critic
from jaxrl.core.distributions import Categorical, DiagGaussian
from jaxrl.core.normalization import RewardNormalizer, RunningStats
from jaxrl.envs import probes


# -- distributions and statistics ------------------------------------------------------------------
def test_categorical_against_numpy():
    logits = jnp.array([[1.0, 2.0, 0.5], [0.0, 0.0, 0.0]])
    p = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    dist = Categorical(logits)
    np.testing.assert_allclose(dist.log_prob(jnp.array([1, 2])), np.log([p[0, 1], p[1, 2]]), rtol=1e-6)
    np.testing.assert_allclose(dist.entropy(), -(p * np.log(p)).sum(-1), rtol=1e-6)
    samples = np.asarray(jax.vmap(lambda k: Categorical(logits[0]).sample(k))(jax.random.split(jax.random.key(0), 20_000)))
    np.testing.assert_allclose(np.bincount(samples, minlength=3) / 20_000, p[0], atol=0.015)


def test_gaussian_against_numpy():
    mean, log_std = jnp.array([0.5, -1.0]), jnp.array([0.1, -0.3])
    dist = DiagGaussian(mean, log_std)
    a = jnp.array([0.2, -0.5])
    std = np.exp(np.asarray(log_std))
    expected = np.sum(-0.5 * ((np.asarray(a) - np.asarray(mean)) / std) ** 2 - np.log(std) - 0.5 * np.log(2 * np.pi))
    assert dist.log_prob(a) == pytest.approx(expected, rel=1e-6)
    assert dist.entropy() == pytest.approx(np.sum(0.5 + 0.5 * np.log(2 * np.pi) + np.log(std)), rel=1e-6)
    samples = jax.vmap(dist.sample)(jax.random.split(jax.random.key(0), 20_000))
    np.testing.assert_allclose(samples.mean(0), mean, atol=0.03)
    np.testing.assert_allclose(samples.std(0), std, atol=0.03)


def test_running_stats_match_numpy():
    rng = np.random.default_rng(0)
    batches = [rng.normal(3.0, 2.0, size=(50, 3)) for _ in range(4)]
    stats = RunningStats.create((3,))
    for b in batches:
        stats = stats.update(jnp.asarray(b))
    data = np.concatenate(batches)
    np.testing.assert_allclose(stats.mean, data.mean(0), rtol=1e-4)
    np.testing.assert_allclose(stats.var, data.var(0), rtol=1e-3)
    np.testing.assert_allclose(stats.normalize(jnp.asarray(data)).mean(0), 0.0, atol=1e-3)


def test_reward_normalizer_tracks_discounted_returns():
    rewards = jnp.ones((6, 2))
    dones = jnp.zeros((6, 2), bool).at[2, 0].set(True)
    norm = RewardNormalizer.create(2).update(rewards, dones, 0.5)
    # env 0: returns 1, 1.5, 1.75 (done: reset), 1, 1.5, 1.75; env 1: 1, 1.5, 1.75, 1.875, ...
    history = np.array([[1, 1.5, 1.75, 1, 1.5, 1.75], [1, 1.5, 1.75, 1.875, 1.9375, 1.96875]]).T
    np.testing.assert_allclose(norm.stats.var, history.var(), rtol=1e-3)
    np.testing.assert_allclose(norm.returns, [1.75, 1.96875])


# -- losses by hand ----------------------------------------------------------------------------------
def _stub_apply(params, obs):
    return Categorical(params["logits"][obs]), params["value"][obs]


def test_ppo_clipped_loss_by_hand():
    params = {"logits": jnp.log(jnp.array([[0.6, 0.4], [0.3, 0.7]])), "value": jnp.array([1.0, 2.0])}
    batch = ppo.Batch(
        obs=jnp.array([0, 1]),
        action=jnp.array([0, 1]),
        log_prob=jnp.log(jnp.array([0.6 / 1.1, 0.9])),  # ratios 1.1 (inside the clip) and 0.7/0.9 = 0.778
        value=jnp.array([0.5, 2.5]),
        advantage=jnp.array([1.0, -2.0]),
        target=jnp.array([1.5, 1.0]),
    )
    hp = ppo.PPOHParams(clip_eps=0.2, vf_coef=0.5, ent_coef=0.01)
    loss, aux = ppo.ppo_loss(params, _stub_apply, batch, hp, normalize_advantages=False, clip_value=True)
    # sample 0: min(1.1 * 1, 1.1 * 1) = 1.1; sample 1: min(0.778 * -2, 0.8 * -2) = -1.6 -> -(1.1 - 1.6) / 2
    assert aux["policy_loss"] == pytest.approx(0.25, rel=1e-5)
    # values: v=1 (old 0.5, clipped to 0.7), target 1.5: max(0.25, 0.64) = 0.64;
    #         v=2 (old 2.5, clipped to 2.3), target 1.0: max(1, 1.69) = 1.69  -> 0.5 * mean = 0.5825
    assert aux["value_loss"] == pytest.approx(0.5825, rel=1e-5)
    entropy = -np.mean([0.6 * np.log(0.6) + 0.4 * np.log(0.4), 0.3 * np.log(0.3) + 0.7 * np.log(0.7)])
    assert aux["entropy"] == pytest.approx(entropy, rel=1e-5)
    assert loss == pytest.approx(0.25 + 0.5 * 0.5825 - 0.01 * entropy, rel=1e-5)
    assert aux["clip_fraction"] == pytest.approx(0.5)
    _, unclipped = ppo.ppo_loss(params, _stub_apply, batch, hp, normalize_advantages=False, clip_value=False)
    assert unclipped["value_loss"] == pytest.approx(0.5 * (0.25 + 1.0) / 2, rel=1e-5)


def test_policy_gradient_loss_by_hand():
    params = {"logits": jnp.log(jnp.array([[0.6, 0.4], [0.3, 0.7]])), "value": jnp.array([1.0, 2.0])}
    hp = pg.A2CHParams(vf_coef=0.5, ent_coef=0.0)
    loss, aux = pg.policy_gradient_loss(
        params, _stub_apply, jnp.array([0, 1, 1]), jnp.array([0, 1, 0]), jnp.array([2.0, -1.0, 5.0]),
        jnp.array([1.0, 1.0, 0.0]), jnp.array([2.0, 1.0, 0.0]), hp,
    )
    # weighted: -(log .6 * 2 + log .7 * -1) / 2 ; the third sample has weight 0
    assert aux["policy_loss"] == pytest.approx(-(np.log(0.6) * 2 - np.log(0.7)) / 2, rel=1e-5)
    assert aux["value_loss"] == pytest.approx(0.5 * ((1 - 2) ** 2 + (2 - 1) ** 2 + (2 - 0) ** 2) / 3, rel=1e-5)


# -- probes ------------------------------------------------------------------------------------------
def _values(result, obs_list):
    agent = result.agent
    parts = actor_critic.build(agent.name, agent.env, agent.env_params, agent.config)
    params = jax.tree.map(lambda x: x[0], result.final_state.params)
    return np.array([float(actor_critic.apply(parts, params, jnp.asarray(o))[1]) for o in obs_list])


FAST = dict(seeds=1, progress=False)
PROBE_CONFIG = {"num_envs": 4, "rollout_len": 8, "hidden": (16,)}


@pytest.mark.parametrize("algo", ["ppo", "a2c", "reinforce"])
def test_time_limit_probe_learns_one_over_one_minus_gamma(algo):
    """Reward 1 forever, truncated every 5 steps: only bootstrapping through truncation gives 1/(1-g)."""
    config = dict(PROBE_CONFIG) | ({"baseline": "value"} if algo == "reinforce" else {})
    result = jaxrl.train(algo, probes.time_limit(5), steps=40_000, config=config,
                         hparams={"gamma": 0.8, "learning_rate": 3e-3}, **FAST)
    np.testing.assert_allclose(_values(result, [0]), [5.0], rtol=0.05)  # 1 / (1 - 0.8); cut episodes give ~3.4


@pytest.mark.parametrize("algo", ["ppo", "a2c"])
def test_value_probes(algo):
    config = dict(PROBE_CONFIG)
    hp = {"gamma": 0.9, "learning_rate": 3e-3}
    constant = jaxrl.train(algo, probes.constant_reward(), steps=10_000, config=config, hparams=hp, **FAST)
    np.testing.assert_allclose(_values(constant, [0]), [1.0], atol=0.05)
    by_obs = jaxrl.train(algo, probes.observation_reward(), steps=20_000, config=config, hparams=hp, **FAST)
    np.testing.assert_allclose(_values(by_obs, [0, 1]), [1.0, -1.0], atol=0.1)
    discount = jaxrl.train(algo, probes.discounting(), steps=20_000, config=config, hparams=hp, **FAST)
    np.testing.assert_allclose(_values(discount, [0, 1]), [0.9, 1.0], atol=0.07)


@pytest.mark.parametrize("algo", ["ppo", "a2c", "reinforce"])
def test_action_probe_policy_picks_the_rewarded_action(algo):
    result = jaxrl.train(algo, probes.observation_action_reward(), steps=20_000, config=PROBE_CONFIG,
                         hparams={"learning_rate": 3e-3}, **FAST)
    policy = result.policy(seed=0)
    assert policy(0) == 0 and policy(1) == 1
    assert jaxrl.evaluate(result, episodes=20).mean_return == 1.0


@pytest.mark.parametrize("algo", ["ppo", "a2c", "reinforce"])
def test_continuous_action_probe(algo):
    """One step, reward -(a - 0.5)^2: the Gaussian mean must move to 0.5.

    32-sample minibatches: PPO's per-minibatch advantage normalisation turns the near-zero
    advantages of a solved 8-sample minibatch into unit-scale noise, and the mean then drifts.
    """
    config = {**PROBE_CONFIG, "num_envs": 8, "rollout_len": 16}
    result = jaxrl.train(algo, probes.ContinuousActionProbe(), steps=40_000, config=config,
                         hparams={"learning_rate": 3e-3}, **FAST)
    action = result.policy(seed=0)(np.zeros(1, np.float32))
    assert action.shape == (1,) and abs(float(action[0]) - 0.5) < 0.1


# -- configuration errors --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "algo,config,match",
    [
        ("ppo", {"num_envs": 3, "rollout_len": 5, "num_minibatches": 4}, "does not divide into num_minibatches=4"),
        ("ppo", {"activation": "sigmoid"}, "activation='sigmoid'"),
        ("ppo", {"hidden": "0,64"}, "positive layer widths"),
        ("a2c", {"advantage": "td"}, "choose 'gae' or 'n_step'"),
        ("reinforce", {"baseline": "mean"}, "choose 'normalize', 'value' or 'none'"),
        ("ppo", {"normalize_obs": True}, "normalize_obs is for continuous observations"),
    ],
)
def test_config_errors(algo, config, match):
    env = "FrozenLake-v1" if "normalize_obs" in config else "CartPole-v1"
    with pytest.raises(jaxrl.ConfigError, match=match):
        jaxrl.agents.make(algo, env, config=config)


# -- smoke learning ----------------------------------------------------------------------------------
def test_ppo_cartpole_smoke():
    result = jaxrl.train("ppo", "CartPole-v1", seeds=2, steps=60_000, progress=False,
                         config={"num_envs": 4, "rollout_len": 128}, hparams={"learning_rate": 1e-3})
    assert jaxrl.evaluate(result, episodes=5).mean_return > 150  # random policy: about 22


def test_a2c_and_reinforce_cartpole_smoke():
    a2c = jaxrl.train("a2c", "CartPole-v1", seeds=2, steps=60_000, progress=False)
    reinforce = jaxrl.train("reinforce", "CartPole-v1", seeds=2, steps=100_000, progress=False)
    assert jaxrl.evaluate(a2c, episodes=5).mean_return > 60
    assert jaxrl.evaluate(reinforce, episodes=5).mean_return > 100


def test_ppo_pendulum_smoke_continuous():
    result = jaxrl.train("ppo", "Pendulum-v1", seeds=2, steps=60_000, progress=False, preset=None,
                         config={"normalize_obs": True, "normalize_reward": True})
    assert np.nanmean(result.metrics["episode_return"][:, -5:]) > np.nanmean(result.metrics["episode_return"][:, :5])


# -- engine integration ------------------------------------------------------------------------------
TINY = {"num_envs": 2, "rollout_len": 8, "hidden": (8,), "num_epochs": 2, "num_minibatches": 2}


def test_ppo_chunking_never_changes_results():
    runs = [jaxrl.train("ppo", "CartPole-v1", seeds=2, steps=1_600, log_interval=160, num_chunks=n,
                        config=TINY, progress=False) for n in (1, 10)]
    for a, b in zip(jax.tree.leaves(runs[0].final_state.params), jax.tree.leaves(runs[1].final_state.params)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(runs[0].metrics["policy_loss"], runs[1].metrics["policy_loss"])


def test_anneal_lr_reaches_zero_at_the_end_of_the_run():
    result = jaxrl.train("ppo", "CartPole-v1", seeds=1, steps=1_600, config={**TINY, "anneal_lr": True},
                         hparams={"learning_rate": 1e-3}, progress=False)
    assert "total_steps" not in result.hparams[0]  # not a user hyperparameter: the engine owns it
    assert float(result.final_state.hparams.total_steps[0]) == 1_600  # filled in from steps
    # the last update ran at 1 - 1584/1600 of the initial rate
    last_lr = float(result.final_state.opt_state.hyperparams["learning_rate"][0])
    assert last_lr == pytest.approx(1e-3 * (1 - 1_584 / 1_600), rel=1e-4)


def test_observation_statistics_come_from_training_data_and_reach_act():
    result = jaxrl.train("ppo", "CartPole-v1", seeds=1, steps=1_600, config={**TINY, "normalize_obs": True}, progress=False)
    stats = result.final_state.params.obs_stats
    assert float(stats.count[0]) == pytest.approx(1_600 + 1e-4)  # every training observation, once
    assert np.all(np.asarray(stats.var[0]) > 0) and np.any(np.abs(np.asarray(stats.mean[0])) > 1e-3)
    # act uses the statistics: zeroing them changes the greedy actions of some observations
    params = result.params(seed=0)
    obs = jax.random.normal(jax.random.key(0), (256, 4))
    act = jax.vmap(result.agent.act, in_axes=(None, 0, None))
    plain = params.replace(obs_stats=RunningStats.create((4,)))
    assert not np.array_equal(act(params, obs, jax.random.key(0)), act(plain, obs, jax.random.key(0)))


def test_reward_scaling_never_leaks_into_reported_returns():
    result = jaxrl.train("a2c", probes.time_limit(5), seeds=1, steps=800, log_interval=80,
                         config={**PROBE_CONFIG, "normalize_reward": True}, progress=False)
    np.testing.assert_array_equal(result.metrics["episode_return"], 5.0)


@pytest.mark.parametrize("size", [3, 5])
def test_patch_conv_equals_flax_conv(size):
    """The MinAtar torso's convolution (patches @ kernel) is nn.Conv's function, same parameters."""
    import flax.linen as nn

    from jaxrl.core.networks import PatchConv

    x = jax.random.uniform(jax.random.key(0), (2, 3, 10, 10, 4))
    conv = nn.Conv(16, (size, size))
    params = conv.init(jax.random.key(1), x)
    patch = PatchConv(16, size)
    assert jax.tree.map(jnp.shape, patch.init(jax.random.key(1), x)) == jax.tree.map(jnp.shape, params)
    np.testing.assert_allclose(patch.apply(params, x), conv.apply(params, x), atol=1e-5)


@pytest.mark.parametrize("size,stride,frame", [(8, 4, 84), (4, 2, 20), (3, 1, 9), (3, 2, 11), (5, 3, 17), (2, 4, 13)])
def test_strided_patch_conv_equals_flax_conv(size, stride, frame):
    """The Nature CNN's convolutions (VALID, strided, from a space-to-depth view) are nn.Conv's
    function with its parameters, also where the stride does not divide the window or the frame."""
    import flax.linen as nn

    from jaxrl.core.networks import PatchConv

    x = jax.random.uniform(jax.random.key(0), (2, 3, frame, frame + 1, 4))
    conv = nn.Conv(8, (size, size), (stride, stride), padding="VALID")
    params = conv.init(jax.random.key(1), x)
    patch = PatchConv(8, size, stride, "VALID")
    assert jax.tree.map(jnp.shape, patch.init(jax.random.key(1), x)) == jax.tree.map(jnp.shape, params)
    np.testing.assert_allclose(patch.apply(params, x), conv.apply(params, x), atol=1e-5)


def test_minatar_cnn_torso_trains_on_breakout():
    """The CNN torso is picked for MinAtar frames; a short PPO run moves the policy (smoke)."""
    config = {"num_envs": 8, "rollout_len": 16, "num_minibatches": 2, "num_epochs": 1, "activation": "relu", "hidden": (32,)}
    result = jaxrl.train("ppo", "Breakout-MinAtar", seeds=2, steps=8 * 16 * 4, config=config, progress=False, preset=None)
    paths = [jax.tree_util.keystr(path) for path, _ in jax.tree_util.tree_leaves_with_path(result.final_state.params.network)]
    assert any("PatchConv" in path for path in paths), paths
    assert np.all(np.isfinite(result.metrics["entropy"]))


def test_mlp_torso_flattens_image_frames():
    """torso="mlp" on MinAtar frames: actor and critic each see the whole 10x10x4 frame."""
    config = {"num_envs": 4, "rollout_len": 8, "num_minibatches": 2, "num_epochs": 1, "hidden": (16,), "torso": "mlp"}
    result = jaxrl.train("ppo", "Breakout-MinAtar", seeds=1, steps=4 * 8 * 2, config=config, progress=False, preset=None)
    leaves = jax.tree_util.tree_leaves_with_path(result.final_state.params.network)
    first = [x.shape[1:] for p, x in leaves if "MLP_" in jax.tree_util.keystr(p) and "Dense_0']['kernel" in jax.tree_util.keystr(p)]
    assert first == [(10 * 10 * 4, 16)] * 2, first
    assert np.all(np.isfinite(result.metrics["entropy"]))
