"""The agent protocol every jaxrl agent implements (see DESIGN.md).

An agent is a bundle of pure functions over an explicit state pytree:

* ``init(key, hparams) -> state``: parameters, optimiser state, env states, counters, and the
  traced hyperparameters themselves (``state.hparams``, an instance of the family's
  ``hparams_cls``), so one program can vmap over settings.
* ``train_step(state) -> (state, metrics)``: collect ``steps_per_update`` env steps per env batch
  and learn from them. jit- and vmap-safe. ``metrics`` is a dict of scalars; the keys in
  ``jaxrl.core.rollout.SUMMED_METRICS`` are summed over a logging period, the others averaged.
* ``act(params, obs, key) -> action``: the evaluation policy (greedy / deterministic) for one
  observation; vmap it for a batch.
* Recurrent agents also have ``initial_carry() -> carry`` (one stream's hidden state) and
  ``recurrent_act(params, carry, obs, key) -> (action, carry)``; the caller resets the carry to
  ``initial_carry()`` at every episode start. Feed-forward agents leave both ``None``;
  ``carried_act`` gives every agent the recurrent form, so evaluation has one code path.

Static configuration (shapes, counts, choices of algorithm variant) is fixed by ``make``.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from gymnax.environments import spaces

from jaxrl.errors import ConfigError
from jaxrl.core.hparams import HParams, resolve_hparams, stack_hparams


class Agent(NamedTuple):
    name: str
    env: Any
    env_params: Any
    config: Any
    hparams_cls: type[HParams]  # the family's declared hyperparameters
    init: Callable[[jax.Array, HParams], Any]
    train_step: Callable[[Any], tuple[Any, dict]]
    act: Callable[[Any, Any, jax.Array], jax.Array]
    steps_per_update: int  # env steps per seed that one train_step takes
    initial_carry: Callable[[], Any] | None = None  # recurrent agents: one stream's initial hidden state
    recurrent_act: Callable[[Any, Any, Any, jax.Array], tuple[jax.Array, Any]] | None = None
    # XLA options for the training program on CPU, measured to help this agent (applied where the
    # installed jaxlib knows them: jaxrl.compilation.cpu_compiler_options)
    cpu_compile_options: Mapping[str, str] | None = None

    @property
    def recurrent(self) -> bool:
        return self.recurrent_act is not None

    @property
    def default_hparams(self) -> dict[str, float]:
        """The user-settable hyperparameters' declared defaults."""
        return self.hparams_cls.defaults()

    def hparams(self, given: Mapping[str, float] | None = None, *, total_steps: float = 0.0) -> HParams:
        """One run's hyperparameters for ``init``: the defaults overridden by ``given``, validated,
        as float32 scalars (``total_steps`` 0: schedules over the run stay off)."""
        setting = resolve_hparams(self.hparams_cls, given, self.name, type(self.config), self.config)
        return jax.tree.map(lambda x: x[0], stack_hparams(self.hparams_cls, [setting], total_steps=total_steps))


def carried_act(agent: Agent) -> tuple[Any, Callable[[Any, Any, Any, jax.Array], tuple[jax.Array, Any]]]:
    """(one stream's initial carry, ``act(params, carry, obs, key) -> (action, carry)``) for any
    agent: a feed-forward agent's carry is ``()`` and its act ignores it."""
    if agent.recurrent_act is not None:
        return agent.initial_carry(), agent.recurrent_act
    return (), lambda params, carry, obs, key: (agent.act(params, obs, key), carry)


def reset_carry(initial: Any, carry: Any, done: jax.Array) -> Any:
    """``carry`` with the streams where ``done`` (leading axes of ``carry``) set back to ``initial``
    (one stream's carry, broadcast)."""
    def reset(init: jax.Array, current: jax.Array) -> jax.Array:
        mask = jnp.reshape(done, done.shape + (1,) * (current.ndim - done.ndim))
        return jnp.where(mask, init, current)

    return jax.tree.map(reset, initial, carry)


def is_discrete(space: Any) -> bool:
    return isinstance(space, spaces.Discrete)


def box_bounds(space: spaces.Box) -> tuple[np.ndarray, np.ndarray]:
    """A Box space's ``low`` and ``high`` as float32 arrays of the space's shape (scalar bounds broadcast)."""
    return tuple(np.broadcast_to(np.asarray(bound, np.float32), space.shape) for bound in (space.low, space.high))


def describe_space(space: Any) -> str:
    """A short human-readable description of a gymnax space."""
    if isinstance(space, spaces.Discrete):
        return f"Discrete({space.n})"
    if isinstance(space, spaces.Box):
        low, high = np.asarray(space.low), np.asarray(space.high)
        bounds = f"[{low.min():.3g}, {high.max():.3g}]" if low.size else ""
        return f"Box{tuple(space.shape)} {bounds}".rstrip()
    if isinstance(space, spaces.Dict):
        return "Dict(" + ", ".join(f"{k}: {describe_space(v)}" for k, v in space.spaces.items()) + ")"
    if isinstance(space, spaces.Tuple):
        return "Tuple(" + ", ".join(describe_space(s) for s in space.spaces) + ")"
    return type(space).__name__


def require_discrete_actions(name: str, env: Any, env_params: Any) -> None:
    """A ConfigError unless ``env`` has a Discrete action space (the value-based agents)."""

    action_space = env.action_space(env_params)
    if not isinstance(action_space, spaces.Discrete):
        raise ConfigError(
            f"{name} needs a discrete action space, but {env.name} has actions {describe_space(action_space)}. "
            "Use an agent for continuous actions (sac, td3, ddpg, ppo, a2c), or an env with Discrete actions."
        )
