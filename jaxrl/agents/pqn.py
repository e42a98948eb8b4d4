"""PQN (Gallici et al. 2024, "Simplifying Deep Temporal Difference Learning").

No replay buffer and no target network: a Q-network with LayerNorm before each activation, many
vectorised envs, and per ``train_step`` one rollout of ``rollout_len`` steps of every env under
epsilon-greedy, its Q(lambda) returns, then ``num_epochs`` passes of ``num_minibatches``
regression steps (0.5 x squared error of ``Q(s, a)`` against the return; Adam behind global-norm
gradient clipping, optionally a linearly annealed learning rate).

Targets (``jaxrl.core.returns.q_lambda_returns``) bootstrap from ``max_a Q(s', a)`` at each step's
FINAL observation ``s'`` (before any auto-reset), computed in one batched pass after the rollout
with the parameters that collected it (as purejaxql: no update happens during a rollout); the
recursion is cut at every episode end, a time-limit truncation bootstraps from ``s'`` and only a
termination zeroes the bootstrap. Rewards are multiplied by ``reward_scale`` before learning.
The epsilon schedule counts env steps per seed and is evaluated once per rollout.
"""

from __future__ import annotations

import dataclasses
from functools import partial
from typing import Any, NamedTuple

import chex
import jax
import jax.numpy as jnp
from flax import struct

from jaxrl.core import exploration, optim
from jaxrl.core.agent import Agent, require_discrete_actions
from jaxrl.core.exploration import EpsilonSchedule
from jaxrl.core.hparams import HParams, hparam, resolve_config
from jaxrl.core.minibatches import check_minibatches, minibatch_epochs
from jaxrl.core.networks import Activation, ObsEncoding, QNetwork, Torso, obs_encoding
from jaxrl.core.off_policy import Transition
from jaxrl.core.returns import q_lambda_returns
from jaxrl.core.rollout import VecEnv, collect_transitions
from jaxrl.errors import ConfigError


# -- config and hyperparameters -------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class PQNConfig:
    """Static choices: they fix the program's shapes or structure."""

    num_envs: int = 32
    rollout_len: int = 64  # env steps per env in one train_step
    num_epochs: int = 4  # passes over each rollout
    num_minibatches: int = 16  # per epoch; must divide num_envs x rollout_len
    hidden: tuple[int, ...] = (128, 128)
    activation: Activation = "relu"
    torso: Torso = "auto"  # "auto": nature_cnn for [H, W, C] frames of 36x36 or more (Atari), cnn for smaller (MinAtar)
    layer_norm: bool = True  # LayerNorm before each torso activation (the paper's network)
    anneal_lr: bool = False  # linear decay of the learning rate to 0 over the run's total steps
    epsilon_schedule: EpsilonSchedule = "linear"


@struct.dataclass
class PQNHParams(HParams):
    learning_rate: float = hparam(3e-4, "Adam step size", low=0, low_open=True)
    gamma: float = hparam(0.99, "discount factor", low=0, high=1)
    q_lambda: float = hparam(0.65, "Q(lambda)'s lambda (0: one-step targets, 1: Monte-Carlo within episodes)",
                             low=0, high=1)
    max_grad_norm: float = hparam(10.0, "global gradient norm clipped to", low=0, low_open=True)
    reward_scale: float = hparam(1.0, "rewards are multiplied by this before learning", low=0, low_open=True)
    epsilon: float = hparam(1.0, "epsilon-greedy: the schedule's start (the constant of a constant schedule)",
                            low=0, high=1)
    epsilon_end: float = hparam(0.05, "the epsilon schedule's end", low=0, high=1)
    epsilon_decay: float = hparam(0.995, "exponential schedule: factor per env step", low=0, high=1, low_open=True)
    epsilon_decay_duration: float = hparam(100_000.0, "linear schedule: env steps per seed from epsilon to epsilon_end",
                                           low=0, low_open=True)
    total_steps: float = hparam(0.0, "env steps per seed of the run (for anneal_lr)", low=0, engine=True)


@struct.dataclass
class PQNState:
    params: Any  # the Q-network's weights (what act and evaluation use)
    opt_state: Any
    hparams: PQNHParams
    env_state: Any
    obs: Any
    key: jax.Array
    steps: jax.Array  # env steps per seed so far


class PQNParts(NamedTuple):
    """The static pieces, built once by ``make``."""

    config: PQNConfig
    venv: VecEnv
    encoding: ObsEncoding  # observations -> the network's input
    network: QNetwork


class Batch(NamedTuple):
    """Rollout samples with their Q(lambda) returns (leading axis: samples)."""

    obs: Any
    action: jax.Array
    target: jax.Array


# -- values and loss ------------------------------------------------------------------------------
def q_values(parts: PQNParts, params: Any, obs: Any) -> jax.Array:
    """Action values ``[..., num_actions]`` of observations (any leading axes)."""
    return parts.network.apply(params, parts.encoding.encode(obs))


def q_lambda_targets(parts: PQNParts, params: Any, traj: Transition, hparams: PQNHParams) -> jax.Array:
    """The rollout's Q(lambda) returns ``[T, num_envs]``, bootstrapping from ``max_a Q(s', a)`` at
    every step's final observation (one batched pass of ``params`` over all of them)."""
    next_values = jnp.max(q_values(parts, params, traj.final_obs), axis=-1)
    return jax.vmap(q_lambda_returns, in_axes=(1, 1, 1, 1, None, None), out_axes=1)(
        traj.reward, next_values, traj.terminated, traj.truncated, hparams.gamma, hparams.q_lambda)


