"""What the continuous-control off-policy agents (DDPG, TD3, SAC) share: config, state, networks,
action scaling, env steps into the replay buffer, the critic update and the target updates.

Actions live in [-1, 1]^D inside the agent (actors end in ``tanh``; the buffer, the critics and the
exploration noise all use these units) and are mapped linearly onto the env's bounds
``low + (a + 1) (high - low) / 2`` only when the env is stepped, so one set of hyperparameters
(noise scales, target smoothing) means the same on every env. Each agent module adds only its
actor update and its critic target.
"""

from __future__ import annotations

import dataclasses
from functools import partial
from typing import Any, Callable, Literal, NamedTuple

import chex
import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from gymnax.environments import spaces

from jaxrl.core import off_policy, optim
from jaxrl.core.agent import Agent, box_bounds, describe_space
from jaxrl.core.buffers import ReplayBuffer, ReplayState
from jaxrl.errors import ConfigError
from jaxrl.core.hparams import HParams, hparam
from jaxrl.core.networks import CriticEnsemble
from jaxrl.core.off_policy import Batch, ReplayConfig, Transition, learning_started
from jaxrl.core.rollout import VecEnv, episode_metrics


@dataclasses.dataclass(frozen=True)
class ContinuousConfig(ReplayConfig):
    """Static options of every continuous off-policy agent."""

    num_critics: int = 2  # TD3 and SAC: twin critics, the minimum in the target; DDPG: 1


@struct.dataclass
class ContinuousHParams(HParams):
    """Hyperparameters every continuous off-policy agent has."""

    learning_rate: float = hparam(3e-4, "the critics' Adam step size", low=0, low_open=True)
    actor_learning_rate: float = hparam(3e-4, "the actor's Adam step size", low=0, low_open=True)
    gamma: float = hparam(0.99, "discount factor", low=0, high=1)
    tau: float = hparam(0.005, "Polyak averaging of the targets after each update", low=0, high=1, low_open=True)
    max_grad_norm: float = hparam(100.0, "global-norm clipping of each network's gradient", low=0, low_open=True)


@struct.dataclass
class ContinuousState:
    params: Any  # the actor's weights: what act and evaluation use
    critic_params: Any  # [num_critics, ...] stacked
    target_actor_params: Any | None  # DDPG/TD3 only
    target_critic_params: Any
    actor_opt_state: Any
    critic_opt_state: Any
    log_alpha: jax.Array | None  # SAC only: log of the entropy temperature
    alpha_opt_state: Any | None
    buffer: ReplayState
    hparams: ContinuousHParams
    env_state: Any
    obs: Any
    key: jax.Array
    steps: jax.Array  # env steps per seed so far
    updates: jax.Array  # gradient steps taken (after learning starts)
    noise: jax.Array | None  # exploration-noise state per env: OU's [num_envs, D] (DDPG/TD3), gSDE's [num_envs, latent, D] (SAC)


# the exploration-noise state an agent keeps between env steps: an Ornstein-Uhlenbeck process per
# env and action dimension (restarting at zero with each episode), or gSDE's standard-normal noise
# matrices per env [latent, D] (redrawn every ``sde_sample_freq`` env steps, whatever the episode)
NoiseKind = Literal["ou", "gsde"]

# (state, key) -> (actions in [-1, 1], the new noise state or None): an agent's exploration policy
Behave = Callable[[ContinuousState, jax.Array], tuple[jax.Array, jax.Array | None]]


class ContinuousParts(NamedTuple):
    """The static pieces of a continuous off-policy agent, built once by its ``make``."""

    config: ContinuousConfig
    venv: VecEnv
    buffer: ReplayBuffer
    actor: Any  # a flax module: observation -> the agent's actor output
    critic: CriticEnsemble  # (observation, action in [-1, 1]) -> values [num_critics, ...]
    obs_shape: tuple[int, ...]
    action_dim: int
    action_shape: tuple[int, ...]  # the env's
    action_low: np.ndarray  # the env's bounds, flattened to [action_dim]
    action_high: np.ndarray
    target_actor: bool  # the state has a target actor (DDPG, TD3)
    learn_alpha: bool  # the state has a learned entropy temperature (SAC)
    noise: NoiseKind | None  # the state's exploration noise: "ou" (DDPG/TD3's option), "gsde" (SAC's), or none


