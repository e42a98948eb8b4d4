"""The on-policy agents' learning figures (REINFORCE, A2C, PPO), every seed counted, in one run.

    python scripts/on_policy_figures.py [--seeds 16] [--only NAME]

Each task trains 16 seeds side by side, then evaluates every seed's greedy/deterministic policy
(argmax, or the clipped Gaussian mean) for 20 episodes (``jaxrl.evaluate(..., seed=7)``). Prints
one table row per task: the per-seed mean greedy return summarised over seeds (mean ± std, min),
the goal on the mean, and the wall time (compile, training and evaluation). About 12 minutes on
the 2-core CPU machine. Runs on CPU are deterministic: the same command prints the same figures.
``--only`` runs the tasks whose name contains NAME (case-insensitive), e.g. ``--only pendulum``.
"""

from __future__ import annotations

import argparse
import time

import jaxrl

PPO_CARTPOLE = {"num_envs": 4, "rollout_len": 128, "anneal_lr": True}
TASKS = [
    # name, algo, env, steps per seed, config, hparams, goal on the mean greedy return
    ("PPO CartPole-v1", "ppo", "CartPole-v1", 500_000, PPO_CARTPOLE, {"learning_rate": 2.5e-4}, 475.0),
    ("A2C CartPole-v1", "a2c", "CartPole-v1", 500_000, None, None, 450.0),
    ("REINFORCE CartPole-v1", "reinforce", "CartPole-v1", 1_000_000, None, None, 400.0),
    ("PPO Acrobot-v1", "ppo", "Acrobot-v1", 1_000_000, PPO_CARTPOLE, {"learning_rate": 2.5e-4}, -100.0),
    ("PPO Pendulum-v1", "ppo", "Pendulum-v1", 1_000_000,
     {"num_envs": 16, "rollout_len": 256, "num_epochs": 10, "num_minibatches": 16,
      "normalize_obs": True, "normalize_reward": True, "anneal_lr": True},
     {"learning_rate": 1e-3, "gae_lambda": 0.95, "gamma": 0.95, "ent_coef": 0.0}, -250.0),
]
EPISODES, EVAL_SEED = 20, 7


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=16, help="seeds per task (default 16)")
    parser.add_argument("--only", metavar="NAME", help="run only the tasks whose name contains NAME")
    args = parser.parse_args()
    tasks = [t for t in TASKS if args.only is None or args.only.lower() in t[0].lower()]
    if not tasks:
        parser.error(f"--only {args.only!r} matches none of: {', '.join(t[0] for t in TASKS)}")
    print(f"{args.seeds} seeds per task; greedy/deterministic return, {EPISODES} episodes per seed (seed {EVAL_SEED})")
    print(f"{'task':24s} {'steps/seed':>10s}  {'greedy return over seeds':34s} {'goal':>9s} {'':6s} {'wall s':>7s}")
    for name, algo, env, steps, config, hparams, goal in tasks:
        start = time.perf_counter()
        result = jaxrl.train(algo, env, seeds=args.seeds, steps=steps, config=config, hparams=hparams, progress=False)
        r = jaxrl.evaluate(result, episodes=EPISODES, seed=EVAL_SEED).per_run()["return"]
        wall = time.perf_counter() - start
        figure = f"{r.mean():.1f} ± {r.std():.1f} (min {r.min():.1f})"
        verdict = "ok" if r.mean() >= goal else "MISSED"
        print(f"{name:24s} {steps:>10,d}  {figure:34s} {'>= ' + format(goal, 'g'):>9s} {verdict:6s} {wall:7.1f}", flush=True)


if __name__ == "__main__":
    main()
