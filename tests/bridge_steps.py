"""Stepping a host-stepped env (the Gymnasium bridge, Atari) through jaxrl for side-by-side tests."""

from __future__ import annotations

import jax

from jaxrl.core.rollout import VecEnv


def jaxrl_trajectory(env, params, key, actions):
    """Reset ``actions.shape[1]`` copies and step them with ``actions`` in one jitted scan: the first
    observations, the reset seeds the bridge derived from the keys (for the reference's resets),
    per step ``(obs, reward, terminated, truncated, final_obs, seeds)``, and the last state."""
    venv = VecEnv(env, params, actions.shape[1])
    reset_key, steps_key = jax.random.split(key)

    def run(reset_key, steps_key, actions):
        obs, state = venv.reset(reset_key)
        step_keys = jax.random.split(steps_key, actions.shape[0])

        def body(state, inputs):
            step_key, action = inputs
            state, out = venv.step(step_key, state, action)
            seeds = jax.vmap(env._seed)(jax.random.split(step_key, venv.num_envs))
            return state, (out.obs, out.reward, out.terminated, out.truncated, out.final_obs, seeds)

        state, steps = jax.lax.scan(body, state, (step_keys, actions))
        return obs, jax.vmap(env._seed)(jax.random.split(reset_key, venv.num_envs)), steps, state

    return jax.device_get(jax.jit(run)(reset_key, steps_key, actions))
