"""The GPU benchmark, one command, one table (issue 19): the headline configurations of the JAX RL
libraries jaxrl is compared with, each trained in one program, compile time apart.

    python scripts/bench_gpu.py                         # the full table (sized for about 8 minutes on one GPU)
    python scripts/bench_gpu.py --scale 0.001 --max-seeds 4 --eval-episodes 2   # an end-to-end smoke on CPU
    python scripts/bench_gpu.py --only ppo-cartpole-2048 --json results.json

Rows (budgets per seed):
- PPO CartPole-v1, 2048 seeds x 500k steps, PureJaxRL's CartPole settings (4 envs x 128 steps,
  4 epochs x 4 minibatches, Adam 2.5e-4 annealed, 64x64 tanh): PureJaxRL trains 2048 agents in
  about 98 s on an A100. Goal on an H100/H200-class GPU: under 60 s.
- PPO Breakout-MinAtar, 1 seed x 1M steps, the `ppo/Breakout-MinAtar` preset: rejax reports 10.5 s
  on an A100.
- PQN Breakout-MinAtar, 1 seed x 10M steps, the `pqn/Breakout-MinAtar` preset (purejaxql's
  MinAtar settings): purejaxql trains it in under a minute. Goal: under 60 s.
- DQN CartPole-v1 at 16 and 256 seeds x 200k steps, the `dqn/CartPole-v1` preset without its
  stopping rule (a fixed budget, so every run does the same work).
- SAC Pendulum-v1, 16 seeds x 20k steps, the `sac/Pendulum-v1` preset.

Every row trains its whole budget (no stopping rule), then evaluates each seed's greedy policy.
"setup" is the init program and tracing, "compile" the training program's XLA compile, "train"
the device running it; env steps/s counts all seeds.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from typing import Any

import jax

import jaxrl

PUREJAXRL_CARTPOLE = dict(num_envs=4, rollout_len=128, num_epochs=4, num_minibatches=4, hidden=(64, 64), activation="tanh",
                          anneal_lr=True)
PUREJAXRL_HP = dict(learning_rate=2.5e-4, gamma=0.99, gae_lambda=0.95, clip_eps=0.2, ent_coef=0.01, vf_coef=0.5, max_grad_norm=0.5)

# name -> (algo, env, seeds, steps per seed, preset name or None, config, hparams, reference)
ROWS: dict[str, tuple[str, str, int, int, str | None, dict, dict, str]] = {
    "ppo-cartpole-2048": ("ppo", "CartPole-v1", 2048, 500_000, None, PUREJAXRL_CARTPOLE, PUREJAXRL_HP,
                          "PureJaxRL: ~98 s on an A100 (goal < 60 s)"),
    "ppo-breakout-minatar": ("ppo", "Breakout-MinAtar", 1, 1_000_000, "ppo/Breakout-MinAtar", {}, {}, "rejax: 10.5 s on an A100"),
    "pqn-breakout-minatar": ("pqn", "Breakout-MinAtar", 1, 10_000_000, "pqn/Breakout-MinAtar", {}, {},
                             "purejaxql: under a minute (goal < 60 s)"),
    "dqn-cartpole-16": ("dqn", "CartPole-v1", 16, 200_000, "dqn/CartPole-v1", {}, {}, ""),
    "dqn-cartpole-256": ("dqn", "CartPole-v1", 256, 200_000, "dqn/CartPole-v1", {}, {}, ""),
    "sac-pendulum-16": ("sac", "Pendulum-v1", 16, 20_000, "sac/Pendulum-v1", {}, {}, ""),
}


def run_row(name: str, scale: float, max_seeds: int | None, eval_episodes: int) -> dict[str, Any]:
    """Train one row (its budget times ``scale``, at most ``max_seeds`` seeds) and time it."""
    algo, env, seeds, steps, preset, config, hparams, reference = ROWS[name]
    seeds = min(seeds, max_seeds) if max_seeds else seeds
    steps = max(1, math.ceil(steps * scale))
    agent = jaxrl.agents.make(algo, env, config={**(jaxrl.presets.get(preset).config if preset else {}), **config})
    steps = max(steps, agent.steps_per_update)  # at least one train_step
    start = time.perf_counter()
    result = jaxrl.train(algo, env, seeds=seeds, steps=steps, config=config or None, hparams=hparams or None,
                         preset=preset, until=None, progress=False)
    wall = time.perf_counter() - start
    evaluation = jaxrl.evaluate(result, episodes=eval_episodes)
    trained = int(result.env_steps[-1])
    return {"row": name, "algo": algo, "env": env, "seeds": seeds, "steps_per_seed": trained,
            "setup_s": result.timings["setup"], "compile_s": result.compile_seconds, "train_s": result.train_seconds,
            "wall_s": wall, "env_steps_per_s": seeds * trained / max(result.train_seconds, 1e-9),
            "greedy_return": evaluation.mean_return, "reference": reference}


def table(results: list[dict[str, Any]]) -> str:
    device = jax.devices()[0]
    lines = [f"device: {device.device_kind} ({device.platform}) x {jax.device_count()}",
             "| row | seeds | steps/seed | setup s | compile s | train s | env steps/s | greedy return | reference |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in results:
        lines.append(f"| {r['row']} | {r['seeds']:,} | {r['steps_per_seed']:,} | {r['setup_s']:.1f} | {r['compile_s']:.1f} | "
                     f"{r['train_s']:.1f} | {r['env_steps_per_s']:,.0f} | {r['greedy_return']:.4g} | {r['reference']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", choices=sorted(ROWS), help="rows to run (default: all, in order)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every budget (e.g. 0.001 for a CPU smoke)")
    parser.add_argument("--max-seeds", type=int, default=None, help="cap every row's seeds (a CPU smoke)")
    parser.add_argument("--eval-episodes", type=int, default=10, help="greedy episodes per seed (default 10)")
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    if not 0 < args.scale <= 1 or (args.max_seeds is not None and args.max_seeds < 1):
        parser.error("--scale must be in (0, 1] and --max-seeds at least 1")
    jaxrl.enable_compilation_cache()
    results = []
    for name in args.only or list(ROWS):
        results.append(run_row(name, args.scale, args.max_seeds, args.eval_episodes))
        print(f"{name}: {results[-1]['wall_s']:.1f} s", flush=True)
    print(table(results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return results


if __name__ == "__main__":
    main()
