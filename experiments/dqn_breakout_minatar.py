"""DQN on Breakout-MinAtar: pixel DQN, the figure at a fixed budget next to rejax's DQN.

MinAtar Breakout (gymnax): 10x10 frames with 4 channels, 3 actions, +1 per brick.

Network: a 64x64 relu MLP over the flattened frame with the squared-error loss, the network and
loss rejax 0.1.3's DQN is limited to, so that ``scripts/dqn_minatar_vs_rejax.py`` runs these same
settings in both libraries. ``--torso cnn`` runs jaxrl's MinAtar CNN torso instead (a 3x3
convolution with 16 filters, then a dense layer of 128, as in the MinAtar paper) with the Huber
loss: on this task it learned more slowly (online return about 9.5 from 1.5M to 2.6M steps, where
the MLP reached a greedy 44.6 at 5M; BENCHMARKS.md).

Hyperparameters (MinAtar-paper-like DQN, vectorised): 16 envs, replay buffer 100,000, learning
after 5,000 env steps, batch 64, 4 gradient steps per 16 env steps (one per 4 env steps), Adam
learning rate 2.5e-4 with gradient norm clipped at 10, Double DQN, hard target copy every 4,000 env
steps, epsilon 1.0 -> 0.1 linearly over the first 5% of the run, gamma 0.99.
Budget: STEPS_DEFAULT env steps per seed, 1 seed.

``--algo rainbow`` runs Rainbow (C51 head on [0, 50] with 51 atoms, Double, dueling, 3-step,
prioritised replay, NoisyNets instead of epsilon-greedy) on the same network widths, replay,
batch, update ratio, learning rate and target period, for the issue-17 figure next to DQN.

    python experiments/dqn_breakout_minatar.py [--seeds 1] [--steps N] [--torso mlp|cnn] [--algo dqn|rainbow]
"""

from __future__ import annotations

from _common import Stopwatch, curve_rows, make_parser, train_and_report

ENV = "Breakout-MinAtar"
STEPS_DEFAULT = 5_000_000
EXPLORATION_FRACTION = 0.05
CONFIG = {"num_envs": 16, "buffer_capacity": 100_000, "batch_size": 64, "learning_starts": 5_000, "gradient_steps": 4,
          "hidden": (64, 64), "activation": "relu", "torso": "mlp", "double": True, "dueling": False, "loss": "mse"}
CNN = {"hidden": (128,), "torso": "cnn", "loss": "huber"}
HPARAMS = {"learning_rate": 2.5e-4, "gamma": 0.99, "max_grad_norm": 10.0, "epsilon": 1.0, "epsilon_end": 0.1,
           "target_update_period": 4_000, "tau": 1.0}
RAINBOW = {"v_min": 0.0, "v_max": 50.0}  # Breakout's discounted returns (+1 per brick) lie well inside
GOAL = None

__doc__ = __doc__.replace("STEPS_DEFAULT", f"{STEPS_DEFAULT:,}")


def run_settings(steps: int, algo: str = "dqn") -> tuple[dict, dict]:
    """Hyperparameters and config for a run of ``steps`` env steps per seed (schedules scale with it)."""
    hparams = {**HPARAMS, "epsilon_decay_duration": max(1, int(EXPLORATION_FRACTION * steps))}
    config = {**CONFIG, "learning_starts": min(CONFIG["learning_starts"], max(steps // 4, CONFIG["batch_size"]))}
    if algo == "rainbow":  # its own loss, dueling head and exploration (the variant's defaults)
        config = {k: v for k, v in config.items() if k not in ("loss", "dueling")}
        hparams = {**{k: v for k, v in hparams.items() if not k.startswith("epsilon")}, **RAINBOW}
    return hparams, config


def main() -> None:
    parser = make_parser(__doc__, steps=STEPS_DEFAULT, seeds=1)
    parser.add_argument("--torso", choices=["mlp", "cnn"], default="mlp")
    parser.add_argument("--algo", choices=["dqn", "rainbow"], default="dqn")
    args = parser.parse_args()
    hparams, config = run_settings(args.steps, args.algo)
    config.update(CNN if args.torso == "cnn" else {})
    if args.algo == "rainbow":
        config.pop("loss", None)
    clock = Stopwatch()
    result, _ = train_and_report(args.algo, ENV, args, config, hparams, GOAL, fmt=".2f", num_chunks=50)
    print("\nLast log periods:")
    print(curve_rows(result, points=5, fmt=".2f", last=True))
    print(f"Wall time (compile, training, evaluation): {clock}")


if __name__ == "__main__":
    main()
