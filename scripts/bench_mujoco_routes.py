"""MuJoCo two ways (issue 18): envpool's XLA interface against jaxrl's Gymnasium bridge, in one run.

    python scripts/bench_mujoco_routes.py [--envs HalfCheetah-v5 Hopper-v5] [--num-envs 1 8 64] [--steps 20000]

Needs envpool beside jaxrl's ``mujoco`` extra; it is not a jaxrl dependency, so run it from its own
venv: ``python3.11 -m venv ep && ep/bin/pip install -e ".[mujoco]" envpool==1.2.5`` (1.2.5 is the
newest envpool with a wheel for this Python; its assets take about 1.7 GB).

Speed, env steps per second over all copies, uniformly random actions, compile excluded:

- ``gymnasium loop``: Gymnasium's own env, one per copy, stepped by a plain Python loop;
- ``jaxrl bridge``: ``gymnasium:ID`` stepped from inside a jitted ``lax.scan`` by jaxrl's bridge;
- ``envpool loop``: envpool's NumPy API (``env.step``), its own threads;
- ``envpool xla``: envpool's XLA step inside a jitted ``lax.scan``.

envpool's MuJoCo actions and observations are float64. JAX without 64-bit mode canonicalises the
float64 buffers of envpool's FFI call to float32 when ``env.xla()`` builds it, so the C++ side
reads and writes twice the bytes JAX allotted (garbage, NaN warnings). Building the XLA functions and
tracing each step call inside a scoped ``jax.enable_x64(True)`` gives the call true float64 buffers
while the rest of the program stays 32-bit: the action is cast up and the outputs down in that scope.

Transitions: envpool's MuJoCo is its own C++ port of Gymnasium's tasks, seeded its own way, so the
check sets Gymnasium's env to each of envpool's states (the observation holds every joint but the
root's x, which these tasks' dynamics do not depend on) and takes the same action: the largest
difference of one step's observation and reward, over 1,000 compared steps of random actions. It
also reports envpool's auto-reset: what the step after a time-limit truncation returns.
Run it alone on the machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_gymnasium_bridge import bridge, python_loop  # noqa: E402


def _envpool(env_id: str, num_envs: int, seed: int = 0, **kwargs):
    import envpool

    return envpool.make(env_id, env_type="gymnasium", num_envs=num_envs, seed=seed, **kwargs)


def envpool_loop(env_id: str, num_envs: int, steps: int) -> float:
    """envpool's NumPy API: a batched ``step`` per vector step (it auto-resets by itself)."""
    env = _envpool(env_id, num_envs)
    env.reset()
    rng = np.random.default_rng(0)
    shape = (steps // num_envs, num_envs, *env.single_action_space.shape)
    actions = rng.uniform(env.single_action_space.low, env.single_action_space.high, shape)
    start = time.perf_counter()
    for action in actions:
        env.step(action)
    return len(actions) * num_envs / (time.perf_counter() - start)


def envpool_xla(env_id: str, num_envs: int, steps: int) -> float:
    """envpool's XLA step in a jitted ``lax.scan``, float64 only inside a scoped ``enable_x64``."""
    env = _envpool(env_id, num_envs)
    env.reset()
    with jax.enable_x64(True):
        handle, _, _, step = env.xla()
    space = env.single_action_space
    low, high = np.float32(space.low), np.float32(space.high)
    length = steps // num_envs

    def run(handle, key):
        def body(handle, step_key):
            action = jax.random.uniform(step_key, (num_envs, *space.shape), jnp.float32, low, high)
            with jax.enable_x64(True):
                handle, (obs, reward, terminated, truncated, _) = step(handle, action.astype(jnp.float64))
                total = reward.astype(jnp.float32).sum()
            return handle, total

        handle, totals = jax.lax.scan(body, handle, jax.random.split(key, length))
        return handle, totals.sum()

    compiled = jax.jit(run).lower(handle, jax.random.key(0)).compile()
    start = time.perf_counter()
    jax.block_until_ready(compiled(handle, jax.random.key(1)))
    return length * num_envs / (time.perf_counter() - start)


def one_step_differences(env_id: str, steps: int = 1000) -> dict:
    """Set Gymnasium's env to envpool's state before each step, take the same action, compare; over
    ``steps`` compared steps (as many episodes as that takes)."""
    import gymnasium

    pool = _envpool(env_id, 1, seed=3)
    reference = gymnasium.make(env_id).unwrapped
    reference.reset(seed=0)
    nq, nv = reference.model.nq, reference.model.nv
    obs, _ = pool.reset()
    rng = np.random.default_rng(0)
    worst = {"obs": 0.0, "reward": 0.0, "terminated": 0, "steps": 0}  # "terminated": disagreements
    while worst["steps"] < steps:
        qpos, qvel = np.concatenate([[0.0], obs[0, : nq - 1]]), obs[0, nq - 1: nq - 1 + nv]
        # Hopper and Walker2d clip velocities to [-10, 10] in the observation: a state with a clipped
        # velocity is not known exactly, so that step is taken but not compared.
        known = not (env_id.startswith(("Hopper", "Walker2d")) and np.any(np.abs(qvel) >= 10.0))
        action = rng.uniform(-1.0, 1.0, (1, *pool.single_action_space.shape))
        obs, reward, terminated, truncated, _ = pool.step(action)
        if known:
            reference.set_state(qpos, qvel)
            ref_obs, ref_reward, ref_terminated, _, _ = reference.step(action[0])
            worst["obs"] = max(worst["obs"], float(np.abs(obs[0] - ref_obs).max()))
            worst["reward"] = max(worst["reward"], abs(float(reward[0]) - float(ref_reward)))
            worst["terminated"] += int(bool(terminated[0]) != bool(ref_terminated))
            worst["steps"] += 1
        if terminated[0] or truncated[0]:
            obs, _ = pool.reset()
    return worst


AUTO_RESET_LIMIT = 3  # the short time limit auto_reset_rule steps across


def auto_reset_rule(env_id: str, limit: int = AUTO_RESET_LIMIT) -> str:
    """What envpool's step after a time-limit truncation returns (with a ``limit``-step episode)."""
    pool = _envpool(env_id, 1, max_episode_steps=limit)
    pool.reset()
    action = np.ones((1, *pool.single_action_space.shape))
    rows = []
    for _ in range(limit + 2):
        obs, reward, terminated, truncated, info = pool.step(action)
        rows.append(f"t={int(info['elapsed_step'][0])} trunc={bool(truncated[0])} r={float(reward[0]):+.3f}")
    return "; ".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--envs", nargs="+", default=["HalfCheetah-v5", "Hopper-v5"])
    parser.add_argument("--num-envs", type=int, nargs="+", default=[1, 8, 64])
    parser.add_argument("--steps", type=int, default=20_000, help="env steps per measurement (all copies)")
    args = parser.parse_args()
    import envpool

    print(f"jax {jax.__version__}, envpool {envpool.__version__}, x64 {jax.config.jax_enable_x64}")
    for env_id in args.envs:
        print(f"{env_id}: one-step differences against Gymnasium {one_step_differences(env_id)}")
        print(f"{env_id}: envpool around a {AUTO_RESET_LIMIT}-step time limit: {auto_reset_rule(env_id)}")
    header = ["env", "copies", "gymnasium loop", "jaxrl bridge", "envpool loop", "envpool xla", "xla/bridge"]
    print(" | ".join(header))
    for env_id in args.envs:
        for num_envs in args.num_envs:
            rates = [python_loop(env_id, num_envs, args.steps), bridge(env_id, num_envs, args.steps),
                     envpool_loop(env_id, num_envs, args.steps), envpool_xla(env_id, num_envs, args.steps)]
            cells = [f"{rate:,.0f}" for rate in rates]
            print(" | ".join([env_id, str(num_envs), *cells, f"{rates[3] / rates[1]:.2f}"]), flush=True)


if __name__ == "__main__":
    main()
