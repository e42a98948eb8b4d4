"""A2C on CartPole-v1: the classic actor-critic tutorial, on many seeds at once.

Reproduces the actor-critic tutorial: one shared torso of 128 units with a policy head and a value
head, Adam with learning rate 1e-3, gamma 0.99, the loss policy + 0.5 x value - 0.01 x entropy.

Hyperparameters: the tutorial's, which are jaxrl's A2C defaults (hidden (128,), tanh, shared
torso, learning rate 1e-3, gamma 0.99, vf_coef 0.5, ent_coef 0.01, gradient norm clipped at 0.5),
with jaxrl's default batch: 16 envs x 5-step rollouts, one gradient step per rollout, advantages
GAE(lambda = 1.0), i.e. the return to the rollout's end bootstrapped from V (the classic A2C).
Budget: STEPS_DEFAULT env steps per seed, 16 seeds. Goal: mean greedy return >= 450 (the maximum is 500).

What it shows: every seed's greedy policy reaches the 500-step limit.

    python experiments/a2c_cartpole.py [--seeds 16] [--steps N]
"""

from __future__ import annotations

from _common import Stopwatch, make_parser, train_and_report

ENV = "CartPole-v1"
STEPS_DEFAULT = 500_000
CONFIG = {"num_envs": 16, "rollout_len": 5, "hidden": (128,), "shared_torso": True, "advantage": "gae"}
HPARAMS = {"learning_rate": 1e-3, "gamma": 0.99, "vf_coef": 0.5, "ent_coef": 0.01, "gae_lambda": 1.0}
GOAL = 450.0

__doc__ = __doc__.replace("STEPS_DEFAULT", f"{STEPS_DEFAULT:,}")


def main() -> None:
    args = make_parser(__doc__, steps=STEPS_DEFAULT, seeds=16).parse_args()
    clock = Stopwatch()
    train_and_report("a2c", ENV, args, CONFIG, HPARAMS, GOAL)
    print(f"Wall time (compile, training, evaluation): {clock}")


if __name__ == "__main__":
    main()
