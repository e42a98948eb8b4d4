"""DQN and its family: Double DQN, Dueling heads, n-step returns, prioritised replay.

One ``train_step`` = ``train_freq`` env steps of every env (each transition written to the replay
buffer held in the state), then ``gradient_steps`` updates on minibatches sampled from the buffer,
then the target network's update when due. Before ``learning_starts`` env steps the actions are
uniformly random and the updates are masked out (no branch: under the engine's vmap a branch
would run both sides anyway).

Targets (``discount = gamma^m * (1 - terminated)``, m the steps in the n-step window, which closes
at the first episode end): DQN ``R + discount * max_a Q_target(s', a)``; Double DQN
``R + discount * Q_target(s', argmax_a Q(s', a))``. ``s'`` is the final observation the window's
last action led to (before any auto-reset), so a time-limit truncation bootstraps and only a
termination zeroes the bootstrap.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct
from gymnax.environments import spaces

from jaxrl.core import exploration, optim
from jaxrl.core.agent import Agent, describe_space
from jaxrl.core import off_policy
from jaxrl.core.buffers import ReplayBuffer, ReplayState
from jaxrl.core.off_policy import ReplayConfig, Transition
from jaxrl.core.hparams import resolve_config
from jaxrl.errors import ConfigError
from jaxrl.core.networks import QNetwork
from jaxrl.core.rollout import VecEnv, episode_metrics
from jaxrl.core.targets import (
    crossed_multiple,
    double_q_learning_target,
    n_step_window,
    q_learning_target,
)

MAX_COUNT_TABLE = 1 << 24


# -- config and hyperparameters -------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class DQNConfig(ReplayConfig):
    """Static choices: they fix the program's shapes or structure."""

    num_envs: int = 1
    buffer_capacity: int = 50_000  # transitions; a multiple of num_envs
    batch_size: int = 64
    learning_starts: int = 1_000  # env steps per seed of uniformly random actions before updates
    train_freq: int = 1  # env steps per env between updates (one train_step)
    gradient_steps: int = 1  # updates per train_step
    hidden: tuple[int, ...] = (64, 64)
    activation: str = "relu"
    torso: str = "auto"  # "mlp" | "cnn" | "auto" (cnn for image observations [H, W, C])
    double: bool = False  # Double DQN target
    dueling: bool = False  # dueling value/advantage head
    n_step: int = 1
    prioritized: bool = False  # proportional prioritised replay
    loss: str = "huber"  # "huber" (delta 1) | "mse" (0.5 * squared error)
    anneal_lr: bool = False  # linear decay of the learning rate to 0 over the run's total steps
    exploration: str = "epsilon_greedy"  # "epsilon_greedy" | "boltzmann"
    epsilon_schedule: str = "linear"  # "constant" | "linear" | "exponential"
    schedule_unit: str = "steps"  # the schedule counts env steps per seed, or completed "episodes"
    count_bins: int = 0  # count-based bonus: 0 off; bins per observation dimension (Box obs)
    count_range: float = 5.0  # Box dims with infinite bounds are binned over [-count_range, count_range]


DEFAULT_HPARAMS: dict[str, float] = {
    "learning_rate": 1e-3,
    "gamma": 0.99,
    "max_grad_norm": 10.0,
    "epsilon": 1.0,  # the schedule's start
    "epsilon_end": 0.05,
    "epsilon_decay": 0.995,  # exponential schedule: factor per count
    "epsilon_decay_duration": 10_000.0,  # linear schedule: counts from epsilon to epsilon_end
    "temperature": 1.0,  # Boltzmann exploration
    "target_update_period": 1_000.0,  # env steps per seed between target updates
    "tau": 1.0,  # target <- tau * online + (1 - tau) * target; 1 = hard copy
    "priority_alpha": 0.6,
    "priority_beta": 0.4,  # annealed linearly to 1 over the run
    "priority_eps": 1e-6,  # priority = |TD error| + priority_eps
    "count_bonus": 0.0,  # beta of the bonus beta / sqrt(N(s)) (with count_bins > 0)
    "total_steps": 0.0,  # env steps per seed of the run; jaxrl.train fills it in (beta and lr annealing)
}


