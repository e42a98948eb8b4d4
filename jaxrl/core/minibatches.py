"""Epochs of shuffled minibatches over one batch: the update schedule of PPO and PQN.

Each epoch draws a fresh permutation of the batch's leading axis and splits it into
``num_minibatches`` equal minibatches, one update each (a ``lax.scan``; the epochs are another).
The leading axis is whatever a minibatch is made of: samples, or whole env sequences for a
batch laid out ``[num_envs, T, ...]``.
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

import jax

from jaxrl.errors import ConfigError

Carry = TypeVar("Carry")


def shuffled_minibatches(key: jax.Array, batch: Any, num_minibatches: int) -> Any:
    """``batch`` (leading axis of size n, a multiple of ``num_minibatches``) permuted along that
    axis and reshaped to ``[num_minibatches, n // num_minibatches, ...]``."""
    size = jax.tree.leaves(batch)[0].shape[0]
    order = jax.random.permutation(key, size)
    return jax.tree.map(lambda x: x[order].reshape((num_minibatches, size // num_minibatches) + x.shape[1:]), batch)


def minibatch_epochs(update: Callable[[Carry, Any], tuple[Carry, Any]], carry: Carry, batch: Any, key: jax.Array,
                     num_epochs: int, num_minibatches: int) -> tuple[Carry, Any]:
    """``num_epochs`` passes of ``update(carry, minibatch) -> (carry, aux)`` over ``batch``, each
    over a fresh shuffle; returns the final carry and ``aux`` stacked ``[num_epochs, num_minibatches]``."""

    def epoch(carry, epoch_key):
        return jax.lax.scan(update, carry, shuffled_minibatches(epoch_key, batch, num_minibatches))

    return jax.lax.scan(epoch, carry, jax.random.split(key, num_epochs))


def check_minibatches(num_envs: int, rollout_len: int, num_minibatches: int) -> None:
    """A ConfigError unless a rollout's ``num_envs x rollout_len`` samples split into
    ``num_minibatches`` equal minibatches."""
    batch_size = num_envs * rollout_len
    if batch_size % num_minibatches:
        raise ConfigError(
            f"num_envs x rollout_len = {num_envs} x {rollout_len} = {batch_size} does not divide into "
            f"num_minibatches={num_minibatches}; choose values whose product is a multiple of num_minibatches"
        )
