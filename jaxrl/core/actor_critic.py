"""What the on-policy agents (REINFORCE, A2C, PPO) share: config, state, rollout, act.

Module-level pure functions over ``ActorCriticParts`` (built once by an agent's ``make``) and an
``ACState``; each agent module adds only its own loss and update schedule on top of them.

Recurrent policies (``recurrent="gru" | "lstm"``): every env's hidden state (the cell's carry)
lives in ``ACState.carry`` and is reset to the initial carry after EVERY episode end
(termination or truncation), in collection, in the update's re-run and in evaluation alike.
The update re-runs each env's whole rollout from the carry the env started it with
(``Sequences``), resetting where an episode started inside the rollout. The bootstrap at step t
is V(final observation of step t) computed with the carry that observation produces: the cell
steps once more from the carry after step t, before any reset (``RolloutStep.next_value``). At
a truncation that is the value of the state the episode was cut in, exactly as the feed-forward
agents bootstrap; where the episode goes on, it is the next step's value.
"""

from __future__ import annotations

import dataclasses
from functools import partial
from typing import Any, Callable, NamedTuple

import chex
import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from gymnax.environments import spaces

from jaxrl.core import optim
from jaxrl.core.agent import Agent, box_bounds, describe_space, reset_carry
from jaxrl.errors import ConfigError
from jaxrl.core.hparams import HParams, hparam
from jaxrl.core.networks import (Activation, ActorCritic, ObsEncoding, Recurrent, RecurrentActorCritic, Torso,
                                  initial_carry, obs_encoding)
from jaxrl.core.normalization import RewardNormalizer, RunningStats
from jaxrl.core.rollout import VecEnv, episode_metrics


@dataclasses.dataclass(frozen=True)
class ActorCriticConfig:
    """Static options every on-policy agent has."""

    num_envs: int = 8
    rollout_len: int = 128
    hidden: tuple[int, ...] = (64, 64)
    activation: Activation = "tanh"
    torso: Torso = "auto"  # "auto": nature_cnn for [H, W, C] frames of 36x36 or more (Atari), cnn for smaller (MinAtar)
    shared_torso: bool = False
    normalize_obs: bool = False
    normalize_reward: bool = False
    anneal_lr: bool = False  # linear decay of the learning rate to 0 over the run's total steps
    log_std_init: float = 0.0  # Gaussian policies: initial log standard deviation
    recurrent: Recurrent = "none"  # "gru" | "lstm": a recurrent cell after the torso (flax's); "none": feed-forward
    recurrent_size: int = 64  # units of the recurrent cell


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
    next_value: jax.Array | None = None  # recurrent: V(final_obs) with the carry it produces (None: feed-forward)


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
    carry: Any = None  # recurrent: every env's hidden state, leading axis num_envs (None: feed-forward)


class ActorCriticParts(NamedTuple):
    """The static pieces of an on-policy agent, built once by its ``make``."""

    config: ActorCriticConfig
    venv: VecEnv
    encoding: ObsEncoding  # observations -> the network's input (before any standardisation)
    network: ActorCritic | RecurrentActorCritic  # (network input) -> (policy distribution, value);
    # recurrent: (carry, network input) -> (carry, (policy distribution, value))
    discrete: bool  # Discrete actions (else Box: sampled unbounded, clipped when stepping)
    action_low: np.ndarray | None  # Box actions: the space's bounds
    action_high: np.ndarray | None
    initial_carry: Any = None  # recurrent: one env's initial carry (None: feed-forward)

    @property
    def recurrent(self) -> bool:
        return self.initial_carry is not None


def validate_common(agent_name: str, env: Any, env_params: Any, config: ActorCriticConfig) -> None:
    action_space = env.action_space(env_params)
    if not isinstance(action_space, (spaces.Discrete, spaces.Box)):
        raise ConfigError(f"{agent_name} supports Discrete and Box action spaces, not {describe_space(action_space)}")
    for name in ("num_envs", "rollout_len"):
        if getattr(config, name) < 1:
            raise ConfigError(f"{name}={getattr(config, name)} must be >= 1")
    if not config.hidden or any(int(w) < 1 for w in config.hidden):
        raise ConfigError(f"hidden={config.hidden} must list positive layer widths, e.g. hidden=(64, 64)")
    if config.recurrent_size < 1:
        raise ConfigError(f"recurrent_size={config.recurrent_size} must be >= 1 (the recurrent cell's units), e.g. recurrent_size=64")


