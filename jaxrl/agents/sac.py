"""SAC (Haarnoja et al. 2018): twin critics, a tanh-squashed Gaussian policy, automatic entropy
temperature.

* Critic target: ``r + discount * (min_i Q'_i(s', a') - alpha * log pi(a' | s'))``, ``a' ~ pi(s')``.
* Actor: minimise ``alpha * log pi(a | s) - min_i Q_i(s, a)`` over reparameterised ``a ~ pi(s)``.
* Temperature (``autotune``): minimise ``-log_alpha * (log pi(a | s) + target_entropy)``, with
  ``target_entropy = target_entropy_scale * action_dim`` (default -1 x action_dim).
* ``log pi`` includes the tanh change of variables (``jaxrl.core.distributions.squashed_gaussian``).

``discount = gamma * (1 - terminated)``; ``s'`` is the observation the action led to, before any
auto-reset: a time-limit truncation bootstraps. Actions are in [-1, 1] inside the agent, scaled to
the env's bounds when stepping; the deterministic policy is ``tanh(mean)``.
"""

from __future__ import annotations

import dataclasses
from functools import partial
from typing import Any

import chex
import jax
import jax.numpy as jnp
from flax import struct

from jaxrl.core import continuous, off_policy, optim
from jaxrl.core.agent import Agent
from jaxrl.core.continuous import ContinuousConfig, ContinuousHParams, ContinuousParts, ContinuousState
from jaxrl.core.distributions import squashed_gaussian
from jaxrl.core.hparams import hparam, resolve_config
from jaxrl.core.networks import SquashedGaussianActor


# -- config and hyperparameters -------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class SACConfig(ContinuousConfig):
    num_critics: int = 2
    autotune: bool = True  # learn the entropy temperature alpha (else it stays at alpha_init)


@struct.dataclass
class SACHParams(ContinuousHParams):
    alpha_learning_rate: float = hparam(3e-4, "the entropy temperature's Adam step size", low=0, low_open=True)
    alpha_init: float = hparam(1.0, "initial entropy temperature (the fixed one without autotune)", low=0, low_open=True)
    target_entropy_scale: float = hparam(-1.0, "target entropy = scale x action_dim")


# -- targets and losses ---------------------------------------------------------------------------
def soft_target(r_t: jax.Array, discount_t: jax.Array, q_t: jax.Array, log_prob_t: jax.Array,
                alpha: jax.Array) -> jax.Array:
    """``r + discount * (min_i Q'_i(s', a') - alpha * log pi(a' | s'))`` for one transition;
    ``q_t``: [num_critics]."""
    chex.assert_rank([r_t, discount_t, q_t, log_prob_t, alpha], [0, 0, 1, 0, 0])
    return r_t + discount_t * (jnp.min(q_t) - alpha * log_prob_t)


def temperature_loss(log_alpha: jax.Array, log_prob: jax.Array, target_entropy: jax.Array) -> jax.Array:
    """``-log_alpha * (log pi + target_entropy)``, averaged: raises alpha while the policy's entropy
    (``-log pi``) is below the target, lowers it above."""
    chex.assert_rank([log_alpha, log_prob, target_entropy], [0, 1, 0])
    return -jnp.mean(log_alpha * jax.lax.stop_gradient(log_prob + target_entropy))


def policy(parts: ContinuousParts, actor_params: Any, obs: jax.Array, key: jax.Array) -> tuple[jax.Array, jax.Array]:
    """A reparameterised sample in [-1, 1] and its log-probability."""
    mean, log_std = parts.actor.apply(actor_params, obs)
    return squashed_gaussian(mean, log_std, jax.random.normal(key, mean.shape))


