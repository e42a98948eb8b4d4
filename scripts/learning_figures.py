"""The foundation's learning figures, every one of 32 seeds counted, in one run.

    python scripts/learning_figures.py [--seeds 32]

Greedy evaluation after training (100 episodes per seed; 1000 for slippery FrozenLake, 1 for the
deterministic CliffWalking path). Prints one table row per task with the figure, the goal and
the wall time (compile included).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import jaxrl

TASKS = [
    # name, algo, env, env_kwargs, steps, hparams, eval episodes, figure, goal
    ("FrozenLake-v1 4x4 deterministic", "q_learning", "FrozenLake-v1", {"is_slippery": False}, 50_000,
     {"learning_rate": 0.8, "gamma": 0.95, "epsilon": 0.1}, 100, "min_success", 1.0),
    ("FrozenLake-v1 4x4 slippery", "q_learning", "FrozenLake-v1", {}, 1_000_000,
     {"learning_rate": 0.05, "gamma": 0.99, "epsilon": 0.1}, 1000, "mean_success", 0.70),
    ("Taxi-v3", "q_learning", "Taxi-v3", {}, 1_000_000,
     {"learning_rate": 0.1, "gamma": 0.99, "epsilon": 0.1}, 100, "mean_return", 7.0),
    ("CliffWalking-v0 Q-learning path", "q_learning", "CliffWalking-v0", {}, 100_000,
     {"learning_rate": 0.2, "gamma": 1.0, "epsilon": 0.1}, 1, "returns", -13.0),
    ("CliffWalking-v0 SARSA path", "sarsa", "CliffWalking-v0", {}, 100_000,
     {"learning_rate": 0.2, "gamma": 1.0, "epsilon": 0.1}, 1, "returns", -15.0),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=32)
    args = parser.parse_args()
    print(f"{'task':34s} {'algo':10s} {'steps/seed':>10s}  {'figure':52s} {'goal':>12s} {'wall s':>7s}")
    for name, algo, env, env_kwargs, steps, hparams, episodes, figure, goal in TASKS:
        start = time.perf_counter()
        result = jaxrl.train(algo, env, env_kwargs=env_kwargs, seeds=args.seeds, steps=steps, hparams=hparams, progress=False)
        per_seed = jaxrl.evaluate(result, episodes=episodes, seed=123).per_run()
        wall = time.perf_counter() - start
        if figure == "min_success":
            text = f"success: min over seeds {per_seed['success_rate'].min():.3f}, mean length {per_seed['length'].mean():.1f}"
            target = f"all {goal:.1f}"
        elif figure == "mean_success":
            s = per_seed["success_rate"]
            text = f"success: mean {s.mean():.3f} ± {s.std():.3f}, min {s.min():.3f}"
            target = f">= {goal:.2f}"
        elif figure == "mean_return":
            r = per_seed["return"]
            text = f"return: mean {r.mean():.2f} ± {r.std():.2f}, min {r.min():.2f}"
            target = f">= {goal:.1f}"
        else:
            values, counts = np.unique(per_seed["return"], return_counts=True)
            text = "greedy return: " + ", ".join(f"{v:g} x{c}" for v, c in zip(values, counts))
            target = f"{'=' if goal == -13 else '<='} {goal:g}"
        print(f"{name:34s} {algo:10s} {steps:>10,d}  {text:52s} {target:>12s} {wall:7.1f}", flush=True)


if __name__ == "__main__":
    main()
