"""PQN: jaxrl vs rejax 0.1.3, side by side in one run, at rejax's own CartPole configuration.

    python scripts/bench_pqn.py [--steps 524288] [--seeds 1 16] [--venvs DIR] [--skip rejax]
    python scripts/bench_pqn.py --minatar [--steps 5000000] [--seeds 1] [--torsos mlp cnn]   # learning on Breakout-MinAtar
    python scripts/bench_pqn.py --learning [--seeds 8] [--skip rejax]     # learning at rejax's CartPole settings

CartPole-v1 (speed): rejax's ``configs/gymnax/cartpole.yaml`` ``pqn`` entry (16 envs x 128 steps,
5 epochs of 16 minibatches, Adam 3e-4, gradient clip 10, epsilon 1 -> 0.05 over half the run,
gamma 0.99, lambda 0.9, 524,288 env steps per seed) and rejax's PQN network (a 64x64 MLP with
LayerNorm before each ReLU, fixed in ``PQN.create_agent``), mapped option by option onto jaxrl's
``pqn`` (the script prints the mapping and the differences that remain). Env steps per second of
training, compile excluded, for 1 and 16 seeds; every measurement in a fresh process.

``--learning``: final greedy returns (128 episodes per seed) of both at rejax's CartPole
configuration, every seed listed for jaxrl (rejax: its end-of-run evaluation).

``--minatar``: Breakout-MinAtar, learning at the same budget for both (default 5M env steps per
seed): purejaxql's MinAtar settings (128 envs x 32 steps, 2 epochs of 32 minibatches, Adam 5e-4,
lambda 0.65, epsilon 1 -> 0.05 over the first 10%) on rejax's network (the 64x64 LayerNorm MLP over
the flattened frame; rejax's PQN has no learning-rate annealing, so neither run anneals), plus
jaxrl with its MinAtar CNN torso. Final returns: jaxrl's greedy policy over 128 episodes per
seed; rejax's own end-of-run evaluation (128 episodes at its acting epsilon of 0.005).

rejax 0.1.3 needs gymnax 0.0.9: its virtual environment is built under ``--venvs`` (default
~/.cache/jaxrl-bench) on first use, as scripts/bench_ppo.py does.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bench_ppo import JAXRL_CHILD, REJAX_CHILD, ensure_venv, print_ratios, print_table, run_child

CARTPOLE_STEPS = 524_288
# rejax's configs/gymnax/cartpole.yaml, pqn entry (eval_freq is the bench's "default eval" row)
REJAX_CARTPOLE = dict(env="CartPole-v1", num_envs=16, num_steps=128, num_minibatches=16, max_grad_norm=10,
                      learning_rate=3e-4, num_epochs=5, eval_freq=16_384, eps_start=1.0, eps_end=0.05,
                      exploration_fraction=0.5, gamma=0.99, td_lambda=0.9, normalize_observations=False)

# (rejax option, its value, jaxrl option, its value): what each rejax setting becomes in jaxrl
CARTPOLE_MAPPING = [
    ("num_envs", 16, "config num_envs", 16),
    ("num_steps", 128, "config rollout_len", 128),
    ("num_epochs", 5, "config num_epochs", 5),
    ("num_minibatches", 16, "config num_minibatches", 16),
    ("network (PQN.create_agent)", "MLP 64x64, relu(LayerNorm(x))", "config hidden, activation, layer_norm",
     "(64, 64), relu, True"),
    ("learning_rate", 3e-4, "hparam learning_rate", 3e-4),
    ("(no lr schedule)", "-", "config anneal_lr", False),
    ("max_grad_norm", 10, "hparam max_grad_norm", 10.0),
    ("gamma", 0.99, "hparam gamma", 0.99),
    ("td_lambda", 0.9, "hparam q_lambda", 0.9),
    ("eps_start", 1.0, "hparam epsilon", 1.0),
    ("eps_end", 0.05, "hparam epsilon_end", 0.05),
    ("exploration_fraction x total_timesteps", "0.5 x STEPS", "config epsilon_schedule, hparam epsilon_decay_duration",
     "linear, 0.5 x STEPS"),
    ("total_timesteps", "STEPS", "steps", "STEPS"),
    ("normalize_observations", False, "(none)", "-"),
]
DIFFERENCES = [
    "gradient clipping: rejax optax.clip (each gradient element to [-10, 10]); jaxrl clips the global norm at 10",
    "Adam epsilon: rejax 1e-8 (optax default); jaxrl 1e-5 (its one optimiser)",
    "initialisation: rejax flax's default (lecun normal); jaxrl orthogonal (gain sqrt 2 torso, 1 head)",
    "targets: rejax cuts Q(lambda) at done and zeroes the bootstrap there (a time-limit truncation is treated as "
    "a termination) and takes each step's bootstrap from the Q-values stored with the following step; jaxrl "
    "bootstraps through truncation from max Q at the final observation of the same step",
]


def cartpole_jaxrl(steps: int) -> tuple[dict, dict]:
    """rejax's CartPole PQN configuration as jaxrl's pqn config and hyperparameters."""
    config = dict(num_envs=16, rollout_len=128, num_epochs=5, num_minibatches=16, hidden=(64, 64), activation="relu",
                  layer_norm=True, anneal_lr=False, epsilon_schedule="linear")
    hparams = dict(learning_rate=3e-4, max_grad_norm=10.0, gamma=0.99, q_lambda=0.9, epsilon=1.0, epsilon_end=0.05,
                   epsilon_decay_duration=0.5 * steps, reward_scale=1.0)
    return config, hparams


MINATAR_ENV = "Breakout-MinAtar"
MINATAR = dict(num_envs=128, num_steps=32, num_epochs=2, num_minibatches=32, learning_rate=5e-4, max_grad_norm=10,
               gamma=0.99, td_lambda=0.65, eps_start=1.0, eps_end=0.05, exploration_fraction=0.1)


def minatar_settings(steps: int, torso: str) -> tuple[dict, dict, dict]:
    """(rejax kwargs, jaxrl config, jaxrl hparams) of the MinAtar comparison."""
    rejax = dict(MINATAR, env=MINATAR_ENV, normalize_observations=False)
    hidden = (64, 64) if torso == "mlp" else (128,)
    config = dict(num_envs=128, rollout_len=32, num_epochs=2, num_minibatches=32, hidden=hidden, activation="relu",
                  torso=torso, layer_norm=True, anneal_lr=False, epsilon_schedule="linear")
    hparams = dict(learning_rate=5e-4, max_grad_norm=10.0, gamma=0.99, q_lambda=0.65, epsilon=1.0, epsilon_end=0.05,
                   epsilon_decay_duration=0.1 * steps)
    return rejax, config, hparams


JAXRL_LEARNING_CHILD = """
import json, sys, time
import jaxrl
seeds, steps, config, hparams, env = int(sys.argv[1]), int(sys.argv[2]), json.loads(sys.argv[3]), json.loads(sys.argv[4]), sys.argv[5]
t0 = time.perf_counter()
result = jaxrl.train("pqn", env, seeds=seeds, steps=steps, config=config, hparams=hparams, progress=False, preset=None)
wall = time.perf_counter() - t0
returns = jaxrl.evaluate(result, episodes=128).returns.mean(-1)
print(json.dumps(dict(wall=wall, train=result.train_seconds, steps=int(result.env_steps[-1]) * seeds,
                      final_return=float(returns.mean()), per_seed=[float(r) for r in returns])))