@struct.dataclass
class DQNState:
    params: Any  # the online Q-network's weights (what act and evaluation use)
    target_params: Any
    opt_state: Any
    buffer: ReplayState
    hparams: dict[str, jax.Array]
    env_state: Any
    obs: Any
    key: jax.Array
    steps: jax.Array  # env steps per seed so far
    episodes: jax.Array  # completed episodes, all envs together
    counts: jax.Array | None  # visit counts for the exploration bonus


def _validate(env: Any, env_params: Any, config: DQNConfig) -> None:
    action_space = env.action_space(env_params)
    if not isinstance(action_space, spaces.Discrete):
        raise ConfigError(
            f"dqn needs a discrete action space, but {env.name} has actions {describe_space(action_space)}. "
            "Use an agent for continuous actions (sac, td3, ddpg, ppo, a2c), or an env with Discrete actions."
        )
    off_policy.validate_replay(config, config.n_step)
    choices = {
        "torso": ("mlp", "cnn", "auto"),
        "loss": ("huber", "mse"),
        "exploration": ("epsilon_greedy", "boltzmann"),
        "epsilon_schedule": exploration.EPSILON_SCHEDULES,
        "schedule_unit": ("steps", "episodes"),
    }
    for name, allowed in choices.items():
        if getattr(config, name) not in allowed:
            raise ConfigError(f"{name}={getattr(config, name)!r}: choose one of {', '.join(map(repr, allowed))}")
    if config.count_bins < 0 or config.count_bins == 1:
        raise ConfigError(f"count_bins={config.count_bins}: use 0 (no bonus) or >= 2 bins per dimension")
    if config.count_range <= 0:
        raise ConfigError(f"count_range={config.count_range} must be > 0")


def _count_table(env: Any, env_params: Any, config: DQNConfig) -> tuple[int, Any] | None:
    """The count table's size and the function from one observation to its index (or None)."""
    if config.count_bins == 0:
        return None
    obs_space = env.observation_space(env_params)
    if isinstance(obs_space, spaces.Discrete):
        return obs_space.n, lambda obs: jnp.asarray(obs, jnp.int32)
    dims = int(np.prod(obs_space.shape))
    size = config.count_bins**dims
    if size > MAX_COUNT_TABLE:
        raise ConfigError(
            f"count_bins={config.count_bins} over {dims} observation dimensions needs a table of "
            f"{config.count_bins}^{dims} entries (more than {MAX_COUNT_TABLE:,}); use fewer bins, or count_bins=0"
        )
    low = np.broadcast_to(np.asarray(obs_space.low, np.float32), obs_space.shape).ravel()
    high = np.broadcast_to(np.asarray(obs_space.high, np.float32), obs_space.shape).ravel()
    low = np.where(np.isfinite(low) & (low > -1e30), low, -config.count_range)
    high = np.where(np.isfinite(high) & (high < 1e30), high, config.count_range)
    return size, lambda obs: exploration.state_index(obs, low, high, config.count_bins)


def _q_network(env: Any, env_params: Any, config: DQNConfig) -> tuple[QNetwork, Any, tuple[int, ...]]:
    """The Q-network, ``(params, obs) -> action values`` and the network's input shape.
    Discrete observations reach the network one-hot; others as float32."""
    obs_space = env.observation_space(env_params)
    categories = obs_space.n if isinstance(obs_space, spaces.Discrete) else None
    input_shape = (categories,) if categories is not None else tuple(obs_space.shape)
    torso = config.torso if config.torso != "auto" else ("cnn" if len(input_shape) == 3 else "mlp")
    network = QNetwork(env.action_space(env_params).n, tuple(int(w) for w in config.hidden), config.activation,
                       torso, config.dueling, obs_ndim=len(input_shape))

    def q_values(params: Any, obs: Any) -> jax.Array:
        x = jax.nn.one_hot(obs, categories, dtype=jnp.float32) if categories is not None else obs
        return network.apply(params, jnp.asarray(x, jnp.float32))

    return network, q_values, input_shape


def q_function(agent: Agent) -> Any:
    """``(params, obs) -> action values`` of a made DQN agent (for analysis, tests and probes)."""
    return _q_network(agent.env, agent.env_params, agent.config)[1]


