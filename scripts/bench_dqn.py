"""DQN on CartPole-v1: jaxrl vs rejax vs Stable-Baselines3, side by side in one run.

    python scripts/bench_dqn.py [--steps 100000] [--seeds 1 16] [--sb3-seeds 16] [--venvs DIR] [--skip rejax sb3] [--rejax-eval default off]

Hyperparameters are rejax's CartPole DQN (rejax's configs/cartpole.yaml): 10 envs, replay buffer
50,000, learning starts after 5,000 env steps (uniformly random actions until then), batch 100,
5 gradient steps per 10 env steps, Adam learning rate 1e-3, gradient norm clipped at 10, hard
target copy every 200 env steps, epsilon 1.0 -> 0.05 linearly over the first half of the run,
gamma 0.99, Double DQN with a dueling head, 64x64 swish MLP, squared-error loss; 100k env steps
per seed. SB3's DQN has neither Double DQN nor dueling heads: it runs the rest of the same
settings (its nearest equivalent).

rejax 0.1.3 names the gradient steps per iteration ``num_epochs`` and averages its target with
``polyak`` every ``target_update_freq`` steps: ``polyak=0`` is the hard copy.

Every measurement runs in a fresh process, so compile time is cold and counted. rejax 0.1.3 needs
gymnax 0.0.9 and SB3 needs torch: the script builds each its own virtual environment under
``--venvs`` (default ~/.cache/jaxrl-bench) on first use, as ``scripts/bench_ppo.py`` does (they
share the venvs). rejax is measured with its default evaluation cadence (eval_freq from its
config, 2,500 steps) and with evaluation off (one at the end), its best case.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench_ppo import REJAX_CHILD, SB3_CHILD, ensure_venv, jaxrl_rows, print_ratios, print_table, run_child

EXPLORATION_FRACTION = 0.5
CONFIG = dict(num_envs=10, buffer_capacity=50_000, batch_size=100, learning_starts=5_000, train_freq=1,
              gradient_steps=5, hidden=(64, 64), activation="swish", double=True, dueling=True, loss="mse")
HP = dict(learning_rate=1e-3, max_grad_norm=10.0, gamma=0.99, target_update_period=200, tau=1.0,
          epsilon=1.0, epsilon_end=0.05)

REJAX_KWARGS = dict(env="CartPole-v1", agent="DuelingQNetwork", agent_kwargs=dict(activation="swish"), num_envs=10,
                    buffer_size=50_000, fill_buffer=5_000, batch_size=100, max_grad_norm=10, learning_rate=1e-3,
                    num_epochs=5, target_update_freq=200, polyak=0.0, eps_start=1.0, eps_end=0.05,
                    exploration_fraction=EXPLORATION_FRACTION, gamma=0.99, ddqn=True, normalize_observations=False)
SB3_KWARGS = dict(learning_rate=1e-3, buffer_size=50_000, learning_starts=5_000, batch_size=100, gamma=0.99, train_freq=1,
                  gradient_steps=5, target_update_interval=200, exploration_fraction=EXPLORATION_FRACTION,
                  exploration_initial_eps=1.0, exploration_final_eps=0.05, max_grad_norm=10,
                  policy_kwargs=dict(net_arch=[64, 64], activation_fn="SiLU"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--sb3-seeds", type=int, default=16, help="SB3 trains its seeds one after another")
    parser.add_argument("--venvs", type=Path, default=Path.home() / ".cache" / "jaxrl-bench")
    parser.add_argument("--skip", nargs="*", default=[], choices=["rejax", "sb3"])
    parser.add_argument("--rejax-eval", nargs="+", default=["default", "off"], choices=["default", "off"],
                        help="rejax's evaluation cadences to measure (its 16-seed runs take minutes each)")
    args = parser.parse_args()
    hparams = dict(HP, epsilon_decay_duration=EXPLORATION_FRACTION * args.steps)
    # rejax counts fill_buffer in env steps and starts after it; so do we (learning_starts).
    config = dict(CONFIG, learning_starts=min(CONFIG["learning_starts"], max(args.steps // 2, CONFIG["batch_size"])))

    rows = jaxrl_rows("dqn", "CartPole-v1", config, hparams, args.seeds, args.steps)
    if "rejax" not in args.skip:
        rejax = ensure_venv(args.venvs / "rejax", ["rejax==0.1.3", "gymnax==0.0.9"])
        for seeds in args.seeds:
            kwargs = dict(REJAX_KWARGS, eval_freq=min(2_500, args.steps))
            for mode in args.rejax_eval:
                rows.append((f"rejax ({mode} eval)" if mode == "default" else "rejax (eval off)", seeds,
                             run_child(rejax, REJAX_CHILD, "DQN", seeds, args.steps, json.dumps(kwargs), int(mode == "default"))))
    if "sb3" not in args.skip:
        sb3 = ensure_venv(args.venvs / "sb3", ["torch==2.13.0", "stable-baselines3", "gymnasium"])
        rows.append(("Stable-Baselines3", args.sb3_seeds, run_child(sb3, SB3_CHILD, "DQN", args.sb3_seeds, args.steps, json.dumps(SB3_KWARGS), "CartPole-v1", 10)))

    print_table(f"DQN CartPole-v1, {args.steps:,} env steps per seed, rejax hyperparameters", rows)
    print_ratios(rows, args.seeds, args.sb3_seeds, rejax_goal=10, sb3_goal=25)

if __name__ == "__main__":
    main()
