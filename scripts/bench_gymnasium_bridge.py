"""The Gymnasium bridge's overhead: env steps per second of Gymnasium stepped by a plain Python loop
against the same envs stepped from inside a jitted ``lax.scan`` through jaxrl's bridge, in one run.

    python scripts/bench_gymnasium_bridge.py [--envs CartPole-v1 LunarLander-v3] [--num-envs 1 8 64] [--steps 20000]

Both sides take uniformly random actions (drawn in advance for the loop, inside the program for
the bridge) and auto-reset ended episodes in the same step; the rows are total env steps per
second (all copies), compile excluded. Run it alone on the machine.
"""

from __future__ import annotations

import argparse
import time

import jax

import jaxrl
from jaxrl.core.rollout import VecEnv


def python_loop(env_id: str, num_envs: int, steps: int) -> float:
    import gymnasium

    envs = [gymnasium.make(env_id) for _ in range(num_envs)]
    for i, env in enumerate(envs):
        env.reset(seed=i)
        env.action_space.seed(i)
    actions = [[env.action_space.sample() for env in envs] for _ in range(steps // num_envs)]
    start = time.perf_counter()
    for row in actions:
        for env, action in zip(envs, row):
            _, _, terminated, truncated, _ = env.step(action)
            if terminated or truncated:
                env.reset()
    return len(actions) * num_envs / (time.perf_counter() - start)


def bridge(env_id: str, num_envs: int, steps: int) -> float:
    env, params = jaxrl.make_env(f"gymnasium:{env_id}")
    venv = VecEnv(env, params, num_envs)
    space = env.action_space(params)
    length = steps // num_envs

    def run(key):
        obs, state = venv.reset(key)

        def body(state, step_key):
            act_key, env_key = jax.random.split(step_key)
            keys = jax.random.split(act_key, num_envs)
            action = jax.vmap(lambda k: space.sample(k))(keys)
            state, out = venv.step(env_key, state, action)
            return state, out.reward.sum()

        return jax.lax.scan(body, state, jax.random.split(key, length))[1].sum()

    compiled = jax.jit(run).lower(jax.random.key(0)).compile()
    start = time.perf_counter()
    jax.block_until_ready(compiled(jax.random.key(1)))
    return length * num_envs / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--envs", nargs="+", default=["CartPole-v1", "LunarLander-v3"])
    parser.add_argument("--num-envs", type=int, nargs="+", default=[1, 8, 64])
    parser.add_argument("--steps", type=int, default=20_000, help="env steps per measurement (all copies)")
    args = parser.parse_args()
    print(f"{'env':16s} {'copies':>6s} {'Gymnasium loop steps/s':>23s} {'jaxrl bridge steps/s':>21s} {'bridge/loop':>11s}")
    for env_id in args.envs:
        for num_envs in args.num_envs:
            loop = python_loop(env_id, num_envs, args.steps)
            ours = bridge(env_id, num_envs, args.steps)
            print(f"{env_id:16s} {num_envs:6d} {loop:23,.0f} {ours:21,.0f} {ours / loop:11.2f}", flush=True)


if __name__ == "__main__":
    main()
