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

On this 2-core CPU it trained at 72 env steps/s on one core beside another job (the Nature
CNN's gradient and the host envs; BENCHMARKS.md, session 20), so the default 400,000 env steps
(1.6M frames) take about an hour and a half; the tutorials and CleanRL train 10M.
"""

from __future__ import annotations

from _common import atari_parser, train_atari

CONFIG = {"num_envs": 4, "buffer_capacity": 100_000, "batch_size": 32, "learning_starts": 20_000, "train_freq": 1,
          "gradient_steps": 1, "torso": "nature_cnn", "double": False, "dueling": False, "loss": "huber"}
HPARAMS = {"learning_rate": 1e-4, "gamma": 0.99, "max_grad_norm": 10.0, "epsilon": 1.0, "epsilon_end": 0.01,
           "epsilon_decay_duration": 100_000, "target_update_period": 1_000, "tau": 1.0}


def main() -> None:
    args = atari_parser(__doc__, steps=400_000).parse_args()
    config = {**CONFIG, "learning_starts": min(CONFIG["learning_starts"], args.steps // 4)}
    hparams = {**HPARAMS, "epsilon_decay_duration": min(HPARAMS["epsilon_decay_duration"], args.steps // 4)}
    train_atari("dqn", args, config, hparams, log_interval=max(4, args.steps // 40 // 4 * 4))


if __name__ == "__main__":
    main()
