"""Vanilla policy gradients: REINFORCE and A2C, one gradient step per rollout.

REINFORCE learns from Monte-Carlo returns. Its ``baseline`` is ``"normalize"`` (returns
standardised over the batch, as the tutorials do), ``"value"`` (a learned state-value baseline)
or ``"none"``. Without a learned value a return cut by a time limit or by the end of the rollout
is unknown, so those steps are left out of the loss (``complete_return_mask``) rather than
treated as if the episode had ended; with a value baseline they bootstrap from V.

A2C learns from GAE(lambda) advantages (lambda = 1 gives the classic bootstrapped return to the
end of the rollout) or fixed-window n-step returns, with a shared or separate actor and critic.

Both take ``recurrent="gru" | "lstm"``: the one gradient step re-runs every env's rollout from
the carry it started with (``jaxrl.core.actor_critic``).
"""

from __future__ import annotations

import dataclasses
from functools import partial
from typing import Any, Literal

import chex
import jax
import jax.numpy as jnp
from flax import struct

from jaxrl.core import actor_critic
from jaxrl.core.actor_critic import ACState, ActorCriticConfig, ActorCriticParts, OnPolicyHParams, RolloutStep
from jaxrl.core.agent import Agent
from jaxrl.core.hparams import hparam, resolve_config
from jaxrl.errors import ConfigError
from jaxrl.core.returns import complete_return_mask, discounted_returns, gae, n_step_returns


# -- config and hyperparameters -------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class ReinforceConfig(ActorCriticConfig):
    num_envs: int = 8
    rollout_len: int = 500
    hidden: tuple[int, ...] = (128,)
    baseline: Literal["normalize", "value", "none"] = "normalize"


@dataclasses.dataclass(frozen=True)
class A2CConfig(ActorCriticConfig):
    num_envs: int = 16
    rollout_len: int = 5
    hidden: tuple[int, ...] = (128,)
    shared_torso: bool = True
    advantage: Literal["gae", "n_step"] = "gae"
    n_steps: int = 5  # the window of "n_step" returns
    normalize_advantages: bool = False


@struct.dataclass
class ReinforceHParams(OnPolicyHParams):
    learning_rate: float = hparam(1e-2, "Adam step size", low=0, low_open=True)
    max_grad_norm: float = hparam(1e9, "global gradient norm clipped to (default: no clipping)", low=0, low_open=True)


@struct.dataclass
class A2CHParams(OnPolicyHParams):
    learning_rate: float = hparam(1e-3, "Adam step size", low=0, low_open=True)
    gae_lambda: float = hparam(1.0, "GAE lambda (1: the bootstrapped return to the rollout's end)", low=0, high=1)


# -- loss and advantages --------------------------------------------------------------------------
def policy_gradient_loss(
    network_params: Any,
    apply_fn: Any,
    obs: Any,
    actions: jax.Array,
    advantages: jax.Array,
    weights: jax.Array,
    value_targets: jax.Array | None,
    hparams: OnPolicyHParams,
) -> tuple[jax.Array, dict]:
    """-E_w[log pi(a|s) A] - ent_coef H + vf_coef 0.5 E[(V - target)^2] over weighted samples."""
    chex.assert_rank([advantages, weights], 1)
    chex.assert_equal_shape([advantages, weights] + ([] if value_targets is None else [value_targets]))
    dist, value = apply_fn(network_params, obs)
    total_weight = jnp.maximum(weights.sum(), 1.0)
    policy_loss = -jnp.sum(weights * dist.log_prob(actions) * jax.lax.stop_gradient(advantages)) / total_weight
    entropy = jnp.sum(weights * dist.entropy()) / total_weight
    loss = policy_loss - hparams.ent_coef * entropy
    aux = {"policy_loss": policy_loss, "entropy": entropy}
    if value_targets is not None:
        value_loss = 0.5 * jnp.mean((value - value_targets) ** 2)
        loss = loss + hparams.vf_coef * value_loss
        aux["value_loss"] = value_loss
    return loss, aux


def _standardize(x: jax.Array, weights: jax.Array) -> jax.Array:
    """``x`` standardised by its weighted mean and standard deviation."""
    total = jnp.maximum(weights.sum(), 1.0)
    mean = jnp.sum(weights * x) / total
    std = jnp.sqrt(jnp.sum(weights * (x - mean) ** 2) / total)
    return (x - mean) / (std + 1e-8)


