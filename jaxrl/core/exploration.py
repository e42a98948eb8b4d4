"""Exploration: epsilon schedules, epsilon-greedy and Boltzmann behaviour policies (shared by the
tabular and the value-based agents), count-based bonuses and Ornstein-Uhlenbeck noise. (NoisyNets'
noisy layers are in ``jaxrl.core.networks``; the value-based agents act greedily on them.)

Single-stream functions (one vector of action values); ``vmap`` them over a batch. Greedy choices
break ties uniformly at random, so an untrained all-zero Q-table acts uniformly rather than always
picking action 0.
"""

from __future__ import annotations

from typing import Any, Callable, Literal, get_args

import chex
import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from gymnax.environments import spaces

from jaxrl.errors import ConfigError

from jaxrl.core.agent import box_bounds
from jaxrl.core.hparams import HParams, hparam

EpsilonSchedule = Literal["constant", "linear", "exponential"]
ExplorationKind = Literal["epsilon_greedy", "boltzmann"]  # of a Q-table (tabular agents)
# of a Q-network (the DQN family): also "noisy", NoisyNets' noisy layers act greedily (networks.NoisyDense)
NetworkExplorationKind = Literal["epsilon_greedy", "boltzmann", "noisy"]
ScheduleUnit = Literal["steps", "episodes"]
EPSILON_SCHEDULES = get_args(EpsilonSchedule)
MAX_COUNT_TABLE = 1 << 24
CountTable = tuple[int, Callable[[Any], jax.Array]]  # the table's size, one observation -> its index


@struct.dataclass
class ExplorationHParams(HParams):
    """The behaviour policy's knobs, shared by the tabular and the DQN family."""

    epsilon: float = hparam(0.1, "epsilon-greedy: the schedule's start (the constant of a constant schedule)", low=0, high=1)
    epsilon_end: float = hparam(0.05, "the epsilon schedule's end", low=0, high=1)
    epsilon_decay: float = hparam(0.995, "exponential schedule: factor per count", low=0, high=1, low_open=True)
    epsilon_decay_duration: float = hparam(10_000.0, "linear schedule: counts from epsilon to epsilon_end", low=0, low_open=True)
    temperature: float = hparam(1.0, "Boltzmann exploration: softmax temperature", low=0, low_open=True)
    count_bonus: float = hparam(0.0, "beta of the count-based exploration bonus beta / sqrt(N(s))", low=0)


def epsilon_schedule(
    kind: str, count: jax.Array, start: jax.Array, end: jax.Array, decay: jax.Array, duration: jax.Array
) -> jax.Array:
    """Epsilon after ``count`` steps (or episodes).

    constant: ``start``; linear: from ``start`` to ``end`` over ``duration`` counts, then ``end``;
    exponential: ``max(end, start * decay**count)`` (the tutorials' ``epsilon *= 0.995``).
    """
    count = jnp.asarray(count, jnp.float32)
    if kind == "constant":
        return jnp.asarray(start, jnp.float32)
    if kind == "linear":
        fraction = jnp.clip(count / jnp.maximum(duration, 1.0), 0.0, 1.0)
        return start + fraction * (end - start)
    if kind == "exponential":
        return jnp.maximum(end, start * decay**count)
    raise ValueError(f"unknown epsilon schedule {kind!r}; choose one of {EPSILON_SCHEDULES}")


def schedule_count(unit: str, steps: jax.Array, episodes: jax.Array) -> jax.Array:
    """What the epsilon schedule counts, shaped like ``episodes``: env ``"steps"`` or ``"episodes"``."""
    return episodes if unit == "episodes" else jnp.broadcast_to(steps, jnp.shape(episodes))


def scheduled_epsilon(kind: str, count: jax.Array, hparams: ExplorationHParams) -> jax.Array:
    """``epsilon_schedule`` of ``kind`` with the agent's ``epsilon*`` hyperparameters."""
    return epsilon_schedule(kind, count, hparams.epsilon, hparams.epsilon_end, hparams.epsilon_decay,
                            hparams.epsilon_decay_duration)


def greedy_mask(q_values: jax.Array) -> jax.Array:
    """True at every action whose value equals the maximum (over the last axis)."""
    return q_values == jnp.max(q_values, axis=-1, keepdims=True)


def _greedy_with_draw(q_values: jax.Array, u: jax.Array) -> jax.Array:
    """The ``floor(u * n)``-th of the n greedy actions: uniform among ties for u ~ U[0, 1)."""
    mask = greedy_mask(q_values)
    count = mask.sum(-1)
    k = jnp.minimum((u * count).astype(jnp.int32), count - 1)
    chosen = jnp.logical_and(mask, jnp.cumsum(mask, axis=-1) == k[..., None] + 1)
    return jnp.argmax(chosen, axis=-1).astype(jnp.int32)


def greedy(key: jax.Array, q_values: jax.Array) -> jax.Array:
    """argmax over the last axis with ties broken uniformly at random. ``q_values``: [..., A]."""
    chex.assert_rank(q_values, {1, 2, 3})
    return _greedy_with_draw(q_values, jax.random.uniform(key, q_values.shape[:-1]))


