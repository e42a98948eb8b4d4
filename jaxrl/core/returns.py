"""Returns and advantages over a rollout: Monte-Carlo, n-step, GAE(lambda) and Q(lambda).

Single-stream functions over the time axis ``[T]`` (``vmap`` over envs), in the rollout's own
terms: ``rewards[t]``, ``terminated[t]``, ``truncated[t]`` of step t, ``values[t] = V(s_t)``, and
``next_values[t] = V(final observation of step t)``: the state the action led to, before any
auto-reset. ``next_values[T-1]`` is also the bootstrap at the end of the rollout.

Every function bootstraps through a time-limit truncation from ``next_values``, zeroes the
bootstrap only on termination, and cuts its recursion at every episode end.
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp


def _check(*arrays: jax.Array) -> None:
    chex.assert_rank(arrays, 1)
    chex.assert_equal_shape(arrays)


def gae(
    rewards: jax.Array,
    values: jax.Array,
    next_values: jax.Array,
    terminated: jax.Array,
    truncated: jax.Array,
    gamma: float | jax.Array,
    gae_lambda: float | jax.Array,
) -> tuple[jax.Array, jax.Array]:
    """GAE(lambda) advantages and value targets (advantage + value)."""
    _check(rewards, values, next_values, terminated, truncated)
    not_terminated = 1.0 - terminated.astype(jnp.float32)
    continues = 1.0 - jnp.logical_or(terminated, truncated).astype(jnp.float32)
    deltas = rewards + gamma * not_terminated * next_values - values

    def backward(advantage_next, inputs):
        delta, cont = inputs
        advantage = delta + gamma * gae_lambda * cont * advantage_next
        return advantage, advantage

    _, advantages = jax.lax.scan(backward, jnp.zeros((), deltas.dtype), (deltas, continues), reverse=True)
    return advantages, advantages + values


def discounted_returns(
    rewards: jax.Array,
    next_values: jax.Array,
    terminated: jax.Array,
    truncated: jax.Array,
    gamma: float | jax.Array,
) -> jax.Array:
    """Monte-Carlo returns to go: G_t = r_t + gamma * (G_{t+1}, or at an episode end (1 - term) V(final))."""
    _check(rewards, next_values, terminated, truncated)
    done = jnp.logical_or(terminated, truncated)
    tail = (1.0 - terminated.astype(jnp.float32)) * next_values

    def backward(return_next, inputs):
        reward, is_done, tail_value = inputs
        ret = reward + gamma * jnp.where(is_done, tail_value, return_next)
        return ret, ret

    _, returns = jax.lax.scan(backward, next_values[-1], (rewards, done, tail), reverse=True)
    return returns


def complete_return_mask(terminated: jax.Array, truncated: jax.Array) -> jax.Array:
    """True where the Monte-Carlo return is known without any bootstrap.

    That is: the step's episode terminates inside the rollout. Steps whose episode is cut by a time
    limit, or still running when the rollout ends, would need V to bootstrap.
    """
    _check(terminated, truncated)

    def backward(known_next, inputs):
        term, trunc = inputs
        known = jnp.logical_or(term, jnp.logical_and(~trunc, known_next))
        return known, known

    _, known = jax.lax.scan(backward, jnp.zeros((), bool), (terminated, truncated), reverse=True)
    return known


def n_step_returns(
    rewards: jax.Array,
    next_values: jax.Array,
    terminated: jax.Array,
    truncated: jax.Array,
    gamma: float | jax.Array,
    n: int,
) -> jax.Array:
    """n-step returns: sum_{k<m} gamma^k r_{t+k} + gamma^m (1 - term) V(final obs of step t+m-1).

    The window has m = n steps, or fewer where the episode or the rollout ends first.
    """
    _check(rewards, next_values, terminated, truncated)
    if n < 1:
        raise ValueError(f"n={n} must be >= 1")
    length = rewards.shape[0]
    done = jnp.logical_or(terminated, truncated)
    not_terminated = 1.0 - terminated.astype(jnp.float32)

    def shifted(x: jax.Array, k: int, fill) -> jax.Array:
        return jnp.concatenate([x[k:], jnp.full((k,), fill, x.dtype)]) if k else x

    total = jnp.zeros_like(rewards)
    alive = jnp.ones(length, bool)  # the window is still open at offset k
    for k in range(min(n, length)):  # no window reaches past the rollout
        in_rollout = jnp.arange(length) + k < length
        open_here = jnp.logical_and(alive, in_rollout)
        total = total + jnp.where(open_here, gamma**k * shifted(rewards, k, 0.0), 0.0)
        closes = jnp.logical_or(shifted(done, k, True), k == n - 1)
        closes = jnp.logical_or(closes, jnp.arange(length) + k == length - 1)
        bootstrap = gamma ** (k + 1) * shifted(not_terminated, k, 0.0) * shifted(next_values, k, 0.0)
        total = total + jnp.where(jnp.logical_and(open_here, closes), bootstrap, 0.0)
        alive = jnp.logical_and(open_here, ~closes)
    return total


def q_lambda_returns(
    rewards: jax.Array,
    next_values: jax.Array,
    terminated: jax.Array,
    truncated: jax.Array,
    gamma: float | jax.Array,
    q_lambda: float | jax.Array,
) -> jax.Array:
    """Peng's Q(lambda) returns (PQN's targets), ``next_values[t] = max_a Q(final obs of step t, a)``:

        G_t = r_t + gamma (1 - term_t) [lambda G_{t+1} + (1 - lambda) next_values[t]]  (episode continues)
        G_t = r_t + gamma (1 - term_t) next_values[t]                                  (step t ends it)

    The recursion is cut at terminated OR truncated; a truncation bootstraps from its final
    observation, only a termination zeroes it. At the rollout's end ``G_T = next_values[T-1]``.
    lambda = 0: one-step Q-learning targets; lambda = 1: Monte-Carlo returns within episodes.
    """
    _check(rewards, next_values, terminated, truncated)
    done = jnp.logical_or(terminated, truncated)
    not_terminated = 1.0 - terminated.astype(jnp.float32)

    def backward(return_next, inputs):
        reward, is_done, keep, next_value = inputs
        blended = q_lambda * return_next + (1.0 - q_lambda) * next_value
        ret = reward + gamma * keep * jnp.where(is_done, next_value, blended)
        return ret, ret

    _, returns = jax.lax.scan(backward, next_values[-1], (rewards, done, not_terminated, next_values), reverse=True)
    return returns