# -- the agent ------------------------------------------------------------------------------------
def make(env: Any, env_params: Any, config: DQNConfig | dict | None = None, *, name: str = "dqn",
         defaults: dict | None = None) -> Agent:
    """Build a DQN-family agent; ``defaults`` are config defaults of a named variant (double_dqn)."""
    if not isinstance(config, DQNConfig):
        config = resolve_config(DQNConfig, {**dict(defaults or {}), **dict(config or {})}, name)
    _validate(env, env_params, config)
    venv = VecEnv(env, env_params, config.num_envs)
    network, q_values, input_shape = _q_network(env, env_params, config)
    buffer = ReplayBuffer.with_capacity(config.buffer_capacity, config.num_envs, config.n_step, config.prioritized)
    count_table = _count_table(env, env_params, config)
    batch = config.batch_size

    def init(key: jax.Array, hparams: dict) -> DQNState:
        net_key, env_key, key = jax.random.split(key, 3)
        obs, env_state = venv.reset(env_key)
        one_obs = jax.tree.map(lambda x: x[0], obs)
        params = network.init(net_key, jnp.zeros(input_shape, jnp.float32))
        opt_state = optim.init(params, hparams["learning_rate"], hparams["max_grad_norm"])
        example = Transition(one_obs, jnp.zeros((), jnp.int32), jnp.zeros((), jnp.float32), jnp.zeros((), bool),
                             jnp.zeros((), bool), one_obs)
        counts = jnp.zeros(count_table[0], jnp.int32) if count_table else None
        zero = jnp.zeros((), jnp.int32)
        return DQNState(params, params, opt_state, buffer.init(example), hparams, env_state, obs, key, zero, zero, counts)

    def epsilon_now(state: DQNState) -> jax.Array:
        count = state.episodes if config.schedule_unit == "episodes" else state.steps
        hp = state.hparams
        eps = exploration.epsilon_schedule(config.epsilon_schedule, count, hp["epsilon"], hp["epsilon_end"],
                                           hp["epsilon_decay"], hp["epsilon_decay_duration"])
        return jnp.where(state.steps < config.learning_starts, 1.0, eps)  # uniform actions before learning

    def behave(state: DQNState, key: jax.Array) -> tuple[jax.Array, jax.Array]:
        q = q_values(state.params, state.obs)
        epsilon = epsilon_now(state)
        if config.exploration == "boltzmann":
            warmup = state.steps < config.learning_starts
            actions = jnp.where(warmup, exploration.epsilon_greedy(key, q, 1.0),
                                exploration.boltzmann(jax.random.fold_in(key, 1), q, state.hparams["temperature"]))
            return actions, jnp.where(warmup, 1.0, 0.0)
        return exploration.epsilon_greedy(key, q, epsilon), epsilon

    def env_step(state: DQNState, key: jax.Array) -> tuple[DQNState, dict]:
        """One step of every env under the behaviour policy; the transitions go to the buffer."""
        act_key, env_key = jax.random.split(key)
        actions, epsilon = behave(state, act_key)
        env_state, out = venv.step(env_key, state.env_state, actions)
        reward = out.reward.astype(jnp.float32)
        counts = state.counts
        if count_table is not None:
            index = jax.vmap(count_table[1])(out.final_obs)
            counts = counts.at[index].add(1)
            reward = reward + exploration.count_bonus(counts, index, state.hparams["count_bonus"])
        transition = Transition(state.obs, actions, reward, out.terminated, out.truncated, out.final_obs)
        buffer_state = buffer.add(state.buffer, transition, state.hparams["priority_alpha"])
        state = state.replace(
            env_state=env_state, obs=out.obs, buffer=buffer_state, counts=counts,
            steps=state.steps + config.num_envs,
            episodes=state.episodes + out.info["episode_done"].sum().astype(jnp.int32),
        )
        return state, {**episode_metrics(out.info), "epsilon": epsilon}

    def minibatch(buffer_state: ReplayState, sample: Any, gamma: jax.Array) -> tuple:
        """(obs, action, reward, discount, bootstrap obs) of the sampled entries, n-step reduced."""
        data = buffer_state.data
        rows, envs = sample.rows, sample.envs
        obs, action = data.obs[rows, envs], data.action[rows, envs]
        if config.n_step == 1:
            discount = gamma * (1.0 - data.terminated[rows, envs].astype(jnp.float32))
            return obs, action, data.reward[rows, envs], discount, data.final_obs[rows, envs]
        window = buffer.window_of(buffer_state, (data.reward, data.terminated, data.truncated), rows, envs)
        reward, discount, last = jax.vmap(n_step_window, in_axes=(0, 0, 0, None))(*window, gamma)
        boot_obs = data.final_obs[(rows + last) % buffer.rows, envs]
        return obs, action, reward, discount, boot_obs

    def loss_fn(params: Any, target_params: Any, obs: Any, action: jax.Array, reward: jax.Array,
                discount: jax.Array, boot_obs: Any, weights: jax.Array) -> tuple[jax.Array, tuple]:
        q_target_t = q_values(target_params, boot_obs)
        if config.double:  # one pass of the online network over both observations
            q_all = q_values(params, jnp.concatenate([obs, boot_obs]))
            q_tm1, q_selector = q_all[:batch], jax.lax.stop_gradient(q_all[batch:])
            targets = jax.vmap(double_q_learning_target)(reward, discount, q_target_t, q_selector)
        else:
            q_tm1 = q_values(params, obs)
            targets = jax.vmap(q_learning_target)(reward, discount, q_target_t)
        q_taken = jnp.take_along_axis(q_tm1, action[:, None], axis=1)[:, 0]
        td_error = jax.lax.stop_gradient(targets) - q_taken
        per_sample = optax.huber_loss(td_error) if config.loss == "huber" else 0.5 * td_error**2
        return jnp.mean(weights * per_sample), (td_error, jnp.mean(q_taken))

    def learn(state: DQNState, key: jax.Array) -> tuple[DQNState, dict]:
        """One gradient step on a sampled minibatch; masked out before learning starts."""
        hp = state.hparams
        ready = state.steps >= config.learning_starts
        # fraction of the run done (0 where total_steps is unknown: no annealing then)
        progress = optim.run_progress(state.steps, hp["total_steps"])
        beta = hp["priority_beta"] + (1.0 - hp["priority_beta"]) * progress
        sample = buffer.sample(state.buffer, key, batch, beta)
        obs, action, reward, discount, boot_obs = minibatch(state.buffer, sample, hp["gamma"])
        grads, (td_error, q_mean) = jax.grad(loss_fn, has_aux=True)(
            state.params, state.target_params, obs, action, reward, discount, boot_obs, sample.weights
        )
        learning_rate = optim.annealed(hp["learning_rate"], state.steps, hp["total_steps"]) if config.anneal_lr else None
        params, opt_state = optim.step(state.params, state.opt_state, grads, learning_rate, ready)
        buffer_state = buffer.update_priorities(state.buffer, sample, jnp.abs(td_error) + hp["priority_eps"],
                                                hp["priority_alpha"], ready)
        state = state.replace(params=params, opt_state=opt_state, buffer=buffer_state)
        zero = jnp.zeros(())
        metrics = {"td_error": jnp.where(ready, jnp.mean(jnp.abs(td_error)), zero), "q_mean": jnp.where(ready, q_mean, zero)}
        return state, metrics

    def update_target(before: DQNState, state: DQNState) -> DQNState:
        """The target network's update, when the env steps crossed a multiple of its period."""
        due = crossed_multiple(before.steps, state.steps, state.hparams["target_update_period"])
        return state.replace(target_params=optim.periodic_soft_update(state.params, state.target_params, due, state.hparams["tau"]))

    train_step = off_policy.make_train_step(config, env_step, learn, update_target)

    def act(params: Any, obs: Any, key: jax.Array) -> jax.Array:
        """Greedy action for one observation, ties broken at random."""
        return exploration.greedy(key, q_values(params, obs))

    return Agent(
        name=name,
        env=env,
        env_params=env_params,
        config=config,
        default_hparams=dict(DEFAULT_HPARAMS),
        init=init,
        train_step=train_step,
        act=act,
        steps_per_update=config.num_envs * config.train_freq,
    )


def make_double_dqn(env: Any, env_params: Any, config: DQNConfig | dict | None = None) -> Agent:
    """Double DQN: ``dqn`` with ``double=True`` by default."""
    return make(env, env_params, config, name="double_dqn", defaults={"double": True})

