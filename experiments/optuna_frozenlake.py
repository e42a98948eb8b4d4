"""Optuna tunes Q-learning on slippery FrozenLake; each batch of trials x seeds is ONE program.

Optuna's TPE sampler proposes learning_rate (log-uniform), gamma and epsilon; jaxrl trains every
batch of 8 proposed trials x 16 seeds side by side in one compiled program, and tells each trial
the mean greedy return over its 16 seeds (so a lucky seed cannot win a trial).

    pip install -e ".[optuna]"
    python experiments/optuna_frozenlake.py [--trials 32] [--batch 8] [--seeds 16] [--steps 200000]
"""

from __future__ import annotations

import argparse
import time

import optuna

import jaxrl
from jaxrl.tuning import optimize


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=32)
    parser.add_argument("--batch", type=int, default=8, help="trials trained side by side in one program")
    parser.add_argument("--seeds", type=int, default=16)
    parser.add_argument("--steps", type=int, default=200_000, help="env steps per seed")
    args = parser.parse_args()

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=0))
    ranges = {"learning_rate": jaxrl.LogUniform(1e-3, 1.0), "gamma": jaxrl.Uniform(0.9, 0.999), "epsilon": jaxrl.Uniform(0.01, 0.3)}
    start = time.perf_counter()
    optimize(study, "q_learning", "FrozenLake-v1", ranges, trials=args.trials, trials_per_batch=args.batch,
             seeds=args.seeds, steps=args.steps, eval_episodes=100)
    elapsed = time.perf_counter() - start
    best = study.best_trial
    print(f"{args.trials} trials x {args.seeds} seeds x {args.steps:,} steps in {elapsed:.1f} s")
    print(f"best trial {best.number}: greedy success {best.value:.3f} ± {best.user_attrs['ci95']:.3f} (95% CI over seeds)")
    print("  " + ", ".join(f"{k}={v:.4g}" for k, v in best.params.items()))
    top = sorted(study.trials, key=lambda t: -t.value)[:5]
    for t in top:
        print(f"  trial {t.number:3d}: {t.value:.3f}  " + ", ".join(f"{k}={v:.4g}" for k, v in t.params.items()))


if __name__ == "__main__":
    main()
