"""DDPG on AdBudget: the tutorial's custom advertising-budget env, on many seeds at once.

The tutorial builds its own env: spend an advertising budget over two channels to maximise sales,
and trains DDPG on it. jaxrl's ``AdBudget-v0`` (``jaxrl/envs/ad_budget.py``) is that env written
the gymnax way: budget 10, 10 steps, sales ``sqrt(spend_1) + 0.5 sqrt(spend_2)`` per step (diminishing
returns), spends in [0, 2] per channel. Its optimum is known in closed form: spend 0.8 and 0.2
every step, return sqrt(125) = 11.18 (the docstring derives it).

Two configurations:
- default: DDPG with 64x64 relu MLPs, Adam 1e-3 (actor and critic), tau 0.005, Gaussian noise
  std 0.2 (action units in [-1, 1]), replay 100k, batch 64, 500 random steps first, gamma 1
  (the return the optimum is stated for; every episode ends within 10 steps).
- ``--tutorial``: the tutorial's own: actor and critic 256x256, actor lr 2.5e-5, critic lr
  2.5e-4, tau 0.001, replay 1M, batch 64, Gaussian noise 0.1. Much slower to learn (and to run on
  a CPU): give it more steps.
Budget: STEPS_DEFAULT env steps per seed (5,000 episodes). Goal: mean greedy return >= 95% of
the optimum.

    python experiments/ddpg_ad_budget.py [--seeds 8] [--steps N] [--tutorial]
"""

from __future__ import annotations

import numpy as np

import jaxrl
from jaxrl.envs.ad_budget import AdBudget

from _common import Stopwatch, make_parser, train_and_report

ENV = "AdBudget-v0"
STEPS_DEFAULT = 50_000
CONFIG = {"hidden": (64, 64), "batch_size": 64, "buffer_capacity": 100_000, "learning_starts": 500}
HPARAMS = {"learning_rate": 1e-3, "actor_learning_rate": 1e-3, "tau": 0.005, "exploration_noise": 0.2, "gamma": 1.0}
TUTORIAL_CONFIG = {"hidden": (256, 256), "batch_size": 64, "buffer_capacity": 1_000_000, "learning_starts": 500}
TUTORIAL_HPARAMS = {"learning_rate": 2.5e-4, "actor_learning_rate": 2.5e-5, "tau": 0.001, "exploration_noise": 0.1,
                    "gamma": 1.0}

__doc__ = __doc__.replace("STEPS_DEFAULT", f"{STEPS_DEFAULT:,}")


def main() -> None:
    parser = make_parser(__doc__, steps=STEPS_DEFAULT, seeds=8)
    parser.add_argument("--tutorial", action="store_true", help="the tutorial's networks and learning rates")
    args = parser.parse_args()
    _, params = jaxrl.make_env(ENV)
    optimum = AdBudget.optimal_return(params)
    config, hparams = (TUTORIAL_CONFIG, TUTORIAL_HPARAMS) if args.tutorial else (CONFIG, HPARAMS)
    clock = Stopwatch()
    result, greedy = train_and_report("ddpg", ENV, args, config, hparams, 0.95 * optimum, fmt=".2f", num_chunks=10)
    print(f"\nAnalytic optimum {optimum:.3f}; greedy return / optimum per seed: "
          f"{np.array2string(greedy / optimum, precision=3)}")
    policy = result.policy(seed=0)
    print("Seed 0's spends at the start (optimum: 0.8, 0.2 every step):",
          np.round(np.asarray(policy(np.array([1.0, 1.0], np.float32))), 3))
    print(f"Wall time (compile, training, evaluation): {clock}")


if __name__ == "__main__":
    main()
