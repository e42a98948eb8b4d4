"""Sutton & Barto Example 6.6 (Cliff Walking): Q-learning vs SARSA, on many seeds at once.

Reproduces the book's comparison on CliffWalking-v0 (4x12 grid, -1 per step, -100 and back to the
start for stepping into the cliff): epsilon-greedy with constant epsilon 0.1, gamma 1.0,
100,000 env steps per seed, both rules trained on the same seeds.

Step size: S&B use alpha 0.5; this script defaults to alpha 0.2 (`--learning-rate` sets it). At 0.5
our greedy evaluation finds some SARSA seeds (6 of 32) whose greedy policy loops until the env's
1000-step time limit, while their online, exploring returns per episode stay fine (about -27: the
loop is in noisy values that exploration escapes); at 0.2 every one of 32 seeds walks the safe path.

What it shows, as in the book:
  (a) the greedy path: Q-learning learns the optimal path along the cliff edge (return -13 for
      every seed); SARSA, which values the exploring policy it follows, learns a safer path
      further from the edge (-17, or -15);
  (b) online performance, the sum of rewards per training episode while exploring: SARSA's is
      better than Q-learning's, whose epsilon-greedy steps along the edge sometimes fall off
      (the book's figure: about -25 for SARSA vs about -50 for Q-learning at alpha 0.5).

    python experiments/cliffwalking_q_vs_sarsa.py [--seeds 32] [--steps 100000] [--learning-rate A] [--plot out.png]
"""

from __future__ import annotations

import numpy as np

import jaxrl

from _common import (
    Stopwatch,
    env_table,
    exact_greedy_return,
    header,
    late_episode_mean,
    late_mean,
    make_parser,
    seed_stats,
    value_counts,
)

ENV = "CliffWalking-v0"
ALGOS = ("q_learning", "sarsa")
BOOK = {"q_learning": "greedy path -13 (optimal, along the edge); online about -50",
        "sarsa": "greedy path the safer one (-17 or -15); online about -25"}


def plot(path: str, results: dict, learning_rate: float) -> None:
    """The online curves, mean over seeds (shaded: min to max over seeds), as in S&B's figure."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(f"--plot: matplotlib is not installed, {path} not written (pip install matplotlib)")
        return
    fig, ax = plt.subplots(figsize=(7, 4))
    for algo, result in results.items():
        curve = result.metrics["episode_return"]
        ax.plot(result.env_steps, np.nanmean(curve, 0), label=f"{algo} (mean over {curve.shape[0]} seeds)")
        ax.fill_between(result.env_steps, np.nanmin(curve, 0), np.nanmax(curve, 0), alpha=0.2)
    ax.set_ylim(-100, 0)
    ax.set_xlabel("env steps per seed")
    ax.set_ylabel("sum of rewards per training episode")
    ax.set_title(f"CliffWalking-v0, epsilon 0.1, alpha {learning_rate:g}")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"Wrote {path}")


def main() -> None:
    parser = make_parser(__doc__, steps=100_000)
    parser.add_argument("--learning-rate", type=float, default=0.2, help="alpha (default 0.2; S&B use 0.5)")
    parser.add_argument("--plot", metavar="PNG", help="draw the online curves to this file (needs matplotlib)")
    args = parser.parse_args()
    hparams = {"learning_rate": args.learning_rate, "gamma": 1.0, "epsilon": 0.1}
    table, horizon = env_table(ENV)
    optimum = float(exact_greedy_return(table, None, horizon))
    clock = Stopwatch()

    header(f"Q-learning vs SARSA on {ENV} (Sutton & Barto Example 6.6)",
           seeds=args.seeds, steps_per_seed=f"{args.steps:,}", hparams=hparams)
    results = {}
    for algo in ALGOS:
        results[algo] = jaxrl.train(algo, ENV, seeds=args.seeds, steps=args.steps, hparams=hparams, progress=True)

    print("\n(a) Greedy path return per seed (the env is deterministic; 10 episodes per seed, exact value too):")
    for algo, result in results.items():
        evaluation = jaxrl.evaluate(result, episodes=10, seed=1)
        exact = exact_greedy_return(table, np.asarray(result.final_state.params), horizon)
        per_seed = evaluation.per_run()
        print(f"  {algo:11s} sampled: {value_counts(per_seed['return'])}")
        print(f"  {'':11s} exact:   {value_counts(exact)}")
        print(f"  {'':11s} book:    {BOOK[algo].split(';')[0]}")
        looping = int(np.sum(per_seed["length"] >= horizon))
        if looping:
            print(f"  {'':11s} {looping} seeds' greedy policy never reaches the goal within {horizon} steps")
    print(f"  optimal path return: {optimum:g}")

    print("\n(b) Online sum of rewards per training episode, last half of training; per episode: the mean over")
    print("    the episodes; per log period: the nanmean of the logged curve, which weights each log period")
    print("    equally, so a period holding one long looping episode weighs as much as one holding 50 short ones:")
    for algo, result in results.items():
        print(f"  {algo:11s} per episode:    {seed_stats(late_episode_mean(result.metrics), '.1f')}")
        print(f"  {'':11s} per log period: {seed_stats(late_mean(result.metrics['episode_return']), '.1f')}")
        print(f"  {'':11s} book (alpha 0.5): {BOOK[algo].split('; ')[1]}")
    if args.plot:
        plot(args.plot, results, args.learning_rate)
    print(f"Wall time (compile, training, evaluation, both rules): {clock}")


if __name__ == "__main__":
    main()
