"""Atari (``ALE/NAME-v5``): transitions equal to ALE's own v5 env under Gymnasium's Atari
preprocessing, stepped side by side with the same seeds and actions; v5's frame limit and
``max_episode_steps`` reported as truncations; the training-only options; the Nature CNN; a
learning run end to end."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

pytest.importorskip("ale_py")
gymnasium = pytest.importorskip("gymnasium")

import jaxrl  # noqa: E402
from jaxrl.core.networks import NatureCNN, obs_encoding  # noqa: E402
from bridge_steps import jaxrl_trajectory as _jaxrl_trajectory  # noqa: E402
from jaxrl.envs.wrappers import evaluation_env  # noqa: E402
from jaxrl.errors import ConfigError  # noqa: E402


def _direct(env_id, **ale_kwargs):
    """ALE's v5 env as the suite defines it, preprocessed with Gymnasium's own wrappers (not jaxrl's code)."""
    from gymnasium.wrappers import AtariPreprocessing, FrameStackObservation

    env = gymnasium.make(env_id, frameskip=1, repeat_action_probability=0.25, full_action_space=False, **ale_kwargs)
    return FrameStackObservation(AtariPreprocessing(env, noop_max=30, frame_skip=4, screen_size=84), 4)


def _direct_trajectory(make, reset_seeds, step_seeds, actions):
    """The same trajectories stepped directly: one env per copy, SAME_STEP auto-reset by hand,
    frames moved from [4, 84, 84] to jaxrl's [84, 84, 4]."""
    last = lambda obs: np.moveaxis(np.asarray(obs), 0, -1)  # noqa: E731
    envs = [make() for _ in reset_seeds]
    first = [last(env.reset(seed=int(s))[0]) for env, s in zip(envs, reset_seeds)]
    rows = []
    for t in range(actions.shape[0]):
        row = []
        for i, env in enumerate(envs):
            obs, reward, terminated, truncated, _ = env.step(int(actions[t, i]))
            final = last(obs)
            if terminated or truncated:
                obs, _ = env.reset(seed=int(step_seeds[t, i]))
            row.append((last(obs), reward, terminated, truncated, final))
        rows.append(row)
    return first, rows


@pytest.mark.parametrize("env_id", ["ALE/Breakout-v5", "ALE/MsPacman-v5"])
def test_transitions_equal_ale_side_by_side(env_id):
    """v5's own frame limit made short (150 frames, ~37 agent steps with the no-op start) so that
    episodes end: every observation, reward, termination and truncation equal; the limit is a
    truncation; the step that ends an episode returns the next episode's first observation (the
    direct env's seeded reset) and keeps the last one as the final observation."""
    env, params = jaxrl.make_env(env_id, max_num_frames_per_episode=150)
    space = env.observation_space(params)
    assert space.shape == (84, 84, 4) and space.dtype == jnp.uint8 and params.max_steps_in_episode == 27_000
    num_actions = env.action_space(params).n
    actions = np.random.default_rng(0).integers(0, num_actions, (60, 3))
    first, reset_seeds, (obs, reward, terminated, truncated, final, step_seeds), _ = _jaxrl_trajectory(
        env, params, jax.random.key(3), jnp.asarray(actions, jnp.int32))
    assert obs.dtype == np.uint8 and obs.shape == (60, 3, 84, 84, 4)
    ref_first, rows = _direct_trajectory(lambda: _direct(env_id, max_num_frames_per_episode=150), reset_seeds,
                                         step_seeds, actions)
    np.testing.assert_array_equal(first, np.stack(ref_first))
    for t, row in enumerate(rows):
        for i, (ref_obs, ref_reward, ref_terminated, ref_truncated, ref_final) in enumerate(row):
            np.testing.assert_array_equal(obs[t, i], ref_obs)
            np.testing.assert_array_equal(final[t, i], ref_final)
            assert reward[t, i] == np.float32(ref_reward)
            assert (terminated[t, i], truncated[t, i]) == (ref_terminated, ref_truncated)
    assert truncated.sum() >= 3 and not terminated[truncated].any()  # the frame limit: truncation only
    ended = np.argwhere(truncated)
    assert all((obs[t, i] != final[t, i]).any() for t, i in ended)  # a new episode's frames, not the last ones
    assert len(set(reset_seeds.tolist())) == 3


def test_max_episode_steps_truncates_in_agent_steps():
    env, params = jaxrl.make_env("ALE/Breakout-v5", max_episode_steps=10)
    assert params.max_steps_in_episode == 10
    _, _, (_, _, terminated, truncated, _, _), _ = _jaxrl_trajectory(
        env, params, jax.random.key(0), jnp.zeros((25, 2), jnp.int32))  # NOOP: no life is lost
    assert truncated.tolist() == [[t in (9, 19)] * 2 for t in range(25)] and not terminated.any()


def test_episodic_life_ends_the_training_episode_at_a_lost_life_and_the_game_goes_on():
    """Same seed and actions with and without ``episodic_life``: the same steps until the first lost
    life, which only the option reports as a termination; the game is then not restarted."""
    actions = jnp.asarray(np.random.default_rng(1).integers(0, 4, (60, 1)), jnp.int32)
    plain, params = jaxrl.make_env("ALE/Breakout-v5")
    episodic, _ = jaxrl.make_env("ALE/Breakout-v5", episodic_life=True)
    _, _, (obs, reward, terminated, _, final, _), _ = _jaxrl_trajectory(plain, params, jax.random.key(5), actions)
    _, _, (e_obs, e_reward, e_terminated, e_truncated, e_final, _), e_state = _jaxrl_trajectory(
        episodic, params, jax.random.key(5), actions)
    assert not terminated.any() and e_terminated.any() and not e_truncated.any()
    t0 = int(np.argmax(e_terminated[:, 0]))
    np.testing.assert_array_equal(e_final[: t0 + 1], final[: t0 + 1])
    np.testing.assert_array_equal(e_obs[:t0], obs[:t0])
    np.testing.assert_array_equal(e_reward[: t0 + 1], reward[: t0 + 1])
    host = episodic.host._envs[int(e_state.env_state.slot[0])].unwrapped.ale
    assert host.lives() < 5 and e_terminated.sum() == 5 - host.lives()  # one termination per lost life, one game


def test_clip_rewards_keeps_the_sign():
    actions = jnp.asarray(np.random.default_rng(2).integers(0, 9, (90, 2)), jnp.int32)  # pellets from ~60 steps
    plain, params = jaxrl.make_env("ALE/MsPacman-v5")
    clipped, _ = jaxrl.make_env("ALE/MsPacman-v5", clip_rewards=True)
    _, _, (obs, reward, *_), _ = _jaxrl_trajectory(plain, params, jax.random.key(7), actions)
    _, _, (c_obs, c_reward, *_), _ = _jaxrl_trajectory(clipped, params, jax.random.key(7), actions)
    np.testing.assert_array_equal(c_obs, obs)
    assert reward.max() >= 10  # a pellet
    np.testing.assert_array_equal(c_reward, np.sign(reward))


def test_evaluation_steps_the_env_without_the_training_only_options():
    plain, _ = jaxrl.make_env("ALE/Breakout-v5")
    training, _ = jaxrl.make_env("ALE/Breakout-v5", episodic_life=True, clip_rewards=True, noop_max=5)
    assert evaluation_env(plain) is plain
    scored = evaluation_env(training)
    assert scored.training_only == {"episodic_life": False, "clip_rewards": False}
    assert scored._options["noop_max"] == 5 and evaluation_env(training) is scored


def test_bad_ids_arguments_and_a_missing_extra_are_refused_clearly(monkeypatch, capsys):
    from jaxrl import cli

    with pytest.raises(ConfigError, match=re.escape("Did you mean 'ALE/Breakout-v5'")):
        jaxrl.make_env("ALE/Breakout-v4")
    with pytest.raises(ConfigError, match="unknown Atari env id 'ALE/NoSuchGame-v5'"):
        jaxrl.make_env("ALE/NoSuchGame-v5")
    with pytest.raises(ConfigError, match="episodic_life must be true or false"):
        jaxrl.make_env("ALE/Breakout-v5", episodic_life="yes")
    with pytest.raises(ConfigError, match="bogus"):
        jaxrl.make_env("ALE/Breakout-v5", bogus=1)
    cli._print_suite_ids()
    out = capsys.readouterr().out
    assert "ALE/Breakout-v5" in out and "ALE/MsPacman-v5" in out
    monkeypatch.setitem(sys.modules, "ale_py", None)  # import ale_py raises ImportError
    with pytest.raises(ConfigError, match=re.escape('pip install "jaxrl[atari]"')):
        jaxrl.make_env("ALE/Breakout-v5")
    cli._print_suite_ids()
    assert 'once installed: pip install "jaxrl[atari]"' in capsys.readouterr().out


def test_nature_cnn_is_the_flax_conv_network():
    """The Nature CNN's patch convolutions compute the nn.Conv network of the paper, on the same
    parameters (its names are nn.Conv's, so checkpoints of either load in the other). The nn.Conv
    network is the one ``scripts/bench_nature_cnn.py`` times against it."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
    try:
        from bench_nature_cnn import FlaxNatureCNN
    finally:
        sys.path.pop(0)

    frames = jax.random.randint(jax.random.key(0), (3, 84, 84, 4), 0, 256).astype(jnp.uint8)
    params = NatureCNN().init(jax.random.key(1), frames)
    flax_params = FlaxNatureCNN().init(jax.random.key(1), frames)
    assert jax.tree.map(jnp.shape, flax_params) == jax.tree.map(jnp.shape, params)
    np.testing.assert_allclose(NatureCNN().apply(params, frames), FlaxNatureCNN().apply(params, frames), rtol=1e-5, atol=1e-5)


def test_nature_cnn_shapes_and_parameter_count():
    frames = jnp.zeros((2, 3, 84, 84, 4), jnp.uint8)
    net = NatureCNN()
    params = jax.eval_shape(net.init, jax.random.key(0), frames)  # shapes only: nothing to compute
    assert jax.eval_shape(net.apply, params, frames).shape == (2, 3, 512)
    # conv 8x8x4->32, 4x4x32->64, 3x3x64->64 (84 -> 20 -> 9 -> 7), dense 7*7*64 -> 512, with biases
    expected = (8 * 8 * 4 * 32 + 32) + (4 * 4 * 32 * 64 + 64) + (3 * 3 * 64 * 64 + 64) + (7 * 7 * 64 * 512 + 512)
    assert sum(leaf.size for leaf in jax.tree.leaves(params)) == expected == 1_684_128
    shapes = [leaf.shape for leaf in jax.tree.leaves(params["params"])]
    assert (8, 8, 4, 32) in shapes and (3136, 512) in shapes
    env, params = jaxrl.make_env("ALE/Breakout-v5")
    assert obs_encoding(env.observation_space(params)).torso == "nature_cnn"  # "auto" on Atari frames
    minatar, minatar_params = jaxrl.make_env("Breakout-MinAtar")
    assert obs_encoding(minatar.observation_space(minatar_params)).torso == "cnn"  # 10x10 frames keep MinAtar's


def test_dqn_runs_end_to_end_on_breakout_and_evaluation_scores_the_real_game():
    """A smoke test, not a learning test: DQN with the Nature CNN for a few hundred steps (nothing
    is learned at this budget) trains, logs finite metrics and evaluates, on the training-only
    options; evaluation's episodes are those of the env without them."""
    env_kwargs = {"episodic_life": True, "clip_rewards": True, "max_episode_steps": 40}
    config = {"num_envs": 2, "buffer_capacity": 400, "batch_size": 8, "learning_starts": 64, "train_freq": 4}
    result = jaxrl.train("dqn", "ALE/Breakout-v5", env_kwargs=env_kwargs, seeds=2, steps=160, config=config,
                         log_interval=80, progress=False, seed=0)
    assert result.agent.config.torso == "auto" and np.isfinite(result.metrics["td_error"][:, -1]).all()
    assert np.isfinite(result.metrics["episode_return"][:, -1]).all()
    scored = jaxrl.evaluate(result, episodes=2)
    assert scored.returns.shape == (2, 2) and np.isfinite(scored.returns).all()
    plain, _ = jaxrl.make_env("ALE/Breakout-v5", max_episode_steps=40)
    on_plain = jaxrl.evaluate(result.agent._replace(env=plain), result.final_params, episodes=2)
    np.testing.assert_array_equal(scored.lengths, on_plain.lengths)
    np.testing.assert_array_equal(scored.returns, on_plain.returns)
