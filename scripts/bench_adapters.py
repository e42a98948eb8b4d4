"""Each JAX-native suite adapter's overhead: env steps per second of the suite's own jitted, vmapped
step against the same env through jaxrl's adapter (gymnax API, auto-reset, ``final_observation``),
in one run, compile excluded.

    python scripts/bench_adapters.py [--only xminigrid jumanji ...] [--num-envs 256] [--steps 200000] [--repeats 3]

Both sides take uniformly random actions drawn inside the program and step ``--num-envs`` copies in
one ``lax.scan``, returning the sum of every reward and observation (``checksum``); the suite's own side resets ended episodes the way the suite does (its own
auto-reset where it has one). Each figure is the best of ``--repeats`` timed calls of one compiled
program. Run it alone on the machine: timings move by up to 30% with the host's load.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from typing import Any, Callable

import jax
import jax.numpy as jnp

import jaxrl
from jaxrl.core.rollout import VecEnv

# A suite's own stepping: (num_envs, length) -> a function key -> scalar, stepping num_envs copies
# for length steps with random actions (the scalar keeps XLA from dropping the work).
NativeRun = Callable[[int, int], Callable[[jax.Array], jax.Array]]


def checksum(reward: jax.Array, obs: Any) -> jax.Array:
    """What a timed step returns: rewards and observations summed. The observations matter: where
    the reward is constant (brax's inverted_pendulum pays 1 a step) XLA would otherwise drop the
    physics as dead code (a first version timed brax at 3 billion steps/s)."""
    return jnp.sum(reward) + sum(jnp.sum(leaf.astype(jnp.float32)) for leaf in jax.tree.leaves(obs))


@dataclasses.dataclass(frozen=True)
class Case:
    suite: str
    env_id: str  # jaxrl's id
    native: NativeRun


def xminigrid_native(name: str) -> NativeRun:
    def build(num_envs: int, length: int) -> Callable[[jax.Array], jax.Array]:
        import xminigrid
        from xminigrid.wrappers import GymAutoResetWrapper

        env, params = xminigrid.make(name)
        env = GymAutoResetWrapper(env)
        num_actions = env.num_actions(params)

        def run(key: jax.Array) -> jax.Array:
            reset_key, key = jax.random.split(key)
            timestep = jax.vmap(env.reset, in_axes=(None, 0))(params, jax.random.split(reset_key, num_envs))

            def body(timestep, step_key):
                action = jax.random.randint(step_key, (num_envs,), 0, num_actions)
                timestep = jax.vmap(env.step, in_axes=(None, 0, 0))(params, timestep, action)
                return timestep, checksum(timestep.reward, timestep.observation)

            return jax.lax.scan(body, timestep, jax.random.split(key, length))[1].sum()

        return run

    return build


def jumanji_native(name: str) -> NativeRun:
    """Jumanji's own step of a DiscreteArray-action env, vmapped, with its AutoResetWrapper (the
    final observation kept in the extras, as jaxrl keeps it in ``info``)."""
    def build(num_envs: int, length: int) -> Callable[[jax.Array], jax.Array]:
        import jumanji
        from jumanji.wrappers import AutoResetWrapper

        env = AutoResetWrapper(jumanji.make(name), next_obs_in_extras=True)
        num_actions = int(env.action_spec.num_values)

        def run(key: jax.Array) -> jax.Array:
            reset_key, key = jax.random.split(key)
            state, _ = jax.vmap(env.reset)(jax.random.split(reset_key, num_envs))

            def body(state, step_key):
                action = jax.random.randint(step_key, (num_envs,), 0, num_actions)
                state, timestep = jax.vmap(env.step)(state, action)
                return state, checksum(timestep.reward, timestep.observation)

            return jax.lax.scan(body, state, jax.random.split(key, length))[1].sum()

        return run

    return build


def brax_native(name: str) -> NativeRun:
    def build(num_envs: int, length: int) -> Callable[[jax.Array], jax.Array]:
        import brax  # noqa: F401  # missing: an ImportError, reported as not installed

        from jaxrl.envs.brax_envs import DEFAULT_EPISODE_STEPS, BraxEnv, require_brax

        # brax's raw env on the adapter's backend; brax.envs.create's wrappers would add their own
        # time limit and an auto-reset that replays one cached first state. Ended episodes (brax's done,
        # or the time limit) restart here from fresh keys, as the adapter does.
        env = require_brax().get_environment(name, backend=BraxEnv(name).backend)
        reset, step = jax.vmap(env.reset), jax.vmap(env.step)

        def run(key: jax.Array) -> jax.Array:
            reset_key, key = jax.random.split(key)
            state = reset(jax.random.split(reset_key, num_envs))

            def body(carry, step_key):
                state, count = carry
                act_key, next_key = jax.random.split(step_key)
                action = jax.random.uniform(act_key, (num_envs, env.action_size), minval=-1.0, maxval=1.0)
                state = step(state, action)
                reward = checksum(state.reward, state.obs)
                count = count + 1
                done = jnp.logical_or(state.done > 0, count >= DEFAULT_EPISODE_STEPS)
                first = reset(jax.random.split(next_key, num_envs))
                state = jax.tree.map(lambda r, s: jnp.where(done.reshape((-1,) + (1,) * (s.ndim - 1)), r, s), first, state)
                return (state, jnp.where(done, 0, count)), reward

            count = jnp.zeros(num_envs, jnp.int32)
            return jax.lax.scan(body, (state, count), jax.random.split(key, length))[1].sum()

        return run

    return build


CASES: list[Case] = [
    Case("xminigrid", "xminigrid/MiniGrid-Empty-8x8", xminigrid_native("MiniGrid-Empty-8x8")),
    Case("jumanji", "jumanji/Snake-v1", jumanji_native("Snake-v1")),
    Case("brax", "brax/inverted_pendulum", brax_native("inverted_pendulum")),
]


def adapter_run(env_id: str, num_envs: int, length: int) -> Callable[[jax.Array], jax.Array]:
    env, params = jaxrl.make_env(env_id)
    venv = VecEnv(env, params, num_envs)
    space = env.action_space(params)

    def run(key: jax.Array) -> jax.Array:
        reset_key, key = jax.random.split(key)
        _, state = venv.reset(reset_key)

        def body(state, step_key):
            act_key, env_key = jax.random.split(step_key)
            action = jax.vmap(space.sample)(jax.random.split(act_key, num_envs))
            state, out = venv.step(env_key, state, action)
            return state, checksum(out.reward, out.obs)

        return jax.lax.scan(body, state, jax.random.split(key, length))[1].sum()

    return run


def steps_per_second(run: Callable[[jax.Array], jax.Array], env_steps: int, repeats: int) -> float:
    compiled = jax.jit(run).lower(jax.random.key(0)).compile()
    best = float("inf")
    for repeat in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(compiled(jax.random.key(repeat + 1)))
        best = min(best, time.perf_counter() - start)
    return env_steps / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", default=None, help="suites to measure (default: every installed one)")
    parser.add_argument("--num-envs", type=int, default=256)
    parser.add_argument("--steps", type=int, default=200_000, help="env steps per timed call, all copies")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    length = max(1, args.steps // args.num_envs)
    env_steps = length * args.num_envs
    print(f"{args.num_envs} envs x {length} steps per call, best of {args.repeats}, on {jax.devices()[0].platform}")
    print("| suite | env | suite's own step | jaxrl adapter | adapter / own |")
    print("|---|---|---:|---:|---:|")
    for case in CASES:
        if args.only and case.suite not in args.only:
            continue
        try:
            native = steps_per_second(case.native(args.num_envs, length), env_steps, args.repeats)
        except ImportError as error:
            print(f"| {case.suite} | {case.env_id} | not installed ({error.name}) | | |")
            continue
        adapter = steps_per_second(adapter_run(case.env_id, args.num_envs, length), env_steps, args.repeats)
        print(f"| {case.suite} | `{case.env_id}` | {native:,.0f} | {adapter:,.0f} | {adapter / native:.2f} |", flush=True)


if __name__ == "__main__":
    main()
