"""Jumanji's JAX-native single-agent envs (``jumanji/Snake-v1``, ``jumanji/Maze-v0``, ...) on the gymnax API.

Jumanji steps a dm_env-style ``TimeStep`` (``step_type``, ``reward``, ``discount``, an observation
``NamedTuple``). The adapter keeps Jumanji's own state as the env state and reads the episode's
end from the suite's signals: a last step with discount 0 is a termination, a last step with
discount > 0 a truncation. Jumanji's envs with a time limit (Snake, Maze, PacMan, Tetris,
RubiksCube, SlidingTilePuzzle, Sokoban: a ``time_limit`` constructor argument) report the time-out
as a termination (LAST, discount 0); there the step count decides. The adapter builds the Jumanji
env with ``time_limit`` one step longer than the limit it reports, so that Jumanji's own LAST
within the limit is always a real ending (a real ending on the very last step included), and
reports reaching the limit itself as a truncation, which the agents bootstrap through
(``time_limit`` enters only those envs' ``done`` and their specs' bounds: every observation and
reward is Jumanji's). gymnax's ``step`` then auto-resets and keeps the final observation in
``info["final_observation"]``.

Observations: every array of Jumanji's observation ``NamedTuple``, ravelled and cast to float32,
concatenated into one vector in the ``NamedTuple``'s field order (nested ``NamedTuple``s, e.g.
Maze's ``agent_position.row``/``.col``, in theirs): values as Jumanji gives them, unscaled. The
action mask, where the env has one, is part of that vector; the policy is not masked: an invalid
action does what the env makes of it (Snake, Minesweeper, Knapsack end the episode; Game2048
leaves the board as it is).

Actions: a ``DiscreteArray`` is one Discrete; a ``MultiDiscreteArray`` (Minesweeper's row and
column, Tetris's rotation and column, ...) is flattened to one Discrete of the product size, in
row-major order (the order of the ravelled ``action_mask``). Multi-agent envs, continuous
(``BoundedArray``) actions and products over ``MAX_FLAT_ACTIONS`` (JobShop) are refused.

Needs the ``jumanji`` extra (``pip install "jaxrl[jumanji]"``).
"""

from __future__ import annotations

import inspect
import math
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from gymnax.environments import environment, spaces

from jaxrl.errors import ConfigError, unknown_name_error, whole_number

PREFIX = "jumanji/"
INSTALL = 'pip install "jaxrl[jumanji]"'
LAST = 2  # jumanji.types.StepType.LAST
MAX_FLAT_ACTIONS = 10_000  # the largest product of a MultiDiscreteArray flattened to one Discrete
NO_TIME_LIMIT_EVAL_STEPS = 10_000  # evaluation's step cap for an env without a time limit

# What reaching the goal is, where an env has one: (final_observation, reward, terminated) -> bool.
# With the time-out taken out of Jumanji's own LAST, these envs terminate only on success (Maze
# also when no move is left, which its mazes never allow; it pays reward 1 only on the target).
_SUCCESS: dict[str, Callable[[Any, jax.Array, jax.Array], jax.Array]] = {
    "Maze": lambda obs, reward, terminated: jnp.logical_and(terminated, reward > 0),
    "RubiksCube": lambda obs, reward, terminated: terminated,
    "SlidingTilePuzzle": lambda obs, reward, terminated: terminated,
    "Sokoban": lambda obs, reward, terminated: terminated,
}


def require_jumanji() -> Any:
    try:
        import jumanji
    except ImportError:
        raise ConfigError(f"jumanji/ envs need Jumanji: {INSTALL}") from None
    return jumanji


def available_ids() -> list[str]:
    """The ``jumanji/ID`` ids of every env Jumanji registers (none when it is missing); multi-agent
    and continuous ones among them are refused when made (the README lists which)."""
    try:
        import jumanji
    except ImportError:
        return []
    return sorted(PREFIX + name for name in jumanji.registered_environments())


