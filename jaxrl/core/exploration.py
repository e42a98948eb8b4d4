"""Exploration: epsilon schedules, epsilon-greedy and Boltzmann action selection.

Single-stream functions (one vector of action values); ``vmap`` them over a batch. Greedy choices
break ties uniformly at random, so an untrained all-zero Q-table acts uniformly rather than always
picking action 0.
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp

EPSILON_SCHEDULES = ("constant", "linear", "exponential")


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


def greedy_mask(q_values: jax.Array) -> jax.Array:
    """True at every action whose value equals the maximum (over the last axis)."""
    return q_values == jnp.max(q_values, axis=-1, keepdims=True)


def _argmax_random_ties(q_values: jax.Array, noise: jax.Array) -> jax.Array:
    return jnp.argmax(jnp.where(greedy_mask(q_values), noise, -1.0), axis=-1).astype(jnp.int32)


def greedy(key: jax.Array, q_values: jax.Array) -> jax.Array:
    """argmax over the last axis with ties broken uniformly at random. ``q_values``: [..., A]."""
    chex.assert_rank(q_values, {1, 2, 3})
    return _argmax_random_ties(q_values, jax.random.uniform(key, q_values.shape))


def epsilon_greedy(key: jax.Array, q_values: jax.Array, epsilon: jax.Array) -> jax.Array:
    """With probability epsilon a uniformly random action, else a greedy one (random ties).

    ``q_values``: [..., A]; ``epsilon`` broadcasts to ``q_values.shape[:-1]``. One uniform draw
    per decision covers the coin, the random action and the tie-break (few RNG calls is speed).
    """
    chex.assert_rank(q_values, {1, 2, 3})
    num_actions = q_values.shape[-1]
    u = jax.random.uniform(key, q_values.shape[:-1] + (num_actions + 2,))
    random_action = jnp.minimum((u[..., 1] * num_actions).astype(jnp.int32), num_actions - 1)
    greedy_action = _argmax_random_ties(q_values, u[..., 2:])
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
