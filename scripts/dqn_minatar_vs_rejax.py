"""DQN on Breakout-MinAtar: jaxrl next to rejax's DQN at the same budget (learning, not speed).

    python scripts/dqn_minatar_vs_rejax.py [--steps 5000000] [--seeds 1] [--venvs DIR] [--skip jaxrl rejax]

Both run the settings of ``experiments/dqn_breakout_minatar.py`` (16 envs, replay buffer 100,000,
learning after 5,000 env steps, batch 64, 4 gradient steps per 16 env steps, Adam 2.5e-4 with
gradient norm clipped at 10, Double DQN, hard target copy every 4,000 env steps, epsilon 1.0 -> 0.1
over the first 5% of the run, gamma 0.99), whose network is the one rejax 0.1.3's DQN is limited
to: its ``QNetwork`` is a 64x64 MLP over the flattened 10x10x4 frame (its hidden sizes are fixed)
and its loss is the squared error. The two runs differ only in their implementations.

Each library runs in a fresh process (rejax in its own venv with gymnax 0.0.9, built on first use
under ``--venvs``). Final returns: jaxrl's greedy policy over 128 episodes (``jaxrl.evaluate``);
rejax's own end-of-run evaluation, 128 episodes at its acting epsilon of 0.005.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bench_ppo import REJAX_CHILD, ensure_venv, run_child

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "experiments"))
from dqn_breakout_minatar import ENV, EXPLORATION_FRACTION, run_settings  # noqa: E402

REJAX_KWARGS = dict(env=ENV, agent="QNetwork", agent_kwargs=dict(activation="relu"), num_envs=16,
                    buffer_size=100_000, fill_buffer=5_000, batch_size=64, max_grad_norm=10.0, learning_rate=2.5e-4,
                    num_epochs=4, target_update_freq=4_000, polyak=0.0, eps_start=1.0, eps_end=0.1,
                    exploration_fraction=EXPLORATION_FRACTION, gamma=0.99, ddqn=True, normalize_observations=False)

JAXRL_CHILD = """
import json, sys, time
import jaxrl
seeds, steps, config, hparams = int(sys.argv[1]), int(sys.argv[2]), json.loads(sys.argv[3]), json.loads(sys.argv[4])
t0 = time.perf_counter()
result = jaxrl.train("dqn", sys.argv[5], seeds=seeds, steps=steps, config=config, hparams=hparams, progress=False)
wall = time.perf_counter() - t0
returns = jaxrl.evaluate(result, episodes=128).returns.mean(-1)
print(json.dumps(dict(wall=wall, train=result.train_seconds, steps=int(result.env_steps[-1]) * seeds,
                      final_return=float(returns.mean()), per_seed=[float(r) for r in returns])))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=5_000_000)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--venvs", type=Path, default=Path.home() / ".cache" / "jaxrl-bench")
    parser.add_argument("--skip", nargs="*", default=[], choices=["jaxrl", "rejax"])
    args = parser.parse_args()
    hparams, config = run_settings(args.steps)
    rejax_kwargs = dict(REJAX_KWARGS, fill_buffer=config["learning_starts"])

    rows = []
    if "jaxrl" not in args.skip:
        rows.append(("jaxrl", run_child(sys.executable, JAXRL_CHILD, args.seeds, args.steps, json.dumps(config),
                                        json.dumps(hparams), ENV, timeout=6 * 3600)))
        print(json.dumps(rows[-1][1]), flush=True)
    if "rejax" not in args.skip:
        rejax = ensure_venv(args.venvs / "rejax", ["rejax==0.1.3", "gymnax==0.0.9"])
        rows.append(("rejax", run_child(rejax, REJAX_CHILD, "DQN", args.seeds, args.steps, json.dumps(rejax_kwargs), 0, timeout=6 * 3600)))
        print(json.dumps(rows[-1][1]), flush=True)

    print(f"\nDQN {ENV}, {args.steps:,} env steps per seed, {args.seeds} seed(s), 64x64 relu MLP, squared error")
    print(f"{'library':8s} {'final return':>13s} {'env steps/s':>12s} {'wall s':>8s}")
    for name, r in rows:
        print(f"{name:8s} {r['final_return']:13.2f} {r['steps'] / r['train']:12,.0f} {r['wall']:8.1f}")


if __name__ == "__main__":
    main()
