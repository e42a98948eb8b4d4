"""PPO: clipped surrogate, GAE(lambda), epochs over shuffled minibatches.

Options: value clipping, advantage normalisation per minibatch, global-norm gradient clipping,
linear learning-rate annealing, observation and reward normalisation; discrete (categorical) and
continuous (diagonal Gaussian, sampled unbounded and clipped to the action space when stepping)
action spaces. Truncated episodes bootstrap from V(final observation); only termination zeroes it.

Recurrent (``recurrent="gru" | "lstm"``): minibatches are whole env sequences (``num_envs``
splits into ``num_minibatches``), each re-run from the carry its env started the rollout with
(``jaxrl.core.actor_critic``).
"""

from __future__ import annotations

import dataclasses
from functools import partial
from typing import Any, NamedTuple

import chex
import jax
import jax.numpy as jnp
from flax import struct

from jaxrl.core import actor_critic
from jaxrl.core.actor_critic import ACState, ActorCriticConfig, ActorCriticParts, OnPolicyHParams, RolloutStep
from jaxrl.core.agent import Agent
from jaxrl.core.hparams import hparam, resolve_config
from jaxrl.core.minibatches import check_minibatches, minibatch_epochs
from jaxrl.errors import ConfigError
from jaxrl.core.returns import gae


# -- config and hyperparameters -------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class PPOConfig(ActorCriticConfig):
    num_envs: int = 8
    rollout_len: int = 128
    num_epochs: int = 4
    num_minibatches: int = 4
    normalize_advantages: bool = True
    clip_value: bool = True


@struct.dataclass
class PPOHParams(OnPolicyHParams):
    clip_eps: float = hparam(0.2, "the surrogate's ratio clip, also the value clip when clip_value", low=0, low_open=True)
    gae_lambda: float = hparam(0.95, "GAE lambda", low=0, high=1)


# -- loss -----------------------------------------------------------------------------------------
class Batch(NamedTuple):
    """Rollout samples with their advantages and value targets (leading axis: samples)."""

    obs: Any
    action: jax.Array
    log_prob: jax.Array
    value: jax.Array
    advantage: jax.Array
    target: jax.Array


def ppo_loss(
    network_params: Any, apply_fn: Any, batch: Batch, hparams: PPOHParams, normalize_advantages: bool, clip_value: bool
) -> tuple[jax.Array, dict]:
    """The clipped-surrogate objective (to minimise) and its parts."""
    chex.assert_rank([batch.log_prob, batch.value, batch.advantage, batch.target], 1)
    chex.assert_equal_shape([batch.log_prob, batch.value, batch.advantage, batch.target])
    dist, value = apply_fn(network_params, batch.obs)
    log_prob = dist.log_prob(batch.action)
    log_ratio = log_prob - batch.log_prob
    ratio = jnp.exp(log_ratio)
    advantage = batch.advantage
    if normalize_advantages:
        advantage = (advantage - advantage.mean()) / (advantage.std() + 1e-8)
    eps = hparams.clip_eps
    policy_loss = -jnp.mean(jnp.minimum(ratio * advantage, jnp.clip(ratio, 1.0 - eps, 1.0 + eps) * advantage))
    value_error = (value - batch.target) ** 2
    if clip_value:
        clipped = batch.value + jnp.clip(value - batch.value, -eps, eps)
        value_error = jnp.maximum(value_error, (clipped - batch.target) ** 2)
    value_loss = 0.5 * jnp.mean(value_error)
    entropy = jnp.mean(dist.entropy())
    loss = policy_loss + hparams.vf_coef * value_loss - hparams.ent_coef * entropy
    aux = {
        "policy_loss": policy_loss,
        "value_loss": value_loss,
        "entropy": entropy,
        "approx_kl": jnp.mean((ratio - 1.0) - log_ratio),
        "clip_fraction": jnp.mean(jnp.abs(ratio - 1.0) > eps),
    }
    return loss, aux


def gae_per_env(traj: RolloutStep, next_values: jax.Array, hparams: PPOHParams) -> tuple[jax.Array, jax.Array]:
    """The rollout's GAE(lambda) advantages and value targets, ``[rollout_len, num_envs]``."""
    return jax.vmap(gae, in_axes=(1, 1, 1, 1, 1, None, None), out_axes=1)(
        traj.reward, traj.value, next_values, traj.terminated, traj.truncated, hparams.gamma, hparams.gae_lambda
    )


