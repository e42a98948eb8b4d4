"""Raw Atari stepping speed inside a jitted ``lax.scan``: jaxrl's route (``ALE/NAME-v5`` through the
Gymnasium bridge: one io_callback per step for the whole batch, each env a Python
``gymnasium.Env`` under ``AtariPreprocessing``) against ALE 0.12's XLA interface
(``ale_py.AtariVectorEnv(...).xla()``: C++ envs on a thread pool, called through an XLA FFI
target), both with v5's sticky actions, 84x84 grey frames, skip 4, max-pool, stack 4 and no-op starts.

Random actions, compile, env construction and the first call excluded, env steps per second (agent steps, 4 frames
each) over a few seconds per case. No learning: this is the env's cost alone.

    python scripts/bench_atari.py --games breakout ms_pacman --envs 8 32 --steps 200
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp

import jaxrl
from jaxrl.core.rollout import VecEnv

IDS = {"breakout": "ALE/Breakout-v5", "ms_pacman": "ALE/MsPacman-v5", "pong": "ALE/Pong-v5"}  # ALE's ROM names


def _timed(fn, *args) -> float:
    jax.block_until_ready(fn(*args))  # compile and warm up
    start = time.perf_counter()
    jax.block_until_ready(fn(*args))
    return time.perf_counter() - start


def bridge(game: str, num_envs: int, steps: int) -> float:
    """jaxrl's route; the reset (which makes the host envs: about 0.2 s each) is outside the timed
    call, as the other columns' env construction is."""
    env, params = jaxrl.make_env(IDS[game])
    venv = VecEnv(env, params, num_envs)
    actions = env.action_space(params).n
    _, state = jax.jit(venv.reset)(jax.random.key(0))

    @jax.jit
    def run(state, key):
        def body(state, step_key):
            action = jax.random.randint(step_key, (num_envs,), 0, actions)
            state, out = venv.step(step_key, state, action)
            return state, out.reward.sum()

        return jax.lax.scan(body, state, jax.random.split(key, steps))

    state, _ = jax.block_until_ready(run(state, jax.random.key(1)))  # compile and warm up
    start = time.perf_counter()
    jax.block_until_ready(run(state, jax.random.key(2)))
    return num_envs * steps / (time.perf_counter() - start)


def direct(game: str, num_envs: int, steps: int) -> float:
    """The same Gymnasium envs stepped in a plain Python loop, no JAX: the bridge's floor."""
    import numpy as np

    from jaxrl.envs.atari import make_atari

    envs = [make_atari(IDS[game]) for _ in range(num_envs)]
    for i, env in enumerate(envs):
        env.reset(seed=i)
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    for _ in range(steps):
        for env in envs:
            _, _, terminated, truncated, _ = env.step(int(rng.integers(env.action_space.n)))
            if terminated or truncated:
                env.reset()
    return num_envs * steps / (time.perf_counter() - start)


def ale_xla(game: str, num_envs: int, steps: int) -> float:
    import ale_py

    envs = ale_py.AtariVectorEnv(game, num_envs, repeat_action_probability=0.25, reward_clipping=False,
                                 use_fire_reset=False)  # v5's sticky actions; no clipping or FIRE, as jaxrl's
    handle, reset, step = envs.xla()
    actions = int(envs.single_action_space.n)

    @jax.jit
    def run(handle, key):
        handle, _ = reset(handle)

        def body(handle, step_key):
            action = jax.random.randint(step_key, (num_envs,), 0, actions, jnp.int32)
            handle, (obs, reward, terminated, truncated, _) = step(handle, action)
            return handle, reward.sum()

        return jax.lax.scan(body, handle, jax.random.split(key, steps))[1].sum()

    rate = num_envs * steps / _timed(run, handle, jax.random.key(0))
    envs.close()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--games", nargs="+", default=["breakout", "ms_pacman"], choices=sorted(IDS))
    parser.add_argument("--envs", nargs="+", type=int, default=[8, 32])
    parser.add_argument("--steps", type=int, default=200, help="steps of every env per timed call")
    args = parser.parse_args()
    print(f"{'game':10} {'envs':>5} {'jaxrl bridge':>14} {'Python loop':>12} {'ALE XLA':>10}  (env steps/s)")
    for game in args.games:
        for num_envs in args.envs:
            print(f"{game:10} {num_envs:5d} {bridge(game, num_envs, args.steps):14.0f} "
                  f"{direct(game, num_envs, args.steps):12.0f} "
                  f"{ale_xla(game, num_envs, args.steps):10.0f}", flush=True)


if __name__ == "__main__":
    main()
