"""SAC, TD3 and DDPG on Pendulum-v1: the continuous-control classics, on many seeds at once.

The tutorials read that TD3 and SAC improve on DDPG; this script trains all three side by side
on the same seeds at the same small budget, STEPS_DEFAULT env steps per seed (100 episodes of
200 steps), and evaluates each seed's deterministic policy.

Hyperparameters (jaxrl's defaults unless said): one env, replay 100k, batch 256, 1,000 random
steps before learning, one gradient step per env step, Adam 1e-3 (DDPG/TD3) or 3e-4 (SAC), gamma
0.99, tau 0.005, MLPs 64x64 relu; DDPG and TD3 explore with Gaussian noise of std 0.1 (action
units in [-1, 1]); TD3 smooths its target (0.2, clipped at 0.5) and updates its actor every 2
critic updates; SAC tunes its temperature towards entropy -1 per action dimension.
Goals (mean greedy return over seeds): SAC >= -200, TD3 >= -200, DDPG >= -250.

    python experiments/sac_td3_pendulum.py [--seeds 8] [--steps N] [--only sac]
"""

from __future__ import annotations

from _common import Stopwatch, make_parser, train_and_report

ENV = "Pendulum-v1"
STEPS_DEFAULT = 20_000
CONFIG = {"learning_starts": 1_000}
AGENTS = {"sac": -200.0, "td3": -200.0, "ddpg": -250.0}

__doc__ = __doc__.replace("STEPS_DEFAULT", f"{STEPS_DEFAULT:,}")


def main() -> None:
    parser = make_parser(__doc__, steps=STEPS_DEFAULT, seeds=8)
    parser.add_argument("--only", choices=sorted(AGENTS), help="train just this agent")
    args = parser.parse_args()
    clock = Stopwatch()
    summary = []
    for algo, goal in AGENTS.items():
        if args.only and algo != args.only:
            continue
        _, greedy = train_and_report(algo, ENV, args, CONFIG, {}, goal)
        summary.append(f"  {algo:5s} mean greedy return {greedy.mean():8.1f} (min {greedy.min():7.1f})  goal >= {goal:g}: "
                       f"{'met' if greedy.mean() >= goal else 'MISSED'}")
    print("\nSummary:\n" + "\n".join(summary))
    print(f"Wall time (compile, training, evaluation): {clock}")


if __name__ == "__main__":
    main()