def gae_batch(traj: RolloutStep, next_values: jax.Array, hparams: PPOHParams) -> Batch:
    """The rollout's GAE(lambda) advantages and value targets, flattened to one batch
    ``[num_envs * rollout_len, ...]``."""
    advantages, targets = gae_per_env(traj, next_values, hparams)
    batch = Batch(traj.obs, traj.action, traj.log_prob, traj.value, advantages, targets)
    return jax.tree.map(lambda x: x.reshape((x.shape[0] * x.shape[1],) + x.shape[2:]), batch)


# -- the agent's step -----------------------------------------------------------------------------
def env_minibatch(batch: Batch, envs: jax.Array) -> Batch:
    """The whole sequences of the envs ``envs`` from a recurrent batch (``obs``: ``Sequences``,
    the rest ``[T, num_envs]``), the per-step fields flattened time-major as ``sequence_apply``'s output."""
    take = lambda x: x[:, envs].reshape((x.shape[0] * envs.shape[0],) + x.shape[2:])  # noqa: E731
    return Batch(batch.obs.select(envs), *(take(x) for x in batch[1:]))


def train_step(parts: ActorCriticParts, state: ACState) -> tuple[ACState, dict]:
    """One rollout, then ``num_epochs`` passes of ``num_minibatches`` gradient steps over it
    (minibatches of samples, or of whole env sequences when recurrent)."""
    config, hparams = parts.config, state.hparams
    key, rollout_key, update_key = jax.random.split(state.key, 3)
    start_carry = state.carry
    state, traj, metrics = actor_critic.collect(parts, state, rollout_key)
    next_values = actor_critic.bootstrap_values(parts, state.params, traj)
    if parts.recurrent:
        advantages, targets = gae_per_env(traj, next_values, hparams)
        sequences = actor_critic.sequences(traj, start_carry)
        batch = Batch(sequences, traj.action, traj.log_prob, traj.value, advantages, targets)
        apply_fn = partial(actor_critic.sequence_apply, parts)
    else:
        batch = gae_batch(traj, next_values, hparams)
        apply_fn = parts.network.apply

    def minibatch_step(carry, minibatch):
        network_params, opt_state = carry
        if parts.recurrent:
            minibatch = env_minibatch(batch, minibatch)  # minibatch: the envs' indices
        grads, aux = jax.grad(ppo_loss, has_aux=True)(
            network_params, apply_fn, minibatch, hparams, config.normalize_advantages, config.clip_value
        )
        network_params, opt_state = actor_critic.apply_gradients(parts, state, opt_state, network_params, grads)
        return (network_params, opt_state), aux

    # recurrent: the minibatches are of env indices (whole sequences), taken from the batch in minibatch_step
    shuffled = jnp.arange(config.num_envs) if parts.recurrent else batch
    (network_params, opt_state), aux = minibatch_epochs(minibatch_step, (state.params.network, state.opt_state),
                                                        shuffled, update_key, config.num_epochs, config.num_minibatches)
    state = actor_critic.finish(state, traj, network_params, opt_state, key)
    return state, {**metrics, **jax.tree.map(jnp.mean, aux)}


# -- the agent ------------------------------------------------------------------------------------
def _validate(config: PPOConfig) -> None:
    if config.num_epochs < 1 or config.num_minibatches < 1:
        raise ConfigError("num_epochs and num_minibatches must be >= 1")
    if config.recurrent != "none" and config.num_envs % config.num_minibatches:
        raise ConfigError(
            f"a recurrent PPO's minibatches are whole env sequences: num_envs={config.num_envs} does not divide into "
            f"num_minibatches={config.num_minibatches}; choose num_envs a multiple of num_minibatches"
        )
    check_minibatches(config.num_envs, config.rollout_len, config.num_minibatches)


def make(env: Any, env_params: Any, config: PPOConfig | dict | None = None, *, name: str = "ppo") -> Agent:
    config = resolve_config(PPOConfig, config, name)
    _validate(config)
    parts = actor_critic.build(name, env, env_params, config)
    return actor_critic.make_agent(name, parts, env, env_params, PPOHParams, partial(train_step, parts))
