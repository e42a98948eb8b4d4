"""SAC and TD3 on Pendulum-v1: jaxrl vs rejax, side by side in one run, rejax's hyperparameters.

    python scripts/bench_continuous.py [--steps 20000] [--seeds 1 16] [--algos sac td3] [--venvs DIR]

rejax's Pendulum configs (configs/pendulum.yaml): one env, one gradient step per env step, 64x64
swish MLPs (rejax's default width), and
- SAC: replay 10k, 256 random steps first, batch 256, learning rate 0.01 for every network,
  gamma 0.99, target Polyak 0.98 (jaxrl's tau = 1 - 0.98 = 0.02), automatic temperature;
- TD3: replay 10k, 1,000 random steps first, batch 100, learning rate 1e-3, gamma 0.99, target
  Polyak 0.95 (tau 0.05), gradient clip 100, exploration noise 0.3, target noise 0.2 clipped at
  0.5, policy delay 2.
rejax also normalises observations; jaxrl's off-policy agents do not (Pendulum's are bounded).
rejax 0.1.3 (the version that runs here) names the gradient steps per env step ``num_epochs``
and the Polyak factor ``polyak`` (its configs' ``gradient_steps`` and ``tau`` are later names).

Every measurement runs in a fresh process, so compile time is cold and counted apart. rejax
0.1.3 needs gymnax 0.0.9: the script builds it its own virtual environment under ``--venvs``
(default ~/.cache/jaxrl-bench) on first use, and runs it with evaluation off (its best case).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench_ppo import REJAX_CHILD, ensure_venv, jaxrl_rows, run_child

JAXRL_CONFIGS = {
    "sac": (dict(num_envs=1, buffer_capacity=10_000, learning_starts=256, batch_size=256, hidden=(64, 64), activation="swish"),
            dict(learning_rate=0.01, actor_learning_rate=0.01, alpha_learning_rate=0.01, gamma=0.99, tau=0.02)),
    "td3": (dict(num_envs=1, buffer_capacity=10_000, learning_starts=1_000, batch_size=100, hidden=(64, 64), activation="swish",
                 policy_delay=2),
            dict(learning_rate=1e-3, actor_learning_rate=1e-3, gamma=0.99, tau=0.05, max_grad_norm=100.0,
                 exploration_noise=0.3, target_noise=0.2, target_noise_clip=0.5)),
}
REJAX_CONFIGS = {
    "sac": dict(env="Pendulum-v1", num_envs=1, buffer_size=10_000, fill_buffer=256, batch_size=256, learning_rate=0.01,
                num_epochs=1, gamma=0.99, polyak=0.98, normalize_observations=True,
                agent_kwargs=dict(activation="swish")),
    "td3": dict(env="Pendulum-v1", num_envs=1, buffer_size=10_000, fill_buffer=1_000, batch_size=100, learning_rate=1e-3,
                num_epochs=1, gamma=0.99, polyak=0.95, max_grad_norm=100, exploration_noise=0.3, target_noise=0.2,
                target_noise_clip=0.5, policy_delay=2, normalize_observations=True,
                actor_kwargs=dict(activation="swish"), critic_kwargs=dict(activation="swish")),
}

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--algos", nargs="+", default=["sac", "td3"], choices=["sac", "td3"])
    parser.add_argument("--venvs", type=Path, default=Path.home() / ".cache" / "jaxrl-bench")
    parser.add_argument("--skip-rejax", action="store_true")
    args = parser.parse_args()

    rows = []
    for algo in args.algos:
        config, hparams = JAXRL_CONFIGS[algo]
        rows += [(algo, *row) for row in jaxrl_rows(algo, "Pendulum-v1", config, hparams, args.seeds, args.steps)]
        if not args.skip_rejax:
            rejax = ensure_venv(args.venvs / "rejax", ["rejax==0.1.3", "gymnax==0.0.9"])
            for seeds in args.seeds:
                rows.append((algo, "rejax (eval off)", seeds, run_child(rejax, REJAX_CHILD, algo.upper(), seeds, args.steps,
                                                                        json.dumps(REJAX_CONFIGS[algo]), 0)))

    print(f"\nPendulum-v1, {args.steps:,} env steps per seed, rejax's hyperparameters")
    print(f"{'algo':5s} {'library':20s} {'seeds':>5s} {'env steps/s':>12s} {'compile s':>10s} {'wall s':>8s} {'final return':>13s}")
    for algo, name, seeds, r in rows:
        print(f"{algo:5s} {name:20s} {seeds:5d} {r['steps'] / r['train']:12,.0f} {r['compile']:10.2f} {r['wall']:8.2f} "
              f"{r['final_return']:13.1f}")
    for algo in args.algos:
        for seeds in args.seeds:
            ours = next((r for a, n, s, r in rows if a == algo and n == "jaxrl" and s == seeds), None)
            theirs = next((r for a, n, s, r in rows if a == algo and n.startswith("rejax") and s == seeds), None)
            if ours and theirs:
                ratio = (ours["steps"] / ours["train"]) / (theirs["steps"] / theirs["train"])
                print(f"{algo}: jaxrl / rejax env steps/s, {seeds} seed(s): {ratio:.2f}x")


if __name__ == "__main__":
    main()
