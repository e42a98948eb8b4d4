"""Brax's JAX-native physics tasks (``brax/inverted_pendulum``, ``brax/hopper``, ``brax/ant``, ...) on the gymnax API.

The adapter wraps brax's *raw* env (``brax.envs.get_environment``), not ``brax.envs.create``:
brax's own ``EpisodeWrapper`` and ``AutoResetWrapper`` would add a time limit marked in
``info["truncation"]`` and an auto-reset that replays a cached first state and drops the final
observation. Here the step count lives in the adapter's state; an episode ends in a termination
when brax's ``state.done`` is set (the hopper falls, the pendulum's pole tips past 0.2 rad), and in
a truncation when the count reaches ``max_episode_steps`` (default 1000, brax's own
``episode_length``) without one, so the agents bootstrap through it. gymnax's ``step`` then
resets from a fresh key and keeps the final observation in ``info["final_observation"]``.

Observations are brax's float32 vectors, actions a Box in [-1, 1] (brax scales them to the
actuators' range and clips there), rewards float32. The physics backend defaults to brax's
``spring`` pipeline, which compiles and steps fastest on CPU (``generalized``, brax's own default,
for swimmer, the one task that supports nothing else); ``backend="generalized"``, ``"positional"``
or ``"mjx"`` chooses another. Other keyword arguments go to the task's constructor. Needs the
``brax`` extra (``pip install "jaxrl[brax]"``).
"""

from __future__ import annotations

import contextlib
import functools
import io
import warnings
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from gymnax.environments import environment, spaces

from jaxrl.errors import ConfigError, unknown_name_error

PREFIX = "brax/"
INSTALL = 'pip install "jaxrl[brax]"'
DEFAULT_EPISODE_STEPS = 1000  # brax.envs.create's episode_length
DEFAULT_BACKEND = "spring"  # compiles and steps fastest on CPU (README: Brax)
ONLY_GENERALIZED = ("swimmer",)  # tasks whose constructor refuses every other backend
WITH_FLUID = ("swimmer",)  # tasks whose physics calls brax.fluid.force


