"""Environment wrappers: episode statistics from completed episodes only."""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
from flax import struct
from gymnax.environments import environment

SuccessFn = Callable[[Any, jax.Array, jax.Array], jax.Array]


def success_fn(env: environment.Environment) -> SuccessFn | None:
    """How to tell that an episode reached its goal, or None where the env has no goal.

    ``fn(final_observation, reward, terminated) -> bool`` is evaluated on an episode's last
    transition. Envs may define ``is_success(next_obs, reward, terminated)`` themselves; gymnax's
    goal-reaching classic-control envs terminate only on reaching the goal.
    """
    env = getattr(env, "unwrapped", env)
    if hasattr(env, "is_success"):
        return env.is_success
    from gymnax.environments.classic_control import acrobot, continuous_mountain_car, mountain_car

    goal_envs = (mountain_car.MountainCar, continuous_mountain_car.ContinuousMountainCar, acrobot.Acrobot)
    if isinstance(env, goal_envs):
        return lambda obs, reward, terminated: terminated
    return None


def evaluation_env(env: Any) -> Any:
    """The env evaluation steps: ``env.evaluation_env`` where it defines one (an Atari env without its
    training-only ``episodic_life`` and ``clip_rewards``, so that scores are the real game's), else ``env``."""
    return getattr(env, "evaluation_env", env)


def host_stepped(env: Any) -> bool:
    """Whether ``env`` steps on the host (the Gymnasium bridge): the engine keeps its runs on one
    device, and evaluation maps over runs (an io_callback cannot sit in a vmapped ``while_loop``)."""
    return bool(getattr(env, "host_stepped", False))


@struct.dataclass
class EpisodeStatisticsState:
    env_state: Any
    episode_return: jax.Array
    episode_length: jax.Array


class EpisodeStatistics:
    """Accumulates each episode's return and length; reports them on the step that ends it.

    ``info`` gains ``episode_done`` (terminated or truncated), and ``episode_return``,
    ``episode_length``, ``episode_success`` which are meaningful only where ``episode_done``:
    consumers must mask by it (see ``jaxrl.core.rollout.episode_metrics``). Nothing stale leaks.
    """

    def __init__(self, env: environment.Environment):
        self._env = env
        self._success = success_fn(env)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._env, name)

    @property
    def unwrapped(self) -> environment.Environment:
        return getattr(self._env, "unwrapped", self._env)

    @property
    def has_success(self) -> bool:
        return self._success is not None

    def reset(self, key: jax.Array, params: Any) -> tuple[Any, EpisodeStatisticsState]:
        obs, env_state = self._env.reset(key, params)
        zero = jnp.zeros((), jnp.float32)
        return obs, EpisodeStatisticsState(env_state, zero, jnp.zeros((), jnp.int32))

    def step(self, key: jax.Array, state: EpisodeStatisticsState, action: Any, params: Any):
        obs, env_state, reward, terminated, truncated, info = self._env.step(
            key, state.env_state, action, params
        )
        done = jnp.logical_or(terminated, truncated)
        episode_return = state.episode_return + reward.astype(jnp.float32)
        episode_length = state.episode_length + 1
        if self._success is None:
            success = jnp.zeros((), bool)
        else:
            success = jnp.logical_and(done, self._success(info["final_observation"], reward, terminated))
        info = {
            **info,
            "episode_done": done,
            "episode_return": episode_return,
            "episode_length": episode_length,
            "episode_success": success,
        }
        next_state = EpisodeStatisticsState(
            env_state,
            jnp.where(done, 0.0, episode_return),
            jnp.where(done, 0, episode_length),
        )
        return obs, next_state, reward, terminated, truncated, info
