"""DDPG and TD3: a deterministic actor trained through its critic, with replay and Polyak targets.

* DDPG (Lillicrap et al. 2016): one critic, target ``r + discount * Q'(s', mu'(s'))``; the actor
  ascends ``Q(s, mu(s))``; exploration adds Gaussian or Ornstein-Uhlenbeck noise (the OU state
  lives in the training state and restarts with each episode).
* TD3 (Fujimoto et al. 2018): twin critics and the smaller of the two target values, target policy
  smoothing ``a' = clip(mu'(s') + clip(N(0, target_noise), -c, c), -1, 1)``, and actor and target
  updates only every ``policy_delay`` critic updates. The delay is static: one train_step is
  ``policy_delay`` rounds of (env steps, critic updates), then the actor and target updates, so
  no step computes an actor gradient it would throw away.

``discount = gamma * (1 - terminated)`` and ``s'`` is the observation the action led to (before
any auto-reset): a time-limit truncation bootstraps, only a termination zeroes the bootstrap.
Actions are in [-1, 1] inside the agent, scaled to the env's bounds when stepping (see
``jaxrl.core.continuous``).
"""

from __future__ import annotations

import dataclasses
from functools import partial
from typing import Any, Literal

import chex
import jax
import jax.numpy as jnp
from flax import struct

from jaxrl.core import continuous, exploration, off_policy, optim
from jaxrl.core.agent import Agent
from jaxrl.core.continuous import ContinuousConfig, ContinuousHParams, ContinuousParts, ContinuousState
from jaxrl.core.off_policy import Batch
from jaxrl.core.hparams import hparam, resolve_config
from jaxrl.errors import ConfigError
from jaxrl.core.networks import DeterministicActor


# -- config and hyperparameters -------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class DDPGConfig(ContinuousConfig):
    num_critics: int = 1
    noise: Literal["gaussian", "ou"] = "gaussian"  # exploration noise; ou: Ornstein-Uhlenbeck
    target_smoothing: bool = False  # TD3's target policy smoothing
    policy_delay: int = 1  # critic updates per actor (and target) update; TD3: 2


@struct.dataclass
class DDPGHParams(ContinuousHParams):
    learning_rate: float = hparam(1e-3, "the critic's Adam step size", low=0, low_open=True)
    actor_learning_rate: float = hparam(1e-3, "the actor's Adam step size", low=0, low_open=True)
    exploration_noise: float = hparam(0.1, "std of the Gaussian noise (or OU sigma), in [-1, 1] action units", low=0)
    ou_theta: float = hparam(0.15, "Ornstein-Uhlenbeck mean reversion", low=0)
    ou_dt: float = hparam(0.01, "Ornstein-Uhlenbeck time step", low=0, low_open=True)
    target_noise: float = hparam(0.2, "TD3 smoothing: std of the noise on the target action", low=0)
    target_noise_clip: float = hparam(0.5, "TD3 smoothing: the noise's clip", low=0)


# -- targets and loss -----------------------------------------------------------------------------
def td3_target(r_t: jax.Array, discount_t: jax.Array, q_t: jax.Array) -> jax.Array:
    """``r + discount * min_i Q'_i(s', a')`` for one transition; ``q_t``: [num_critics]
    (a single critic gives DDPG's target)."""
    chex.assert_rank([r_t, discount_t, q_t], [0, 0, 1])
    return r_t + discount_t * jnp.min(q_t)


def smoothed_action(action: jax.Array, noise: jax.Array, target_noise: jax.Array, noise_clip: jax.Array) -> jax.Array:
    """TD3's target policy smoothing: ``clip(a + clip(target_noise * noise, -c, c), -1, 1)``,
    ``noise`` standard normal."""
    chex.assert_equal_shape((action, noise))
    return jnp.clip(action + jnp.clip(target_noise * noise, -noise_clip, noise_clip), -1.0, 1.0)


def critic_target(parts: ContinuousParts, state: ContinuousState, batch: Batch, key: jax.Array) -> jax.Array:
    """The critics' target ``[batch]`` at the target actor's (smoothed, for TD3) next action."""
    hp = state.hparams
    next_action = parts.actor.apply(state.target_actor_params, batch.next_obs)
    if parts.config.target_smoothing:
        next_action = smoothed_action(next_action, jax.random.normal(key, next_action.shape),
                                      hp.target_noise, hp.target_noise_clip)
    next_q = parts.critic.apply(state.target_critic_params, batch.next_obs, next_action)  # [critics, batch]
    return jax.vmap(td3_target, in_axes=(0, 0, 1))(batch.reward, batch.discount, next_q)


