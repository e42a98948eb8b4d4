"""Value targets, n-step windows and the target network's schedule, shared by the value-based and actor-critic off-policy agents.

Single-stream functions in rlax's terms (``r_t``, ``discount_t`` = gamma * (1 - terminated),
``q_t`` the action values at the observation the action led to); ``vmap`` them over a batch.
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp


def q_learning_target(r_t: jax.Array, discount_t: jax.Array, q_t: jax.Array) -> jax.Array:
    """r + discount * max_a Q(s', a)."""
    chex.assert_rank([r_t, discount_t, q_t], [0, 0, 1])
    return r_t + discount_t * jnp.max(q_t)


def double_q_learning_target(r_t: jax.Array, discount_t: jax.Array, q_t_value: jax.Array, q_t_selector: jax.Array) -> jax.Array:
    """r + discount * Q_value(s', argmax_a Q_selector(s', a)) (van Hasselt et al. 2016: the online
    network selects, the target network evaluates)."""
    chex.assert_rank([r_t, discount_t, q_t_value, q_t_selector], [0, 0, 1, 1])
    chex.assert_equal_shape((q_t_value, q_t_selector))
    return r_t + discount_t * q_t_value[jnp.argmax(q_t_selector)]


def n_step_window(
    rewards: jax.Array, terminated: jax.Array, truncated: jax.Array, gamma: jax.Array | float
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Reduce an n-step window ``[n]`` (step 0 the sampled transition) to one transition.

    The window closes at its first episode end (terminated or truncated) or at its last step
    ``m - 1``. Returns ``(reward, discount, last)``: the discounted reward sum
    ``sum_{k<m} gamma^k r_k``, the bootstrap discount ``gamma^m (1 - terminated_{m-1})``, and the
    index ``m - 1`` whose final observation to bootstrap from. So a truncation inside the window
    bootstraps from V(final obs), and only a termination zeroes the bootstrap.
    """
    chex.assert_rank((rewards, terminated, truncated), 1)
    chex.assert_equal_shape((rewards, terminated, truncated))
    n = rewards.shape[0]
    ends = jnp.logical_or(terminated, truncated).at[n - 1].set(True)
    last = jnp.argmax(ends)  # the first end (or n - 1)
    steps = jnp.arange(n)
    powers = jnp.asarray(gamma, jnp.float32) ** steps
    reward = jnp.sum(jnp.where(steps <= last, powers * rewards, 0.0))
    discount = gamma * powers[last] * (1.0 - terminated[last].astype(jnp.float32))
    return reward, discount, last


def crossed_multiple(before: jax.Array, after: jax.Array, period: jax.Array) -> jax.Array:
    """True when a counter went from ``before`` to ``after`` past a multiple of ``period``
    (counters that move by more than one per step, e.g. env steps over many envs)."""
    period = jnp.maximum(jnp.asarray(period).astype(jnp.int32), 1)
    return after // period > before // period
