"""The Nature CNN's gradient on XLA:CPU: flax's nn.Conv against jaxrl's patch convolutions.

Both networks are the Nature DQN torso plus a 4-action head, on the same parameters; each
gradient step runs inside a jitted ``lax.scan`` as it does in training. Prints milliseconds per
gradient step (compile excluded) and the largest difference of the two networks' outputs.

    python scripts/bench_nature_cnn.py [--batch 256] [--steps 5]
"""

from __future__ import annotations

import argparse
import time

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxrl.core.networks import NatureCNN


class FlaxNatureCNN(nn.Module):
    """The same torso built from nn.Conv (what jaxrl used before session 20)."""

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        x = x.astype(jnp.float32) / 255.0
        for features, size, stride in ((32, 8, 4), (64, 4, 2), (64, 3, 1)):
            x = nn.relu(nn.Conv(features, (size, size), (stride, stride), padding="VALID")(x))
        return nn.relu(nn.Dense(512)(x.reshape(x.shape[:-3] + (-1,))))


class WithHead(nn.Module):
    torso: nn.Module

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        return nn.Dense(4, name="head")(self.torso(x))


def ms_per_step(net: nn.Module, params, frames: jax.Array, steps: int) -> float:
    def loss(p):
        return jnp.mean(net.apply(p, frames) ** 2)

    def body(p, _):
        grads = jax.grad(loss)(p)
        return jax.tree.map(lambda a, g: a - 1e-6 * g, p, grads), None

    run = jax.jit(lambda p: jax.lax.scan(body, p, None, length=steps)[0])
    jax.block_until_ready(run(params))  # compile and warm up
    start = time.perf_counter()
    jax.block_until_ready(run(params))
    return (time.perf_counter() - start) / steps * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()
    frames = jax.random.randint(jax.random.key(0), (args.batch, 84, 84, 4), 0, 256).astype(jnp.uint8)
    patch, flax_conv = WithHead(NatureCNN()), WithHead(FlaxNatureCNN())
    params = patch.init(jax.random.key(1), frames[:1])  # the same parameter names and shapes in both
    difference = float(jnp.abs(patch.apply(params, frames[:8]) - flax_conv.apply(params, frames[:8])).max())
    print(f"largest output difference on 8 frames: {difference:.2e}")
    for name, net in (("nn.Conv", flax_conv), ("jaxrl patches", patch)):
        print(f"{name}: {ms_per_step(net, params, frames, args.steps):.1f} ms per gradient step (batch {args.batch})")


if __name__ == "__main__":
    main()
