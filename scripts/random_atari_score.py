"""A uniformly random policy's whole-game score in Gymnasium's own ALE v5 env: the baseline that
the Atari learning figures (BENCHMARKS.md) are read against.

    python scripts/random_atari_score.py --game MsPacman [--games 30]

Game ``i`` is reset with seed ``i`` and its action space seeded with ``i`` (games 0..N-1).
"""

from __future__ import annotations

import argparse

import gymnasium as gym
import numpy as np


def random_score(game: str, seed: int) -> float:
    """One whole game of ``ALE/{game}-v5`` under uniformly random actions: the summed real reward."""
    import ale_py

    gym.register_envs(ale_py)
    env = gym.make(f"ALE/{game}-v5")
    env.reset(seed=seed)
    env.action_space.seed(seed)
    total, done = 0.0, False
    while not done:
        _, reward, terminated, truncated, _ = env.step(env.action_space.sample())
        total, done = total + float(reward), terminated or truncated
    env.close()
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--game", default="Breakout", help="an ALE v5 game (default Breakout)")
    parser.add_argument("--games", type=int, default=30)
    args = parser.parse_args()
    scores = np.array([random_score(args.game, seed) for seed in range(args.games)])
    print(f"ALE/{args.game}-v5, uniformly random actions, {args.games} games: "
          f"{scores.mean():.2f} ± {scores.std():.2f} (min {scores.min():.0f}, max {scores.max():.0f})")


if __name__ == "__main__":
    main()