def validate(agent_name: str, env: Any, env_params: Any, config: ContinuousConfig) -> None:
    action_space = env.action_space(env_params)
    if not isinstance(action_space, spaces.Box):
        raise ConfigError(
            f"{agent_name} is for continuous actions, but {env.name} has actions {describe_space(action_space)}. "
            "Use dqn (or ppo, a2c) for discrete actions, or an env with Box actions (Pendulum-v1, "
            "MountainCarContinuous-v0, AdBudget-v0)."
        )
    low, high = np.asarray(action_space.low, np.float64), np.asarray(action_space.high, np.float64)
    if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high)) and np.all(high > low)):
        raise ConfigError(f"{agent_name} needs finite action bounds low < high, but {env.name} has {describe_space(action_space)}")
    if config.num_critics < 1:
        raise ConfigError(f"num_critics={config.num_critics} must be >= 1")
    off_policy.validate_replay(config)


def build(agent_name: str, env: Any, env_params: Any, config: ContinuousConfig, make_actor: Callable[[int], Any], *,
          target_actor: bool, learn_alpha: bool, noise: NoiseKind | None) -> ContinuousParts:
    """``make_actor(action_dim)`` makes the agent's actor module; the flags pick the optional state
    (a target actor, a learned entropy temperature, an exploration-noise state)."""
    validate(agent_name, env, env_params, config)
    action_space = env.action_space(env_params)
    action_dim = int(np.prod(action_space.shape))
    low, high = (bound.reshape(action_dim) for bound in box_bounds(action_space))
    return ContinuousParts(
        config=config,
        venv=VecEnv(env, env_params, config.num_envs),
        buffer=ReplayBuffer.with_capacity(config.buffer_capacity, config.num_envs),
        actor=make_actor(action_dim),
        critic=CriticEnsemble(config.num_critics, tuple(int(w) for w in config.hidden), config.activation),
        obs_shape=tuple(env.observation_space(env_params).shape),
        action_dim=action_dim,
        action_shape=tuple(action_space.shape),
        action_low=low,
        action_high=high,
        target_actor=target_actor,
        learn_alpha=learn_alpha,
        noise=noise,
    )


def noise_shape(parts: ContinuousParts) -> tuple[int, ...]:
    """One env's exploration-noise state: OU's [D], gSDE's [latent, D] (latent: the actor's last
    hidden width)."""
    if parts.noise == "gsde":
        return (int(parts.config.hidden[-1]), parts.action_dim)
    return (parts.action_dim,)


def to_env(parts: ContinuousParts, action: jax.Array) -> jax.Array:
    """[-1, 1] -> the env's bounds, in its action shape."""
    low, high = parts.action_low, parts.action_high
    scaled = low + 0.5 * (jnp.clip(action, -1.0, 1.0) + 1.0) * (high - low)
    return scaled.reshape(action.shape[:-1] + parts.action_shape)


# -- the agent's steps ----------------------------------------------------------------------------
def init(parts: ContinuousParts, key: jax.Array, hparams: ContinuousHParams) -> ContinuousState:
    """Fresh networks (targets equal to them), optimisers, an empty buffer and reset envs."""
    actor_key, critic_key, env_key, key = jax.random.split(key, 4)
    obs, env_state = parts.venv.reset(env_key)
    dummy_obs, dummy_action = jnp.zeros(parts.obs_shape, jnp.float32), jnp.zeros(parts.action_dim, jnp.float32)
    actor_params = parts.actor.init(actor_key, dummy_obs)
    critic_params = parts.critic.init(critic_key, dummy_obs, dummy_action)
    example = Transition(dummy_obs, dummy_action, jnp.zeros(()), jnp.zeros((), bool), jnp.zeros((), bool), dummy_obs)
    learn_alpha = parts.learn_alpha
    log_alpha = jnp.log(hparams.alpha_init) if learn_alpha else None
    zero = jnp.zeros((), jnp.int32)
    return ContinuousState(
        params=actor_params,
        critic_params=critic_params,
        target_actor_params=actor_params if parts.target_actor else None,
        target_critic_params=critic_params,
        actor_opt_state=optim.init(actor_params, hparams.actor_learning_rate, hparams.max_grad_norm),
        critic_opt_state=optim.init(critic_params, hparams.learning_rate, hparams.max_grad_norm),
        log_alpha=log_alpha,
        alpha_opt_state=optim.init(log_alpha, hparams.alpha_learning_rate, hparams.max_grad_norm) if learn_alpha else None,
        buffer=parts.buffer.init(example),
        hparams=hparams,
        env_state=env_state,
        obs=obs,
        key=key,
        steps=zero,
        updates=zero,
        noise=jnp.zeros((parts.config.num_envs, *noise_shape(parts))) if parts.noise else None,
    )


