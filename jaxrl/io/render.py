"""GIFs of a trained policy: episodes rolled out in JAX, each observation drawn with NumPy/PIL.

Drawings work from observations only (no env internals), headless: grid drawings for FrozenLake,
Taxi and CliffWalking, simple 2D drawings for CartPole, Acrobot, MountainCar(Continuous) and
Pendulum, MinAtar's channels as colours (blended where they overlap), what an Atari agent sees,
XLand-MiniGrid's agent view, and Brax's bodies from the side.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from jaxrl.errors import ConfigError
from jaxrl.core.agent import carried_act
from jaxrl.core.rollout import VecEnv
from jaxrl.envs.wrappers import evaluation_env
from jaxrl.io.files import atomic_write_bytes

SIZE = 256  # drawings are about this many pixels across
Drawer = Callable[[np.ndarray], Any]  # observation -> PIL image
EpisodeCallback = Callable[[int, dict], None]  # (episode index, episode) as each episode ends


def _new(width: int, height: int, colour: tuple[int, int, int] = (245, 245, 245)) -> tuple[Any, Any]:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height), colour)
    return image, ImageDraw.Draw(image)


# ----------------------------------------------------------------------------------- grid worlds

def _grid(nrow: int, ncol: int, colours: dict[tuple[int, int], tuple[int, int, int]], cell: int) -> tuple[Any, Any]:
    image, draw = _new(ncol * cell, nrow * cell)
    for r in range(nrow):
        for c in range(ncol):
            fill = colours.get((r, c), (235, 240, 250))
            draw.rectangle([c * cell, r * cell, (c + 1) * cell - 1, (r + 1) * cell - 1], fill=fill, outline=(160, 170, 190))
    return image, draw


def _dot(draw: Any, r: int, c: int, cell: int, fill: tuple[int, int, int], scale: float = 0.3) -> None:
    cx, cy, rad = (c + 0.5) * cell, (r + 0.5) * cell, scale * cell
    draw.ellipse([cx - rad, cy - rad, cx + rad, cy + rad], fill=fill, outline=(40, 40, 40))


def frozen_lake_drawer(env: Any) -> Drawer:
    tiles = {"S": (200, 225, 255), "F": (225, 238, 255), "H": (30, 50, 90), "G": (255, 200, 40)}
    colours = {(r, c): tiles[t] for r, line in enumerate(env.desc) for c, t in enumerate(line)}
    cell = SIZE // max(env.nrow, env.ncol)

    def draw(obs: np.ndarray) -> Any:
        image, canvas = _grid(env.nrow, env.ncol, colours, cell)
        _dot(canvas, int(obs) // env.ncol, int(obs) % env.ncol, cell, (220, 40, 40))
        return image

    return draw


def cliff_walking_drawer(env: Any) -> Drawer:
    from jaxrl.envs.toy_text import CLIFF_GOAL, CLIFF_SHAPE

    nrow, ncol = CLIFF_SHAPE
    colours = {(nrow - 1, c): (60, 60, 60) for c in range(1, ncol - 1)}
    colours[CLIFF_GOAL] = (80, 190, 90)
    cell = 2 * SIZE // ncol

    def draw(obs: np.ndarray) -> Any:
        image, canvas = _grid(nrow, ncol, colours, cell)
        _dot(canvas, int(obs) // ncol, int(obs) % ncol, cell, (220, 40, 40))
        return image

    return draw


def taxi_drawer(env: Any) -> Drawer:
    from jaxrl.envs.toy_text import TAXI_IN_TAXI, TAXI_LOCS, TAXI_MAP, taxi_decode

    cell = SIZE // 5
    loc_colours = [(220, 50, 50), (50, 170, 60), (220, 200, 40), (60, 90, 220)]  # R, G, Y, B
    colours = {loc: tuple(int(0.35 * v + 0.65 * 255) for v in loc_colours[i]) for i, loc in enumerate(TAXI_LOCS)}

    def draw(obs: np.ndarray) -> Any:
        row, col, passenger, destination = (int(v) for v in taxi_decode(int(obs)))
        image, canvas = _grid(5, 5, colours, cell)
        for r in range(5):  # walls: '|' between two cells of the map text
            for c in range(4):
                if TAXI_MAP[1 + r][2 * c + 2] == "|":
                    canvas.line([(c + 1) * cell, r * cell, (c + 1) * cell, (r + 1) * cell], fill=(20, 20, 20), width=5)
        dr, dc = TAXI_LOCS[destination]
        canvas.rectangle([dc * cell + 3, dr * cell + 3, (dc + 1) * cell - 4, (dr + 1) * cell - 4], outline=loc_colours[destination], width=4)
        riding = passenger == TAXI_IN_TAXI
        canvas.rectangle([col * cell + 8, row * cell + 14, (col + 1) * cell - 8, (row + 1) * cell - 14],
                         fill=(60, 200, 80) if riding else (250, 210, 30), outline=(40, 40, 40))
        if not riding:
            pr, pc = TAXI_LOCS[passenger]
            _dot(canvas, pr, pc, cell, (150, 60, 200), scale=0.18)
        return image

    return draw


# ------------------------------------------------------------------------------ classic control

def cartpole_drawer(env: Any) -> Drawer:
    width, height = 2 * SIZE, SIZE

    def draw(obs: np.ndarray) -> Any:
        values = [float(v) for v in obs]
        x, theta = (values[0], values[2]) if len(values) == 4 else values  # StatelessCartPole-v1 shows (x, theta)
        image, canvas = _new(width, height)
        scale = width / 4.8  # the track spans x in [-2.4, 2.4]
        cx, cy = width / 2 + x * scale, height * 0.7
        canvas.line([0, cy + 15, width, cy + 15], fill=(120, 120, 120), width=2)
        canvas.rectangle([cx - 25, cy - 12, cx + 25, cy + 12], fill=(60, 60, 60))
        pole = 0.5 * 2 * scale  # pole length 2 * 0.5
        canvas.line([cx, cy, cx + pole * np.sin(theta), cy - pole * np.cos(theta)], fill=(200, 130, 70), width=8)
        canvas.ellipse([cx - 4, cy - 4, cx + 4, cy + 4], fill=(130, 130, 200))
        return image

    return draw


def acrobot_drawer(env: Any) -> Drawer:
    def draw(obs: np.ndarray) -> Any:
        c1, s1, c2, s2 = (float(v) for v in obs[:4])
        t1, t2 = np.arctan2(s1, c1), np.arctan2(s2, c2)
        image, canvas = _new(SIZE, SIZE)
        link, (px, py) = SIZE * 0.22, (SIZE / 2, SIZE / 2)
        canvas.line([0, py - link, SIZE, py - link], fill=(60, 160, 60), width=2)  # the height to swing above
        x1, y1 = px + link * np.sin(t1), py + link * np.cos(t1)
        x2, y2 = x1 + link * np.sin(t1 + t2), y1 + link * np.cos(t1 + t2)
        canvas.line([px, py, x1, y1], fill=(0, 100, 200), width=8)
        canvas.line([x1, y1, x2, y2], fill=(0, 100, 200), width=8)
        for x, y in ((px, py), (x1, y1)):
            canvas.ellipse([x - 5, y - 5, x + 5, y + 5], fill=(220, 200, 40))
        return image

    return draw


def mountain_car_drawer(env: Any) -> Drawer:
    width, height = 2 * SIZE, SIZE
    xs = np.linspace(-1.2, 0.6, 200)

    def to_pixels(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (x + 1.2) / 1.8 * width, height * 0.85 - (np.sin(3 * x) * 0.45 + 0.55) / 1.1 * height * 0.7

    hill = list(zip(*to_pixels(xs)))

    def draw(obs: np.ndarray) -> Any:
        image, canvas = _new(width, height)
        canvas.line(hill, fill=(90, 90, 90), width=3)
        fx, fy = to_pixels(np.array(0.5))
        canvas.line([fx, fy, fx, fy - 40], fill=(40, 40, 40), width=2)
        canvas.polygon([(fx, fy - 40), (fx + 20, fy - 33), (fx, fy - 26)], fill=(230, 200, 20))
        cx, cy = to_pixels(np.array(float(obs[0])))
        canvas.ellipse([cx - 12, cy - 22, cx + 12, cy + 2], fill=(200, 50, 50))
        return image

    return draw


def pendulum_drawer(env: Any) -> Drawer:
    def draw(obs: np.ndarray) -> Any:
        cos, sin = float(obs[0]), float(obs[1])  # theta = 0 is upright
        image, canvas = _new(SIZE, SIZE)
        c, length = SIZE / 2, SIZE * 0.38
        canvas.line([c, c, c + length * sin, c - length * cos], fill=(200, 80, 80), width=12)
        canvas.ellipse([c - 6, c - 6, c + 6, c + 6], fill=(40, 40, 40))
        return image

    return draw


# ------------------------------------------------------------------------------------- MinAtar

_PALETTE = np.array([(230, 80, 80), (80, 200, 90), (90, 140, 240), (240, 210, 60), (200, 100, 220), (60, 210, 210),
                     (250, 150, 60), (170, 170, 170), (140, 90, 50), (250, 250, 250)], np.uint8)


def minatar_drawer(env: Any) -> Drawer:
    def draw(obs: np.ndarray) -> Any:
        from PIL import Image

        active = np.asarray(obs) > 0  # [rows, cols, channels]
        colours = _PALETTE[np.arange(active.shape[-1]) % len(_PALETTE)].astype(np.float64)
        count = active.sum(-1, keepdims=True)
        pixels = (active @ colours / np.maximum(count, 1)).astype(np.uint8)  # overlapping channels blend
        cell = SIZE // obs.shape[0]
        return Image.fromarray(np.kron(pixels, np.ones((cell, cell, 1), np.uint8)))

    return draw


def atari_drawer(env: Any) -> Drawer:
    """What the agent sees of an Atari game: the newest of its stacked grey 84x84 frames, 3x."""
    def draw(obs: np.ndarray) -> Any:
        from PIL import Image

        frame = np.asarray(obs)[..., -1].astype(np.uint8)
        return Image.fromarray(frame, "L").convert("RGB").resize((frame.shape[1] * 3, frame.shape[0] * 3),
                                                                  Image.NEAREST)

    return draw


def minigrid_drawer(env: Any) -> Drawer:
    """XLand-MiniGrid's agent view (tile and colour ids, [7, 7, 2]) in xminigrid's own tile drawings,
    the agent at the bottom centre facing up, as the view is aligned; unseen cells are blank."""
    def draw(obs: np.ndarray) -> Any:
        from PIL import Image
        from xminigrid.rendering.rgb_render import render
        from xminigrid.types import AgentState

        view = np.asarray(obs).astype(np.int64)
        agent = AgentState(position=np.array([view.shape[0] - 1, view.shape[1] // 2]), direction=np.array(0))
        return Image.fromarray(render(view, agent, view_size=view.shape[0], tile_size=SIZE // view.shape[0]))

    return draw


_BRAX_COLOURS = [(70, 110, 190), (200, 120, 60), (90, 160, 90), (170, 80, 150), (200, 170, 50), (80, 170, 180)]
_PLANE, _SPHERE, _CAPSULE, _ELLIPSOID, _CYLINDER, _BOX = 0, 2, 3, 4, 5, 6  # MuJoCo's geom types


def _brax_geoms(sys: Any, link_pos: np.ndarray, link_rot: np.ndarray) -> list[tuple]:
    """``(type, body, centre, axis, size)`` of every geom in world coordinates, its links placed at
    ``link_pos`` and ``link_rot`` (brax's forward kinematics; the world body, 0, stays put)."""
    from brax import math

    pos = np.concatenate([np.zeros((1, 3)), np.asarray(link_pos, np.float64)])  # body b is link b - 1
    rot = np.concatenate([np.array([[1.0, 0.0, 0.0, 0.0]]), np.asarray(link_rot, np.float64)])
    geoms = []
    for g, (kind, body) in enumerate(zip(np.asarray(sys.geom_type), np.asarray(sys.geom_bodyid))):
        centre = pos[body] + math.rotate_np(np.asarray(sys.geom_pos[g], np.float64), rot[body])
        axis = math.rotate_np(np.array([0.0, 0.0, 1.0]), math.quat_mul_np(rot[body], np.asarray(sys.geom_quat[g], np.float64)))
        geoms.append((int(kind), int(body), centre, axis, np.asarray(sys.geom_size[g], np.float64)))
    return geoms


def brax_drawer(env: Any) -> Drawer:
    """A Brax task seen from the side (x across, z up): each capsule, cylinder, sphere and box of
    its bodies projected flat, at the joint positions its observation holds (forward kinematics
    of the task's model); the floor as a line. Where the task leaves the body's position over the
    ground out of its observation, the body stays centred."""
    from brax import kinematics

    env.joint_positions(np.zeros(env.observation_space().shape))  # a task whose observation lacks them fails here
    sys = env.brax_env.sys
    zeros = jnp.zeros(sys.qd_size())

    @jax.jit
    def links(q: jax.Array) -> tuple[jax.Array, jax.Array]:
        x, _ = kinematics.forward(sys, q, zeros)
        return x.pos, x.rot

    rest = [g for g in _brax_geoms(sys, *links(sys.init_q)) if g[0] != _PLANE]
    ends = np.concatenate([np.stack([c - a * s[1], c + a * s[1]]) for _, _, c, a, s in rest])
    low, high = ends[:, [0, 2]].min(0), ends[:, [0, 2]].max(0)
    span = max(float((high - low).max()), 0.5) * 1.6
    centre = (low + high) / 2
    scale = SIZE / span

    def to_pixels(point: np.ndarray) -> tuple[float, float]:
        return (SIZE / 2 + (point[0] - centre[0]) * scale, SIZE / 2 - (point[2] - centre[1]) * scale)

    def draw_geom(canvas: Any, kind: int, colour: tuple[int, int, int], c: np.ndarray, axis: np.ndarray, size: np.ndarray) -> None:
        if kind == _PLANE:
            y = to_pixels(c)[1]
            canvas.line([(0, y), (SIZE, y)], fill=(90, 90, 90), width=2)
            return
        if kind in (_CAPSULE, _CYLINDER):
            (x0, y0), (x1, y1) = to_pixels(c - axis * size[1]), to_pixels(c + axis * size[1])
            width = max(int(2 * size[0] * scale), 2)
            canvas.line([(x0, y0), (x1, y1)], fill=colour, width=width)
            if kind == _CAPSULE:
                r = width / 2
                for x, y in ((x0, y0), (x1, y1)):
                    canvas.ellipse([x - r, y - r, x + r, y + r], fill=colour)
            return
        x, y = to_pixels(c)
        r = max(float(size[:3].max() if kind in (_ELLIPSOID, _BOX) else size[0]) * scale, 2.0)
        if kind == _BOX:
            canvas.rectangle([x - size[0] * scale, y - size[2] * scale, x + size[0] * scale, y + size[2] * scale], fill=colour)
        else:
            canvas.ellipse([x - r, y - r, x + r, y + r], fill=colour)

    def draw(obs: np.ndarray) -> Any:
        image, canvas = _new(SIZE, SIZE, (235, 240, 248))
        geoms = _brax_geoms(sys, *links(env.joint_positions(obs)))
        for kind, body, c, axis, size in sorted(geoms, key=lambda g: (g[1] != 0, -g[2][1])):  # world, then far (+y) to near
            colour = (150, 150, 150) if body == 0 else _BRAX_COLOURS[body % len(_BRAX_COLOURS)]
            draw_geom(canvas, kind, colour, c, axis, size)
        return image

    return draw


_BY_CLASS: dict[str, Callable[[Any], Drawer]] = {
    "FrozenLake": frozen_lake_drawer,
    "Taxi": taxi_drawer,
    "CliffWalking": cliff_walking_drawer,
    "CartPole": cartpole_drawer,
    "Acrobot": acrobot_drawer,
    "MountainCar": mountain_car_drawer,
    "ContinuousMountainCar": mountain_car_drawer,
    "Pendulum": pendulum_drawer,
    "AtariEnv": atari_drawer,
    "XMiniGrid": minigrid_drawer,
    "BraxEnv": brax_drawer,
}


def drawer_for(env: Any) -> Drawer:
    """The drawing function for ``env``'s observations; a clear error for envs without one."""
    env = getattr(env, "unwrapped", env)
    for cls in type(env).__mro__:
        if cls.__name__ in _BY_CLASS:
            return _BY_CLASS[cls.__name__](env)
    if "minatar" in type(env).__module__.lower():
        return minatar_drawer(env)
    raise ConfigError(f"no drawing for {type(env).__name__}: render supports FrozenLake, Taxi, CliffWalking, CartPole, "
                      "Acrobot, MountainCar, MountainCarContinuous, Pendulum, MinAtar, Atari (ALE/), "
                      "XLand-MiniGrid (xminigrid/) and Brax (brax/) envs")


# ----------------------------------------------------------------------------------- rollouts

def rollout_observations(agent: Any, params: Any, episodes: int, seed: int = 0, max_steps: int | None = None,
                         on_episode: EpisodeCallback | None = None) -> list[dict]:
    """Run ``episodes`` episodes of the deterministic policy; per episode, every observation
    (the last one the action led to, before auto-reset), the rewards and the return.
    ``on_episode(index, episode)`` is called as each episode ends (for progress)."""
    venv = VecEnv(evaluation_env(agent.env), agent.env_params, 1)  # the real game, as evaluation plays it
    max_steps = int(max_steps or agent.env_params.max_steps_in_episode)
    initial_carry, act_one = carried_act(agent)  # a recurrent policy's carry starts fresh each episode
    act = jax.jit(act_one)

    @jax.jit
    def step(env_state: Any, obs: Any, carry: Any, key: jax.Array) -> tuple:
        act_key, env_key = jax.random.split(key)
        action, carry = act(params, carry, obs[0], act_key)
        return venv.step(env_key, env_state, action[None]) + (carry,)

    key = jax.random.key(seed)
    key, reset_key = jax.random.split(key)
    obs, env_state = venv.reset(reset_key)
    out = []
    for _ in range(episodes):
        frames, rewards = [np.asarray(obs[0])], []
        carry = initial_carry
        for _ in range(max_steps):
            key, step_key = jax.random.split(key)
            env_state, result, carry = step(env_state, obs, carry, step_key)
            rewards.append(float(result.reward[0]))
            frames.append(np.asarray(result.final_obs[0]))
            obs = result.obs
            if bool(result.terminated[0] | result.truncated[0]):
                break
        out.append({"observations": frames, "rewards": rewards, "return": float(np.sum(rewards))})
        if on_episode is not None:
            on_episode(len(out) - 1, out[-1])
    return out


def _caption(image: Any, text: str) -> Any:
    from PIL import Image, ImageDraw

    framed = Image.new("RGB", (image.width, image.height + 18), (255, 255, 255))
    framed.paste(image, (0, 18))
    ImageDraw.Draw(framed).text((4, 3), text, fill=(0, 0, 0))
    return framed


def episode_frames(drawer: Drawer, episodes: list[dict]) -> list[Any]:
    """Captioned frames: episode number, step and return so far."""
    frames = []
    for e, episode in enumerate(episodes):
        partial = np.concatenate([[0.0], np.cumsum(episode["rewards"])])
        for t, obs in enumerate(episode["observations"]):
            frames.append(_caption(drawer(obs), f"episode {e + 1}/{len(episodes)}  step {t}  return {partial[t]:.4g}"))
    return frames


def gif_bytes(frames: list[Any], fps: int = 25) -> bytes:
    buffer = io.BytesIO()
    frames = [f.convert("P", palette=1, colors=64) for f in frames]  # adaptive palette: small files
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=max(20, int(1000 / fps)), loop=0)
    return buffer.getvalue()


def render_gif(agent: Any, params: Any, path: str | Path, episodes: int = 3, seed: int = 0, fps: int = 25,
               max_steps: int | None = None, on_episode: EpisodeCallback | None = None) -> list[dict]:
    """Write a GIF of ``episodes`` episodes of one run's policy (``params`` of a single run), each
    cut at ``max_steps`` (default: the env's time limit). Returns the episodes (observations,
    rewards, return); ``on_episode`` as for ``rollout_observations``."""
    if episodes < 1:
        raise ConfigError(f"episodes={episodes} must be >= 1")
    drawer = drawer_for(agent.env)  # fails before any rollout for envs without a drawing
    rolled = rollout_observations(agent, jax.tree.map(jnp.asarray, params), episodes, seed, max_steps, on_episode)
    atomic_write_bytes(path, gif_bytes(episode_frames(drawer, rolled), fps))
    return rolled
