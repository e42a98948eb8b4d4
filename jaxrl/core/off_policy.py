"""What the off-policy agents share: the replay config and its checks, the stored transition and
the sampled minibatch, the learning-starts mask, and the train_step skeleton.

One ``train_step`` = ``train_freq`` env steps of every env (each transition written to the replay
buffer held in the state), then ``gradient_steps`` updates on minibatches sampled from it (TD3
repeats that ``policy_delay`` times, then updates its actor). Before
``learning_starts`` env steps per seed the agent acts at random and the updates are masked out
(no branch: under the engine's vmap a branch would run both sides anyway).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
from flax import struct

from jaxrl.errors import ConfigError
from jaxrl.core.networks import Activation

StepFn = Callable[[Any, jax.Array], tuple[Any, dict]]  # (state, key) -> (state, metrics)


@dataclasses.dataclass(frozen=True)
class ReplayConfig:
    """Static options every replay-based agent has."""

    num_envs: int = 1
    buffer_capacity: int = 100_000  # transitions; a multiple of num_envs
    batch_size: int = 256
    learning_starts: int = 1_000  # env steps per seed of random actions before the first update
    train_freq: int = 1  # env steps per env in one train_step
    gradient_steps: int = 1  # updates per train_step
    hidden: tuple[int, ...] = (64, 64)
    activation: Activation = "relu"


@struct.dataclass
class Transition:
    """What the buffer stores per env step (one env's fields)."""

    obs: Any
    action: jax.Array
    reward: jax.Array
    terminated: jax.Array
    truncated: jax.Array
    final_obs: Any  # the observation the action led to, before any auto-reset


class Batch(NamedTuple):
    """A sampled minibatch, reduced to one-step form (leaves ``[batch, ...]``)."""

    obs: Any
    action: jax.Array
    reward: jax.Array  # n-step: the window's discounted reward sum
    discount: jax.Array  # gamma^m * (1 - terminated): only termination zeroes the bootstrap
    next_obs: Any  # the final observation to bootstrap from (before any auto-reset)


def learning_started(config: ReplayConfig, steps: jax.Array) -> jax.Array:
    """True once ``learning_starts`` env steps per seed are done: before, actions are random and
    updates are masked out."""
    return steps >= config.learning_starts


def learning_metrics(ready: jax.Array, metrics: dict[str, jax.Array]) -> dict[str, jax.Array]:
    """Learning metrics, 0 before learning starts (when their updates are masked out)."""
    return {k: jnp.where(ready, v, jnp.zeros(())) for k, v in metrics.items()}


def validate_replay(config: ReplayConfig, n_step: int = 1) -> None:
    """Shapes that cannot work, refused before anything compiles, with the fix in the message."""
    for name in ("num_envs", "buffer_capacity", "batch_size", "train_freq", "gradient_steps"):
        if getattr(config, name) < 1:
            raise ConfigError(f"{name}={getattr(config, name)} must be >= 1")
    if n_step < 1:
        raise ConfigError(f"n_step={n_step} must be >= 1")
    if config.buffer_capacity % config.num_envs:
        fixed = max(config.num_envs, config.buffer_capacity // config.num_envs * config.num_envs)
        raise ConfigError(
            f"buffer_capacity={config.buffer_capacity} must be a multiple of num_envs={config.num_envs} "
            f"(the buffer stores one row per env step); e.g. buffer_capacity={fixed}"
        )
    if config.buffer_capacity < config.batch_size:
        raise ConfigError(
            f"batch_size={config.batch_size} does not fit in buffer_capacity={config.buffer_capacity}; "
            "use a smaller batch or a larger buffer"
        )
    if config.buffer_capacity < config.num_envs * (n_step + 1):
        raise ConfigError(
            f"buffer_capacity={config.buffer_capacity} is too small for n_step={n_step} with "
            f"num_envs={config.num_envs}: it must hold at least num_envs x (n_step + 1) = "
            f"{config.num_envs * (n_step + 1)} transitions"
        )
    needed = max(config.batch_size, config.num_envs * n_step)
    if config.learning_starts < needed:
        raise ConfigError(
            f"learning_starts={config.learning_starts} is too early: the first minibatch needs at least "
            f"batch_size={config.batch_size} transitions (and num_envs x n_step = {config.num_envs * n_step} "
            f"for complete n-step windows); use learning_starts >= {needed}"
        )
    if not config.hidden or any(int(w) < 1 for w in config.hidden):
        raise ConfigError(f"hidden={config.hidden} must list positive layer widths, e.g. hidden=256,256")


def _env_totals(metrics: dict) -> dict:
    """Env metrics stacked over steps: counts and returns summed, ``epsilon``-like rates averaged."""
    return {k: (v.mean() if k == "epsilon" else v.sum()) for k, v in metrics.items()}


def _collect(config: ReplayConfig, env_step: StepFn, state: Any, key: jax.Array) -> tuple[Any, dict]:
    """``train_freq`` env steps, their metrics totalled, always inside a loop of their own.

    The loop keeps the buffer's write (in ``env_step``) apart from the minibatch's read after it.
    Without it, for one env step, XLA's CPU backend fused the row's write into the minibatch's
    gather as well (reading the old buffer there), and then copied the whole buffer at every
    step: the reward and termination columns on CartPole, the frames on MinAtar and Atari (80 MB
    a step at 50k MinAtar transitions; BENCHMARKS.md, session 20). A fusion never crosses a loop.
    XLA removes a loop it knows runs once, so one step runs in a ``while_loop`` whose count it
    cannot know: 1 behind an ``optimization_barrier``. The count is the same for every run, so a
    vmap over runs keeps the loop as it is; a count read from the run's state (as it first was)
    differs between runs to vmap, which then selects every carried array, the buffer included,
    between the loop's input and output at every step (8 DQN seeds on MinAtar trained 47x slower;
    BENCHMARKS.md, session 21). Envs stepped on the host take the same loop: their callbacks may
    sit in it now that its condition is not batched (a condition batched over vmapped runs made
    them take a one-step ``scan`` until then; the results are bit for bit the same)."""
    if config.train_freq > 1:
        state, metrics = jax.lax.scan(env_step, state, jax.random.split(key, config.train_freq))
        return state, _env_totals(metrics)
    trips = jax.lax.optimization_barrier(jnp.ones((), jnp.int32))  # one, unknown to XLA, unbatched
    metrics = jax.tree.map(lambda x: jnp.zeros(x.shape, x.dtype), jax.eval_shape(env_step, state, key)[1])

    def one_step(carry: tuple[jax.Array, Any, dict]) -> tuple[jax.Array, Any, dict]:
        done, state, _ = carry
        state, metrics = env_step(state, key)
        return done + 1, state, metrics

    _, state, metrics = jax.lax.while_loop(lambda carry: carry[0] < trips, one_step, (jnp.zeros((), jnp.int32), state, metrics))
    return state, metrics


def _repeat(step: StepFn, times: int, state: Any, key: jax.Array) -> tuple[Any, dict]:
    """``step`` ``times`` times in a scan, its metrics averaged."""
    if times == 1:
        return step(state, key)
    state, metrics = jax.lax.scan(step, state, jax.random.split(key, times))
    return state, jax.tree.map(jnp.mean, metrics)


def make_train_step(config: ReplayConfig, env_step: StepFn, learn: StepFn,
                    finish: Callable[[Any, Any], Any] | None = None, *, rounds: int = 1,
                    then: StepFn | None = None) -> Callable[[Any], tuple[Any, dict]]:
    """The train_step of every replay agent: ``rounds`` x (``train_freq`` calls of ``env_step``,
    then ``gradient_steps`` calls of ``learn``), then ``gradient_steps`` calls of ``then`` (e.g.
    TD3's actor update, due once per ``rounds = policy_delay`` critic updates: the delay is in the
    program's structure, so no step computes a gradient it throws away), then
    ``finish(state_before, state)`` (e.g. a target update due by env steps). Env metrics are summed
    over the train_step, learning metrics averaged. The state must have ``key``; the step
    functions own everything else."""

    def one_round(state: Any, keys: tuple[jax.Array, jax.Array]) -> tuple[Any, tuple[dict, dict]]:
        collect_key, learn_key = keys
        state, metrics = _collect(config, env_step, state, collect_key)
        state, learn_metrics = _repeat(learn, config.gradient_steps, state, learn_key)
        return state, (metrics, learn_metrics)

    def train_step(state: Any) -> tuple[Any, dict]:
        before = state
        key, collect_key, learn_key = jax.random.split(state.key, 3)
        if rounds == 1:
            state, (metrics, learn_metrics) = one_round(state, (collect_key, learn_key))
        else:
            round_keys = (jax.random.split(collect_key, rounds), jax.random.split(learn_key, rounds))
            state, (metrics, learn_metrics) = jax.lax.scan(one_round, state, round_keys)
            metrics, learn_metrics = _env_totals(metrics), jax.tree.map(jnp.mean, learn_metrics)
        if then is not None:
            state, then_metrics = _repeat(then, config.gradient_steps, state, jax.random.fold_in(learn_key, rounds))
            learn_metrics = {**learn_metrics, **then_metrics}
        if finish is not None:
            state = finish(before, state)
        return state.replace(key=key), {**metrics, **learn_metrics}

    return train_step
