"""DQN on Breakout-MinAtar: pixel DQN with the MinAtar CNN torso, the figure at a fixed budget.

MinAtar Breakout (gymnax): 10x10 frames with 4 channels, 3 actions, +1 per brick. jaxrl picks the
MinAtar CNN torso for [10, 10, C] observations (a 3x3 convolution with 16 filters, then a dense
layer: hidden (128,), relu), as in the MinAtar paper (Young & Tian 2019).

Hyperparameters (MinAtar-paper-like DQN, vectorised): 16 envs, replay buffer 100,000, learning
after 5,000 env steps, batch 64, 4 gradient steps per 16 env steps (one per 4 env steps), Adam
learning rate 2.5e-4 with gradient norm clipped at 10, Huber loss, Double DQN, hard target copy
every 4,000 env steps (1,000 updates), epsilon 1.0 -> 0.1 linearly over the first 250,000 env
steps (5% of the run), gamma 0.99.
Budget: STEPS_DEFAULT env steps per seed (the issue asks for the figure at 5M next to rejax's DQN),
1 seed. No goal: the figure is to be compared with rejax's at the same budget.

    python experiments/dqn_breakout_minatar.py [--seeds 1] [--steps N]
"""

from __future__ import annotations

from _common import Stopwatch, curve_rows, make_parser, train_and_report

ENV = "Breakout-MinAtar"
STEPS_DEFAULT = 5_000_000
CONFIG = {"num_envs": 16, "buffer_capacity": 100_000, "batch_size": 64, "learning_starts": 5_000, "gradient_steps": 4,
          "hidden": (128,), "activation": "relu", "torso": "auto", "double": True, "loss": "huber"}
HPARAMS = {"learning_rate": 2.5e-4, "gamma": 0.99, "max_grad_norm": 10.0, "epsilon": 1.0, "epsilon_end": 0.1,
           "target_update_period": 4_000, "tau": 1.0}
GOAL = None

__doc__ = __doc__.replace("STEPS_DEFAULT", f"{STEPS_DEFAULT:,}")


def main() -> None:
    args = make_parser(__doc__, steps=STEPS_DEFAULT, seeds=1).parse_args()
    hparams = {**HPARAMS, "epsilon_decay_duration": max(1, args.steps // 20)}
    config = {**CONFIG, "learning_starts": min(CONFIG["learning_starts"], max(args.steps // 4, CONFIG["batch_size"]))}
    clock = Stopwatch()
    result, _ = train_and_report("dqn", ENV, args, config, hparams, GOAL, fmt=".2f", num_chunks=50)
    print("\nLast log periods:")
    print(curve_rows(result, points=5, fmt=".2f", last=True))
    print(f"Wall time (compile, training, evaluation): {clock}")


if __name__ == "__main__":
    main()
