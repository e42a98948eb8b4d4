"""XLand-MiniGrid's JAX-native grid worlds (``xminigrid/MiniGrid-Empty-8x8``, ...) on the gymnax API.

xminigrid steps a ``TimeStep`` (dm_env style: ``step_type``, ``reward``, ``discount``, the
agent's 7x7x2 egocentric view of tile and colour ids). The adapter keeps that ``TimeStep`` as the
env state and reads the episode's end from the suite's own signals: a last step with discount 0
is a termination (the goal reached, a lava tile), a last step with discount 1 the time limit
(``max_steps``), so truncation bootstraps. gymnax's ``step`` then auto-resets and keeps the final
observation in ``info["final_observation"]``. Observations are the view's ids as float32.

Only the MiniGrid ids work offline: the XLand ones need a benchmark of rule-sets that xminigrid
downloads at run time. Needs the ``xminigrid`` extra (``pip install "jaxrl[xminigrid]"``).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct
from gymnax.environments import environment, spaces

from jaxrl.errors import ConfigError, unknown_name_error

PREFIX = "xminigrid/"
INSTALL = 'pip install "jaxrl[xminigrid]"'
LAST = 2  # xminigrid.types.StepType.LAST


def require_xminigrid() -> Any:
    try:
        import xminigrid
    except ImportError:
        raise ConfigError(f"xminigrid/ envs need XLand-MiniGrid: {INSTALL}") from None
    return xminigrid


def available_ids() -> list[str]:
    """The ``xminigrid/ID`` ids that work offline (MiniGrid's; none when xminigrid is missing)."""
    try:
        import xminigrid
    except ImportError:
        return []
    return [PREFIX + name for name in xminigrid.registered_environments() if name.startswith("MiniGrid-")]


@struct.dataclass
class XMiniGridState(environment.EnvState):
    timestep: Any  # xminigrid's TimeStep: its state, step type, reward, discount and observation


class XMiniGrid(environment.Environment):
    """One xminigrid env, its ``EnvParams`` fixed at construction (``max_episode_steps`` sets its
    ``max_steps``; other keyword arguments go to ``xminigrid.make``)."""

    def __init__(self, name: str, max_episode_steps: int | None = None, **kwargs: Any):
        xminigrid = require_xminigrid()
        if name not in xminigrid.registered_environments():
            raise unknown_name_error("XLand-MiniGrid env", name, xminigrid.registered_environments())
        if not name.startswith("MiniGrid-"):
            raise ConfigError(f"{PREFIX}{name} needs a benchmark of rule-sets that xminigrid downloads at run time; "
                              "jaxrl supports the offline MiniGrid ids (jaxrl envs lists them)")
        self._name = name
        self._env, self._params = xminigrid.make(name, **kwargs)
        if max_episode_steps is not None:
            self._params = self._params.replace(max_steps=int(max_episode_steps))

    @property
    def name(self) -> str:
        return PREFIX + self._name

    @property
    def default_params(self) -> environment.EnvParams:
        return environment.EnvParams(max_steps_in_episode=int(self._params.max_steps))

    @property
    def num_actions(self) -> int:
        return int(self._env.num_actions(self._params))

    def _observation(self, timestep: Any) -> jax.Array:
        return timestep.observation.astype(jnp.float32)

    def reset_env(self, key: jax.Array, params: Any) -> tuple[jax.Array, XMiniGridState]:
        timestep = self._env.reset(self._params, key)
        return self._observation(timestep), XMiniGridState(time=0, timestep=timestep)

    def step_env(self, key: jax.Array, state: XMiniGridState, action: Any, params: Any):
        timestep = self._env.step(self._params, state.timestep, action)
        terminated = jnp.logical_and(timestep.step_type == LAST, timestep.discount == 0)
        next_state = XMiniGridState(time=state.time + 1, timestep=timestep)
        return self._observation(timestep), next_state, timestep.reward, terminated, {}

    def is_truncated(self, state: XMiniGridState, params: Any) -> jax.Array:
        """The time limit, as xminigrid reports it: a last step whose discount stays 1."""
        return jnp.logical_and(state.timestep.step_type == LAST, state.timestep.discount > 0)

    def is_success(self, obs: Any, reward: jax.Array, terminated: jax.Array) -> jax.Array:
        """The goal reached: MiniGrid pays a reward only then (1 - 0.9 x steps / max_steps)."""
        return jnp.logical_and(terminated, reward > 0)

    def action_space(self, params: Any = None) -> spaces.Discrete:
        return spaces.Discrete(self.num_actions)

    def observation_space(self, params: Any = None) -> spaces.Box:
        from xminigrid.core.constants import NUM_COLORS, NUM_TILES

        shape = tuple(self._env.observation_shape(self._params))
        return spaces.Box(0.0, float(max(NUM_TILES, NUM_COLORS)), shape, jnp.float32)


def factory(name: str) -> Any:
    """``make_env``'s constructor for ``xminigrid/NAME``."""
    def make(max_episode_steps: int | None = None, **kwargs: Any) -> XMiniGrid:
        return XMiniGrid(name, max_episode_steps, **kwargs)

    make.takes_any_kwargs = True  # type: ignore[attr-defined]  # xminigrid.make checks them
    return make
