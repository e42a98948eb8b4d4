"""Throughput of tabular Q-learning on FrozenLake 4x4, side by side in one run.

    python scripts/bench_tabular.py [--batch 1024] [--steps 20000] [--numpy-steps 200000]

Reports env steps per second (compile excluded, reported apart) for:
  raw       random-action stepping of jaxrl's FrozenLake, ``batch`` envs, one jitted scan
  gymnax    the same for gymnax's own FrozenLake-misc, for reference
  jaxrl     jaxrl.train("q_learning") with ``batch`` seeds (one env each), learning included
  numpy     the tutorials' loop: Gymnasium FrozenLake-v1, NumPy Q-table, one env, one seed
"""

from __future__ import annotations

import argparse
import time

import jax
import numpy as np


def raw_stepping(env, params, batch: int, steps: int) -> tuple[float, float]:
    """(compile seconds, env steps per second) for random actions through env.step."""
    num_actions = env.action_space(params).n

    def run(key):
        obs, state = jax.vmap(env.reset, in_axes=(0, None))(jax.random.split(key, batch), params)

        def body(carry, _):
            state, key = carry
            key, action_key, step_key = jax.random.split(key, 3)
            actions = jax.random.randint(action_key, (batch,), 0, num_actions)
            _, state, reward, *_ = jax.vmap(env.step, in_axes=(0, 0, 0, None))(
                jax.random.split(step_key, batch), state, actions, params
            )
            return (state, key), reward.sum()

        (_, _), rewards = jax.lax.scan(body, (state, key), None, length=steps)
        return rewards.sum()

    start = time.perf_counter()
    compiled = jax.jit(run).lower(jax.random.key(0)).compile()
    compile_seconds = time.perf_counter() - start
    compiled(jax.random.key(1)).block_until_ready()  # warm
    start = time.perf_counter()
    compiled(jax.random.key(2)).block_until_ready()
    return compile_seconds, batch * steps / (time.perf_counter() - start)


def jaxrl_q_learning(batch: int, steps: int) -> tuple[float, float, float]:
    import jaxrl

    kwargs = dict(seeds=batch, steps=steps, progress=False, num_chunks=1, log_interval=steps // 10)
    jaxrl.train("q_learning", "FrozenLake-v1", **kwargs)  # warm the process (first-call overheads)
    start = time.perf_counter()
    result = jaxrl.train("q_learning", "FrozenLake-v1", seed=1, **kwargs)
    wall = time.perf_counter() - start
    return result.compile_seconds, batch * steps / result.train_seconds, wall


def numpy_gymnasium_q_learning(steps: int) -> float:
    """The tutorial loop, verbatim in spirit: one env, epsilon-greedy, Q[s,a] += alpha * td."""
    import gymnasium as gym

    env = gym.make("FrozenLake-v1")
    q = np.zeros((env.observation_space.n, env.action_space.n))
    rng = np.random.default_rng(0)
    alpha, gamma, epsilon = 0.1, 0.99, 0.1
    state, _ = env.reset(seed=0)
    start = time.perf_counter()
    for _ in range(steps):
        if rng.random() < epsilon:
            action = env.action_space.sample()
        else:
            action = int(np.argmax(q[state]))
        next_state, reward, terminated, truncated, _ = env.step(action)
        target = reward + gamma * np.max(q[next_state]) * (not terminated)
        q[state, action] += alpha * (target - q[state, action])
        state = next_state
        if terminated or truncated:
            state, _ = env.reset()
    return steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--steps", type=int, default=20_000, help="env steps per env/seed for the JAX runs")
    parser.add_argument("--numpy-steps", type=int, default=200_000)
    args = parser.parse_args()

    import gymnax

    import jaxrl

    env, params = jaxrl.make_env("FrozenLake-v1")
    gymnax_env, gymnax_params = gymnax.make("FrozenLake-misc")
    print(f"device: {jax.devices()[0].device_kind}, jax {jax.__version__}, batch {args.batch}")
    rows = []
    compile_s, rate = raw_stepping(env, params, args.batch, args.steps)
    rows.append(("raw stepping, jaxrl FrozenLake-v1", rate, compile_s))
    compile_s, gymnax_rate = raw_stepping(gymnax_env, gymnax_params, args.batch, args.steps)
    rows.append(("raw stepping, gymnax FrozenLake-misc", gymnax_rate, compile_s))
    compile_s, q_rate, wall = jaxrl_q_learning(args.batch, args.steps)
    rows.append((f"jaxrl q_learning, {args.batch} seeds", q_rate, compile_s))
    numpy_rate = numpy_gymnasium_q_learning(args.numpy_steps)
    rows.append(("NumPy + Gymnasium Q-learning loop", numpy_rate, 0.0))

    print(f"\n{'what':40s} {'env steps/s':>14s} {'compile s':>10s}")
    for name, steps_per_second, compile_seconds in rows:
        print(f"{name:40s} {steps_per_second:14,.0f} {compile_seconds:10.2f}")
    print(f"\njaxrl q_learning / raw stepping (same env, same batch): {q_rate / rate:.0%}")
    print(f"jaxrl q_learning / NumPy + Gymnasium loop:               {q_rate / numpy_rate:,.0f}x")
    print(f"jaxrl q_learning wall clock incl. compile: {wall:.2f} s for {args.batch * args.steps:,} env steps")


if __name__ == "__main__":
    main()