def require_brax() -> Any:
    """``brax.envs``, imported without the lines mujoco prints when NVIDIA's warp is absent."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # "Failed to import warp: ..."
            import brax.envs
    except ImportError:
        raise ConfigError(f"brax/ envs need Brax: {INSTALL}") from None
    return brax.envs


def fluid_is_broken() -> bool:
    """Whether brax's fluid forces fail under this JAX: brax 0.14.2's ``brax.fluid.force`` calls
    ``jnp.clip(..., a_min=...)``, a keyword newer JAX releases no longer take."""
    import inspect

    import brax.fluid

    return "a_min=" in inspect.getsource(brax.fluid.force) and "a_min" not in inspect.signature(jnp.clip).parameters


def available_ids() -> list[str]:
    """The ``brax/NAME`` ids that run here (none when brax is missing)."""
    try:
        envs = require_brax()
    except ConfigError:
        return []
    broken = WITH_FLUID if fluid_is_broken() else ()
    return [PREFIX + name for name in sorted(envs._envs) if name not in broken]


# How a task's observation starts: its joint positions ``q`` less this many leading coordinates
# (the body's position over the ground), when ``exclude_current_positions_from_observation`` holds
# (brax's default); the drawing (``joint_positions``) sets those to 0. inverted_double_pendulum
# observes its hinges' sines and cosines; the others here observe ``q`` itself.
LEFT_OUT_OF_OBSERVATION = {"inverted_pendulum": 0, "hopper": 1, "walker2d": 1, "halfcheetah": 1, "ant": 2,
                           "humanoid": 2, "humanoidstandup": 2, "swimmer": 2}
HEIGHT_OBSERVED = ("hopper", "walker2d")  # q[1], the torso's slide, is observed as the torso's height


@struct.dataclass
class BraxEnvState(environment.EnvState):
    brax_state: Any  # brax's State: pipeline state, observation, reward, done, metrics, info


class BraxEnv(environment.Environment):
    """One raw brax task with the adapter's own time limit (``max_episode_steps``, also the
    default ``EnvParams.max_steps_in_episode``); other keyword arguments go to the task."""

    def __init__(self, name: str, max_episode_steps: int = DEFAULT_EPISODE_STEPS, backend: str | None = None, **kwargs: Any):
        envs = require_brax()
        if name not in envs._envs:
            raise unknown_name_error("Brax env", name, sorted(envs._envs))
        if name in WITH_FLUID and fluid_is_broken():
            raise ConfigError(f"{name} cannot step with this JAX: its fluid forces (brax.fluid.force) call "
                              f"jnp.clip(a_min=...), which JAX {jax.__version__} no longer takes; a brax release that "
                              "fixes it, or an older JAX, would run it")
        if backend is None:
            backend = "generalized" if name in ONLY_GENERALIZED else DEFAULT_BACKEND
        self._name = name
        self._max_episode_steps = int(max_episode_steps)
        with warnings.catch_warnings():  # brax.io.mjcf: "Brax System, piplines and environments are not actively being maintained"
            warnings.filterwarnings("ignore", message="Brax System", category=UserWarning)
            self._env = envs.get_environment(name, backend=backend, **kwargs)
        self.backend = backend
        self._observation_shape: tuple[int, ...] | None = None

    @property
    def name(self) -> str:
        return PREFIX + self._name

    @property
    def brax_env(self) -> Any:
        """The raw brax env this adapter steps."""
        return self._env

    @property
    def default_params(self) -> environment.EnvParams:
        return environment.EnvParams(max_steps_in_episode=self._max_episode_steps)

    def joint_positions(self, obs: Any) -> np.ndarray:
        """The joint positions ``q`` behind one observation (for drawings): exact, but for the
        body's position over the ground where the task leaves it out of the observation (then 0)."""
        obs = np.asarray(obs, np.float64)
        q_size = int(self._env.sys.q_size())
        if self._name == "inverted_double_pendulum":
            return np.concatenate([obs[:1], np.arctan2(obs[1:q_size], obs[q_size:2 * q_size - 1])])
        if self._name not in LEFT_OUT_OF_OBSERVATION:
            raise ConfigError(f"no drawing for brax/{self._name}: its observation does not hold its joint positions; "
                              f"brax/ drawings support {', '.join(sorted([*LEFT_OUT_OF_OBSERVATION, 'inverted_double_pendulum']))}")
        left_out = LEFT_OUT_OF_OBSERVATION[self._name]
        if not getattr(self._env, "_exclude_current_positions_from_observation", True):
            left_out = 0
        q = np.concatenate([np.zeros(left_out), obs[:q_size - left_out]])
        if self._name in HEIGHT_OBSERVED:  # the torso's slide moves it straight up from its height at q = 0
            q[1] = obs[1 - left_out] - self._torso_height_at_rest
        return q

    @functools.cached_property
    def _torso_height_at_rest(self) -> float:
        from brax import kinematics

        sys = self._env.sys
        x, _ = kinematics.forward(sys, jnp.zeros(sys.q_size()), jnp.zeros(sys.qd_size()))
        return float(x.pos[0, 2])

    def reset_env(self, key: jax.Array, params: Any) -> tuple[jax.Array, BraxEnvState]:
        brax_state = self._env.reset(key)
        return brax_state.obs.astype(jnp.float32), BraxEnvState(time=0, brax_state=brax_state)

    def step_env(self, key: jax.Array, state: BraxEnvState, action: Any, params: Any):
        brax_state = self._env.step(state.brax_state, action)
        terminated = brax_state.done > 0
        next_state = BraxEnvState(time=state.time + 1, brax_state=brax_state)
        return brax_state.obs.astype(jnp.float32), next_state, jnp.asarray(brax_state.reward, jnp.float32), terminated, {}

    def is_truncated(self, state: BraxEnvState, params: Any) -> jax.Array:
        """The time limit reached on a step that did not terminate (as brax's own ``EpisodeWrapper``
        marks ``truncation``: a termination on the last step stays a termination)."""
        return jnp.logical_and(state.time >= params.max_steps_in_episode, jnp.logical_not(state.brax_state.done > 0))

    def action_space(self, params: Any = None) -> spaces.Box:
        return spaces.Box(-1.0, 1.0, (int(self._env.action_size),), jnp.float32)

    def observation_space(self, params: Any = None) -> spaces.Box:
        if self._observation_shape is None:  # traced, not run: brax's observation_size steps a reset
            self._observation_shape = tuple(jax.eval_shape(self._env.reset, jax.random.key(0)).obs.shape)
        return spaces.Box(-jnp.inf, jnp.inf, self._observation_shape, jnp.float32)


def factory(name: str) -> Any:
    """``make_env``'s constructor for ``brax/NAME``."""
    def make(max_episode_steps: int = DEFAULT_EPISODE_STEPS, backend: str | None = None, **kwargs: Any) -> BraxEnv:
        return BraxEnv(name, max_episode_steps, backend, **kwargs)

    make.takes_any_kwargs = True  # type: ignore[attr-defined]  # the brax task's constructor checks them
    return make
