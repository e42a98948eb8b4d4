"""REINFORCE on Pendulum-v1: the continuous policy-gradient tutorial, next to an actor-critic.

Reproduces the tutorial: a Gaussian policy with a learned, state-independent log-std, a tanh MLP
of 128-128 units, Adam with learning rate 3e-4, gamma 0.99, actions clipped to [-2, 2]
(jaxrl samples the Gaussian unbounded and clips when stepping); the tutorial trains 800
episodes, 160,000 env steps.

One change is forced by correctness: every Pendulum episode ends by the 200-step time limit,
never by termination, so every Monte-Carlo return is cut by truncation. The tutorial treats the
cut as an episode end; jaxrl does not (see the README, "Termination is not truncation"): with the
tutorial's normalised-returns baseline it would leave every step out of the loss
(``used_fraction`` 0), so this script uses the learned-value baseline (``baseline="value"``),
which bootstraps the cut returns from V(final observation). Batch: 8 envs x 200-step rollouts,
one gradient step per rollout.

Next to it, in the same run, A2C with a critic trained on short rollouts (8 envs x 8 steps,
GAE lambda 0.9, gamma 0.9, learning rate 7e-4, observation and reward normalisation, 64-64
separate actor and critic: the RL-Zoo A2C Pendulum setting without gSDE).

What it shows: the greedy (deterministic-mean) return of every seed at the tutorial's budget
and at the full budget, and the online return along training (its first row is the
near-random policy the untrained network starts from).
REINFORCE barely improves on Pendulum: one gradient step per 1,600 samples of high-variance
returns is too little signal for a task whose reward needs precise torques; the critic's
bootstrapped, low-variance advantages are what make A2C (and PPO, experiments/README.md) learn it.

    python experiments/reinforce_pendulum.py [--seeds 8] [--steps N]
"""

from __future__ import annotations

import numpy as np

import jaxrl

from _common import Stopwatch, curve_rows, header, make_parser, seed_stats

ENV = "Pendulum-v1"
STEPS_DEFAULT = 1_000_000
TUTORIAL_STEPS = 800 * 200
EPISODES, EVAL_SEED = 20, 7
AGENTS = {
    "REINFORCE (tutorial)": (
        "reinforce",
        {"num_envs": 8, "rollout_len": 200, "hidden": (128, 128), "activation": "tanh", "baseline": "value"},
        {"learning_rate": 3e-4, "gamma": 0.99, "ent_coef": 0.0},
    ),
    "A2C (critic, RL-Zoo-like)": (
        "a2c",
        {"num_envs": 8, "rollout_len": 8, "hidden": (64, 64), "shared_torso": False,
         "normalize_obs": True, "normalize_reward": True},
        {"learning_rate": 7e-4, "gamma": 0.9, "gae_lambda": 0.9, "ent_coef": 0.0},
    ),
}

__doc__ = __doc__.replace("STEPS_DEFAULT", f"{STEPS_DEFAULT:,}")


def greedy_returns(result: jaxrl.TrainResult) -> np.ndarray:
    return jaxrl.evaluate(result, episodes=EPISODES, seed=EVAL_SEED).per_run()["return"]


def main() -> None:
    args = make_parser(__doc__, steps=STEPS_DEFAULT, seeds=8).parse_args()
    clock = Stopwatch()
    for label, (algo, config, hparams) in AGENTS.items():
        header(f"{label} on {ENV}", seeds=args.seeds, steps_per_seed=f"{args.steps:,}", config=config, hparams=hparams)
        short = jaxrl.train(algo, ENV, seeds=args.seeds, steps=TUTORIAL_STEPS, config=config, hparams=hparams, progress=False)
        full = jaxrl.train(algo, ENV, seeds=args.seeds, steps=args.steps, config=config, hparams=hparams, progress=True)
        print(f"\nGreedy (deterministic-mean) return, {EPISODES} episodes per seed (jaxrl.evaluate, seed={EVAL_SEED}):")
        print(f"  after {TUTORIAL_STEPS:>9,} steps (tutorial) {seed_stats(greedy_returns(short), '.1f')}")
        print(f"  after {args.steps:>9,} steps            {seed_stats(greedy_returns(full), '.1f')}")
        print(curve_rows(full, points=6))
    print(f"\nWall time (compile, training, evaluation): {clock}")


if __name__ == "__main__":
    main()