def build(agent_name: str, env: Any, env_params: Any, config: ActorCriticConfig) -> ActorCriticParts:
    """The static pieces: vectorised envs, the observation encoding, the actor-critic network."""
    validate_common(agent_name, env, env_params, config)
    obs_space, action_space = env.observation_space(env_params), env.action_space(env_params)
    encoding = obs_encoding(obs_space, config.torso)  # discrete observations (FrozenLake, probes): one-hot
    if encoding.categories is not None and config.normalize_obs:
        raise ConfigError("normalize_obs is for continuous observations; this env's observations are discrete")
    discrete = isinstance(action_space, spaces.Discrete)
    network_options = dict(
        hidden=tuple(int(w) for w in config.hidden),
        activation=config.activation,
        torso=encoding.torso,
        shared=config.shared_torso,
        num_actions=action_space.n if discrete else None,
        action_dim=None if discrete else int(np.prod(action_space.shape)),
        log_std_init=config.log_std_init,
        obs_ndim=len(encoding.shape),
    )
    carry = None
    if config.recurrent == "none":
        network = ActorCritic(**network_options)
    else:
        network = RecurrentActorCritic(cell=config.recurrent, size=int(config.recurrent_size), **network_options)
        carry = initial_carry(config.recurrent, int(config.recurrent_size))
    low, high = (None, None) if discrete else box_bounds(action_space)
    venv = VecEnv(env, env_params, config.num_envs)
    return ActorCriticParts(config, venv, encoding, network, discrete, low, high, carry)


# -- the policy -----------------------------------------------------------------------------------
def normalize(parts: ActorCriticParts, params: ACParams, obs: Any) -> Any:
    """The network's input: one-hot for discrete observations, else (optionally) standardised."""
    obs = parts.encoding.encode(obs)
    return obs if params.obs_stats is None else params.obs_stats.normalize(obs)


def apply(parts: ActorCriticParts, params: ACParams, obs: Any) -> tuple[Any, jax.Array]:
    """(policy distribution, value) at raw observations (any leading axes); feed-forward."""
    return parts.network.apply(params.network, normalize(parts, params, obs))


def recurrent_apply(parts: ActorCriticParts, params: ACParams, carry: Any, obs: Any) -> tuple[Any, tuple[Any, jax.Array]]:
    """One recurrent step at raw observations: (carry', (policy distribution, value))."""
    return parts.network.apply(params.network, carry, normalize(parts, params, obs))


def env_action(parts: ActorCriticParts, action: jax.Array) -> jax.Array:
    """Continuous actions are sampled unbounded and clipped to the space when stepping."""
    return action if parts.discrete else jnp.clip(action, parts.action_low, parts.action_high)


def act(parts: ActorCriticParts, params: ACParams, obs: Any, key: jax.Array) -> jax.Array:
    """The deterministic policy: argmax for discrete actions, the clipped mean for continuous."""
    dist, _ = apply(parts, params, obs)
    return env_action(parts, dist.mode())


def recurrent_act(parts: ActorCriticParts, params: ACParams, carry: Any, obs: Any, key: jax.Array) -> tuple[jax.Array, Any]:
    """The deterministic recurrent policy for one observation: (action, the carry after it)."""
    carry, (dist, _) = recurrent_apply(parts, params, carry, obs)
    return env_action(parts, dist.mode()), carry


def _recurrent_only_act(name: str, params: Any, obs: Any, key: jax.Array) -> jax.Array:
    raise ConfigError(f"{name} is recurrent: act with agent.recurrent_act(params, carry, obs, key) -> (action, carry) "
                      "from agent.initial_carry(), resetting the carry at each episode start (result.policy() does this)")


# -- the agent's steps ----------------------------------------------------------------------------
def init(parts: ActorCriticParts, key: jax.Array, hparams: OnPolicyHParams) -> ACState:
    """Fresh network and optimiser, empty normalisation statistics, reset envs."""
    config = parts.config
    net_key, env_key, key = jax.random.split(key, 3)
    obs, env_state = parts.venv.reset(env_key)
    dummy_obs = jnp.zeros(parts.encoding.shape, jnp.float32)
    if parts.recurrent:
        network_params = parts.network.init(net_key, parts.initial_carry, dummy_obs)
    else:
        network_params = parts.network.init(net_key, dummy_obs)
    obs_stats = RunningStats.create(parts.encoding.shape) if config.normalize_obs else None
    params = ACParams(network_params, obs_stats)
    opt_state = optim.init(network_params, hparams.learning_rate, hparams.max_grad_norm)
    reward_norm = RewardNormalizer.create(config.num_envs) if config.normalize_reward else None
    carry = None
    if parts.recurrent:
        carry = jax.tree.map(lambda c: jnp.broadcast_to(c, (config.num_envs,) + c.shape), parts.initial_carry)
    return ACState(params, opt_state, hparams, env_state, obs, key, jnp.zeros((), jnp.int32), reward_norm, carry)