def epsilon_greedy(key: jax.Array, q_values: jax.Array, epsilon: jax.Array) -> jax.Array:
    """With probability epsilon a uniformly random action, else a greedy one (random ties).

    ``q_values``: [..., A]; ``epsilon`` broadcasts to ``q_values.shape[:-1]``. Two uniforms per
    decision: the coin, and one draw that picks the random action or, on the greedy branch, the
    tie-break (the branches are exclusive, so sharing it keeps both exact). Few RNG calls is speed.
    """
    chex.assert_rank(q_values, {1, 2, 3})
    num_actions = q_values.shape[-1]
    u = jax.random.uniform(key, q_values.shape[:-1] + (2,))
    random_action = jnp.minimum((u[..., 1] * num_actions).astype(jnp.int32), num_actions - 1)
    greedy_action = _greedy_with_draw(q_values, u[..., 1])
    return jnp.where(u[..., 0] < epsilon, random_action, greedy_action)


def epsilon_greedy_probs(q_values: jax.Array, epsilon: jax.Array) -> jax.Array:
    """The action distribution ``epsilon_greedy`` samples from (used by Expected SARSA)."""
    mask = greedy_mask(q_values).astype(jnp.float32)
    num_actions = q_values.shape[-1]
    epsilon = jnp.expand_dims(jnp.asarray(epsilon, jnp.float32), -1)
    return epsilon / num_actions + (1.0 - epsilon) * mask / mask.sum(-1, keepdims=True)


def boltzmann(key: jax.Array, q_values: jax.Array, temperature: jax.Array) -> jax.Array:
    """Sample from softmax(q / temperature) over the last axis."""
    chex.assert_rank(q_values, {1, 2, 3})
    return jax.random.categorical(key, q_values / temperature, axis=-1).astype(jnp.int32)


def boltzmann_probs(q_values: jax.Array, temperature: jax.Array) -> jax.Array:
    """softmax(q / temperature) over the last axis."""
    return jax.nn.softmax(q_values / temperature, axis=-1)


def behaviour_action(kind: str, key: jax.Array, q_values: jax.Array, epsilon: jax.Array,
                     temperature: jax.Array) -> jax.Array:
    """An action of the behaviour policy ``kind``: "epsilon_greedy" or "boltzmann"."""
    if kind == "boltzmann":
        return boltzmann(key, q_values, temperature)
    return epsilon_greedy(key, q_values, epsilon)


def behaviour_probs(kind: str, q_values: jax.Array, epsilon: jax.Array, temperature: jax.Array) -> jax.Array:
    """The action distribution ``behaviour_action`` samples from."""
    if kind == "boltzmann":
        return boltzmann_probs(q_values, temperature)
    return epsilon_greedy_probs(q_values, epsilon)


# -- count-based exploration bonus -------------------------------------------------------------------
def state_index(obs: jax.Array, low: jax.Array, high: jax.Array, bins: int) -> jax.Array:
    """A discretised state's index in a count table: each dimension of ``obs`` (flattened)
    clipped to ``[low, high]`` and cut into ``bins`` equal bins, the bins read as digits base ``bins``.

    Discrete observations need no discretisation: use the observation itself as the index.
    """
    x = jnp.ravel(jnp.asarray(obs, jnp.float32))
    low, high = jnp.broadcast_to(low, x.shape), jnp.broadcast_to(high, x.shape)
    fraction = (jnp.clip(x, low, high) - low) / jnp.maximum(high - low, 1e-8)
    digits = jnp.clip((fraction * bins).astype(jnp.int32), 0, bins - 1)
    return jnp.sum(digits * bins ** jnp.arange(x.shape[0], dtype=jnp.int32))


def count_table(obs_space: Any, bins: int, value_range: float) -> CountTable | None:
    """The visit-count table of ``obs_space`` (None where ``bins`` is 0: no bonus). Discrete
    observations index it directly; Box ones are cut into ``bins`` per dimension, dimensions with
    infinite bounds over ``[-value_range, value_range]``."""
    if bins == 0:
        return None
    if isinstance(obs_space, spaces.Discrete):
        return obs_space.n, lambda obs: jnp.asarray(obs, jnp.int32)
    dims = int(np.prod(obs_space.shape))
    size = bins**dims
    if size > MAX_COUNT_TABLE:
        raise ConfigError(
            f"count_bins={bins} over {dims} observation dimensions needs a table of "
            f"{bins}^{dims} entries (more than {MAX_COUNT_TABLE:,}); use fewer bins, or count_bins=0"
        )
    low, high = (bound.ravel() for bound in box_bounds(obs_space))
    low = np.where(np.isfinite(low) & (low > -1e30), low, -value_range)
    high = np.where(np.isfinite(high) & (high < 1e30), high, value_range)
    return size, lambda obs: state_index(obs, low, high, bins)


def count_bonus(counts: jax.Array, index: jax.Array, beta: jax.Array | float) -> jax.Array:
    """The exploration bonus ``beta / sqrt(N(s))`` of visited states (counts include this visit)."""
    return beta * jax.lax.rsqrt(jnp.maximum(counts[index], 1).astype(jnp.float32))


def ornstein_uhlenbeck_step(x: jax.Array, noise: jax.Array, theta: jax.Array, sigma: jax.Array,
                            dt: jax.Array) -> jax.Array:
    """One Euler step of an Ornstein-Uhlenbeck process around 0 (DDPG's temporally correlated
    exploration): ``x + theta (0 - x) dt + sigma sqrt(dt) noise``, ``noise`` standard normal.
    Its stationary variance is ``sigma^2 dt / (1 - (1 - theta dt)^2)``."""
    return x - theta * x * dt + sigma * jnp.sqrt(dt) * noise
