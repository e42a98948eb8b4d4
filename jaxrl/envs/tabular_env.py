"""Finite MDPs defined by an explicit transition table, as gymnax environments.

Gymnasium's toy-text envs (FrozenLake, Taxi, CliffWalking) are tables ``P[s][a] = [(p, s', r, done)]``.
We build the same table once in NumPy, pad it to ``K`` outcomes per (state, action), and step by
a gather plus one uniform draw, exactly as Gymnasium's ``categorical_sample`` does:
``k = argmax(cumsum(p) > u)``. The table is also what value iteration reads (``transition_table``),
so tests can pin an agent's values to the exact optimum of the very dynamics it trains on.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from gymnax.environments import environment, spaces


class TransitionTable(NamedTuple):
    """Dense transition table of a finite MDP, padded to ``K`` outcomes per (state, action)."""

    probs: np.ndarray  # [S, A, K] float64; padding outcomes have probability 0
    next_state: np.ndarray  # [S, A, K] int32
    reward: np.ndarray  # [S, A, K] float32
    terminated: np.ndarray  # [S, A, K] bool
    initial: np.ndarray  # [S] float64, the reset distribution

    @property
    def num_states(self) -> int:
        return self.probs.shape[0]

    @property
    def num_actions(self) -> int:
        return self.probs.shape[1]


def table_from_outcomes(
    outcomes: dict[int, dict[int, list[tuple[float, int, float, bool]]]],
    initial: np.ndarray,
) -> TransitionTable:
    """Pack a Gymnasium-style ``P[s][a] = [(p, s', r, terminated), ...]`` dict into arrays."""
    num_states = len(outcomes)
    num_actions = len(outcomes[0])
    width = max(len(outcomes[s][a]) for s in range(num_states) for a in range(num_actions))
    shape = (num_states, num_actions, width)
    probs = np.zeros(shape, np.float64)
    next_state = np.zeros(shape, np.int32)
    reward = np.zeros(shape, np.float32)
    terminated = np.zeros(shape, bool)
    for s in range(num_states):
        for a in range(num_actions):
            for k, (p, s_next, r, term) in enumerate(outcomes[s][a]):
                probs[s, a, k] = p
                next_state[s, a, k] = s_next
                reward[s, a, k] = r
                terminated[s, a, k] = term
    initial = np.asarray(initial, np.float64)
    return TransitionTable(probs, next_state, reward, terminated, initial / initial.sum())


def _sampling_thresholds(probs: np.ndarray) -> np.ndarray:
    """Cumulative probabilities, with the last possible outcome's threshold raised above 1.

    ``argmax(thresholds > u)`` then equals Gymnasium's ``argmax(cumsum(p) > u)`` for every
    ``u`` in [0, 1), and can never fall on a padding outcome because of rounding.
    """
    cumulative = np.cumsum(probs, axis=-1)
    last_possible = probs.shape[-1] - 1 - np.argmax(probs[..., ::-1] > 0, axis=-1)
    index = np.arange(probs.shape[-1])
    cumulative = np.where(index >= last_possible[..., None], 2.0, cumulative)
    return cumulative.astype(np.float32)


@struct.dataclass
class TabularEnvState(environment.EnvState):
    """The MDP's current state index and the elapsed steps of the episode."""

    position: jax.Array


@struct.dataclass
class TabularEnvParams(environment.EnvParams):
    """The time limit (Gymnasium's ``max_episode_steps``)."""

    max_steps_in_episode: int = 100


class TabularEnv(environment.Environment[TabularEnvState, TabularEnvParams]):
    """A gymnax environment whose dynamics are a ``TransitionTable``.

    Observations are the state index (int32 scalar), as in Gymnasium's toy-text envs.
    Subclasses set the table in ``__init__`` via ``_set_table`` and may extend ``step_env``.
    """

    default_max_steps: int = 100
    env_name: str = "TabularEnv"

    def __init__(self, table: TransitionTable, max_steps: int | None = None, name: str | None = None):
        self._set_table(table)
        if max_steps is not None:
            self.default_max_steps = int(max_steps)
        if name is not None:
            self.env_name = name

    def _set_table(self, table: TransitionTable) -> None:
        if not np.allclose(table.probs.sum(-1), 1.0):
            raise ValueError("every (state, action) row of the transition table must sum to 1")
        self.table = table
        self._deterministic = table.probs.shape[-1] == 1
        self._thresholds = jnp.asarray(_sampling_thresholds(table.probs))
        self._next_state = jnp.asarray(table.next_state, jnp.int32)
        self._reward = jnp.asarray(table.reward, jnp.float32)
        self._terminated = jnp.asarray(table.terminated)
        start = np.flatnonzero(table.initial > 0)
        self._fixed_start = int(start[0]) if len(start) == 1 else None
        self._initial_thresholds = jnp.asarray(_sampling_thresholds(table.initial[None])[0])

    # -- gymnax API -------------------------------------------------------------------------
    @property
    def default_params(self) -> TabularEnvParams:
        return TabularEnvParams(max_steps_in_episode=self.default_max_steps)

    @property
    def name(self) -> str:
        return self.env_name

    @property
    def num_states(self) -> int:
        return self.table.num_states

    @property
    def num_actions(self) -> int:
        return self.table.num_actions

    def transition_table(self) -> TransitionTable:
        """The exact dynamics, for value iteration and tests."""
        return self.table

    def sample_outcome(self, key: jax.Array, position: jax.Array, action: jax.Array) -> tuple:
        """Draw one outcome of (state, action): next state, reward, terminated."""
        action = jnp.asarray(action, jnp.int32)
        if self._deterministic:
            k = 0
        else:
            u = jax.random.uniform(key)
            k = jnp.argmax(self._thresholds[position, action] > u)
        return (
            self._next_state[position, action, k],
            self._reward[position, action, k],
            self._terminated[position, action, k],
        )

    def step_env(
        self, key: jax.Array, state: TabularEnvState, action: Any, params: TabularEnvParams
    ) -> tuple[jax.Array, TabularEnvState, jax.Array, jax.Array, dict[str, Any]]:
        next_position, reward, terminated = self.sample_outcome(key, state.position, action)
        next_state = state.replace(position=next_position, time=state.time + 1)
        return next_position, next_state, reward, terminated, {}

    def sample_start(self, key: jax.Array) -> jax.Array:
        """Draw a start state from the table's initial distribution."""
        if self._fixed_start is not None:
            return jnp.asarray(self._fixed_start, jnp.int32)
        return jnp.argmax(self._initial_thresholds > jax.random.uniform(key)).astype(jnp.int32)

    def reset_env(self, key: jax.Array, params: TabularEnvParams) -> tuple[jax.Array, TabularEnvState]:
        position = self.sample_start(key)
        return position, TabularEnvState(time=jnp.zeros((), jnp.int32), position=position)

    def is_terminated(self, state: TabularEnvState, params: TabularEnvParams) -> jax.Array:
        raise NotImplementedError("termination is a property of the transition, not the state")

    def action_space(self, params: TabularEnvParams | None = None) -> spaces.Discrete:
        return spaces.Discrete(self.num_actions)

    def observation_space(self, params: TabularEnvParams | None = None) -> spaces.Discrete:
        return spaces.Discrete(self.num_states)

    def state_space(self, params: TabularEnvParams) -> spaces.Dict:
        return spaces.Dict(
            {
                "position": spaces.Discrete(self.num_states),
                "time": spaces.Discrete(params.max_steps_in_episode + 1),
            }
        )
