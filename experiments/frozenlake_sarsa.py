"""SARSA vs Q-learning on FrozenLake-v1, the tutorial's settings, trained on the same seeds.

Reproduces the SARSA-on-FrozenLake tutorial and its usual comparison with Q-learning: the same
epsilon-greedy agent, one with the on-policy target r + gamma * Q(s', a') (a' the action it takes
next), the other with the off-policy r + gamma * max_a' Q(s', a').

Hyperparameters (the tutorial's): alpha 0.1, gamma 0.99, constant epsilon 0.1; 1,000,000 env steps
per seed on the slippery 4x4 map (`--learning-rate` overrides alpha). `--deterministic` uses the
non-slippery map instead, with 50,000 steps per seed by default (Q-learning solves it long before).

What it shows: on the slippery map both rules reach a mean greedy success near the optimum (0.74,
which the script computes exactly for the 100-step limit), but at alpha 0.1 not on every seed: a
few seeds of each rule end with a poor greedy policy (Q-noise larger than the value gaps near the
start; see frozenlake_q_learning.py, whose alpha 0.05 fixes it for Q-learning). Online (the
exploring training episodes), SARSA does not beat Q-learning here as it does on CliffWalking: its
success is slightly lower (about 0.375 vs 0.393).

On the deterministic map Q-learning solves it on every seed; SARSA does not: at the end of training
the greedy policy of about 1 seed in 4 is caught in a loop (e.g. 1 -> 2 -> 1), while its exploring
policy still reaches the goal. SARSA's sampled next actions keep its values noisy at alpha 0.1, and
at gamma 0.99 the values along a loop shrink only by about 1% per pass, so a loop that noise
creates lasts. Not a jaxrl artefact: an independent NumPy + Gymnasium SARSA with the same settings
left 8 of 32 seeds looping.

    python experiments/frozenlake_sarsa.py [--seeds 32] [--steps N] [--deterministic] [--learning-rate A]
"""

from __future__ import annotations

import numpy as np

import jaxrl

from _common import Stopwatch, env_table, exact_greedy_return, goal_indicator, header, late_episode_mean, make_parser, seed_stats

ENV = "FrozenLake-v1"
ALGOS = ("sarsa", "q_learning")


def main() -> None:
    parser = make_parser(__doc__, steps=None)
    parser.add_argument("--deterministic", action="store_true", help="the non-slippery map (50k steps by default)")
    parser.add_argument("--learning-rate", type=float, default=0.1, help="alpha (default 0.1, the tutorial's)")
    args = parser.parse_args()
    steps = args.steps or (50_000 if args.deterministic else 1_000_000)
    env_kwargs = {"is_slippery": not args.deterministic}
    hparams = {"learning_rate": args.learning_rate, "gamma": 0.99, "epsilon": 0.1}
    eval_episodes = 100 if args.deterministic else 1000
    table, horizon = env_table(ENV, env_kwargs)
    success = goal_indicator(table)
    optimum = float(exact_greedy_return(table, None, horizon, reward=success))
    clock = Stopwatch()

    header(f"SARSA vs Q-learning on {ENV} {'deterministic' if args.deterministic else 'slippery'} 4x4",
           seeds=args.seeds, steps_per_seed=f"{steps:,}", hparams=hparams, eval_episodes_per_seed=eval_episodes)
    rows = []
    for algo in ALGOS:
        result = jaxrl.train(algo, ENV, seeds=args.seeds, steps=steps, env_kwargs=env_kwargs, hparams=hparams, progress=True)
        per_seed = jaxrl.evaluate(result, episodes=eval_episodes, seed=1).per_run()
        exact = exact_greedy_return(table, np.asarray(result.final_state.params), horizon, reward=success)
        online = late_episode_mean(result.metrics, "success_rate")
        rows.append((algo, per_seed["success_rate"], exact, online))

    for algo, sampled, exact, online in rows:
        print(f"\n{algo}:")
        print(f"  greedy success, {eval_episodes} episodes/seed: {seed_stats(sampled)}")
        print(f"  greedy success, exact:               {seed_stats(exact)}")
        print(f"  seeds with exact greedy success < 0.5: {int(np.sum(exact < 0.5))}/{args.seeds}")
        print(f"  online success (training episodes, last half of training): {seed_stats(online)}")
    print(f"\nOptimum under the {horizon}-step limit (exact, from the table): {optimum:.4f}"
          + ("" if args.deterministic else "; quoted as 0.74 for Gymnasium's FrozenLake"))
    print(f"Wall time (compile, training, evaluation, both rules): {clock}")


if __name__ == "__main__":
    main()
