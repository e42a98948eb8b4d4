"""The optimiser every agent uses, its masked step, learning-rate annealing and target updates.

One optimiser: Adam behind global-norm clipping, with ``learning_rate`` and ``max_grad_norm``
injected into its state (``optax.inject_hyperparams``), so both are traced per run and one
program can vmap over settings. Updates before learning starts are masked out leaf by leaf
(no branch: under the engine's vmap a branch would run both sides anyway).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax


def _clipped_adam(learning_rate: float, max_grad_norm: float) -> optax.GradientTransformation:
    return optax.chain(optax.clip_by_global_norm(max_grad_norm), optax.adam(learning_rate, eps=1e-5))


OPTIMIZER = optax.inject_hyperparams(_clipped_adam)(learning_rate=0.0, max_grad_norm=0.0)


def with_hyperparams(opt_state: Any, **values: jax.Array) -> Any:
    """A copy of an ``inject_hyperparams`` state with some hyperparameters replaced."""
    hyperparams = {**opt_state.hyperparams, **{k: jnp.asarray(v, jnp.float32) for k, v in values.items()}}
    return opt_state._replace(hyperparams=hyperparams)


def init(params: Any, learning_rate: jax.Array, max_grad_norm: jax.Array) -> Any:
    """The optimiser state for ``params``, its hyperparameters set."""
    return with_hyperparams(OPTIMIZER.init(params), learning_rate=learning_rate, max_grad_norm=max_grad_norm)


def masked(ready: jax.Array, new: Any, old: Any) -> Any:
    """``new`` where ``ready`` else ``old``, leaf by leaf (masks updates before learning starts)."""
    return jax.tree.map(lambda n, o: jnp.where(ready, n, o), new, old)


def step(params: Any, opt_state: Any, grads: Any, learning_rate: jax.Array | None = None,
         ready: jax.Array | None = None) -> tuple[Any, Any]:
    """One optimiser step, at ``learning_rate`` when given (else the state's); where ``ready`` is
    False the parameters and the optimiser state stay as they were."""
    current = opt_state if learning_rate is None else with_hyperparams(opt_state, learning_rate=learning_rate)
    updates, new_opt_state = OPTIMIZER.update(grads, current, params)
    new_params = optax.apply_updates(params, updates)
    if ready is None:
        return new_params, new_opt_state
    return masked(ready, new_params, params), masked(ready, new_opt_state, opt_state)


def run_progress(steps: jax.Array, total_steps: jax.Array) -> jax.Array:
    """The fraction of the run done, in [0, 1] (0 where total_steps is unknown: no annealing)."""
    return jnp.where(total_steps > 0, jnp.clip(steps / jnp.maximum(total_steps, 1.0), 0.0, 1.0), 0.0)


def annealed(learning_rate: jax.Array, steps: jax.Array, total_steps: jax.Array) -> jax.Array:
    """Linear decay to 0 over the run's ``total_steps`` env steps (none where total_steps is 0)."""
    return learning_rate * (1.0 - run_progress(steps, total_steps))


def soft_update(params: Any, target: Any, tau: jax.Array | float) -> Any:
    """Polyak averaging: ``tau * params + (1 - tau) * target`` (tau = 1: a hard copy)."""
    return optax.incremental_update(params, target, tau)


def periodic_soft_update(params: Any, target: Any, due: jax.Array, tau: jax.Array | float) -> Any:
    """``soft_update`` where ``due``, else ``target`` unchanged: a hard copy every K steps and
    Polyak averaging every step in one traced rule."""
    return masked(due, soft_update(params, target, tau), target)
