"""What the on-policy agents (REINFORCE, A2C, PPO) share: config, state, rollout, act.

Module-level pure functions over ``ActorCriticParts`` (built once by an agent's ``make``) and an
``ACState``; each agent module adds only its own loss and update schedule on top of them.
"""

from __future__ import annotations

import dataclasses
from functools import partial
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from gymnax.environments import spaces

from jaxrl.core import optim
from jaxrl.core.agent import Agent, box_bounds, describe_space
from jaxrl.errors import ConfigError
from jaxrl.core.hparams import HParams, hparam
from jaxrl.core.networks import Activation, ActorCritic, ObsEncoding, Torso, obs_encoding
from jaxrl.core.normalization import RewardNormalizer, RunningStats
from jaxrl.core.rollout import VecEnv, episode_metrics


@dataclasses.dataclass(frozen=True)
class ActorCriticConfig:
    """Static options every on-policy agent has."""

    num_envs: int = 8
    rollout_len: int = 128
    hidden: tuple[int, ...] = (64, 64)
    activation: Activation = "tanh"
    torso: Torso = "auto"  # cnn for image observations [H, W, C] when "auto"
    shared_torso: bool = False
    normalize_obs: bool = False
    normalize_reward: bool = False
    anneal_lr: bool = False  # linear decay of the learning rate to 0 over the run's total steps
    log_std_init: float = 0.0  # Gaussian policies: initial log standard deviation


@struct.dataclass
class OnPolicyHParams(HParams):
    """Hyperparameters every on-policy agent has (traced, carried in the state)."""

    learning_rate: float = hparam(3e-4, "Adam step size", low=0, low_open=True)
    gamma: float = hparam(0.99, "discount factor", low=0, high=1)
    ent_coef: float = hparam(0.01, "weight of the entropy bonus", low=0)
    vf_coef: float = hparam(0.5, "weight of the value loss", low=0)
    max_grad_norm: float = hparam(0.5, "global gradient norm clipped to", low=0, low_open=True)
    total_steps: float = hparam(0.0, "env steps per seed of the run (for anneal_lr)", low=0, engine=True)


class RolloutStep(NamedTuple):
    """One on-policy rollout step of every env: a replay ``Transition``'s fields plus the policy's
    log-probability and value and the raw data for normalisation statistics; leading axes
    [T, num_envs] once stacked."""

    obs: Any  # the (normalised) observation the action was chosen from
    action: jax.Array
    reward: jax.Array  # the (scaled) reward learned from
    terminated: jax.Array
    truncated: jax.Array
    final_obs: Any  # the (normalised) observation the action led to, before auto-reset
    log_prob: jax.Array
    value: jax.Array
    raw_obs: Any  # unnormalised, for the observation statistics (None unless normalize_obs)
    raw_reward: jax.Array | None  # unscaled, for the reward statistics (None unless normalize_reward)


@struct.dataclass
class ACParams:
    """What ``act`` needs: network weights and the observation statistics."""

    network: Any
    obs_stats: RunningStats | None


@struct.dataclass
class ACState:
    params: ACParams
    opt_state: Any
    hparams: OnPolicyHParams
    env_state: Any
    obs: Any
    key: jax.Array
    updates: jax.Array  # train_steps done
    reward_norm: RewardNormalizer | None


class ActorCriticParts(NamedTuple):
    """The static pieces of an on-policy agent, built once by its ``make``."""

    config: ActorCriticConfig
    venv: VecEnv
    encoding: ObsEncoding  # observations -> the network's input (before any standardisation)
    network: ActorCritic  # (network input) -> (policy distribution, value)
    discrete: bool  # Discrete actions (else Box: sampled unbounded, clipped when stepping)
    action_low: np.ndarray | None  # Box actions: the space's bounds
    action_high: np.ndarray | None


def validate_common(agent_name: str, env: Any, env_params: Any, config: ActorCriticConfig) -> None:
    action_space = env.action_space(env_params)
    if not isinstance(action_space, (spaces.Discrete, spaces.Box)):
        raise ConfigError(f"{agent_name} supports Discrete and Box action spaces, not {describe_space(action_space)}")
    for name in ("num_envs", "rollout_len"):
        if getattr(config, name) < 1:
            raise ConfigError(f"{name}={getattr(config, name)} must be >= 1")
    if not config.hidden or any(int(w) < 1 for w in config.hidden):
        raise ConfigError(f"hidden={config.hidden} must list positive layer widths, e.g. hidden=(64, 64)")


def build(agent_name: str, env: Any, env_params: Any, config: ActorCriticConfig) -> ActorCriticParts:
    """The static pieces: vectorised envs, the observation encoding, the actor-critic network."""
    validate_common(agent_name, env, env_params, config)
    obs_space, action_space = env.observation_space(env_params), env.action_space(env_params)
    encoding = obs_encoding(obs_space, config.torso)  # discrete observations (FrozenLake, probes): one-hot
    if encoding.categories is not None and config.normalize_obs:
        raise ConfigError("normalize_obs is for continuous observations; this env's observations are discrete")
    discrete = isinstance(action_space, spaces.Discrete)
    network = ActorCritic(
        hidden=tuple(int(w) for w in config.hidden),
        activation=config.activation,
        torso=encoding.torso,
        shared=config.shared_torso,
        num_actions=action_space.n if discrete else None,
        action_dim=None if discrete else int(np.prod(action_space.shape)),
        log_std_init=config.log_std_init,
        obs_ndim=len(encoding.shape),
    )
    low, high = (None, None) if discrete else box_bounds(action_space)
    return ActorCriticParts(config, VecEnv(env, env_params, config.num_envs), encoding, network, discrete, low, high)


