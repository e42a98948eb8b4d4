"""Distributional value numerics, shared by C51, QR-DQN (and Rainbow): the categorical support and
its projection (Bellemare et al. 2017), the quantile midpoints and the quantile Huber loss
(Dabney et al. 2018).

Single-stream functions in rlax's terms (``r_t``, ``discount_t = gamma^m * (1 - terminated)``);
``vmap`` them over a batch. Only termination zeroes ``discount_t``: a time-limit truncation keeps
it, so the target bootstraps from the final observation's distribution, while a termination
collapses it onto the reward.
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp


# -- categorical (C51) ----------------------------------------------------------------------------
def support(v_min: jax.Array | float, v_max: jax.Array | float, num_atoms: int) -> jax.Array:
    """``num_atoms`` evenly spaced returns from ``v_min`` to ``v_max`` (traced bounds, static count)."""
    return jnp.linspace(jnp.asarray(v_min, jnp.float32), jnp.asarray(v_max, jnp.float32), num_atoms)


def expected_value(logits: jax.Array, atoms: jax.Array) -> jax.Array:
    """The mean of ``softmax(logits)`` over ``atoms`` (the last axis): action values ``[...]``."""
    return jnp.sum(jax.nn.softmax(logits, axis=-1) * atoms, axis=-1)


def categorical_projection(r_t: jax.Array, discount_t: jax.Array, p_t: jax.Array, z: jax.Array) -> jax.Array:
    """The distribution of ``r_t + discount_t * Z`` (``Z`` with probabilities ``p_t`` on the
    support ``z``) projected onto ``z``: each shifted atom, clipped to ``[z_0, z_-1]``, splits its
    mass between its two neighbouring atoms in proportion to closeness (the triangular kernel
    ``max(0, 1 - |Tz_j - z_i| / delta)``, equal to Bellemare et al.'s floor/ceil split, and
    exact when an atom lands on ``z_i``). Returns probabilities ``[K]``."""
    chex.assert_rank([r_t, discount_t, p_t, z], [0, 0, 1, 1])
    chex.assert_equal_shape((p_t, z))
    delta = (z[-1] - z[0]) / (z.shape[0] - 1)
    tz = jnp.clip(r_t + discount_t * z, z[0], z[-1])
    weights = jnp.clip(1.0 - jnp.abs(tz[:, None] - z[None, :]) / delta, 0.0, 1.0)  # [source atom j, target atom i]
    return p_t @ weights


def categorical_cross_entropy(target: jax.Array, logits: jax.Array) -> jax.Array:
    """``-sum_i target_i log softmax(logits)_i`` (C51's loss for one sample)."""
    chex.assert_rank([target, logits], 1)
    chex.assert_equal_shape((target, logits))
    return -jnp.sum(target * jax.nn.log_softmax(logits))


# -- quantiles (QR-DQN) ---------------------------------------------------------------------------
def quantile_midpoints(num_quantiles: int) -> jax.Array:
    """``tau_i = (2i + 1) / (2N)``, i = 0..N-1: the quantile levels QR-DQN's outputs estimate."""
    return (2.0 * jnp.arange(num_quantiles, dtype=jnp.float32) + 1.0) / (2.0 * num_quantiles)


def quantile_huber_loss(theta_tm1: jax.Array, target: jax.Array, tau: jax.Array,
                        kappa: jax.Array | float = 1.0) -> jax.Array:
    """Dabney et al.'s quantile Huber loss of one sample: ``sum_i mean_j rho_kappa_tau_i(u_ij)``
    with ``u_ij = target_j - theta_i`` and ``rho = |tau_i - 1{u_ij < 0}| * L_kappa(u_ij) / kappa``,
    ``L_kappa`` the Huber loss with threshold ``kappa``. ``theta_tm1 [N]`` the online quantiles
    at levels ``tau [N]``, ``target [N']`` the target distribution's samples (held constant)."""
    chex.assert_rank([theta_tm1, target, tau], 1)
    chex.assert_equal_shape((theta_tm1, tau))
    u = target[None, :] - theta_tm1[:, None]
    abs_u = jnp.abs(u)
    huber = jnp.where(abs_u <= kappa, 0.5 * u**2, kappa * (abs_u - 0.5 * kappa))
    rho = jnp.abs(tau[:, None] - (u < 0).astype(jnp.float32)) * huber / kappa
    return jnp.sum(jnp.mean(rho, axis=1))
