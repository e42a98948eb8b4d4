"""GIFs of policies: every supported env draws, frames follow the episode, and drawings show the observation."""

import jax
import numpy as np
import pytest
from PIL import Image

import jaxrl
from jaxrl import cli
from jaxrl.io import render


def _params(agent):
    return agent.init(jax.random.key(0), agent.hparams()).params


@pytest.mark.parametrize(
    "env_id",
    ["FrozenLake-v1", "Taxi-v3", "CliffWalking-v0", "CartPole-v1", "Acrobot-v1", "MountainCar-v0",
     "MountainCarContinuous-v0", "Pendulum-v1", "Breakout-MinAtar", "SpaceInvaders-MinAtar"],
)
def test_every_supported_env_draws_its_observations(env_id):
    env, params = jaxrl.make_env(env_id)
    space = env.observation_space(params)
    if "MinAtar" in env_id:  # boolean channels: a space sample is empty, a real frame is not
        a, b = (np.asarray(env.reset(jax.random.key(k), params)[0]) for k in (1, 2))
    else:
        a, b = (np.asarray(space.sample(jax.random.key(k))) for k in (1, 2))
    draw = render.drawer_for(env)
    first, second = np.asarray(draw(a)), np.asarray(draw(b))
    assert first.ndim == 3 and first.shape[-1] == 3 and min(first.shape[:2]) >= 100
    assert len(np.unique(first.reshape(-1, 3), axis=0)) >= 3  # something drawn on the background
    assert not np.array_equal(first, second) or np.array_equal(a, b)  # the drawing follows the observation


@pytest.mark.parametrize("algo,env_id", [("q_learning", "Taxi-v3"), ("ppo", "CartPole-v1")])
def test_a_policy_renders_to_a_gif(tmp_path, algo, env_id):
    agent = jaxrl.agents.make(algo, env_id, config={"num_envs": 1} if algo == "ppo" else None)
    out = tmp_path / "episode.gif"
    episodes = render.render_gif(agent, _params(agent), out, episodes=2, max_steps=12)
    gif = Image.open(out)
    assert gif.n_frames == sum(len(e["observations"]) for e in episodes)  # one frame per observation
    assert all(len(e["observations"]) == len(e["rewards"]) + 1 for e in episodes)
    assert all(e["return"] == pytest.approx(sum(e["rewards"])) for e in episodes)
    frames = []
    for i in range(min(gif.n_frames, 6)):
        gif.seek(i)
        frames.append(np.asarray(gif.convert("RGB")))
    assert len(np.unique(frames[0].reshape(-1, 3), axis=0)) > 3  # something drawn


def _colour_at(image, x, y):
    return tuple(np.asarray(image.convert("RGB"))[int(y), int(x)])


def test_drawings_show_the_observation():
    lake = jaxrl.make_env("FrozenLake-v1")[0]
    draw = render.frozen_lake_drawer(lake)
    cell = render.SIZE // 4
    assert _colour_at(draw(np.int32(6)), 2.5 * cell, 1.5 * cell) == (220, 40, 40)  # agent at row 1, col 2
    assert _colour_at(draw(np.int32(0)), 2.5 * cell, 1.5 * cell) != (220, 40, 40)

    taxi = render.taxi_drawer(None)
    from jaxrl.envs.toy_text import taxi_encode

    cell = render.SIZE // 5
    image = taxi(np.int32(taxi_encode(2, 3, 0, 1)))  # taxi at (2, 3), passenger waiting at R
    assert _colour_at(image, 3.5 * cell, 2.5 * cell) == (250, 210, 30)
    riding = taxi(np.int32(taxi_encode(2, 3, 4, 1)))
    assert _colour_at(riding, 3.5 * cell, 2.5 * cell) == (60, 200, 80)  # green: passenger aboard

    pole = render.cartpole_drawer(None)
    upright, leaning = np.asarray(pole(np.zeros(4))), np.asarray(pole(np.array([0.0, 0.0, 0.4, 0.0])))
    def pole_columns(pixels):
        return np.nonzero(np.all(pixels[:100] == (200, 130, 70), axis=-1))[1]
    assert abs(pole_columns(upright).mean() - render.SIZE) < 6  # centred cart, vertical pole
    assert pole_columns(leaning).mean() > render.SIZE + 15  # theta > 0 leans right

    minatar = render.minatar_drawer(None)
    obs = np.zeros((10, 10, 4), bool)
    obs[3, 7, 2] = True
    cell = render.SIZE // 10
    assert _colour_at(minatar(obs), 7.5 * cell, 3.5 * cell) == tuple(render._PALETTE[2])


