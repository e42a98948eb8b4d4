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

The pieces are module-level functions over ``ValueParts`` (``jaxrl.core.value_based``) and the
state, so other value-based agents import them; ``make`` only wires them together. What differs
between members of the family is their ``Head`` (outputs per action, action values, loss):
``make_family`` builds any of them from its head, so C51 and QR-DQN (``jaxrl.agents.c51``,
``jaxrl.agents.qr_dqn``) reuse the replay, n-step, Double, dueling, prioritised and target-network
machinery here and declare only their head.
"""

from __future__ import annotations

import dataclasses
from functools import partial
from typing import Any, Literal, Mapping

import chex
import jax
import jax.numpy as jnp
from flax import struct

from jaxrl.core import exploration, off_policy, optim, value_based
from jaxrl.core.agent import Agent, require_discrete_actions
from jaxrl.core.buffers import ReplayBuffer, ReplayState
from jaxrl.core.exploration import EpsilonSchedule, ExplorationHParams, NetworkExplorationKind, ScheduleUnit
from jaxrl.core.hparams import hparam, resolve_config
from jaxrl.core.networks import Activation, QNetwork, Torso, obs_encoding, scale_noise
from jaxrl.core.off_policy import Batch, ReplayConfig, Transition
from jaxrl.core.rollout import VecEnv
from jaxrl.core.targets import double_q_learning_target, q_learning_target
from jaxrl.core.value_based import Head, UpdateNoise, ValueParts
from jaxrl.errors import ConfigError


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
    activation: Activation = "relu"
    torso: Torso = "auto"  # "auto": nature_cnn for [H, W, C] frames of 36x36 or more (Atari), cnn for smaller (MinAtar)
    double: bool = False  # Double DQN target
    dueling: bool = False  # dueling value/advantage head
    n_step: int = 1
    prioritized: bool = False  # proportional prioritised replay
    loss: Literal["huber", "mse"] = "huber"  # huber: delta 1; mse: 0.5 * squared error
    anneal_lr: bool = False  # linear decay of the learning rate to 0 over the run's total steps
    exploration: NetworkExplorationKind = "epsilon_greedy"  # "noisy": NoisyNets, greedy on a noisy Q-network
    epsilon_schedule: EpsilonSchedule = "linear"
    schedule_unit: ScheduleUnit = "steps"  # the schedule counts env steps per seed, or completed episodes
    count_bins: int = 0  # count-based bonus: 0 off; bins per observation dimension (Box obs)
    count_range: float = 5.0  # Box dims with infinite bounds are binned over [-count_range, count_range]


@struct.dataclass
class DQNHParams(ExplorationHParams):
    epsilon: float = hparam(1.0, "epsilon-greedy: the schedule's start", low=0, high=1)
    learning_rate: float = hparam(1e-3, "Adam step size", low=0, low_open=True)
    gamma: float = hparam(0.99, "discount factor", low=0, high=1)
    max_grad_norm: float = hparam(10.0, "global gradient norm clipped to", low=0, low_open=True)
    target_update_period: float = hparam(1_000.0, "env steps per seed between target updates", low=1)
    tau: float = hparam(1.0, "target <- tau * online + (1 - tau) * target; 1: hard copy", low=0, high=1, low_open=True)
    priority_alpha: float = hparam(0.6, "prioritised replay: priority exponent (0: uniform)", low=0)
    priority_beta: float = hparam(0.4, "prioritised replay: importance-weight exponent, annealed to 1 over the run", low=0, high=1)
    priority_eps: float = hparam(1e-6, "priority = |TD error| (distributional: the loss) + priority_eps", low=0, low_open=True)
    noisy_sigma0: float = hparam(0.5, "NoisyNets (exploration=noisy): initial noise scale sigma0 / sqrt(fan_in)", low=0)
    total_steps: float = hparam(0.0, "env steps per seed of the run (beta and lr annealing)", low=0, engine=True)

    @classmethod
    def check_with_config(cls, given: Mapping[str, float], config: Any) -> None:
        """Refuse a hyperparameter set away from its default that the config's exploration never
        reads (a whole resolved setting, as runs and loads pass, carries every default: those pass)."""
        defaults = cls.defaults()
        changed = {name for name, value in given.items() if name in defaults and float(value) != defaults[name]}
        noisy = getattr(config, "exploration", None) == "noisy"
        if noisy and "temperature" in changed:
            raise ConfigError("hyperparameter temperature is Boltzmann exploration's, but exploration='noisy' acts "
                              "greedily on the noisy network; drop temperature, or use config exploration='boltzmann'")
        if not noisy and "noisy_sigma0" in changed:
            raise ConfigError(f"hyperparameter noisy_sigma0 sets NoisyNets' noise, but exploration="
                              f"{getattr(config, 'exploration', None)!r} has no noisy layers; pass config "
                              "exploration='noisy' to use it, or drop noisy_sigma0")


@struct.dataclass
class DQNState:
    params: Any  # the online Q-network's weights (what act and evaluation use)
    target_params: Any
    opt_state: Any
    buffer: ReplayState
    hparams: DQNHParams
    env_state: Any
    obs: Any
    key: jax.Array
    steps: jax.Array  # env steps per seed so far
    episodes: jax.Array  # completed episodes, all envs together
    counts: jax.Array | None  # visit counts for the exploration bonus


def _validate(env: Any, env_params: Any, config: DQNConfig, name: str = "dqn") -> None:
    require_discrete_actions(name, env, env_params)
    off_policy.validate_replay(config, config.n_step)
    if config.count_bins < 0 or config.count_bins == 1:
        raise ConfigError(f"count_bins={config.count_bins}: use 0 (no bonus) or >= 2 bins per dimension")
    if config.count_range <= 0:
        raise ConfigError(f"count_range={config.count_range} must be > 0")
    if value_based.is_noisy(config):
        defaults = {f.name: f.default for f in dataclasses.fields(DQNConfig)}
        for option in ("epsilon_schedule", "schedule_unit"):
            if getattr(config, option) != defaults[option]:
                raise ConfigError(
                    f"{option}={getattr(config, option)!r} has no effect with exploration='noisy': the noisy network "
                    "explores and epsilon is 0 after learning_starts; drop it, or use exploration='epsilon_greedy'")


# -- loss -----------------------------------------------------------------------------------------
q_values = value_based.q_values  # (parts, params, obs, hparams=None) -> action values [..., num_actions]


def dqn_loss(params: Any, target_params: Any, parts: ValueParts, batch: Batch, weights: jax.Array,
             hparams: Any = None, noise: UpdateNoise | None = None) -> tuple[jax.Array, tuple[jax.Array, jax.Array]]:
    """The weighted TD regression of ``Q(s, a)`` on the (Double) DQN target; returns the loss and
    (TD errors, mean ``Q(s, a)``). NoisyNets: the online and target networks with their own ``noise``."""
    chex.assert_rank([batch.action, batch.reward, batch.discount, weights], 1)
    chex.assert_type(batch.action, int)
    config = parts.config
    online_noise, target_noise = (None, None) if noise is None else noise
    q_t_value = value_based.outputs(parts, target_params, batch.next_obs, target_noise)
    if config.double:
        q_tm1 = value_based.outputs(parts, params, batch.obs, online_noise)
        q_t_selector = value_based.outputs(parts, jax.lax.stop_gradient(params), batch.next_obs, online_noise)
        target = jax.vmap(double_q_learning_target)(batch.reward, batch.discount, q_t_value, q_t_selector)
    else:
        q_tm1 = value_based.outputs(parts, params, batch.obs, online_noise)
        target = jax.vmap(q_learning_target)(batch.reward, batch.discount, q_t_value)
    qa_tm1 = jnp.take_along_axis(q_tm1, batch.action[:, None], axis=1)[:, 0]
    td_error = jax.lax.stop_gradient(target) - qa_tm1
    per_sample = value_based.regression_loss(config.loss, td_error)
    return jnp.mean(weights * per_sample), (td_error, jnp.mean(qa_tm1))


def _identity(outputs: jax.Array, hparams: Any = None) -> jax.Array:
    return outputs


HEAD = Head(atoms=0, values=_identity, greedy_scores=_identity, loss=dqn_loss, error_metric="td_error")


# -- the agent's steps ----------------------------------------------------------------------------
def build_parts(env: Any, env_params: Any, config: DQNConfig, head: Head = HEAD) -> ValueParts:
    """The static pieces: vectorised envs, the Q-network and its input, the buffer, the count
    table, and the head (DQN's by default)."""
    encoding = obs_encoding(env.observation_space(env_params), config.torso)
    network = QNetwork(env.action_space(env_params).n, tuple(int(w) for w in config.hidden), config.activation,
                       encoding.torso, config.dueling, obs_ndim=len(encoding.shape), atoms=head.atoms,
                       noisy=value_based.is_noisy(config))
    buffer = ReplayBuffer.with_capacity(config.buffer_capacity, config.num_envs, config.n_step, config.prioritized)
    table = exploration.count_table(env.observation_space(env_params), config.count_bins, config.count_range)
    return ValueParts(config, VecEnv(env, env_params, config.num_envs), encoding, network, buffer, table, head)


def init(parts: ValueParts, key: jax.Array, hparams: DQNHParams) -> DQNState:
    net_key, env_key, key = jax.random.split(key, 3)
    obs, env_state = parts.venv.reset(env_key)
    one_obs = jax.tree.map(lambda x: x[0], obs)
    params = parts.network.init(net_key, jnp.zeros(parts.encoding.shape, jnp.float32))
    if value_based.is_noisy(parts.config):  # NoisyDense's sigma leaves start at 1/sqrt(fan_in)
        params = scale_noise(params, hparams.noisy_sigma0)
    opt_state = optim.init(params, hparams.learning_rate, hparams.max_grad_norm)
    example = Transition(one_obs, jnp.zeros((), jnp.int32), jnp.zeros((), jnp.float32), jnp.zeros((), bool),
                         jnp.zeros((), bool), one_obs)
    counts = jnp.zeros(parts.count_table[0], jnp.int32) if parts.count_table else None
    zero = jnp.zeros((), jnp.int32)
    return DQNState(params, params, opt_state, parts.buffer.init(example), hparams, env_state, obs, key, zero, zero,
                    counts)


def env_step(parts: ValueParts, state: DQNState, key: jax.Array) -> tuple[DQNState, dict]:
    """One step of every env under the behaviour policy (NoisyNets: fresh noise each step); the
    transitions go to the buffer."""
    noise = value_based.acting_noise(parts.config, key)
    return value_based.env_step(parts, state, key, q_values(parts, state.params, state.obs, state.hparams, noise))


def learn(parts: ValueParts, state: DQNState, key: jax.Array) -> tuple[DQNState, dict]:
    """One gradient step on a sampled minibatch (NoisyNets: fresh, independent noise of the online
    and the target network); masked out before learning starts."""
    config, hp = parts.config, state.hparams
    ready = off_policy.learning_started(config, state.steps)
    drawn, batch = value_based.sample(parts, state, key)
    noise = value_based.update_noise(config, key)
    grads, (errors, q_mean) = jax.grad(parts.head.loss, has_aux=True)(state.params, state.target_params, parts, batch,
                                                                       drawn.weights, hp, noise)
    learning_rate = optim.annealed(hp.learning_rate, state.steps, hp.total_steps) if config.anneal_lr else None
    params, opt_state = optim.step(state.params, state.opt_state, grads, learning_rate, ready)
    buffer_state = value_based.update_priorities(parts, state, drawn, errors, ready)
    state = state.replace(params=params, opt_state=opt_state, buffer=buffer_state)
    return state, off_policy.learning_metrics(ready, {parts.head.error_metric: jnp.mean(jnp.abs(errors)),
                                                      "q_mean": q_mean})


def act(parts: ValueParts, params: Any, obs: Any, key: jax.Array) -> jax.Array:
    """Greedy action for one observation, ties broken at random (a noisy network's mean: no noise)."""
    return exploration.greedy(key, parts.head.greedy_scores(value_based.outputs(parts, params, obs)))


def value_function(agent: Agent, head: Head, hparams: Mapping[str, float] | Any = None) -> Any:
    """``(params, obs) -> action values`` of a made agent of the DQN family with ``head``, at
    ``hparams`` (a dict of settings over the defaults, or the agent's HParams) where the head's
    values depend on them (C51's support)."""
    if hparams is None or isinstance(hparams, Mapping):
        hparams = agent.hparams(hparams)
    return partial(q_values, build_parts(agent.env, agent.env_params, agent.config, head), hparams=hparams)


def q_function(agent: Agent) -> Any:
    """``(params, obs) -> action values`` of a made DQN agent (for analysis, tests and probes)."""
    return value_function(agent, HEAD)


# -- the agent ------------------------------------------------------------------------------------
def make(env: Any, env_params: Any, config: DQNConfig | dict | None = None, *, name: str = "dqn") -> Agent:
    """Build a DQN-family agent (a named variant's config defaults, e.g. double_dqn's, come from
    the algorithm registry)."""
    return make_family(env, env_params, resolve_config(DQNConfig, config, name), DQNHParams, HEAD, name)


def make_family(env: Any, env_params: Any, config: DQNConfig, hparams_cls: type, head: Head, name: str) -> Agent:
    """An agent of the DQN family from its resolved config (a ``DQNConfig`` or a subclass), its
    hyperparameter class (``DQNHParams`` or a subclass) and its head: the replay, n-step, Double,
    dueling, prioritised, exploration and target-network machinery is this module's."""
    _validate(env, env_params, config, name)
    parts = build_parts(env, env_params, config, head)
    return Agent(
        name=name,
        env=env,
        env_params=env_params,
        config=config,
        hparams_cls=hparams_cls,
        init=partial(init, parts),
        train_step=off_policy.make_train_step(config, partial(env_step, parts), partial(learn, parts),
                                              value_based.update_target),
        act=partial(act, parts),
        steps_per_update=config.num_envs * config.train_freq,
    )


