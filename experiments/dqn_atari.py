"""The pixel-DQN tutorial on real Atari (ALE v5 Breakout or MsPacman through the Gymnasium bridge).

The tutorials' DQN from pixels: grey 84x84 frames stacked 4 (ALE v5 under Gymnasium's
AtariPreprocessing and a 4-frame stack), the Nature CNN (32-64-64 convolutions and a dense 512),
a replay buffer and a target network. Settings as CleanRL's dqn_atari and SB3's zoo where the CPU
budget allows: Adam 1e-4, batch 32, one gradient step every 4 env steps (4 envs, one step each),
gamma 0.99, Huber loss, gradient norm 10, hard target copy every 1,000 env steps, epsilon 1 ->
0.01 over the first 100,000 env steps, episodic life and reward clipping in training; the buffer
holds 100,000 transitions (CleanRL 1M: 56 GB of frames here) and learning starts after 20,000
(CleanRL 80,000; a CPU run is shorter). Training's logged ``episode_return`` is per life and
clipped; the greedy evaluation at the end plays whole games with the real score.

    python experiments/dqn_atari.py [--game Breakout|MsPacman] [--steps N]

On this 2-core CPU it trains at about 100 env steps/s (the Nature CNN's gradient and the host
envs), so the default 400,000 env steps (1.6M frames) take about an hour; the tutorials and
CleanRL train 10M.
"""

from __future__ import annotations

import time

import numpy as np

import jaxrl
from _common import curve_rows, make_parser, seed_stats

CONFIG = {"num_envs": 4, "buffer_capacity": 100_000, "batch_size": 32, "learning_starts": 20_000, "train_freq": 1,
          "gradient_steps": 1, "torso": "nature_cnn", "double": False, "dueling": False, "loss": "huber"}
HPARAMS = {"learning_rate": 1e-4, "gamma": 0.99, "max_grad_norm": 10.0, "epsilon": 1.0, "epsilon_end": 0.01,
           "epsilon_decay_duration": 100_000, "target_update_period": 1_000, "tau": 1.0}
TRAINING_ENV = {"episodic_life": True, "clip_rewards": True}


def main() -> None:
    parser = make_parser(__doc__, steps=400_000, seeds=1)
    parser.add_argument("--game", default="Breakout", choices=["Breakout", "MsPacman"])
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--eval-max-steps", type=int, default=10_000)
    parser.add_argument("--save", help="write the logged curves (npz) here")
    args = parser.parse_args()
    config = {**CONFIG, "learning_starts": min(CONFIG["learning_starts"], args.steps // 4)}
    hparams = {**HPARAMS, "epsilon_decay_duration": min(HPARAMS["epsilon_decay_duration"], args.steps // 4)}
    start = time.perf_counter()
    result = jaxrl.train("dqn", f"ALE/{args.game}-v5", seeds=args.seeds, steps=args.steps, config=config, hparams=hparams,
                         env_kwargs=TRAINING_ENV, log_interval=max(4, args.steps // 40 // 4 * 4), until=None, preset=None)
    train_wall = time.perf_counter() - start
    print(curve_rows(result, points=20))
    print(f"training: {train_wall:.0f} s wall, {result.train_seconds:.0f} s in the training program, "
          f"{args.steps * args.seeds / result.train_seconds:.0f} env steps/s over {args.seeds} seed(s)")
    evaluation = jaxrl.evaluate(result, episodes=args.eval_episodes, max_steps=args.eval_max_steps)
    returns = np.asarray(evaluation.returns).mean(-1)
    print(f"greedy whole-game score ({args.eval_episodes} games per seed): {seed_stats(returns, '.1f')}")
    if args.save:
        np.savez(args.save, env_steps=result.env_steps, returns=returns,
                 **{k: np.asarray(v) for k, v in result.metrics.items()})


if __name__ == "__main__":
    main()
