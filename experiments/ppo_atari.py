"""PPO on real Atari (ALE v5 through the Gymnasium bridge) with CleanRL's ppo_atari settings.

CleanRL ppo_atari.py: 8 envs x 128 steps, 4 epochs of 4 minibatches, Adam 2.5e-4 annealed to 0,
gamma 0.99, GAE lambda 0.95, clip 0.1 (also the value clip), entropy 0.01, value coefficient 0.5,
gradient norm 0.5, the Nature CNN shared by the policy and value heads, episodic life and reward
clipping in training (CleanRL also presses FIRE at reset; jaxrl does not). Training's logged
``episode_return`` is therefore per life and clipped; the greedy evaluation at the end plays whole
games with the real score (``jaxrl.evaluate``, at most ``--eval-max-steps`` agent steps a game).

    python experiments/ppo_atari.py [--game Breakout] [--seeds 1] [--steps N]

On this 2-core CPU one seed trained at 246-259 env steps/s alone on the machine and 152 on one
core beside another job (the Nature CNN's gradient is the bulk of it; BENCHMARKS.md, session 20),
so the default 1,048,576 env steps (4M frames) take 70 to 115 minutes; CleanRL reports 10M.
"""

from __future__ import annotations

from _common import atari_parser, train_atari

CONFIG = {"num_envs": 8, "rollout_len": 128, "num_minibatches": 4, "num_epochs": 4, "shared_torso": True,
          "activation": "relu", "torso": "nature_cnn", "anneal_lr": True, "clip_value": True}
HPARAMS = {"learning_rate": 2.5e-4, "gamma": 0.99, "gae_lambda": 0.95, "clip_eps": 0.1, "ent_coef": 0.01,
           "vf_coef": 0.5, "max_grad_norm": 0.5}


def main() -> None:
    args = atari_parser(__doc__, steps=1_048_576).parse_args()
    train_atari("ppo", args, CONFIG, HPARAMS, log_interval=16_384)


if __name__ == "__main__":
    main()
