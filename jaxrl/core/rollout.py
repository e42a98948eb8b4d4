"""Vectorised stepping of ``num_envs`` environments, the episode metrics they report, and a
rollout of plain transitions under a given action choice."""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

from jaxrl.core.off_policy import Transition
from jaxrl.envs.wrappers import EpisodeStatistics

# Metrics a train_step reports that the engine sums over a logging period; all others it averages.
SUMMED_METRICS = ("episodes", "episode_return_sum", "episode_length_sum", "successes")


class EnvStep(NamedTuple):
    """One vectorised env step: arrays with a leading ``num_envs`` axis."""

    obs: Any  # the next observation (after auto-reset where the episode ended)
    reward: jax.Array
    terminated: jax.Array
    truncated: jax.Array
    final_obs: Any  # the observation the action led to, before any auto-reset
    info: dict


class VecEnv:
    """``num_envs`` copies of an environment stepped in lock-step with ``vmap``, with episode stats."""

    def __init__(self, env: Any, env_params: Any, num_envs: int):
        self.env = env if isinstance(env, EpisodeStatistics) else EpisodeStatistics(env)
        self.env_params = env_params
        self.num_envs = num_envs

    def reset(self, key: jax.Array) -> tuple[Any, Any]:
        keys = jax.random.split(key, self.num_envs)
        return jax.vmap(self.env.reset, in_axes=(0, None))(keys, self.env_params)

    def step(self, key: jax.Array, env_state: Any, action: jax.Array) -> tuple[Any, EnvStep]:
        # One env needs no split: one RNG call fewer per step where that is most of the work.
        keys = key[None] if self.num_envs == 1 else jax.random.split(key, self.num_envs)
        obs, env_state, reward, terminated, truncated, info = jax.vmap(
            self.env.step, in_axes=(0, 0, 0, None)
        )(keys, env_state, action, self.env_params)
        step = EnvStep(obs, reward, terminated, truncated, info["final_observation"], info)
        return env_state, step


def episode_metrics(info: dict) -> dict[str, jax.Array]:
    """Sums over completed episodes only (masked by ``episode_done``); the engine averages later."""
    done = info["episode_done"]
    return {
        "episodes": done.sum().astype(jnp.float32),
        "episode_return_sum": jnp.where(done, info["episode_return"], 0.0).sum(),
        "episode_length_sum": jnp.where(done, info["episode_length"], 0).sum().astype(jnp.float32),
        "successes": jnp.logical_and(done, info["episode_success"]).sum().astype(jnp.float32),
    }


def collect_transitions(venv: VecEnv, choose: Callable[[Any, jax.Array], jax.Array], env_state: Any, obs: Any,
                        key: jax.Array, length: int) -> tuple[tuple[Any, Any], Transition, dict[str, jax.Array]]:
    """``length`` steps of every env (a ``lax.scan``), each action ``choose(obs, key)`` for the
    batch of current observations: the final ``(env_state, obs)``, the transitions stacked
    ``[length, num_envs, ...]`` (``final_obs`` before any auto-reset), and the episode metrics summed."""

    def step(carry, step_key):
        env_state, obs = carry
        act_key, env_key = jax.random.split(step_key)
        action = choose(obs, act_key)
        env_state, out = venv.step(env_key, env_state, action)
        transition = Transition(obs, action, out.reward.astype(jnp.float32), out.terminated, out.truncated, out.final_obs)
        return (env_state, out.obs), (transition, episode_metrics(out.info))

    carry, (transitions, metrics) = jax.lax.scan(step, (env_state, obs), jax.random.split(key, length))
    return carry, transitions, jax.tree.map(lambda m: m.sum(0), metrics)
