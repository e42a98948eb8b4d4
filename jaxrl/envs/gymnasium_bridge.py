"""Any Gymnasium env inside the compiled program: ``gymnasium:ID`` ids and ``register_gymnasium_env``.

``make_env("gymnasium:LunarLander-v3")`` returns a gymnax ``Environment`` whose copies are real
Gymnasium envs living on the host. ``reset`` and ``step`` reach them through one
``jax.experimental.io_callback`` per call of the vectorised program (a ``custom_vmap`` rule turns
every ``vmap`` over envs, seeds and settings into one callback over the whole batch), so every
jaxrl agent trains on them unchanged, in the same jitted ``lax.scan``:

- the state pytree holds each copy's host slot (plus the observation it last returned); the
  Gymnasium env itself stays on the host;
- ``terminated`` and ``truncated`` are Gymnasium's own (its ``TimeLimit`` wrapper truncates at
  ``max_episode_steps``); an ended episode is reset in the same step (Gymnasium's SAME_STEP
  auto-reset): the step returns the next episode's first observation, and the observation the
  action led to is ``info["final_observation"]``;
- every reset is seeded (``env.reset(seed=s)``) from the step's JAX key: the same jaxrl seed gives
  the same run, however it is chunked, within one process.

What it cannot do: its speed is the env's (one Python ``env.step`` per env step, on one device;
the engine does not shard runs of host envs); and the host envs are not in a checkpoint. Each
state carries its host env's stamp, renewed at every step; a state whose stamp is not the env's
current one (a checkpoint's on ``resume``, in a new process or this one, or a state stepped
before) starts a new episode in a new env, and that one step is reported as a time-limit
truncation with reward 0 whose final observation is the state's own (so learning bootstraps
through it and no false termination is learned). Resumed runs are therefore close to, not equal
to, uninterrupted ones. Envs stay open for the life of the process (evaluation makes new copies).
"""

from __future__ import annotations

import os
import threading
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from gymnax.environments import environment, spaces
from jax.custom_batching import custom_vmap
from jax.experimental import io_callback

from jaxrl.errors import ConfigError, unknown_name_error

PREFIX = "gymnasium:"
# Evaluation's step cap for an env without a time limit of its own.
NO_TIME_LIMIT_EVAL_STEPS = 10_000


def require_gymnasium() -> Any:
    try:
        import gymnasium
    except ImportError:
        raise ConfigError("Gymnasium envs need the gymnasium package: pip install 'jaxrl[gymnasium]' "
                          "(or pip install 'gymnasium<1.4')") from None
    return gymnasium


@struct.dataclass
class GymnasiumParams:
    max_steps_in_episode: int = NO_TIME_LIMIT_EVAL_STEPS  # the host env's time limit (evaluation's cap)


@struct.dataclass
class GymnasiumState:
    slot: jax.Array  # int32: the host env of this copy in its pool
    stamp: jax.Array  # int32: the host env's stamp when this state was made; any other stamp is stale
    obs: Any  # the observation the copy last returned (the final observation after a resume)


# What one step's io_callback carries. Each array a callback passes in or out costs about 9 us on this
# CPU (one array in and one out: 51 us; five in and seven out: 149 us; `python
# scripts/bench_gymnasium_bridge.py --callback-cost`), paid once per
# vectorised step, so the step packs everything into one int32 array in and two out: per copy
# [slot, stamp, reset seed, action...] (a Box action as its float32 bits), and back
# STEP_INTS = [slot, stamp, reward (float32 bits), terminated, truncated, stale] plus the pair
# (observation, final observation).
STEP_INTS = 6


