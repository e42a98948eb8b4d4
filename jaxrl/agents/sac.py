"""SAC (Haarnoja et al. 2018): twin critics, a tanh-squashed Gaussian policy, automatic entropy
temperature.

* Critic target: ``r + discount * (min_i Q'_i(s', a') - alpha * log pi(a' | s'))``, ``a' ~ pi(s')``.
* Actor: minimise ``alpha * log pi(a | s) - min_i Q_i(s, a)`` over reparameterised ``a ~ pi(s)``.
* Temperature (``autotune``): minimise ``-log_alpha * (log pi(a | s) + target_entropy)``, with
  ``target_entropy = target_entropy_scale * action_dim`` (default -1 x action_dim).
* ``log pi`` includes the tanh change of variables (``jaxrl.core.distributions.squashed_gaussian``).
* ``exploration="gsde"`` (generalized state-dependent exploration, Raffin et al. 2022, as
  Stable-Baselines3's ``use_sde=True``): the policy's std is ``sqrt(z(s)^2 @ exp(2 log_std))`` for
  the actor's last hidden features ``z(s)`` and a learned ``log_std`` [latent, D]. Each env acts
  with ``tanh(mean(s) + z(s) @ W)`` under one noise matrix ``W ~ N(0, exp(log_std)^2)`` held for
  ``sde_sample_freq`` env steps (default: each collection of ``train_freq`` steps), so its
  exploration is smooth in the state and persists over many steps. The updates draw an independent
  sample of the same per-state Gaussian for every transition (SB3 shares one matrix per batch: the
  same distribution, a noisier estimate).

``discount = gamma * (1 - terminated)``; ``s'`` is the observation the action led to, before any
auto-reset: a time-limit truncation bootstraps. Actions are in [-1, 1] inside the agent, scaled to
the env's bounds when stepping; the deterministic policy is ``tanh(mean)``.
"""

from __future__ import annotations

import dataclasses
from functools import partial
from typing import Any, Literal

import chex
import jax
import jax.numpy as jnp
from flax import struct

from jaxrl.core import continuous, off_policy, optim
from jaxrl.core.agent import Agent
from jaxrl.core.continuous import ContinuousConfig, ContinuousHParams, ContinuousParts, ContinuousState
from jaxrl.core.distributions import squashed_gaussian, state_dependent_log_std, state_dependent_noise
from jaxrl.core.hparams import hparam, resolve_config
from jaxrl.core.networks import SquashedGaussianActor, StateDependentActor
from jaxrl.errors import ConfigError


# -- config and hyperparameters -------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class SACConfig(ContinuousConfig):
    num_critics: int = 2
    autotune: bool = True  # learn the entropy temperature alpha (else it stays at alpha_init)
    exploration: Literal["gaussian", "gsde"] = "gaussian"  # gsde: generalized state-dependent exploration
    sde_sample_freq: int = -1  # gsde: env steps between noise matrices; -1: one per collection of train_freq steps
    sde_log_std_init: float = -3.0  # gsde: initial log-std of every noise weight (SB3's log_std_init)


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


def mean_and_log_std(parts: ContinuousParts, actor_params: Any, obs: jax.Array) -> tuple[jax.Array, jax.Array]:
    """The pre-squash Gaussian's mean and log-std at ``obs`` (gSDE's per-state std, or the
    actor's own)."""
    if parts.noise == "gsde":
        mean, log_std, features = parts.actor.apply(actor_params, obs)
        return mean, state_dependent_log_std(features, log_std)
    return parts.actor.apply(actor_params, obs)


def policy(parts: ContinuousParts, actor_params: Any, obs: jax.Array, key: jax.Array) -> tuple[jax.Array, jax.Array]:
    """A reparameterised sample in [-1, 1] and its log-probability."""
    mean, log_std = mean_and_log_std(parts, actor_params, obs)
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
def behave(parts: ContinuousParts, state: ContinuousState, key: jax.Array) -> tuple[jax.Array, jax.Array | None]:
    """A sample of the policy; with gSDE, ``tanh(mean(s) + z(s) @ W)`` under each env's held noise
    matrix, redrawn when due (and the noise state)."""
    obs = state.obs.astype(jnp.float32)
    if parts.noise != "gsde":
        return policy(parts, state.params, obs, key)[0], None
    mean, log_std, features = parts.actor.apply(state.params, obs)
    unit_weights = jnp.where(gsde_redraw_due(parts, state.steps), jax.random.normal(key, state.noise.shape), state.noise)
    return jnp.tanh(mean + state_dependent_noise(features, log_std, unit_weights)), unit_weights


def gsde_redraw_due(parts: ContinuousParts, steps: jax.Array) -> jax.Array:
    """Whether the env step after ``steps`` (env steps per seed, all envs) starts with fresh gSDE
    noise matrices: every ``sde_sample_freq`` steps of each env, or with each collection of
    ``train_freq`` steps (-1)."""
    config = parts.config
    every = config.train_freq if config.sde_sample_freq == -1 else config.sde_sample_freq
    return (steps // config.num_envs) % every == 0


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
    mean = parts.actor.apply(params, jnp.asarray(obs, jnp.float32))[0]
    return continuous.to_env(parts, jnp.tanh(mean))


# -- the agent ------------------------------------------------------------------------------------
def validate_exploration(config: SACConfig) -> None:
    """gSDE's options are whole numbers where they count steps, and only set with gSDE."""
    defaults = SACConfig()
    if config.exploration != "gsde":
        for option in ("sde_sample_freq", "sde_log_std_init"):
            if getattr(config, option) != getattr(defaults, option):
                raise ConfigError(f"{option}={getattr(config, option)!r} only applies to exploration='gsde' "
                                  f"(this config has exploration={config.exploration!r}): set exploration='gsde' or drop it")
        return
    freq = config.sde_sample_freq
    if isinstance(freq, bool) or not float(freq).is_integer() or not (freq == -1 or freq >= 1):
        raise ConfigError(f"sde_sample_freq={freq!r} must be a whole number >= 1 (env steps between gSDE noise "
                          "matrices), or -1 for one per collection of train_freq steps")


def make_actor(config: SACConfig, action_dim: int) -> Any:
    hidden = tuple(int(w) for w in config.hidden)
    if config.exploration == "gsde":
        return StateDependentActor(action_dim, hidden, config.activation, float(config.sde_log_std_init))
    return SquashedGaussianActor(action_dim, hidden, config.activation)


def make(env: Any, env_params: Any, config: SACConfig | dict | None = None, *, name: str = "sac") -> Agent:
    config = resolve_config(SACConfig, config, name)
    validate_exploration(config)
    config = dataclasses.replace(config, sde_sample_freq=int(config.sde_sample_freq))
    parts = continuous.build(
        name, env, env_params, config, partial(make_actor, config),
        target_actor=False, learn_alpha=True, noise="gsde" if config.exploration == "gsde" else None,
    )
    env_step = partial(continuous.env_step, parts, behave=partial(behave, parts))
    return continuous.make_agent(name, parts, env, env_params, SACHParams, env_step, partial(learn, parts),
                                 partial(act, parts))
