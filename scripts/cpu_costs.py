"""What PPO's building blocks cost on this CPU: the figures behind "where can a 1-seed step go faster?"

    python scripts/cpu_costs.py [--repeats 5]

Each line times one compiled loop (best of ``--repeats``, compile excluded) of:

1. ``kernel dispatch``: N unfusable tiny updates per iteration; the cost of one XLA CPU kernel
   launch, which bounds what fewer, larger kernels could save (a PPO gradient step runs ~150);
2. ``dot``: the dense products of a 64x64 layer on a 100-sample minibatch (forward, and the
   weight gradient, whose contraction runs over the samples): this CPU's matrix rate at PPO's sizes;
3. ``tanh``: the activation and its gradient on a [100, 64] block;
4. ``grad step``: forward, backward and an SGD step through PPO's separate 64x64 tanh actor and
   critic on 100 samples (the arithmetic any implementation of rejax's CartPole PPO does 25 times
   per 500 env steps), on one device, and data-parallel over two CPU devices (50 samples each,
   gradients summed across devices every step): whether one seed can use the second core.

Run it alone on the machine (it times things).
"""

from __future__ import annotations

import argparse
from typing import Any, Callable

import jaxrl  # noqa: F401  (one CPU device per core)
import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, PartitionSpec
from profile_ppo import best_time

LOOP = 2_000


def best_seconds(fn: Callable, *args: Any, repeats: int) -> float:
    """Best wall time of the compiled ``fn`` (compile and a first call excluded)."""
    return best_time(jax.jit(fn).lower(*args).compile(), *args, repeats=repeats)


def dispatch_loop(n: int) -> Callable:
    def body(i, xs):  # each update reads another array's sum: XLA cannot fuse them into one kernel
        return tuple(x * 0.999 + jnp.sum(xs[k - 1]) * 1e-6 for k, x in enumerate(xs))

    return lambda xs: jax.lax.fori_loop(0, LOOP, body, xs)


def varying_loop(op: Callable, init: jax.Array) -> Callable:
    """LOOP applications of ``op`` to inputs that change every iteration (nothing to hoist)."""
    return lambda a, b: jax.lax.fori_loop(0, LOOP, lambda i, c: c + op(a * (1.0 + i * 1e-9), b + c[:1, :1]), init)


def ppo_networks(key: jax.Array) -> list[tuple[jax.Array, jax.Array]]:
    shapes = [(4, 64), (64, 64), (64, 2), (4, 64), (64, 64), (64, 1)]
    return [(jax.random.normal(k, s) * 0.1, jnp.zeros(s[1])) for k, s in zip(jax.random.split(key, 6), shapes)]


def ppo_objective(layers: list, obs: jax.Array) -> jax.Array:
    def mlp(params, x):
        for w, b in params[:-1]:
            x = jnp.tanh(x @ w + b)
        return x @ params[-1][0] + params[-1][1]

    logits, value = mlp(layers[:3], obs), mlp(layers[3:], obs)
    return jnp.sum(jax.nn.log_softmax(logits)[:, 0]) + jnp.sum(value**2)


def sgd_steps(layers: list, batches: jax.Array, reduce: Callable = lambda g: g) -> list:
    def step(params, obs):
        grads = reduce(jax.grad(ppo_objective)(params, obs))
        return jax.tree.map(lambda p, g: p - 1e-4 * g, params, grads), None

    return jax.lax.scan(step, layers, batches)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    r = parser.parse_args().repeats

    print(f"{'measure':44s} {'time':>12s}  rate")
    for n in (10, 100):
        s = best_seconds(dispatch_loop(n), tuple(jnp.ones(64) for _ in range(n)), repeats=r) / LOOP
        print(f"{'kernel dispatch, ' + str(n) + ' tiny updates':44s} {s * 1e6:9.2f} us  {s / n * 1e9:.0f} ns per update")

    a, b, w = jnp.ones((100, 64)), jnp.full((100, 64), 0.5), jnp.full((64, 64), 0.01)
    flops = 2 * 100 * 64 * 64
    for name, op, args, init in [
        ("dot, forward [100,64]x[64,64]", lambda x, y: x @ y, (a, w), jnp.zeros((100, 64))),
        ("dot, weight gradient [100,64]^T x [100,64]", lambda x, y: x.T @ y, (a, b), jnp.zeros((64, 64))),
    ]:
        s = best_seconds(varying_loop(op, init), *args, repeats=r) / LOOP
        print(f"{name:44s} {s * 1e6:9.2f} us  {flops / s / 1e9:.1f} GFLOP/s")
    for name, op in [("tanh [100,64]", lambda x, y: jnp.tanh(x + y)),
                     ("tanh gradient [100,64]", lambda x, y: (1.0 - jnp.tanh(x) ** 2) * y)]:
        s = best_seconds(varying_loop(op, jnp.zeros((100, 64))), a, b, repeats=r) / LOOP
        print(f"{name:44s} {s * 1e6:9.2f} us  {s / 6400 * 1e9:.2f} ns per element")

    layers = ppo_networks(jax.random.key(0))
    batches = jnp.tile(jax.random.normal(jax.random.key(1), (25, 100, 4)), (40, 1, 1))  # 1,000 minibatches
    s = best_seconds(sgd_steps, layers, batches, repeats=r) / len(batches)
    print(f"{'PPO grad step, 100 samples, 1 device':44s} {s * 1e6:9.2f} us")
    if len(jax.devices()) >= 2:
        mesh = Mesh(np.array(jax.devices()[:2]), ("data",))
        data_parallel = jax.shard_map(
            lambda p, x: sgd_steps(p, x, lambda g: jax.lax.psum(g, "data")),
            mesh=mesh, in_specs=(PartitionSpec(), PartitionSpec(None, "data")), out_specs=PartitionSpec(),
        )
        s = best_seconds(data_parallel, layers, batches, repeats=r) / len(batches)
        print(f"{'PPO grad step, 2 devices x 50 samples + psum':44s} {s * 1e6:9.2f} us")


if __name__ == "__main__":
    main()
