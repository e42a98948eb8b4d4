"""REINFORCE on CartPole-v1: the classic policy-gradient tutorial, on many seeds at once.

Reproduces the REINFORCE tutorial: a softmax policy with one hidden layer of 128 units, Adam
with learning rate 1e-2, gamma 0.99, Monte-Carlo returns standardised over the batch as the
baseline, an entropy bonus of 0.01; the tutorial trains one env for 600 episodes.

Hyperparameters: the tutorial's, which are jaxrl's REINFORCE defaults (hidden (128,), tanh,
learning rate 1e-2, gamma 0.99, baseline "normalize", ent_coef 0.01, no gradient clipping), with
jaxrl's default batch: 8 envs x 500-step rollouts, one gradient step per rollout (4,000 env
steps). Returns cut by the end of a rollout are unknown without a learned value, so those steps
are left out of the loss (the loss weights; ``used_fraction`` in the metrics).
Budget: STEPS_DEFAULT env steps per seed, 16 seeds. Goal: mean greedy return >= 400 (the maximum is 500).

What it shows: the greedy policy of every seed balances the pole for (nearly) the full 500
steps. The script also counts how many env steps the tutorial's 600 episodes take here: each
seed's 8 envs together complete their 600th episode after that many env steps per seed (the
tutorial's single env spends whatever its 600 episodes last; it is not a fixed budget).

    python experiments/reinforce_cartpole.py [--seeds 16] [--steps N]
"""

from __future__ import annotations

import numpy as np

from _common import Stopwatch, make_parser, seed_stats, train_and_report

ENV = "CartPole-v1"
STEPS_DEFAULT = 1_000_000
CONFIG = {"num_envs": 8, "rollout_len": 500, "hidden": (128,), "baseline": "normalize"}
HPARAMS = {"learning_rate": 1e-2, "gamma": 0.99, "ent_coef": 0.01}
GOAL = 400.0
TUTORIAL_EPISODES = 600

__doc__ = __doc__.replace("STEPS_DEFAULT", f"{STEPS_DEFAULT:,}")


def main() -> None:
    args = make_parser(__doc__, steps=STEPS_DEFAULT, seeds=16).parse_args()
    clock = Stopwatch()
    result, _ = train_and_report("reinforce", ENV, args, CONFIG, HPARAMS, GOAL)

    episodes = np.cumsum(result.metrics["episodes"], axis=-1)
    reached = episodes[:, -1] >= TUTORIAL_EPISODES
    first = np.argmax(episodes >= TUTORIAL_EPISODES, axis=-1)
    at_600 = np.where(reached, result.env_steps[first], np.nan)
    print(f"\nThe tutorial's {TUTORIAL_EPISODES} episodes: completed (8 envs together) after "
          f"{seed_stats(at_600, ',.0f')} env steps per seed (to the log period's end).")
    print(f"Episodes completed in the whole run: {seed_stats(episodes[:, -1], ',.0f')} per seed.")
    print(f"Fraction of samples in the loss (complete returns), last log period: "
          f"{seed_stats(result.metrics['used_fraction'][:, -1], '.3f')}")
    print(f"Wall time (compile, training, evaluation): {clock}")


if __name__ == "__main__":
    main()