def actor_loss(actor_params: Any, critic_params: Any, parts: ContinuousParts, obs: jax.Array) -> jax.Array:
    """``-mean Q_1(s, mu(s))``: the actor ascends the first critic, as TD3 does."""
    chex.assert_rank(obs, 1 + len(parts.obs_shape))
    q = parts.critic.apply(critic_params, obs, parts.actor.apply(actor_params, obs))
    return -jnp.mean(q[0])


# -- the agent's steps ----------------------------------------------------------------------------
def behave(parts: ContinuousParts, state: ContinuousState, key: jax.Array) -> tuple[jax.Array, jax.Array | None]:
    """The actor's actions plus Gaussian or Ornstein-Uhlenbeck noise (and the new noise state)."""
    mean = parts.actor.apply(state.params, state.obs.astype(jnp.float32))
    hp = state.hparams
    eps = jax.random.normal(key, mean.shape)
    if parts.config.noise == "ou":
        noise = exploration.ornstein_uhlenbeck_step(state.noise, eps, hp.ou_theta, hp.exploration_noise, hp.ou_dt)
        return mean + noise, noise
    return mean + hp.exploration_noise * eps, None


def learn(parts: ContinuousParts, state: ContinuousState, key: jax.Array) -> tuple[ContinuousState, dict]:
    """One critic update."""
    sample_key, smoothing_key = jax.random.split(key)
    batch = continuous.sample(parts, state, sample_key)
    state, metrics = continuous.critic_step(parts, state, batch, critic_target(parts, state, batch, smoothing_key))
    ready = off_policy.learning_started(parts.config, state.steps)
    return state.replace(updates=state.updates + ready.astype(jnp.int32)), metrics


def update_actor(parts: ContinuousParts, state: ContinuousState, key: jax.Array) -> tuple[ContinuousState, dict]:
    """One actor update on a fresh minibatch, then both targets move towards the online nets."""
    hp = state.hparams
    obs = continuous.sample(parts, state, key).obs
    ready = off_policy.learning_started(parts.config, state.steps)
    loss, grads = jax.value_and_grad(actor_loss)(state.params, state.critic_params, parts, obs)
    params, actor_opt_state = optim.step(state.params, state.actor_opt_state, grads, hp.actor_learning_rate, ready)
    tau = jnp.where(ready, hp.tau, 0.0)
    state = state.replace(
        params=params,
        actor_opt_state=actor_opt_state,
        target_actor_params=optim.soft_update(params, state.target_actor_params, tau),
        target_critic_params=optim.soft_update(state.critic_params, state.target_critic_params, tau),
    )
    return state, off_policy.learning_metrics(ready, {"actor_loss": loss})


def act(parts: ContinuousParts, params: Any, obs: Any, key: jax.Array) -> jax.Array:
    """The deterministic policy, scaled to the env's bounds."""
    return continuous.to_env(parts, parts.actor.apply(params, jnp.asarray(obs, jnp.float32)))


# -- the agent ------------------------------------------------------------------------------------
def _policy_delay(config: DDPGConfig) -> int:
    """The config's ``policy_delay`` as an int (a ConfigError unless a whole number >= 1)."""
    if isinstance(config.policy_delay, bool) or not float(config.policy_delay).is_integer() or config.policy_delay < 1:
        raise ConfigError(f"policy_delay={config.policy_delay!r} must be a whole number >= 1 "
                          "(critic updates per actor update; TD3 uses 2)")
    return int(config.policy_delay)


def make(env: Any, env_params: Any, config: DDPGConfig | dict | None = None, *, name: str = "ddpg") -> Agent:
    """Build DDPG (or, with TD3's config, TD3: the registry's ``td3`` variant) on a continuous-action env."""
    config = resolve_config(DDPGConfig, config, name)
    policy_delay = _policy_delay(config)
    parts = continuous.build(
        name, env, env_params, config,
        lambda action_dim: DeterministicActor(action_dim, tuple(int(w) for w in config.hidden), config.activation),
        target_actor=True, learn_alpha=False, noise="ou" if config.noise == "ou" else None,
    )
    env_step = partial(continuous.env_step, parts, behave=partial(behave, parts))
    return continuous.make_agent(name, parts, env, env_params, DDPGHParams, env_step, partial(learn, parts),
                                 partial(act, parts), rounds=policy_delay, then=partial(update_actor, parts))
