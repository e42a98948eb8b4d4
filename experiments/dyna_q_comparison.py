"""Dyna-Q vs Q-learning: planning with a learned model saves real experience (S&B Section 8.2).

Reproduces the point of Sutton & Barto's Dyna Maze (Example 8.1) on a Gymnasium map: the same
epsilon-greedy Q-learner, without planning and with n planning updates per real step replayed
from a learned model (the last outcome seen for each state-action pair), n = 10 and 50.
Hyperparameters, the book's for the Dyna Maze: alpha 0.1, gamma 0.95, constant epsilon 0.1,
Q initialised to 0; a small budget of 20,000 real env steps per seed.

Environment: deterministic FrozenLake 8x8 (map_name="8x8", is_slippery=False; time limit 200):
reward 1 only at the goal, so the first success must be found by exploring, and then its value has
to travel back along a 14-step path. Q-learning moves it back one state per visit; Dyna-Q's model
updates carry it back without further real steps. `--cliff` uses CliffWalking-v0 instead (the
optimal greedy path has return -13).

What it reports: at every log point (1/100 of training) a training callback checks each seed's
greedy policy exactly, from the env's transition table, against the optimum (reaching the goal
surely on FrozenLake, the -13 path on CliffWalking). A table gives the seeds with an optimal
greedy policy and the training episodes' mean return (FrozenLake: their success rate) after a
few budgets; then, per seed, the real env steps until the first training episode reaches the
goal, until the greedy policy is optimal for good, and between the two. On FrozenLake the first
is the same for all three agents: Q stays 0 until the first reward, so with the same seeds they
explore identically until then.

What it shows (32 seeds, see experiments/README.md): on FrozenLake 8x8, once a seed's exploring
agent first reaches the goal, Dyna-Q's greedy policy is optimal at once (n=50) or within 200 real
steps (n=10), while Q-learning needs about 9,000 more (only 13 of those 21 seeds get there within
the budget); which seeds find the goal at all in 20,000 steps (21 of 32) is down to exploration,
the same for all three. On CliffWalking, where
every episode ends at the goal, Q-learning's greedy path becomes optimal after about 12,900 real
steps, Dyna-Q's after about 1,700 (n=10) and 500 (n=50).

    python experiments/dyna_q_comparison.py [--seeds 32] [--steps 20000] [--cliff]
"""

from __future__ import annotations

import warnings

import numpy as np

import jaxrl

from _common import Stopwatch, env_table, exact_greedy_return, first_log_reaching, header, make_parser, seed_stats

HPARAMS = {"learning_rate": 0.1, "gamma": 0.95, "epsilon": 0.1}
AGENTS = [("q_learning", "Q-learning", {}), ("dyna_q", "Dyna-Q n=10", {"planning_steps": 10}),
          ("dyna_q", "Dyna-Q n=50", {"planning_steps": 50})]
CHECKS = 100  # greedy checks per run: one per training chunk, here one per log point
ROWS = (0.05, 0.1, 0.25, 0.5, 0.75, 1.0)  # fractions of the budget at which the table reports


def main() -> None:
    parser = make_parser(__doc__, steps=20_000)
    parser.add_argument("--cliff", action="store_true", help="CliffWalking-v0 instead of FrozenLake 8x8")
    args = parser.parse_args()
    env_id, env_kwargs = ("CliffWalking-v0", {}) if args.cliff else ("FrozenLake-v1", {"map_name": "8x8", "is_slippery": False})
    table, horizon = env_table(env_id, env_kwargs)
    optimum = float(exact_greedy_return(table, None, horizon))
    clock = Stopwatch()

    header(f"Dyna-Q vs Q-learning on {env_id} {env_kwargs or ''}", seeds=args.seeds,
           steps_per_seed=f"{args.steps:,}", hparams=HPARAMS, optimal_greedy_return=optimum)
    runs = {}
    for algo, label, config in AGENTS:
        check_steps, optimal = [], []

        def check_greedy(report) -> None:
            """After each chunk: is each seed's greedy policy optimal (exactly, from the table)?"""
            exact = exact_greedy_return(table, np.asarray(report.state.params), horizon)
            check_steps.append(int(report.env_steps[-1]))
            optimal.append(exact >= optimum - 1e-6)

        result = jaxrl.train(algo, env_id, seeds=args.seeds, steps=args.steps, env_kwargs=env_kwargs, hparams=HPARAMS,
                             config=config, num_chunks=CHECKS, callbacks=[check_greedy], progress=True)
        runs[label] = (np.asarray(check_steps), np.stack(optimal, axis=-1).astype(np.float64), result)

    labels = list(runs)
    check_steps = runs[labels[0]][0]
    window = args.steps // 20
    print("\nSeeds whose greedy policy is optimal, and the training episodes' mean return over the preceding")
    print(f"{window:,} env steps (mean over seeds; on FrozenLake it is the success rate), after a few budgets")
    print("of real env steps per seed:")
    print(f"{'env steps':>10s}  " + "  ".join(f"{label + ' optimal':>19s}" for label in labels)
          + "  " + "  ".join(f"{label + ' train':>17s}" for label in labels))
    for fraction in ROWS:
        i = int(np.argmin(np.abs(check_steps - fraction * args.steps)))
        step = check_steps[i]
        optimal_cells = [f"{int(runs[label][1][:, i].sum()):>13d}/{args.seeds:<5d}" for label in labels]
        train_cells = []
        for label in labels:
            result = runs[label][2]
            in_window = (result.env_steps > step - window) & (result.env_steps <= step)
            with warnings.catch_warnings():  # a window where no episode ended is NaN, not an error
                warnings.simplefilter("ignore", RuntimeWarning)
                train_cells.append(f"{np.nanmean(result.metrics['episode_return'][:, in_window]):>17.3f}")
        print(f"{step:>10,d}  " + "  ".join(optimal_cells) + "  " + "  ".join(train_cells))

    print(f"\nPer seed, in real env steps (greedy checks every {check_steps[0]:,} steps, training logs every "
          f"{runs[labels[0]][2].env_steps[0]:,}):")
    for label in labels:
        checks, optimal, result = runs[label]
        solved = first_log_reaching(optimal, checks, 1.0)  # greedy optimal from then on
        reached = np.nan_to_num(result.metrics["success_rate"], nan=0.0) > 0
        first_goal = np.where(reached.any(-1), result.env_steps[np.argmax(reached, -1)], np.nan)
        print(f"  {label}:")
        print(f"    first training episode reaching the goal:  {seed_stats(first_goal, ',.0f')}")
        print(f"    greedy policy optimal from then on:         {seed_stats(solved, ',.0f')}")
        print(f"    steps between the two:                      {seed_stats(solved - first_goal, ',.0f')}")
    print(f"Wall time (compile, training, checks, all three agents): {clock}")


if __name__ == "__main__":
    main()
