"""TD3 on MountainCarContinuous-v0: a hard-exploration continuous task, on many seeds at once.

The car must swing back and forth to climb the hill (+100 at the flag, minus 0.1 x action^2 per
step, 999-step limit). Small uncorrelated noise never finds the flag and the policy settles on
doing nothing (return ~0); temporally correlated Ornstein-Uhlenbeck noise, as the RL Zoo
configures TD3 and DDPG for this env, pushes the same way for hundreds of steps and finds it.

Configuration: TD3 (twin critics, target smoothing 0.2 clipped at 0.5, policy delay 2),
OU exploration noise sigma 0.5 (theta 0.15, dt 0.01: stationary std about 0.9, correlation
time about 670 steps) restarted each episode, replay 100k, batch 256, 1,000 random steps first,
Adam 1e-3, gamma 0.99, tau 0.005, 64x64 relu MLPs. Budget: STEPS_DEFAULT env steps per seed.
Goal: mean greedy return >= 90.

    python experiments/td3_mountaincar_continuous.py [--seeds 8] [--steps N] [--algo ddpg]
"""

from __future__ import annotations

from _common import Stopwatch, make_parser, train_and_report

ENV = "MountainCarContinuous-v0"
STEPS_DEFAULT = 100_000
CONFIG = {"noise": "ou", "learning_starts": 1_000, "batch_size": 256, "buffer_capacity": 100_000}
HPARAMS = {"exploration_noise": 0.5, "ou_theta": 0.15, "ou_dt": 0.01, "learning_rate": 1e-3, "actor_learning_rate": 1e-3}
GOAL = 90.0

__doc__ = __doc__.replace("STEPS_DEFAULT", f"{STEPS_DEFAULT:,}")


def main() -> None:
    parser = make_parser(__doc__, steps=STEPS_DEFAULT, seeds=8)
    parser.add_argument("--algo", default="td3", choices=["td3", "ddpg"], help="td3 (default) or ddpg, same noise")
    args = parser.parse_args()
    clock = Stopwatch()
    train_and_report(args.algo, ENV, args, CONFIG, HPARAMS, GOAL, num_chunks=10)
    print(f"Wall time (compile, training, evaluation): {clock}")


if __name__ == "__main__":
    main()
