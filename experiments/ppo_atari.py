"""PPO on real Atari (ALE v5 through the Gymnasium bridge) with CleanRL's ppo_atari settings.

CleanRL ppo_atari.py: 8 envs x 128 steps, 4 epochs of 4 minibatches, Adam 2.5e-4 annealed to 0,
gamma 0.99, GAE lambda 0.95, clip 0.1 (also the value clip), entropy 0.01, value coefficient 0.5,
gradient norm 0.5, the Nature CNN shared by the policy and value heads, episodic life and reward
clipping in training (CleanRL also presses FIRE at reset; jaxrl does not). Training's logged
``episode_return`` is therefore per life and clipped; the greedy evaluation at the end plays whole
games with the real score (``jaxrl.evaluate``, at most ``--eval-max-steps`` agent steps a game).

    python experiments/ppo_atari.py [--game Breakout] [--seeds 1] [--steps N]

On this 2-core CPU one seed trains at about 200-260 env steps/s (the Nature CNN's gradient is the
bulk of it), so 1M env steps (4M frames) take a bit over an hour; CleanRL reports 10M.
"""

from __future__ import annotations

import time

import numpy as np

import jaxrl
from _common import curve_rows, make_parser, seed_stats

CONFIG = {"num_envs": 8, "rollout_len": 128, "num_minibatches": 4, "num_epochs": 4, "shared_torso": True,
          "activation": "relu", "torso": "nature_cnn", "anneal_lr": True, "clip_value": True}
HPARAMS = {"learning_rate": 2.5e-4, "gamma": 0.99, "gae_lambda": 0.95, "clip_eps": 0.1, "ent_coef": 0.01,
           "vf_coef": 0.5, "max_grad_norm": 0.5}
TRAINING_ENV = {"episodic_life": True, "clip_rewards": True}


def main() -> None:
    parser = make_parser(__doc__, steps=1_048_576, seeds=1)
    parser.add_argument("--game", default="Breakout")
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--eval-max-steps", type=int, default=10_000)
    parser.add_argument("--save", help="write the logged curves (npz) here")
    args = parser.parse_args()
    env_id = f"ALE/{args.game}-v5"
    start = time.perf_counter()
    result = jaxrl.train("ppo", env_id, seeds=args.seeds, steps=args.steps, config=CONFIG, hparams=HPARAMS,
                         env_kwargs=TRAINING_ENV, log_interval=16_384, until=None, preset=None)
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
