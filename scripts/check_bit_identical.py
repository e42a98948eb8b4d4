"""Refactor guard: train every algorithm briefly and compare parameters and curves bit for bit.

Run it on the commit before a refactor to write the reference, then on the refactored tree to
compare (2 seeds each unless ``--seeds``, explicit config and hyperparameters, a few thousand env steps):

    git worktree add /tmp/before <commit>            # the tree before the change
    (cd /tmp/before && python scripts/check_bit_identical.py --save /tmp/reference.npz)
    python scripts/check_bit_identical.py --compare /tmp/reference.npz

Every leaf of every run's final parameters and every logged curve must match exactly (NaN where
NaN); the script prints each case and exits 1 on the first difference it lists. Save and compare
with the same cores available (the same ``taskset``, or none): jaxrl makes one device per core, and
2 seeds on one device are one vmapped program, on two devices two unbatched ones, whose bits differ.
"""

from __future__ import annotations

import argparse
import inspect
import sys

import jax
import numpy as np

import jaxrl

TABULAR_HP = {"learning_rate": 0.5, "gamma": 0.95, "epsilon": 0.3}
PG_HP = {"learning_rate": 3e-3, "gamma": 0.99, "ent_coef": 0.01}
DQN_CONFIG = {"num_envs": 2, "buffer_capacity": 2_000, "batch_size": 32, "learning_starts": 200, "hidden": (32, 32)}
DQN_HP = {"learning_rate": 1e-3, "gamma": 0.99, "epsilon_decay_duration": 1_000.0, "target_update_period": 100.0}
CONTINUOUS_CONFIG = {"num_envs": 2, "buffer_capacity": 2_000, "batch_size": 32, "learning_starts": 200, "hidden": (32, 32)}

# name -> (algo, env, env_kwargs, config, hparams, steps)
CASES: dict[str, tuple[str, str, dict, dict, dict, int]] = {
    "q_learning": ("q_learning", "FrozenLake-v1", {"is_slippery": False}, {"num_envs": 2}, TABULAR_HP, 2_000),
    "q_learning_boltzmann_exp": ("q_learning", "FrozenLake-v1", {}, {"exploration": "boltzmann", "epsilon_schedule": "exponential",
                                                                     "count_states": True}, {**TABULAR_HP, "count_bonus": 0.1}, 2_000),
    "sarsa": ("sarsa", "CliffWalking-v0", {}, {"num_envs": 2, "epsilon_schedule": "linear", "schedule_unit": "episodes"}, TABULAR_HP, 2_000),
    "expected_sarsa": ("expected_sarsa", "Taxi-v3", {}, {"num_envs": 1}, TABULAR_HP, 2_000),
    "dyna_q": ("dyna_q", "FrozenLake-v1", {}, {"planning_steps": 5}, TABULAR_HP, 1_000),
    "reinforce": ("reinforce", "CartPole-v1", {}, {"num_envs": 4, "rollout_len": 100, "hidden": (32,)}, PG_HP, 4_000),
    "reinforce_value_pendulum": ("reinforce", "Pendulum-v1", {}, {"num_envs": 4, "rollout_len": 100, "baseline": "value"}, PG_HP, 4_000),
    "a2c": ("a2c", "CartPole-v1", {}, {"num_envs": 4, "rollout_len": 5}, PG_HP, 4_000),
    "a2c_nstep_pendulum": ("a2c", "Pendulum-v1", {}, {"num_envs": 4, "rollout_len": 8, "advantage": "n_step", "n_steps": 3,
                                                      "normalize_advantages": True, "shared_torso": False}, PG_HP, 4_000),
    "ppo_discrete": ("ppo", "CartPole-v1", {}, {"num_envs": 4, "rollout_len": 64, "num_epochs": 2, "num_minibatches": 4,
                                                "anneal_lr": True}, {"learning_rate": 1e-3, "clip_eps": 0.2}, 4_096),
    "ppo_continuous": ("ppo", "Pendulum-v1", {}, {"num_envs": 4, "rollout_len": 64, "num_epochs": 2, "num_minibatches": 2,
                                                  "normalize_obs": True, "normalize_reward": True}, {"learning_rate": 1e-3}, 4_096),
    "ppo_gru_stateless": ("ppo", "StatelessCartPole-v1", {}, {"num_envs": 4, "rollout_len": 32, "num_epochs": 2,
                                                              "num_minibatches": 2, "recurrent": "gru", "recurrent_size": 16,
                                                              "hidden": (16,)}, {"learning_rate": 1e-3}, 4_096),
    "a2c_lstm_pendulum": ("a2c", "Pendulum-v1", {}, {"num_envs": 4, "rollout_len": 8, "recurrent": "lstm", "recurrent_size": 16},
                          PG_HP, 4_000),
    "dqn": ("dqn", "CartPole-v1", {}, DQN_CONFIG, DQN_HP, 3_000),
    "dqn_anneal_boltzmann_count": ("dqn", "CartPole-v1", {}, {**DQN_CONFIG, "anneal_lr": True, "exploration": "boltzmann",
                                                              "count_bins": 4, "loss": "mse", "train_freq": 2, "gradient_steps": 2},
                                   {**DQN_HP, "count_bonus": 0.1, "tau": 0.5}, 3_000),
    "double_dqn_dueling_nstep_prioritized": ("double_dqn", "CartPole-v1", {}, {**DQN_CONFIG, "dueling": True, "n_step": 3,
                                                                               "prioritized": True, "epsilon_schedule": "exponential"},
                                             DQN_HP, 3_000),
    "dqn_minatar_cnn": ("dqn", "Breakout-MinAtar", {}, {**DQN_CONFIG, "torso": "cnn", "hidden": (32,)}, DQN_HP, 1_000),
    "pqn": ("pqn", "CartPole-v1", {}, {"num_envs": 4, "rollout_len": 32, "num_epochs": 2, "num_minibatches": 4,
                                       "hidden": (32, 32), "anneal_lr": True},
            {"learning_rate": 1e-3, "q_lambda": 0.65, "epsilon_decay_duration": 1_000.0}, 3_072),
    "c51_double_dueling_nstep_prioritized": ("c51", "CartPole-v1", {}, {**DQN_CONFIG, "double": True, "dueling": True, "n_step": 3,
                                                                         "prioritized": True, "num_atoms": 11},
                                             {**DQN_HP, "v_min": 0.0, "v_max": 50.0}, 3_000),
    "rainbow_noisy": ("rainbow", "CartPole-v1", {}, {**DQN_CONFIG, "num_atoms": 11}, {**DQN_HP, "v_min": 0.0, "v_max": 50.0}, 3_000),
    "qr_dqn_double_dueling": ("qr_dqn", "CartPole-v1", {}, {**DQN_CONFIG, "double": True, "dueling": True, "num_quantiles": 8},
                              DQN_HP, 3_000),
    "qr_dqn_boltzmann": ("qr_dqn", "CartPole-v1", {}, {**DQN_CONFIG, "exploration": "boltzmann", "num_quantiles": 8},
                         DQN_HP, 3_000),
    "ddpg": ("ddpg", "Pendulum-v1", {}, CONTINUOUS_CONFIG, {"learning_rate": 1e-3, "exploration_noise": 0.2}, 2_000),
    "ddpg_ou": ("ddpg", "Pendulum-v1", {}, {**CONTINUOUS_CONFIG, "noise": "ou"}, {"learning_rate": 1e-3}, 2_000),
    "td3": ("td3", "Pendulum-v1", {}, CONTINUOUS_CONFIG, {"learning_rate": 1e-3, "target_noise": 0.3}, 2_000),
    "sac": ("sac", "Pendulum-v1", {}, CONTINUOUS_CONFIG, {"learning_rate": 1e-3, "alpha_init": 0.5}, 2_000),
    "sac_gsde": ("sac", "MountainCarContinuous-v0", {}, {**CONTINUOUS_CONFIG, "exploration": "gsde", "train_freq": 4,
                                                         "gradient_steps": 2, "sde_log_std_init": -2.0},
                 {"learning_rate": 1e-3}, 2_000),
    # Host-stepped envs (the Gymnasium bridge): discrete and Box actions, float and uint8 observations.
    "ppo_gymnasium_bridge": ("ppo", "gymnasium:CartPole-v1", {"max_episode_steps": 60}, {"num_envs": 4, "rollout_len": 64,
                                                                                         "num_epochs": 2, "num_minibatches": 4},
                             {"learning_rate": 1e-3}, 4_096),
    "sac_gymnasium_bridge": ("sac", "gymnasium:Pendulum-v1", {"max_episode_steps": 50}, CONTINUOUS_CONFIG,
                             {"learning_rate": 1e-3}, 1_000),
    "dqn_atari_bridge": ("dqn", "ALE/Breakout-v5", {"episodic_life": True, "clip_rewards": True},
                         {**DQN_CONFIG, "torso": "nature_cnn", "buffer_capacity": 300, "batch_size": 8, "learning_starts": 100,
                          "hidden": (32,)}, DQN_HP, 400),
}