_over_envs = partial(jax.vmap, in_axes=1, out_axes=1)  # a per-env function over [T, num_envs] arrays


def uses_value(config: ReinforceConfig | A2CConfig) -> bool:
    """Whether the agent learns a state value (A2C, REINFORCE with a value baseline)."""
    return isinstance(config, A2CConfig) or config.baseline == "value"


def advantages_and_targets(config: ReinforceConfig | A2CConfig, traj: RolloutStep, next_values: jax.Array | None,
                           hparams: OnPolicyHParams) -> tuple[jax.Array, jax.Array, jax.Array | None]:
    """(advantages, per-sample weights, value targets or None) for this agent's estimator;
    arrays [T, num_envs]."""
    gamma = hparams.gamma
    ones = jnp.ones_like(traj.reward)
    if isinstance(config, A2CConfig):
        if config.advantage == "gae":
            advantages, targets = _over_envs(gae, in_axes=(1, 1, 1, 1, 1, None, None))(
                traj.reward, traj.value, next_values, traj.terminated, traj.truncated, gamma, hparams.gae_lambda
            )
        else:
            targets = _over_envs(n_step_returns, in_axes=(1, 1, 1, 1, None, None))(
                traj.reward, next_values, traj.terminated, traj.truncated, gamma, config.n_steps
            )
            advantages = targets - traj.value
        if config.normalize_advantages:
            advantages = _standardize(advantages, ones)
        return advantages, ones, targets
    # REINFORCE
    if config.baseline == "value":
        returns = _over_envs(discounted_returns, in_axes=(1, 1, 1, 1, None))(
            traj.reward, next_values, traj.terminated, traj.truncated, gamma
        )
        return returns - traj.value, ones, returns
    weights = _over_envs(complete_return_mask)(traj.terminated, traj.truncated).astype(jnp.float32)
    returns = _over_envs(discounted_returns, in_axes=(1, 1, 1, 1, None))(
        traj.reward, jnp.zeros_like(traj.reward), traj.terminated, traj.truncated, gamma
    )
    if config.baseline == "normalize":
        returns = _standardize(returns, weights)
    return returns, weights, None


def train_step(parts: ActorCriticParts, state: ACState) -> tuple[ACState, dict]:
    """One rollout, then one gradient step on all of it."""
    config = parts.config
    batch_size = config.num_envs * config.rollout_len
    key, rollout_key = jax.random.split(state.key)
    start_carry = state.carry  # recurrent: the update re-runs each env's rollout from it
    state, traj, metrics = actor_critic.collect(parts, state, rollout_key)
    next_values = actor_critic.bootstrap_values(parts, state.params, traj) if uses_value(config) else None
    advantages, weights, targets = advantages_and_targets(config, traj, next_values, state.hparams)
    flat = lambda x: None if x is None else x.reshape((batch_size,) + x.shape[2:])  # noqa: E731
    apply_fn, network_input = actor_critic.loss_inputs(parts, traj, start_carry)
    grads, aux = jax.grad(policy_gradient_loss, has_aux=True)(
        state.params.network, apply_fn, network_input, flat(traj.action),
        flat(advantages), flat(weights), flat(targets), state.hparams,
    )
    network_params, opt_state = actor_critic.apply_gradients(parts, state, state.opt_state, state.params.network, grads)
    state = actor_critic.finish(state, traj, network_params, opt_state, key)
    aux["used_fraction"] = weights.mean()
    return state, {**metrics, **aux}


# -- the agents -----------------------------------------------------------------------------------
def _make(name: str, env: Any, env_params: Any, config: Any, hparams_cls: type[OnPolicyHParams]) -> Agent:
    parts = actor_critic.build(name, env, env_params, config)
    return actor_critic.make_agent(name, parts, env, env_params, hparams_cls, partial(train_step, parts))


def make_reinforce(env: Any, env_params: Any, config: ReinforceConfig | dict | None = None, *, name: str = "reinforce") -> Agent:
    config = resolve_config(ReinforceConfig, config, name)
    return _make(name, env, env_params, config, ReinforceHParams)


def make_a2c(env: Any, env_params: Any, config: A2CConfig | dict | None = None, *, name: str = "a2c") -> Agent:
    config = resolve_config(A2CConfig, config, name)
    if config.n_steps < 1:
        raise ConfigError(f"n_steps={config.n_steps} must be >= 1")
    return _make(name, env, env_params, config, A2CHParams)