def env_step(parts: ContinuousParts, state: ContinuousState, key: jax.Array,
             behave: Behave) -> tuple[ContinuousState, dict]:
    """One step of every env; ``behave(state, key) -> (actions in [-1, 1], noise state)`` is the
    agent's exploration policy, replaced by uniform actions before learning starts."""
    config = parts.config
    behave_key, random_key, env_key = jax.random.split(key, 3)
    actions, noise = behave(state, behave_key)
    uniform = jax.random.uniform(random_key, actions.shape, minval=-1.0, maxval=1.0)
    actions = jnp.where(learning_started(config, state.steps), jnp.clip(actions, -1.0, 1.0), uniform)
    env_state, out = parts.venv.step(env_key, state.env_state, to_env(parts, actions))
    transition = Transition(state.obs, actions, out.reward.astype(jnp.float32), out.terminated, out.truncated, out.final_obs)
    if parts.noise == "ou":  # a fresh noise process for each new episode
        noise = jnp.where(out.info["episode_done"][:, None], 0.0, noise)
    state = state.replace(env_state=env_state, obs=out.obs, buffer=parts.buffer.add(state.buffer, transition),
                          steps=state.steps + config.num_envs, noise=noise)
    return state, episode_metrics(out.info)


def sample(parts: ContinuousParts, state: ContinuousState, key: jax.Array) -> Batch:
    """A uniform minibatch of ``batch_size`` transitions, ``discount = gamma (1 - terminated)``."""
    drawn = parts.buffer.sample(state.buffer, key, parts.config.batch_size)
    data = parts.buffer.get(state.buffer, drawn.rows, drawn.envs)
    discount = state.hparams.gamma * (1.0 - data.terminated.astype(jnp.float32))
    return Batch(data.obs.astype(jnp.float32), data.action, data.reward, discount, data.final_obs.astype(jnp.float32))


def critic_loss(critic_params: Any, parts: ContinuousParts, batch: Batch,
                target: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Every critic's regression on ``target`` (0.5 x squared error, summed over critics); returns
    the loss and the mean ``Q(s, a)``."""
    chex.assert_rank([batch.obs, batch.action, target], [1 + len(parts.obs_shape), 2, 1])
    q = parts.critic.apply(critic_params, batch.obs, batch.action)  # [num_critics, batch]
    return 0.5 * jnp.mean((q - target) ** 2, axis=-1).sum(), q.mean()


def critic_step(parts: ContinuousParts, state: ContinuousState, batch: Batch,
                target: jax.Array) -> tuple[ContinuousState, dict]:
    """One optimiser step of the critics on ``target``; masked out before learning starts."""
    target = jax.lax.stop_gradient(target)
    (loss, q_mean), grads = jax.value_and_grad(critic_loss, has_aux=True)(state.critic_params, parts, batch, target)
    ready = learning_started(parts.config, state.steps)
    critic_params, opt_state = optim.step(state.critic_params, state.critic_opt_state, grads,
                                          state.hparams.learning_rate, ready)
    metrics = off_policy.learning_metrics(ready, {"critic_loss": loss, "q_mean": q_mean})
    return state.replace(critic_params=critic_params, critic_opt_state=opt_state), metrics


def make_agent(name: str, parts: ContinuousParts, env: Any, env_params: Any, hparams_cls: type[ContinuousHParams],
               env_step: off_policy.StepFn, learn: off_policy.StepFn, act: Callable, *,
               rounds: int = 1, then: off_policy.StepFn | None = None) -> Agent:
    """A continuous off-policy agent on the shared train_step skeleton (``rounds`` and ``then``:
    see ``off_policy.make_train_step``)."""
    config = parts.config
    return Agent(
        name=name,
        env=env,
        env_params=env_params,
        config=config,
        hparams_cls=hparams_cls,
        init=partial(init, parts),
        train_step=off_policy.make_train_step(config, env_step, learn, rounds=rounds, then=then),
        act=act,
        steps_per_update=config.num_envs * config.train_freq * rounds,
    )