def pqn_loss(params: Any, parts: PQNParts, batch: Batch) -> tuple[jax.Array, dict]:
    """0.5 x mean squared error of ``Q(s, a)`` against the (constant) Q(lambda) returns."""
    chex.assert_rank([batch.action, batch.target], 1)
    chex.assert_type(batch.action, int)
    q = q_values(parts, params, batch.obs)
    q_taken = jnp.take_along_axis(q, batch.action[:, None], axis=-1)[:, 0]
    td_error = jax.lax.stop_gradient(batch.target) - q_taken
    loss = jnp.mean(0.5 * td_error**2)
    return loss, {"loss": loss, "td_error": jnp.mean(jnp.abs(td_error)), "q_mean": jnp.mean(q_taken)}


# -- the agent's steps ----------------------------------------------------------------------------
def init(parts: PQNParts, key: jax.Array, hparams: PQNHParams) -> PQNState:
    net_key, env_key, key = jax.random.split(key, 3)
    obs, env_state = parts.venv.reset(env_key)
    params = parts.network.init(net_key, jnp.zeros(parts.encoding.shape, jnp.float32))
    opt_state = optim.init(params, hparams.learning_rate, hparams.max_grad_norm)
    return PQNState(params, opt_state, hparams, env_state, obs, key, jnp.zeros((), jnp.int32))


def train_step(parts: PQNParts, state: PQNState) -> tuple[PQNState, dict]:
    """One epsilon-greedy rollout, its Q(lambda) returns, then ``num_epochs`` passes of
    ``num_minibatches`` gradient steps over it."""
    config, hp = parts.config, state.hparams
    key, rollout_key, update_key = jax.random.split(state.key, 3)
    epsilon = exploration.scheduled_epsilon(config.epsilon_schedule, state.steps, hp)
    choose = lambda obs, k: exploration.epsilon_greedy(k, q_values(parts, state.params, obs), epsilon)  # noqa: E731
    (env_state, obs), traj, metrics = collect_transitions(parts.venv, choose, state.env_state, state.obs, rollout_key,
                                                          config.rollout_len)
    traj = traj.replace(reward=traj.reward * hp.reward_scale)
    targets = q_lambda_targets(parts, state.params, traj, hp)
    flat = lambda x: x.reshape((x.shape[0] * x.shape[1],) + x.shape[2:])  # noqa: E731
    batch = jax.tree.map(flat, Batch(traj.obs, traj.action, targets))
    learning_rate = optim.annealed(hp.learning_rate, state.steps, hp.total_steps) if config.anneal_lr else None

    def minibatch_step(carry, minibatch):
        params, opt_state = carry
        grads, aux = jax.grad(pqn_loss, has_aux=True)(params, parts, minibatch)
        return optim.step(params, opt_state, grads, learning_rate), aux

    (params, opt_state), aux = minibatch_epochs(minibatch_step, (state.params, state.opt_state), batch, update_key,
                                                config.num_epochs, config.num_minibatches)
    state = state.replace(params=params, opt_state=opt_state, env_state=env_state, obs=obs, key=key,
                          steps=state.steps + config.num_envs * config.rollout_len)
    return state, {**metrics, **jax.tree.map(jnp.mean, aux), "epsilon": epsilon}


def act(parts: PQNParts, params: Any, obs: Any, key: jax.Array) -> jax.Array:
    """Greedy action for one observation, ties broken at random."""
    return exploration.greedy(key, q_values(parts, params, obs))


def q_function(agent: Agent) -> Any:
    """``(params, obs) -> action values`` of a made PQN agent (for analysis, tests and probes)."""
    return partial(q_values, build_parts(agent.env, agent.env_params, agent.config))


# -- the agent ------------------------------------------------------------------------------------
def _validate(env: Any, env_params: Any, config: PQNConfig, name: str) -> None:
    require_discrete_actions(name, env, env_params)
    for option in ("num_envs", "rollout_len", "num_epochs", "num_minibatches"):
        if getattr(config, option) < 1:
            raise ConfigError(f"{option}={getattr(config, option)} must be >= 1")
    if not config.hidden or any(int(w) < 1 for w in config.hidden):
        raise ConfigError(f"hidden={config.hidden} must list positive layer widths, e.g. hidden=(128, 128)")
    check_minibatches(config.num_envs, config.rollout_len, config.num_minibatches)


def build_parts(env: Any, env_params: Any, config: PQNConfig) -> PQNParts:
    """The static pieces: vectorised envs, the Q-network (LayerNorm per ``layer_norm``) and its input."""
    encoding = obs_encoding(env.observation_space(env_params), config.torso)
    network = QNetwork(env.action_space(env_params).n, tuple(int(w) for w in config.hidden), config.activation,
                       encoding.torso, obs_ndim=len(encoding.shape), layer_norm=config.layer_norm)
    return PQNParts(config, VecEnv(env, env_params, config.num_envs), encoding, network)


def make(env: Any, env_params: Any, config: PQNConfig | dict | None = None, *, name: str = "pqn") -> Agent:
    config = resolve_config(PQNConfig, config, name)
    _validate(env, env_params, config, name)
    parts = build_parts(env, env_params, config)
    return Agent(
        name=name,
        env=env,
        env_params=env_params,
        config=config,
        hparams_cls=PQNHParams,
        init=partial(init, parts),
        train_step=partial(train_step, parts),
        act=partial(act, parts),
        steps_per_update=config.num_envs * config.rollout_len,
    )