def _entry_class(name: str) -> tuple[type, dict[str, Any]]:
    """The env class a registered id builds, and the keyword arguments its registration adds."""
    from jumanji import registration

    spec = registration._REGISTRY[name]
    return registration.load(spec.entry_point), dict(spec.kwargs)


def flatten_observation(observation: Any) -> jax.Array:
    """Jumanji's observation ``NamedTuple`` as one float32 vector: each field ravelled, in field order."""
    return jnp.concatenate([jnp.ravel(leaf).astype(jnp.float32) for leaf in jax.tree.leaves(observation)])


@struct.dataclass
class JumanjiState(environment.EnvState):
    env_state: Any  # Jumanji's own state (its key included)
    truncated: jax.Array  # bool: the step that led here reached the time limit (or Jumanji's truncation)


class Jumanji(environment.Environment):
    """One Jumanji env. ``max_episode_steps`` sets its time limit (its own ``time_limit`` where it
    has one, else the adapter's); other keyword arguments go to the env's constructor, or, when
    they name the arguments of its default generator (Maze's ``num_rows``/``num_cols``), build that
    generator with them."""

    def __init__(self, name: str, max_episode_steps: int | None = None, **kwargs: Any):
        jumanji = require_jumanji()
        if name not in jumanji.registered_environments():
            raise unknown_name_error("Jumanji env", name, jumanji.registered_environments())
        self._name = name
        cls, registered = _entry_class(name)
        env_args = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
        if "time_limit" in kwargs:
            limit = whole_number("time_limit", kwargs.pop("time_limit"), minimum=1)
            if max_episode_steps is not None and int(max_episode_steps) != limit:
                raise ConfigError(f"{PREFIX}{name}: time_limit={limit} and max_episode_steps={max_episode_steps} "
                                  "disagree; give one (they are the same limit)")
            max_episode_steps = limit
        generator_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k not in env_args}
        env = cls(**{**registered, **kwargs})
        if generator_kwargs:
            kwargs["generator"] = self._generator(env, env_args, generator_kwargs)
            env = cls(**{**registered, **kwargs})
        if getattr(env, "num_agents", None) is not None:
            raise ConfigError(f"{PREFIX}{name} is a multi-agent env ({env.num_agents} agents); jaxrl supports "
                              "Jumanji's single-agent envs")
        self._action_shape = self._discrete_actions(env)
        self._own_time_limit = "time_limit" in env_args
        if self._own_time_limit:
            self._time_limit = int(max_episode_steps or env.time_limit)
            # One step more than the limit: Jumanji's LAST within the limit is then a real ending.
            env = cls(**{**registered, **kwargs, "time_limit": self._time_limit + 1})
        else:
            self._time_limit = None if max_episode_steps is None else int(max_episode_steps)
        self._env = env
        if type(env).__name__ in _SUCCESS:
            self.is_success = _SUCCESS[type(env).__name__]
        self._obs_size = int(jax.eval_shape(lambda k: flatten_observation(env.reset(k)[1].observation),
                                            jax.random.key(0)).shape[0])

    def _generator(self, env: Any, env_args: list[str], given: dict[str, Any]) -> Any:
        default = getattr(env, "generator", None)
        if default is None or "generator" not in env_args:
            raise unknown_name_error(f"keyword argument of {self.name}", next(iter(given)), env_args + ["max_episode_steps"])
        generator_args = [p for p in inspect.signature(type(default).__init__).parameters if p != "self"]
        for name in given:
            if name not in generator_args:
                raise unknown_name_error(f"keyword argument of {self.name} (or of its {type(default).__name__})",
                                         name, env_args + generator_args + ["max_episode_steps"])
        current = {p: getattr(default, p) for p in generator_args if hasattr(default, p)}
        return type(default)(**{**current, **given})

    def _discrete_actions(self, env: Any) -> tuple[int, ...]:
        """The action's shape of choices: () for a DiscreteArray, ``num_values`` for a MultiDiscreteArray."""
        from jumanji import specs

        spec = env.action_spec
        if isinstance(spec, specs.DiscreteArray):
            return ()
        if isinstance(spec, specs.MultiDiscreteArray):
            shape = tuple(int(n) for n in np.asarray(spec.num_values).ravel())
            if math.prod(shape) > MAX_FLAT_ACTIONS:
                raise ConfigError(f"{self.name}'s action is {len(shape)} choices of {list(shape)}: "
                                  f"{math.prod(shape):,} joint actions, over the {MAX_FLAT_ACTIONS:,} jaxrl "
                                  "flattens into one Discrete")
            return shape
        raise ConfigError(f"{self.name}'s actions are a {type(spec).__name__} ({spec.dtype}, shape {spec.shape}); "
                          "jaxrl supports Jumanji's discrete actions (DiscreteArray, MultiDiscreteArray)")

    @property
    def name(self) -> str:
        return PREFIX + self._name

    @property
    def jumanji_env(self) -> Any:
        """The Jumanji env stepped (its ``time_limit``, where it has one, is the limit plus one)."""
        return self._env

    @property
    def time_limit(self) -> int | None:
        """The episode's time limit in steps (None: the env's episodes end only by themselves)."""
        return self._time_limit

    @property
    def default_params(self) -> environment.EnvParams:
        return environment.EnvParams(max_steps_in_episode=int(self._time_limit or NO_TIME_LIMIT_EVAL_STEPS))

    @property
    def num_actions(self) -> int:
        return int(self._env.action_spec.num_values) if not self._action_shape else math.prod(self._action_shape)

    def jumanji_action(self, action: jax.Array) -> jax.Array:
        """jaxrl's one Discrete action as Jumanji's (a MultiDiscreteArray's choices, row-major)."""
        dtype = self._env.action_spec.dtype
        if not self._action_shape:
            return jnp.asarray(action).astype(dtype)
        return jnp.stack(jnp.unravel_index(jnp.asarray(action), self._action_shape)).astype(dtype)

    def reset_env(self, key: jax.Array, params: Any) -> tuple[jax.Array, JumanjiState]:
        env_state, timestep = self._env.reset(key)
        return flatten_observation(timestep.observation), JumanjiState(time=0, env_state=env_state,
                                                                       truncated=jnp.zeros((), bool))

    def step_env(self, key: jax.Array, state: JumanjiState, action: Any, params: Any):
        env_state, timestep = self._env.step(state.env_state, self.jumanji_action(action))
        time = state.time + 1
        last = timestep.step_type == LAST
        terminated = jnp.logical_and(last, timestep.discount == 0)
        truncated = jnp.logical_and(last, timestep.discount > 0)
        if self._time_limit is not None:
            truncated = jnp.logical_or(truncated, jnp.logical_and(~terminated, time >= self._time_limit))
        next_state = JumanjiState(time=time, env_state=env_state, truncated=truncated)
        return flatten_observation(timestep.observation), next_state, jnp.asarray(timestep.reward, jnp.float32), terminated, {}

    def is_truncated(self, state: JumanjiState, params: Any) -> jax.Array:
        """The time limit reached by the step that led to ``state`` (and no real ending on it)."""
        return state.truncated

    def action_space(self, params: Any = None) -> spaces.Discrete:
        return spaces.Discrete(self.num_actions)

    def observation_space(self, params: Any = None) -> spaces.Box:
        return spaces.Box(-jnp.inf, jnp.inf, (self._obs_size,), jnp.float32)


def factory(name: str) -> Any:
    """``make_env``'s constructor for ``jumanji/NAME``."""
    def make(max_episode_steps: int | None = None, **kwargs: Any) -> Jumanji:
        return Jumanji(name, max_episode_steps, **kwargs)

    make.takes_any_kwargs = True  # type: ignore[attr-defined]  # the env's constructor checks them
    return make
