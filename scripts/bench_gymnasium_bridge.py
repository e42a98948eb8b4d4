"""The Gymnasium bridge's overhead: env steps per second of Gymnasium stepped by a plain Python loop
against the same envs stepped from inside a jitted ``lax.scan`` through jaxrl's bridge, in one run.

    python scripts/bench_gymnasium_bridge.py [--envs CartPole-v1 LunarLander-v3] [--num-envs 1 8 64] [--steps 20000]
    python scripts/bench_gymnasium_bridge.py --callback-cost   # what one io_callback costs, by arrays carried

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


def callback_cost(arrays_in: int, arrays_out: int, length: int = 5_000) -> float:
    """Microseconds per bare ``io_callback`` with ``arrays_in`` float32 [1, 17] arrays in and
    ``arrays_out`` out, in a jitted ``lax.scan`` (the host function only converts and returns)."""
    import jax.numpy as jnp
    import numpy as np
    from jax.experimental import io_callback

    def host(*xs):
        xs = [np.asarray(x) for x in xs]
        return tuple(xs[i % len(xs)] for i in range(arrays_out))

    def run(x):
        def body(carry, _):
            out = io_callback(host, (jax.ShapeDtypeStruct(carry.shape, carry.dtype),) * arrays_out,
                              *([carry] * arrays_in), ordered=False)
            return out[0] + sum(o.sum() for o in out[1:]), ()

        return jax.lax.scan(body, x, None, length=length)[0]

    x = jnp.zeros((1, 17))
    compiled = jax.jit(run).lower(x).compile()
    jax.block_until_ready(compiled(x))
    start = time.perf_counter()
    jax.block_until_ready(compiled(x))
    return (time.perf_counter() - start) / length * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--envs", nargs="+", default=["CartPole-v1", "LunarLander-v3"])
    parser.add_argument("--num-envs", type=int, nargs="+", default=[1, 8, 64])
    parser.add_argument("--steps", type=int, default=20_000, help="env steps per measurement (all copies)")
    parser.add_argument("--callback-cost", action="store_true",
                        help="only time a bare io_callback with 1 array in and 1 out, then 5 in and 7 out")
    args = parser.parse_args()
    if args.callback_cost:
        for arrays_in, arrays_out in ((1, 1), (1, 2), (5, 7)):
            print(f"io_callback, {arrays_in} array(s) in, {arrays_out} out: {callback_cost(arrays_in, arrays_out):.1f} us per call")
        return
    print(f"{'env':16s} {'copies':>6s} {'Gymnasium loop steps/s':>23s} {'jaxrl bridge steps/s':>21s} {'bridge/loop':>11s}")
    for env_id in args.envs:
        for num_envs in args.num_envs:
            loop = python_loop(env_id, num_envs, args.steps)
            ours = bridge(env_id, num_envs, args.steps)
            print(f"{env_id:16s} {num_envs:6d} {loop:23,.0f} {ours:21,.0f} {ours / loop:11.2f}", flush=True)


if __name__ == "__main__":
    main()