def run_case(name: str, seeds: int = 2) -> dict[str, np.ndarray]:
    algo, env, env_kwargs, config, hparams, steps = CASES[name]
    options = {"preset": None} if "preset" in inspect.signature(jaxrl.train).parameters else {}  # library defaults
    result = jaxrl.train(algo, env, seeds=seeds, steps=steps, hparams=hparams, config=config, env_kwargs=env_kwargs,
                         seed=7, log_interval=max(1, steps // 10), num_chunks=2, progress=False, **options)
    arrays = {f"{name}/metrics/{k}": np.asarray(v) for k, v in result.metrics.items()}
    arrays[f"{name}/env_steps"] = np.asarray(result.env_steps)
    for path, leaf in jax.tree_util.tree_leaves_with_path(result.final_state.params):
        arrays[f"{name}/params{jax.tree_util.keystr(path)}"] = np.asarray(leaf)
    return arrays


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--save", help="write the reference .npz")
    group.add_argument("--compare", help="compare against a reference .npz")
    parser.add_argument("--cases", nargs="*", default=list(CASES), help="a subset of the cases")
    parser.add_argument("--seeds", type=int, default=2, help="seeds per case (2: one per device on 2 cores; 4: two)")
    args = parser.parse_args()
    reference = dict(np.load(args.compare)) if args.compare else None
    arrays, failures = {}, 0
    for name in args.cases:
        case = run_case(name, args.seeds)
        arrays.update(case)
        if reference is None:
            print(f"{name}: {len(case)} arrays")
            continue
        expected = {k: v for k, v in reference.items() if k.startswith(f"{name}/")}
        differing = sorted(set(case) ^ set(expected))
        differing += [k for k in sorted(set(case) & set(expected))
                      if case[k].shape != expected[k].shape or not np.array_equal(case[k], expected[k], equal_nan=True)]
        if differing:
            failures += 1
            print(f"{name}: DIFFERENT in {len(differing)} of {len(expected)} arrays, e.g. {differing[:4]}")
        else:
            print(f"{name}: identical ({len(case)} arrays)")
    if args.save:
        np.savez(args.save, **arrays)
        print(f"wrote {args.save}")
    if failures:
        print(f"{failures} of {len(args.cases)} cases differ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
