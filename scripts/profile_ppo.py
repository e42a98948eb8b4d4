"""Where PPO's time goes on CartPole-v1 (rejax's hyperparameters), and how close it is to the CPU's limit.

    python scripts/profile_ppo.py [--seeds 1 16]

For each batch of seeds it times, in one compiled program each (best of 3, compile excluded):
the rollout alone (``collect``) and the whole ``train_step`` (rollout, GAE and 5 epochs x 5
minibatches of gradient steps), over 20 consecutive updates. The difference is the update. It
then counts the update's floating-point work from the network shapes (multiply-adds of every
dense layer, forward and backward) and prints the rate it achieves, next to the rate of a plain
batched matrix product of the same shapes run in the same process: the ceiling the update can
reach on this machine.
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp

import jaxrl
from jaxrl import agents
from jaxrl.agents.ppo import PPOConfig
from jaxrl.core import actor_critic
from jaxrl.train import init_runs

CONFIG = dict(num_envs=5, rollout_len=100, num_epochs=5, num_minibatches=5, hidden=(64, 64), activation="tanh")
HPARAMS = dict(learning_rate=7.5e-4, max_grad_norm=0.5, gamma=0.99, gae_lambda=0.95, clip_eps=0.2,
               vf_coef=0.5, ent_coef=0.01)
UPDATES = 20


def best_time(fn, *args, repeats: int = 3) -> float:
    jax.block_until_ready(fn(*args))
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        best = min(best, time.perf_counter() - start)
    return best


def update_flops(obs_dim: int, num_actions: int) -> float:
    """Multiply-adds x 2 of one sample's forward pass through separate actor and critic MLPs, x 3
    for forward plus backward (weights' and activations' gradients), per gradient step."""
    widths = [obs_dim, *CONFIG["hidden"]]
    torso = sum(a * b for a, b in zip(widths[:-1], widths[1:]))
    macs = 2 * torso + widths[-1] * num_actions + widths[-1] * 1
    return 2.0 * macs * 3.0


def matmul_ceiling(seeds: int, rows: int) -> float:
    """GFLOP/s of a scanned, vmapped [rows, 64] x [64, 64] product with tanh, forward and backward."""
    x = jnp.ones((seeds, rows, 64))
    w = jnp.full((seeds, 64, 64), 0.01)

    def loss(w, x):
        return jnp.sum(jnp.tanh(jnp.tanh(x @ w) @ w))

    def body(w, _):
        return w - 1e-6 * jax.vmap(jax.grad(loss))(w, x), None

    steps = 200
    fn = jax.jit(lambda w: jax.lax.scan(body, w, None, steps)[0])
    seconds = best_time(fn, w)
    flops = steps * seeds * rows * (2 * 64 * 64 * 2) * 3
    return flops / seconds / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 16])
    args = parser.parse_args()
    agent = agents.make("ppo", "CartPole-v1", config=CONFIG)
    env, env_params = jaxrl.make_env("CartPole-v1")
    parts = actor_critic.build("ppo", env, env_params, PPOConfig(**CONFIG))
    hparams = agent.hparams(HPARAMS, total_steps=1e5)
    batch = CONFIG["num_envs"] * CONFIG["rollout_len"]
    minibatch = batch // CONFIG["num_minibatches"]
    grad_steps = CONFIG["num_epochs"] * CONFIG["num_minibatches"]
    flops_per_update = update_flops(4, 2) * minibatch * grad_steps
    print(f"PPO CartPole-v1, rejax hyperparameters: {batch} env steps and {grad_steps} gradient steps of "
          f"{minibatch} samples per update; {flops_per_update / 1e6:.1f} MFLOP of dense layers per update per seed")
    print(f"{'seeds':>5s} {'rollout ms':>11s} {'train_step ms':>14s} {'update share':>13s} {'env steps/s':>12s} "
          f"{'update GFLOP/s':>15s} {'matmul ceiling GFLOP/s':>23s}")
    for seeds in args.seeds:
        keys = jax.random.split(jax.random.key(0), seeds)
        states = init_runs(agent, keys, jax.tree.map(lambda x: jnp.repeat(x[None], seeds), hparams))
        collect = jax.jit(jax.vmap(lambda s: jax.lax.scan(lambda s, _: (actor_critic.collect(parts, s, s.key)[0], None), s, None, UPDATES)[0]))
        train = jax.jit(jax.vmap(lambda s: jax.lax.scan(lambda s, _: agent.train_step(s), s, None, UPDATES)))
        rollout = best_time(collect, states) / UPDATES
        step = best_time(train, states) / UPDATES
        update = step - rollout
        achieved = flops_per_update * seeds / update / 1e9
        ceiling = matmul_ceiling(seeds, minibatch)
        print(f"{seeds:>5d} {rollout * 1e3:>11.2f} {step * 1e3:>14.2f} {update / step:>13.0%} "
              f"{seeds * batch / step:>12,.0f} {achieved:>15.1f} {ceiling:>23.1f}", flush=True)


if __name__ == "__main__":
    main()