class HostEnvs:
    """The host side: every copy of one env id, by slot, made on first reset."""

    def __init__(self, make: Callable[[], Any], obs_dtype: Any, obs_shape: tuple[int, ...], action_space: Any):
        self._make, self._envs, self._stamps, self._lock = make, [], [], threading.Lock()
        self._obs_dtype, self._obs_shape = obs_dtype, tuple(obs_shape)
        self._action_start = int(action_space.start) if _is_discrete(action_space) else None
        self._action_dtype = action_space.dtype
        self._action_shape = () if self._action_start is not None else tuple(action_space.shape)
        self._next = int.from_bytes(os.urandom(4), "little")  # stamps of another process differ

    def _stamp(self, slot: int) -> int:
        """A fresh stamp for ``slot``'s env: a state carrying an older one (a checkpoint's, or a state
        stepped before) no longer describes the env."""
        self._next = (self._next + 1) & 0x7FFFFFFF
        self._stamps[slot] = self._next
        return self._next

    def _observation(self, obs: Any) -> np.ndarray:
        return np.asarray(obs, self._obs_dtype)

    def _action(self, action: np.ndarray) -> Any:
        if self._action_start is not None:  # Discrete: Gymnasium's actions start at ``start``
            return int(action) + self._action_start
        return np.asarray(action, self._action_dtype)

    def _new(self, seed: int) -> tuple[int, np.ndarray]:
        env = self._make()
        obs, _ = env.reset(seed=seed)
        self._envs.append(env)
        self._stamps.append(0)
        return len(self._envs) - 1, self._observation(obs)

    def reset(self, seeds: np.ndarray) -> tuple[np.ndarray, np.ndarray, Any]:
        """A new env per seed: its slots, their stamps, and the first observations."""
        seeds = np.asarray(seeds)  # io_callback hands over jax Arrays: indexing those dispatches per element
        with self._lock:
            made = [self._new(int(seed)) for seed in seeds.reshape(-1)]
            stamps = np.array([self._stamp(slot) for slot, _ in made], np.int32).reshape(seeds.shape)
        slots = np.array([slot for slot, _ in made], np.int32).reshape(seeds.shape)
        obs = np.stack([o for _, o in made]).reshape(seeds.shape + made[0][1].shape)
        return slots, stamps, obs

    def _unpack(self, packed: np.ndarray) -> tuple[np.ndarray, ...]:
        """Slots, stamps, reset seeds and actions (one row per copy) from a packed step input."""
        flat = packed.reshape(-1, packed.shape[-1])
        actions = flat[:, 3:]
        if self._action_start is None:  # Box: the float32 bits
            actions = actions.view(np.float32).reshape((len(flat),) + self._action_shape)
        else:
            actions = actions[:, 0]
        return flat[:, 0], flat[:, 1], flat[:, 2], actions

    def step(self, packed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One step of every copy in ``packed`` (see ``STEP_INTS``), auto-reset with the row's seed
        where an episode ends; a stale state's copy starts a new episode in a new env, reported as a
        truncation with reward 0 (its final observation is the state's own, put in by ``step``)."""
        packed = np.asarray(packed)  # io_callback hands over jax Arrays: indexing those dispatches per element
        shape = packed.shape[:-1]
        slots, stamps, seeds, actions = self._unpack(packed)
        ints = np.zeros((len(slots), STEP_INTS), np.int32)
        rewards = np.zeros(len(slots), np.float32)
        pair = np.zeros((len(slots), 2) + self._obs_shape, self._obs_dtype)  # observation, final observation
        with self._lock:
            for i, (slot, stamp, seed) in enumerate(zip(slots.tolist(), stamps.tolist(), seeds.tolist())):
                if not 0 <= slot < len(self._envs) or self._stamps[slot] != stamp:  # e.g. a resumed checkpoint's
                    slot, pair[i, 0] = self._new(seed)
                    ints[i, 4:] = 1  # truncated, stale
                else:
                    env = self._envs[slot]
                    obs, rewards[i], terminated, truncated, _ = env.step(self._action(actions[i]))
                    pair[i, 1] = obs
                    if terminated or truncated:
                        obs, _ = env.reset(seed=seed)
                        ints[i, 3:5] = terminated, truncated
                    pair[i, 0] = obs
                ints[i, :2] = slot, self._stamp(slot)
        ints[:, 2] = rewards.view(np.int32)
        return ints.reshape(shape + (STEP_INTS,)), pair.reshape(shape + pair.shape[1:])


def _is_discrete(space: Any) -> bool:
    return type(space).__name__ == "Discrete"


def _gymnax_space(space: Any, what: str, env_id: str) -> Any:
    if _is_discrete(space):
        return spaces.Discrete(int(space.n))
    if type(space).__name__ == "Box":
        low = np.broadcast_to(np.asarray(space.low, np.float32), space.shape)
        high = np.broadcast_to(np.asarray(space.high, np.float32), space.shape)
        return spaces.Box(jnp.asarray(low), jnp.asarray(high), tuple(space.shape), jnp.float32)
    raise ConfigError(f"{env_id}'s {what} space is {type(space).__name__}; the Gymnasium bridge takes Box and "
                      f"Discrete spaces: wrap the env (e.g. gymnasium.wrappers.FlattenObservation) and register "
                      "the wrapped env with jaxrl.register_gymnasium_env")


def _time_limit(env: Any) -> int | None:
    """The step limit of the ``TimeLimit`` wrapper around a Gymnasium env, None without one."""
    while env is not None:
        if type(env).__name__ == "TimeLimit":
            return int(env._max_episode_steps)
        env = getattr(env, "env", None)
    return None


def _batched_callback(host: Callable[..., Any], result: Callable[..., Any]) -> Callable[..., Any]:
    """``host`` as one io_callback on whole arrays; under ``vmap`` the batch becomes leading axes of
    the same call (``custom_vmap``), never a loop of per-env callbacks."""

    @custom_vmap
    def call(*args: Any) -> Any:
        return io_callback(host, result(*args), *args, ordered=False)

    @call.def_vmap
    def batched(axis_size: int, in_batched: list[bool], *args: Any) -> tuple[Any, Any]:
        args = [a if b else jnp.broadcast_to(a, (axis_size,) + a.shape) for a, b in zip(args, in_batched)]
        out = call(*args)
        return out, jax.tree.map(lambda _: True, out)

    return call


class GymnasiumEnv(environment.Environment):
    """A gymnax ``Environment`` over a Gymnasium env on the host (see the module's docstring)."""

    host_stepped = True  # the engine keeps such runs on one device

    def __init__(self, env_id: str, make: Callable[[], Any], obs_dtype: Any = None,
                 eval_steps: int = NO_TIME_LIMIT_EVAL_STEPS):
        """``obs_dtype``: a Box observation's dtype in jaxrl (default float32; Atari keeps its uint8
        frames, a quarter of the memory in a replay buffer); ``eval_steps``: evaluation's step cap
        where the env has no ``TimeLimit`` wrapper."""
        super().__init__()
        probe = make()
        self.env_id = env_id
        self._obs_space = _gymnax_space(probe.observation_space, "observation", env_id)
        self._action_space = _gymnax_space(probe.action_space, "action", env_id)
        self._time_limit = _time_limit(probe)
        self._eval_steps = int(eval_steps)
        if obs_dtype is None or isinstance(self._obs_space, spaces.Discrete):
            obs_dtype = jnp.int32 if isinstance(self._obs_space, spaces.Discrete) else jnp.float32
        else:
            box = self._obs_space
            self._obs_space = spaces.Box(box.low, box.high, box.shape, obs_dtype)
        obs_shape = tuple(getattr(self._obs_space, "shape", ()) or ())
        self.host = HostEnvs(make, obs_dtype, obs_shape, probe.action_space)
        probe.close()
        self._obs_struct = lambda shape: jax.ShapeDtypeStruct(shape + obs_shape, obs_dtype)  # noqa: E731
        self._reset = _batched_callback(
            self.host.reset,
            lambda seeds: (jax.ShapeDtypeStruct(seeds.shape, jnp.int32), jax.ShapeDtypeStruct(seeds.shape, jnp.int32),
                           self._obs_struct(seeds.shape)))
        self._step = _batched_callback(self.host.step, self._step_result)

    def _step_result(self, packed: jax.Array) -> tuple[jax.ShapeDtypeStruct, jax.ShapeDtypeStruct]:
        shape = packed.shape[:-1]
        return jax.ShapeDtypeStruct(shape + (STEP_INTS,), jnp.int32), self._obs_struct(shape + (2,))

    @property
    def name(self) -> str:
        return f"{PREFIX}{self.env_id}"

    @property
    def default_params(self) -> GymnasiumParams:
        return GymnasiumParams(max_steps_in_episode=int(self._time_limit or self._eval_steps))

    def observation_space(self, params: Any = None) -> Any:
        return self._obs_space

    def action_space(self, params: Any = None) -> Any:
        return self._action_space

    @staticmethod
    def _seed(key: jax.Array) -> jax.Array:
        return jax.random.bits(key, dtype=jnp.uint32).astype(jnp.int32) & 0x7FFFFFFF

    def reset(self, key: jax.Array, params: Any = None) -> tuple[Any, GymnasiumState]:
        slot, stamp, obs = self._reset(self._seed(key))
        return obs, GymnasiumState(slot, stamp, obs)

    def step(self, key: jax.Array, state: GymnasiumState, action: Any, params: Any = None):
        batch = state.slot.shape
        if isinstance(self._action_space, spaces.Discrete):
            action_bits = jnp.asarray(action, jnp.int32)
        else:
            action_bits = jax.lax.bitcast_convert_type(jnp.asarray(action, jnp.float32), jnp.int32)
        packed = jnp.concatenate([jnp.stack([state.slot, state.stamp, self._seed(key)], -1),
                                  action_bits.reshape(batch + (-1,))], -1)
        ints, pair = self._step(packed)
        slot, stamp = ints[..., 0], ints[..., 1]
        reward = jax.lax.bitcast_convert_type(ints[..., 2], jnp.float32)
        terminated, truncated, stale = (ints[..., i].astype(bool) for i in (3, 4, 5))
        obs, final_obs = jnp.take(pair, 0, axis=len(batch)), jnp.take(pair, 1, axis=len(batch))
        final_obs = jnp.where(stale.reshape(batch + (1,) * (final_obs.ndim - len(batch))), state.obs, final_obs)
        info = {"terminated": terminated, "truncated": truncated, "final_observation": final_obs}
        return obs, GymnasiumState(slot, stamp, obs), reward, terminated, truncated, info


def gymnasium_factory(env_id: str, make: Callable[..., Any], time_limit_in_make: bool = False) -> Callable[..., GymnasiumEnv]:
    """A registry factory: keyword arguments go to ``make``; ``max_episode_steps`` sets the time limit
    (passed to ``make`` where it takes it, as ``gymnasium.make`` does, else a ``TimeLimit`` wrapper)."""

    def factory(max_episode_steps: int | None = None, **kwargs: Any) -> GymnasiumEnv:
        def build() -> Any:
            if time_limit_in_make:
                limit = {} if max_episode_steps is None else {"max_episode_steps": int(max_episode_steps)}
                return make(**kwargs, **limit)
            env = make(**kwargs)
            if max_episode_steps is not None:
                from gymnasium.wrappers import TimeLimit

                env = TimeLimit(env, max_episode_steps=int(max_episode_steps))
            return env

        return GymnasiumEnv(env_id, build)

    factory.__name__ = f"gymnasium_{env_id}"
    factory.takes_any_kwargs = True  # type: ignore[attr-defined]  # the registry passes every keyword on
    return factory


def registered_factory(env_id: str) -> Callable[..., GymnasiumEnv]:
    """The factory of ``gymnasium:ENV_ID`` for an id in Gymnasium's own registry (``gymnasium.make``)."""
    gymnasium = require_gymnasium()
    if env_id not in gymnasium.registry:
        raise unknown_name_error("Gymnasium env id", env_id, list(gymnasium.registry))

    def make(**kwargs: Any) -> Any:
        try:
            return gymnasium.make(env_id, **kwargs)
        except gymnasium.error.DependencyNotInstalled as error:
            raise ConfigError(f"gymnasium:{env_id} needs a package Gymnasium does not install by itself: {error}") from None

    return gymnasium_factory(env_id, make, time_limit_in_make=True)


def list_gymnasium_ids() -> list[str]:
    """``gymnasium:ID`` for every id in Gymnasium's registry (empty without gymnasium)."""
    try:
        import gymnasium
    except ImportError:
        return []
    return sorted(PREFIX + env_id for env_id in gymnasium.registry)