# -- the policy -----------------------------------------------------------------------------------
def normalize(parts: ActorCriticParts, params: ACParams, obs: Any) -> Any:
    """The network's input: one-hot for discrete observations, else (optionally) standardised."""
    obs = parts.encoding.encode(obs)
    return obs if params.obs_stats is None else params.obs_stats.normalize(obs)


def apply(parts: ActorCriticParts, params: ACParams, obs: Any) -> tuple[Any, jax.Array]:
    """(policy distribution, value) at raw observations (any leading axes)."""
    return parts.network.apply(params.network, normalize(parts, params, obs))


def env_action(parts: ActorCriticParts, action: jax.Array) -> jax.Array:
    """Continuous actions are sampled unbounded and clipped to the space when stepping."""
    return action if parts.discrete else jnp.clip(action, parts.action_low, parts.action_high)


def act(parts: ActorCriticParts, params: ACParams, obs: Any, key: jax.Array) -> jax.Array:
    """The deterministic policy: argmax for discrete actions, the clipped mean for continuous."""
    dist, _ = apply(parts, params, obs)
    return env_action(parts, dist.mode())


# -- the agent's steps ----------------------------------------------------------------------------
def init(parts: ActorCriticParts, key: jax.Array, hparams: OnPolicyHParams) -> ACState:
    """Fresh network and optimiser, empty normalisation statistics, reset envs."""
    config = parts.config
    net_key, env_key, key = jax.random.split(key, 3)
    obs, env_state = parts.venv.reset(env_key)
    network_params = parts.network.init(net_key, jnp.zeros(parts.encoding.shape, jnp.float32))
    obs_stats = RunningStats.create(parts.encoding.shape) if config.normalize_obs else None
    params = ACParams(network_params, obs_stats)
    opt_state = optim.init(network_params, hparams.learning_rate, hparams.max_grad_norm)
    reward_norm = RewardNormalizer.create(config.num_envs) if config.normalize_reward else None
    return ACState(params, opt_state, hparams, env_state, obs, key, jnp.zeros((), jnp.int32), reward_norm)


def collect(parts: ActorCriticParts, state: ACState, key: jax.Array) -> tuple[ACState, RolloutStep, dict]:
    """``rollout_len`` steps of every env under the current policy (a lax.scan); metrics summed."""
    config = parts.config

    def step(carry, step_key):
        env_state, obs = carry
        policy_key, env_key = jax.random.split(step_key)
        dist, value = apply(parts, state.params, obs)
        action = dist.sample(policy_key)
        env_state, out = parts.venv.step(env_key, env_state, env_action(parts, action))
        reward = out.reward.astype(jnp.float32)
        scaled = reward if state.reward_norm is None else state.reward_norm.scale(reward)
        transition = RolloutStep(
            obs=normalize(parts, state.params, obs),
            action=action,
            reward=scaled,
            terminated=out.terminated,
            truncated=out.truncated,
            final_obs=normalize(parts, state.params, out.final_obs),
            log_prob=dist.log_prob(action),
            value=value,
            raw_obs=obs if config.normalize_obs else None,  # kept only where statistics need them
            raw_reward=reward if config.normalize_reward else None,
        )
        return (env_state, out.obs), (transition, episode_metrics(out.info))

    keys = jax.random.split(key, config.rollout_len)
    (env_state, obs), (transitions, metrics) = jax.lax.scan(step, (state.env_state, state.obs), keys)
    metrics = jax.tree.map(lambda m: m.sum(0), metrics)
    return state.replace(env_state=env_state, obs=obs), transitions, metrics


def bootstrap_values(parts: ActorCriticParts, params: ACParams, transitions: RolloutStep) -> jax.Array:
    """V(final observation) for every step, in one batched pass (already normalised obs)."""
    return parts.network.apply(params.network, transitions.final_obs)[1]


def apply_gradients(parts: ActorCriticParts, state: ACState, opt_state: Any, network_params: Any,
                    grads: Any) -> tuple[Any, Any]:
    """One optimiser step of the network; the learning rate annealed by the env steps of the
    updates done before this train_step when ``anneal_lr``."""
    config = parts.config
    learning_rate = state.hparams.learning_rate
    if config.anneal_lr:
        steps_done = state.updates.astype(jnp.float32) * config.num_envs * config.rollout_len
        learning_rate = optim.annealed(learning_rate, steps_done, state.hparams.total_steps)
    return optim.step(network_params, opt_state, grads, learning_rate)


def finish(state: ACState, transitions: RolloutStep, network_params: Any, opt_state: Any, key: jax.Array) -> ACState:
    """After learning: install the new weights, update normalisation statistics from this
    rollout (only now, so the update saw the statistics the rollout was collected with),
    count the update."""
    params = state.params.replace(network=network_params)
    if params.obs_stats is not None:
        params = params.replace(obs_stats=params.obs_stats.update(transitions.raw_obs))
    reward_norm = state.reward_norm
    if reward_norm is not None:
        dones = jnp.logical_or(transitions.terminated, transitions.truncated)
        reward_norm = reward_norm.update(transitions.raw_reward, dones, state.hparams.gamma)
    return state.replace(params=params, opt_state=opt_state, key=key, reward_norm=reward_norm, updates=state.updates + 1)


def make_agent(name: str, parts: ActorCriticParts, env: Any, env_params: Any, hparams_cls: type[OnPolicyHParams],
               train_step: Callable[[ACState], tuple[ACState, dict]]) -> Agent:
    """An on-policy agent: the shared init and act around the agent's own train_step."""
    config = parts.config
    return Agent(
        name=name,
        env=env,
        env_params=env_params,
        config=config,
        hparams_cls=hparams_cls,
        init=partial(init, parts),
        train_step=train_step,
        act=partial(act, parts),
        steps_per_update=config.num_envs * config.rollout_len,
    )