def collect(parts: ActorCriticParts, state: ACState, key: jax.Array) -> tuple[ACState, RolloutStep, dict]:
    """``rollout_len`` steps of every env under the current policy (a lax.scan); metrics summed.

    Recurrent: the returned state's ``carry`` is every env's hidden state after the rollout (reset
    where the last step ended an episode); the carry the rollout started from is the input
    ``state.carry``, which the update re-runs the sequences from (``sequences``)."""
    config = parts.config

    def step(carry, step_key):
        env_state, obs, hidden = carry
        policy_key, env_key = jax.random.split(step_key)
        if parts.recurrent:
            hidden, (dist, value) = recurrent_apply(parts, state.params, hidden, obs)
        else:
            dist, value = apply(parts, state.params, obs)
        action = dist.sample(policy_key)
        env_state, out = parts.venv.step(env_key, env_state, env_action(parts, action))
        next_value = None
        if parts.recurrent:
            # V(final observation) with the carry it produces: one more cell step before the reset.
            next_value = recurrent_apply(parts, state.params, hidden, out.final_obs)[1][1]
            hidden = reset_carry(parts.initial_carry, hidden, jnp.logical_or(out.terminated, out.truncated))
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
            next_value=next_value,
        )
        return (env_state, out.obs, hidden), (transition, episode_metrics(out.info))

    keys = jax.random.split(key, config.rollout_len)
    (env_state, obs, carry), (transitions, metrics) = jax.lax.scan(
        step, (state.env_state, state.obs, state.carry), keys
    )
    metrics = jax.tree.map(lambda m: m.sum(0), metrics)
    return state.replace(env_state=env_state, obs=obs, carry=carry), transitions, metrics


def bootstrap_values(parts: ActorCriticParts, params: ACParams, transitions: RolloutStep) -> jax.Array:
    """V(final observation) for every step, in one batched pass (already normalised obs); a
    recurrent agent's were computed during the rollout, with the carry each final observation produces."""
    if transitions.next_value is not None:
        return transitions.next_value
    return parts.network.apply(params.network, transitions.final_obs)[1]


# -- recurrent updates: whole env sequences -------------------------------------------------------
class Sequences(NamedTuple):
    """A recurrent update's network input: every env's rollout as one sequence."""

    obs: Any  # [T, E, ...] the (normalised) observations
    starts: jax.Array  # [T, E] True where an episode starts at step t > 0: the carry resets before it
    carry: Any  # [E, ...] each env's carry at the rollout's start

    def select(self, envs: jax.Array) -> "Sequences":
        """The sequences of the envs ``envs`` (indices)."""
        return Sequences(jax.tree.map(lambda x: x[:, envs], self.obs), self.starts[:, envs],
                         jax.tree.map(lambda x: x[envs], self.carry))


def sequences(traj: RolloutStep, start_carry: Any) -> Sequences:
    """The rollout as sequences from ``start_carry``, resetting after every episode end."""
    done = jnp.logical_or(traj.terminated, traj.truncated)
    starts = jnp.concatenate([jnp.zeros_like(done[:1]), done[:-1]])
    return Sequences(traj.obs, starts, start_carry)


def sequence_apply(parts: ActorCriticParts, network_params: Any, seq: Sequences) -> tuple[Any, jax.Array]:
    """(policy distribution, value) of every step of ``seq``, flattened time-major to ``[T * E]``
    (the order of ``x.reshape(T * E, ...)`` on a rollout's ``[T, E]`` arrays)."""
    chex.assert_rank(seq.starts, 2)
    _, (dist, value) = parts.network.apply(network_params, seq.carry, seq.obs, starts=seq.starts)
    flat = lambda x: x.reshape((x.shape[0] * x.shape[1],) + x.shape[2:])  # noqa: E731
    return jax.tree.map(flat, dist), flat(value)


def loss_inputs(parts: ActorCriticParts, traj: RolloutStep, start_carry: Any) -> tuple[Callable, Any]:
    """(apply_fn, network input) for a loss over the whole rollout flattened time-major: the
    network on flattened observations, or (recurrent) the sequences re-run from ``start_carry``."""
    if parts.recurrent:
        return partial(sequence_apply, parts), sequences(traj, start_carry)
    flat = jax.tree.map(lambda x: x.reshape((x.shape[0] * x.shape[1],) + x.shape[2:]), traj.obs)
    return parts.network.apply, flat


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
    recurrent = parts.recurrent
    return Agent(
        name=name,
        env=env,
        env_params=env_params,
        config=config,
        hparams_cls=hparams_cls,
        init=partial(init, parts),
        train_step=train_step,
        act=partial(_recurrent_only_act, name) if recurrent else partial(act, parts),
        steps_per_update=config.num_envs * config.rollout_len,
        initial_carry=(lambda: parts.initial_carry) if recurrent else None,
        recurrent_act=partial(recurrent_act, parts) if recurrent else None,
    )
