"""PPO on CartPole-v1: the classic PPO tutorial, on many seeds at once.

Reproduces the PPO tutorial: clipped surrogate (clip 0.2), gamma 0.99, GAE lambda 0.95, value
coefficient 0.5, entropy 0.01, 4 epochs per rollout, advantages normalised, Adam (tutorial
learning rate 3e-4), separate actor and critic MLPs.

Hyperparameters: the tutorial's, with PureJaxRL's CartPole batch and schedule: 4 envs x 128-step
rollouts, 4 minibatches, 4 epochs, learning rate 2.5e-4 annealed linearly to 0, gradient norm
clipped at 0.5, value clipping, hidden (64, 64) tanh (jaxrl's defaults).
``--learning-rate 3e-4`` runs the tutorial's rate instead (still annealed).
Budget: STEPS_DEFAULT env steps per seed, 16 seeds. Goal: mean greedy return >= 475 (the maximum is 500).

What it shows: every seed's greedy policy reaches the 500-step limit.

    python experiments/ppo_cartpole.py [--seeds 16] [--steps N] [--learning-rate 2.5e-4]
"""

from __future__ import annotations

from _common import Stopwatch, make_parser, train_and_report

ENV = "CartPole-v1"
STEPS_DEFAULT = 500_000
CONFIG = {"num_envs": 4, "rollout_len": 128, "num_epochs": 4, "num_minibatches": 4, "anneal_lr": True,
          "normalize_advantages": True}
HPARAMS = {"learning_rate": 2.5e-4, "gamma": 0.99, "gae_lambda": 0.95, "clip_eps": 0.2, "vf_coef": 0.5, "ent_coef": 0.01}
GOAL = 475.0

__doc__ = __doc__.replace("STEPS_DEFAULT", f"{STEPS_DEFAULT:,}")


def main() -> None:
    parser = make_parser(__doc__, steps=STEPS_DEFAULT, seeds=16)
    parser.add_argument("--learning-rate", type=float, default=HPARAMS["learning_rate"],
                        help="Adam's initial learning rate (default 2.5e-4, PureJaxRL's; the tutorial's is 3e-4)")
    args = parser.parse_args()
    hparams = {**HPARAMS, "learning_rate": args.learning_rate}
    clock = Stopwatch()
    train_and_report("ppo", ENV, args, CONFIG, hparams, GOAL)
    print(f"Wall time (compile, training, evaluation): {clock}")


if __name__ == "__main__":
    main()
