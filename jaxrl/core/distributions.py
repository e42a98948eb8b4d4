"""Action distributions: categorical and diagonal Gaussian (a few tested lines, no extra dependency).

Single-sample semantics over the trailing axis: a categorical over ``logits[..., A]``; a diagonal
Gaussian over ``mean[..., D]`` whose log-prob and entropy sum over ``D``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp


class Categorical(NamedTuple):
    logits: jax.Array

    def sample(self, key: jax.Array) -> jax.Array:
        return jax.random.categorical(key, self.logits, axis=-1).astype(jnp.int32)

    def log_prob(self, action: jax.Array) -> jax.Array:
        log_probs = jax.nn.log_softmax(self.logits, axis=-1)
        return jnp.take_along_axis(log_probs, action[..., None].astype(jnp.int32), axis=-1)[..., 0]

    def entropy(self) -> jax.Array:
        log_probs = jax.nn.log_softmax(self.logits, axis=-1)
        return -jnp.sum(jnp.exp(log_probs) * log_probs, axis=-1)

    def mode(self) -> jax.Array:
        return jnp.argmax(self.logits, axis=-1).astype(jnp.int32)


_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


class DiagGaussian(NamedTuple):
    mean: jax.Array
    log_std: jax.Array  # broadcastable to mean

    def sample(self, key: jax.Array) -> jax.Array:
        return self.mean + jnp.exp(self.log_std) * jax.random.normal(key, self.mean.shape)

    def log_prob(self, action: jax.Array) -> jax.Array:
        z = (action - self.mean) * jnp.exp(-self.log_std)
        return jnp.sum(-0.5 * z**2 - self.log_std - _HALF_LOG_2PI, axis=-1)

    def entropy(self) -> jax.Array:
        log_std = jnp.broadcast_to(self.log_std, self.mean.shape)
        return jnp.sum(log_std + 0.5 + _HALF_LOG_2PI, axis=-1)

    def mode(self) -> jax.Array:
        return self.mean


_LOG_2 = math.log(2.0)


def squashed_gaussian(mean: jax.Array, log_std: jax.Array, noise: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``a = tanh(mean + std * noise)`` and its log-density, summed over the last axis.

    Change of variables: ``log pi(a) = log N(u; mean, std) - sum log(1 - tanh(u)^2)``, with
    ``log(1 - tanh(u)^2) = 2 (log 2 - u - softplus(-2u))`` (exact, and stable for large |u|)."""
    u = mean + jnp.exp(log_std) * noise
    gaussian = jnp.sum(-0.5 * noise**2 - log_std - _HALF_LOG_2PI, axis=-1)
    log_det = jnp.sum(2.0 * (_LOG_2 - u - jax.nn.softplus(-2.0 * u)), axis=-1)
    return jnp.tanh(u), gaussian - log_det


GSDE_EPSILON = 1e-6  # added to gSDE's per-state variance (Stable-Baselines3's epsilon)


def state_dependent_log_std(features: jax.Array, log_std: jax.Array) -> jax.Array:
    """gSDE's per-state log-std ``[..., D]``: the noise ``z(s) @ W`` with independent weights
    ``W ~ N(0, exp(log_std)^2)`` (``log_std``: [latent, D]) is Gaussian with variance
    ``z(s)^2 @ exp(2 log_std)`` (plus ``GSDE_EPSILON``)."""
    return 0.5 * jnp.log(features**2 @ jnp.exp(2.0 * log_std) + GSDE_EPSILON)


def state_dependent_noise(features: jax.Array, log_std: jax.Array, unit_weights: jax.Array) -> jax.Array:
    """gSDE's exploration noise ``z(s) @ (exp(log_std) * unit_weights)`` ``[..., D]``, for standard
    normal ``unit_weights`` ``[..., latent, D]`` held between redraws."""
    return jnp.einsum("...l,...ld->...d", features, jnp.exp(log_std) * unit_weights)