def test_cli_render_writes_the_gif_of_a_run(tmp_path, capsys):
    run = tmp_path / "run"
    assert cli.main(["train", "q_learning", "--env", "FrozenLake-v1", "--env-arg", "is_slippery=false", "--seeds", "2",
                     "--steps", "3000", "--set", "learning_rate=0.8", "--set", "gamma=0.95", "--out", str(run), "--quiet",
                     "--eval-episodes", "2"]) == 0
    assert cli.main(["render", str(run), "--episodes", "3", "--seed", "1"]) == 0
    assert "returns 1, 1, 1" in capsys.readouterr().out  # the trained policy reaches the goal every time
    gif = Image.open(run / "episode.gif")
    assert gif.n_frames == 3 * 7  # the shortest path: 6 moves, 7 observations per episode
    assert cli.main(["render", str(run), "--seed", "5"]) == 2
    assert "seed=5, setting=0 is out of range" in capsys.readouterr().err
    assert cli.main(["render", str(tmp_path / "nope")]) == 2
    assert "not a jaxrl run directory" in capsys.readouterr().err


def test_envs_without_a_drawing_fail_clearly(tmp_path):
    from jaxrl.envs import probes

    agent = jaxrl.agents.make("q_learning", probes.constant_reward())
    with pytest.raises(jaxrl.ConfigError, match="no drawing for"):
        render.render_gif(agent, _params(agent), tmp_path / "x.gif")
    assert not (tmp_path / "x.gif").exists()


@pytest.mark.parametrize("env_id,module", [("ALE/Breakout-v5", "ale_py"), ("xminigrid/MiniGrid-FourRooms", "xminigrid")])
def test_atari_and_minigrid_draw_what_the_agent_sees(env_id, module):
    pytest.importorskip(module)
    env, params = jaxrl.make_env(env_id)
    draw = render.drawer_for(env)
    a, b = (np.asarray(env.reset(jax.random.key(k), params)[0]) for k in (1, 2))
    first, second = np.asarray(draw(a)), np.asarray(draw(b))
    assert first.ndim == 3 and first.shape[-1] == 3 and min(first.shape[:2]) >= 100
    assert len(np.unique(first.reshape(-1, 3), axis=0)) >= 3
    assert not np.array_equal(first, second) or np.array_equal(a, b)
    if module == "ale_py":  # the newest frame, scaled 3x: every pixel is the frame's grey
        np.testing.assert_array_equal(first[::3, ::3, 0], a[..., -1])
    else:  # the agent's own cell, bottom centre, holds xminigrid's red triangle
        cell = first.shape[0] // a.shape[0]
        tile = first[(a.shape[0] - 1) * cell:, (a.shape[1] // 2) * cell:(a.shape[1] // 2 + 1) * cell]
        red = (tile[..., 0] > 150) & (tile[..., 1] < 100) & (tile[..., 2] < 100)
        assert red.sum() > 0.1 * red.size


def test_a_minigrid_policy_renders_to_a_gif(tmp_path):
    pytest.importorskip("xminigrid")
    agent = jaxrl.agents.make("ppo", "xminigrid/MiniGrid-Empty-5x5", config={"num_envs": 1})
    episodes = render.render_gif(agent, _params(agent), tmp_path / "episode.gif", episodes=1, max_steps=5)
    assert Image.open(tmp_path / "episode.gif").n_frames == len(episodes[0]["observations"])