def actor_loss(actor_params: Any, critic_params: Any, parts: ContinuousParts, obs: jax.Array, alpha: jax.Array,
               key: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``mean(alpha * log pi(a | s) - min_i Q_i(s, a))`` over reparameterised ``a ~ pi(s)``;
    returns the loss and ``log pi(a | s)``."""
    chex.assert_rank([obs, alpha], [1 + len(parts.obs_shape), 0])
    action, log_prob = policy(parts, actor_params, obs, key)
    q = jnp.min(parts.critic.apply(critic_params, obs, action), axis=0)
    return jnp.mean(alpha * log_prob - q), log_prob


# -- the agent's steps ----------------------------------------------------------------------------
def behave(parts: ContinuousParts, state: ContinuousState, key: jax.Array) -> tuple[jax.Array, None]:
    """A sample of the policy (no noise state)."""
    return policy(parts, state.params, state.obs.astype(jnp.float32), key)[0], None


def learn(parts: ContinuousParts, state: ContinuousState, key: jax.Array) -> tuple[ContinuousState, dict]:
    """One update of the critics, the actor, the temperature (``autotune``) and the target critics."""
    hp = state.hparams
    sample_key, next_key, actor_key = jax.random.split(key, 3)
    batch = continuous.sample(parts, state, sample_key)
    alpha = jnp.exp(state.log_alpha)
    next_action, next_log_prob = policy(parts, state.params, batch.next_obs, next_key)
    next_q = parts.critic.apply(state.target_critic_params, batch.next_obs, next_action)  # [critics, batch]
    target = jax.vmap(soft_target, in_axes=(0, 0, 1, 0, None))(batch.reward, batch.discount, next_q, next_log_prob, alpha)
    state, metrics = continuous.critic_step(parts, state, batch, target)
    ready = off_policy.learning_started(parts.config, state.steps)
    (loss, log_prob), grads = jax.value_and_grad(actor_loss, has_aux=True)(
        state.params, state.critic_params, parts, batch.obs, alpha, actor_key)
    params, actor_opt_state = optim.step(state.params, state.actor_opt_state, grads, hp.actor_learning_rate, ready)
    log_alpha, alpha_opt_state = state.log_alpha, state.alpha_opt_state
    if parts.config.autotune:
        target_entropy = hp.target_entropy_scale * parts.action_dim
        alpha_grad = jax.grad(temperature_loss)(log_alpha, log_prob, target_entropy)
        log_alpha, alpha_opt_state = optim.step(log_alpha, alpha_opt_state, alpha_grad, hp.alpha_learning_rate, ready)
    tau = jnp.where(ready, hp.tau, 0.0)
    state = state.replace(
        params=params, actor_opt_state=actor_opt_state, log_alpha=log_alpha, alpha_opt_state=alpha_opt_state,
        target_critic_params=optim.soft_update(state.critic_params, state.target_critic_params, tau),
        updates=state.updates + ready.astype(jnp.int32),
    )
    actor_metrics = off_policy.learning_metrics(ready, {"actor_loss": loss, "entropy": -jnp.mean(log_prob)})
    return state, {**metrics, **actor_metrics, "alpha": alpha}


def act(parts: ContinuousParts, params: Any, obs: Any, key: jax.Array) -> jax.Array:
    """The deterministic policy ``tanh(mean)``, scaled to the env's bounds."""
    mean, _ = parts.actor.apply(params, jnp.asarray(obs, jnp.float32))
    return continuous.to_env(parts, jnp.tanh(mean))


# -- the agent ------------------------------------------------------------------------------------
def make(env: Any, env_params: Any, config: SACConfig | dict | None = None, *, name: str = "sac") -> Agent:
    config = resolve_config(SACConfig, config, name)
    parts = continuous.build(
        name, env, env_params, config,
        lambda action_dim: SquashedGaussianActor(action_dim, tuple(int(w) for w in config.hidden), config.activation),
        target_actor=False, learn_alpha=True, ou_noise=False,
    )
    env_step = partial(continuous.env_step, parts, behave=partial(behave, parts))
    return continuous.make_agent(name, parts, env, env_params, SACHParams, env_step, partial(learn, parts),
                                 partial(act, parts))