"""


def print_mapping(steps: int) -> None:
    print(f"rejax PQN CartPole configuration -> jaxrl pqn (STEPS = {steps:,} env steps per seed; rejax's own: "
          f"{CARTPOLE_STEPS:,})")
    for rejax_name, rejax_value, jaxrl_name, jaxrl_value in CARTPOLE_MAPPING:
        print(f"  {rejax_name:40s} {str(rejax_value):32s} -> {jaxrl_name} = {jaxrl_value}")
    print("differences that remain:")
    for line in DIFFERENCES:
        print(f"  - {line}")


def cartpole(args: argparse.Namespace) -> None:
    print_mapping(args.steps)
    config, hparams = cartpole_jaxrl(args.steps)
    rejax_kwargs = dict(REJAX_CARTPOLE)
    rows = [("jaxrl", seeds, run_child(sys.executable, JAXRL_CHILD, seeds, args.steps, json.dumps(config),
                                       json.dumps(hparams), "pqn", "CartPole-v1")) for seeds in args.seeds]
    if "rejax" not in args.skip:
        rejax = ensure_venv(args.venvs / "rejax", ["rejax==0.1.3", "gymnax==0.0.9"])
        rejax_kwargs["eval_freq"] = min(rejax_kwargs["eval_freq"], args.steps)
        for seeds in args.seeds:
            for name, evaluate in (("rejax (default eval)", 1), ("rejax (eval off)", 0)):
                rows.append((name, seeds, run_child(rejax, REJAX_CHILD, "PQN", seeds, args.steps,
                                                    json.dumps(rejax_kwargs), evaluate)))
    print_table(f"PQN CartPole-v1, {args.steps:,} env steps per seed, rejax's configuration", rows)
    print_ratios(rows, args.seeds, sb3_seeds=0, rejax_goal=1.5, sb3_goal=0)


def minatar(args: argparse.Namespace) -> None:
    seeds = max(args.seeds)
    rows = []
    for torso in args.torsos:
        rejax_kwargs, config, hparams = minatar_settings(args.steps, torso)
        if torso == "mlp":
            print(f"rejax: {json.dumps(rejax_kwargs)}")
        print(f"jaxrl ({torso}): config {json.dumps(config)} hparams {json.dumps(hparams)}", flush=True)
        rows.append((f"jaxrl ({torso} torso)", run_child(sys.executable, JAXRL_LEARNING_CHILD, seeds, args.steps,
                                                         json.dumps(config), json.dumps(hparams), MINATAR_ENV,
                                                         timeout=12 * 3600)))
        print(json.dumps(rows[-1][1]), flush=True)
    if "rejax" not in args.skip:
        rejax = ensure_venv(args.venvs / "rejax", ["rejax==0.1.3", "gymnax==0.0.9"])
        rejax_kwargs = minatar_settings(args.steps, "mlp")[0]
        rows.append(("rejax (64x64 LayerNorm MLP)", run_child(rejax, REJAX_CHILD, "PQN", seeds, args.steps,
                                                              json.dumps(rejax_kwargs), 0, timeout=12 * 3600)))
        print(json.dumps(rows[-1][1]), flush=True)
    print(f"\nPQN {MINATAR_ENV}, {args.steps:,} env steps per seed, {seeds} seed(s)")
    print(f"{'library':30s} {'final return':>13s} {'env steps/s':>12s} {'wall s':>8s}")
    for name, r in rows:
        print(f"{name:30s} {r['final_return']:13.2f} {r['steps'] / r['train']:12,.0f} {r['wall']:8.1f}")
    if seeds > 1:
        import numpy as np

        from jaxrl.stats import bootstrap_ci  # here, not at the top: the parent stays free of jax (children time)

        for name, r in rows:
            print(f"{name}: per seed {', '.join(f'{x:.2f}' for x in r['per_seed'])}; "
                  "IQM {:.2f} [{:.2f}, {:.2f}]".format(*bootstrap_ci(np.asarray(r["per_seed"]))))


def learning(args: argparse.Namespace) -> None:
    print_mapping(args.steps)
    config, hparams = cartpole_jaxrl(args.steps)
    seeds = max(args.seeds)
    rows = [("jaxrl", run_child(sys.executable, JAXRL_LEARNING_CHILD, seeds, args.steps, json.dumps(config),
                                json.dumps(hparams), "CartPole-v1", timeout=6 * 3600))]
    print(json.dumps(rows[-1][1]), flush=True)
    if "rejax" not in args.skip:
        rejax = ensure_venv(args.venvs / "rejax", ["rejax==0.1.3", "gymnax==0.0.9"])
        rows.append(("rejax", run_child(rejax, REJAX_CHILD, "PQN", seeds, args.steps, json.dumps(REJAX_CARTPOLE), 0,
                                        timeout=6 * 3600)))
        print(json.dumps(rows[-1][1]), flush=True)
    print(f"\nPQN CartPole-v1, {args.steps:,} env steps per seed, {seeds} seed(s), rejax's configuration")
    for name, r in rows:
        per_seed = " ".join(f"{x:.1f}" for x in r.get("per_seed", []))
        print(f"{name:8s} mean final return {r['final_return']:8.2f}  {per_seed}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group()
    parser.add_argument("--torsos", nargs="+", default=["mlp", "cnn"], choices=["mlp", "cnn"],
                        help="--minatar: jaxrl's torsos to run (the mlp is rejax's network)")
    mode.add_argument("--minatar", action="store_true", help=f"learning on {MINATAR_ENV} instead of CartPole speed")
    mode.add_argument("--learning", action="store_true", help="learning at rejax's CartPole configuration")
    parser.add_argument("--steps", type=int, default=None, help=f"env steps per seed (default {CARTPOLE_STEPS:,}; "
                                                                 "5,000,000 with --minatar)")
    parser.add_argument("--seeds", type=int, nargs="+", default=None,
                        help="seed counts (default 1 16); --minatar, --learning: one count (default 1, 8)")
    parser.add_argument("--venvs", type=Path, default=Path.home() / ".cache" / "jaxrl-bench")
    parser.add_argument("--skip", nargs="*", default=[], choices=["rejax"])
    args = parser.parse_args()
    if args.steps is None:
        args.steps = 5_000_000 if args.minatar else CARTPOLE_STEPS
    if args.seeds is None:
        args.seeds = [1] if args.minatar else [8] if args.learning else [1, 16]
    (minatar if args.minatar else learning if args.learning else cartpole)(args)


if __name__ == "__main__":
    main()
