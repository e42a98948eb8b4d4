"""PPO on CartPole-v1: jaxrl vs rejax vs Stable-Baselines3, side by side in one run.

    python scripts/bench_ppo.py [--steps 100000] [--seeds 1 16] [--sb3-seeds 16] [--venvs DIR]

Hyperparameters are rejax's CartPole PPO: 5 envs x 100 steps, 5 epochs, 5 minibatches, learning
rate 7.5e-4, 64x64 tanh MLP, gradient clip 0.5, gamma 0.99, GAE lambda 0.95, clip 0.2, value
coefficient 0.5, entropy 0.01, 100k env steps per seed.

Every measurement runs in a fresh process, so compile time is cold and counted. rejax 0.1.3 needs
gymnax 0.0.9 and SB3 needs torch: the script builds each its own virtual environment under
``--venvs`` (default ~/.cache/jaxrl-bench) on first use (``torch==2.13.0``, the CPU build on
this machine). rejax is measured twice: with its default evaluation cadence (every 4096 steps),
as its users run it, and with evaluation off (one at the end), its best case.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

PPO = dict(num_envs=5, rollout_len=100, num_epochs=5, num_minibatches=5, hidden=(64, 64), activation="tanh")
HP = dict(learning_rate=7.5e-4, max_grad_norm=0.5, gamma=0.99, gae_lambda=0.95, clip_eps=0.2, vf_coef=0.5, ent_coef=0.01)

JAXRL_CHILD = """
import json, sys, time
start = time.perf_counter()
import jax, jaxrl
seeds, steps = int(sys.argv[1]), int(sys.argv[2])
config, hparams, algo, env = json.loads(sys.argv[3]), json.loads(sys.argv[4]), sys.argv[5], sys.argv[6]
if len(sys.argv) > 7:
    jaxrl.enable_compilation_cache(sys.argv[7])
t0 = time.perf_counter()
result = jaxrl.train(algo, env, seeds=seeds, steps=steps, config=config, hparams=hparams, progress=False)
wall = time.perf_counter() - t0
ret = float(jaxrl.evaluate(result, episodes=10).mean_return)
print(json.dumps(dict(wall=wall, train=result.train_seconds, compile=wall - result.train_seconds,
                      steps=int(result.env_steps[-1]) * seeds, final_return=ret, import_s=t0 - start)))
"""

REJAX_KWARGS = dict(env="CartPole-v1", num_envs=5, num_steps=100, num_epochs=5, num_minibatches=5,
                    learning_rate=7.5e-4, max_grad_norm=0.5, gamma=0.99, gae_lambda=0.95, clip_eps=0.2, vf_coef=0.5,
                    ent_coef=0.01, agent_kwargs=dict(activation="tanh", hidden_layer_sizes=(64, 64)))
SB3_KWARGS = dict(n_steps=100, batch_size=100, n_epochs=5, learning_rate=7.5e-4, max_grad_norm=0.5, gamma=0.99,
                  gae_lambda=0.95, clip_range=0.2, vf_coef=0.5, ent_coef=0.01,
                  policy_kwargs=dict(net_arch=[64, 64], activation_fn="Tanh"))

# One child program per library, shared by the bench scripts: argv = algorithm class, seeds, env
# steps per seed, keyword arguments as JSON, and rejax's evaluation flag or SB3's env and n_envs.
REJAX_CHILD = """
import json, sys, time
start = time.perf_counter()
import jax, numpy as np
import rejax
cls, seeds, steps, kwargs, evaluate = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), json.loads(sys.argv[4]), sys.argv[5] == "1"
t0 = time.perf_counter()
kwargs.update(total_timesteps=steps)
if not evaluate:
    kwargs.update(eval_freq=steps, skip_initial_evaluation=True)
algo = getattr(rejax, cls).create(**kwargs)
keys = jax.random.split(jax.random.PRNGKey(0), seeds)
compiled = jax.jit(jax.vmap(algo.train)).lower(keys).compile()
t1 = time.perf_counter()
ts, evaluation = compiled(keys)
jax.block_until_ready(ts)
t2 = time.perf_counter()
lengths, returns = evaluation
final = np.asarray(returns)[:, -1].reshape(seeds, -1)  # the last evaluation's episodes, per seed
print(json.dumps(dict(wall=t2 - t0, train=t2 - t1, compile=t1 - t0, steps=steps * seeds,
                      final_return=float(final.mean()), per_seed=final.mean(-1).tolist(), import_s=t0 - start)))
"""

SB3_CHILD = """
import json, sys, time
start = time.perf_counter()
import torch
from torch import nn
import stable_baselines3
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.evaluation import evaluate_policy
torch.set_num_threads(1)
cls, seeds, steps, kwargs, env_id, n_envs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), json.loads(sys.argv[4]), sys.argv[5], int(sys.argv[6])
kwargs["policy_kwargs"]["activation_fn"] = getattr(nn, kwargs["policy_kwargs"]["activation_fn"])
t0 = time.perf_counter()
returns = []
for seed in range(seeds):
    env = make_vec_env(env_id, n_envs=n_envs, seed=seed)
    model = getattr(stable_baselines3, cls)("MlpPolicy", env, device="cpu", seed=seed, verbose=0, **kwargs)
    model.learn(total_timesteps=steps)
    returns.append(evaluate_policy(model, model.get_env(), n_eval_episodes=10)[0])
wall = time.perf_counter() - t0
print(json.dumps(dict(wall=wall, train=wall, compile=0.0, steps=steps * seeds,
                      final_return=sum(returns) / len(returns), import_s=t0 - start)))
"""


def ensure_venv(path: Path, packages: list[str]) -> Path:
    python = path / "bin" / "python"
    marker = path / ".jaxrl-bench-ready"
    if not marker.exists():
        print(f"building {path} with {' '.join(packages)} (first use only)", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *packages], check=True)
        marker.write_text(" ".join(packages))
    return python


def run_child(python: str | Path, code: str, *args: str, extra_env: dict[str, str] | None = None,
              timeout: float = 3600) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XLA_FLAGS", "JAXRL_"))}
    env.update(extra_env or {})
    out = subprocess.run([str(python), "-c", textwrap.dedent(code), *map(str, args)],
                         capture_output=True, text=True, env=env, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"benchmark child failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def jaxrl_rows(algo: str, env: str, config: dict, hparams: dict, seed_counts: list[int], steps: int) -> list[tuple[str, int, dict]]:
    """jaxrl as its users run it (one CPU device per core, cold compile) for each seed count; for
    the largest, also on one CPU device (``JAXRL_CPU_DEVICES=1``) and with a warm persistent
    compilation cache (a second run of the same command, as ``jaxrl train`` reuses it)."""
    args = (steps, json.dumps(config), json.dumps(hparams), algo, env)
    rows = [("jaxrl", seeds, run_child(sys.executable, JAXRL_CHILD, seeds, *args)) for seeds in seed_counts]
    most = max(seed_counts)
    rows.append(("jaxrl, 1 CPU device", most, run_child(sys.executable, JAXRL_CHILD, most, *args, extra_env={"JAXRL_CPU_DEVICES": "1"})))
    with tempfile.TemporaryDirectory() as cache:
        run_child(sys.executable, JAXRL_CHILD, most, *args, cache)  # fills the cache
        rows.append(("jaxrl, warm cache", most, run_child(sys.executable, JAXRL_CHILD, most, *args, cache)))
    return rows


def print_table(title: str, rows: list[tuple[str, int, dict]]) -> None:
    """One line per measurement: (library, seeds, the child's JSON)."""
    print(f"\n{title}")
    print(f"{'library':22s} {'seeds':>5s} {'env steps/s':>12s} {'compile s':>10s} {'wall s':>8s} {'final return':>13s}")
    for name, seeds, r in rows:
        print(f"{name:22s} {seeds:5d} {r['steps'] / r['train']:12,.0f} {r['compile']:10.2f} {r['wall']:8.2f} {r['final_return']:13.1f}")


def print_ratios(rows: list[tuple[str, int, dict]], seed_counts: list[int], sb3_seeds: int, rejax_goal: float,
                 sb3_goal: float) -> None:
    """jaxrl's env steps/s over rejax's fastest row per seed count; SB3's wall clock (its per-seed
    time x seeds) over jaxrl's for the most seeds, compile included, cold and with a warm cache."""
    rate = lambda r: r["steps"] / r["train"]  # noqa: E731
    for seeds in seed_counts:
        ours = next(r for n, s, r in rows if n == "jaxrl" and s == seeds)
        best = max((r for n, s, r in rows if n.startswith("rejax") and s == seeds), key=rate, default=None)
        if best:
            print(f"jaxrl / best rejax env steps/s, {seeds} seed(s): {rate(ours) / rate(best):.2f}x (goal >= {rejax_goal:g}x)")
    sb3_row = next((r for n, s, r in rows if n == "Stable-Baselines3"), None)
    if sb3_row is None:
        return
    most = max(seed_counts)
    sb3_wall = sb3_row["wall"] / sb3_seeds * most
    for name in ("jaxrl", "jaxrl, warm cache"):
        ours = next((r for n, s, r in rows if n == name and s == most), None)
        if ours:
            print(f"wall clock for {most} seeds incl. compile: SB3 {sb3_wall:.1f} s vs {name} {ours['wall']:.1f} s: "
                  f"{sb3_wall / ours['wall']:.1f}x (goal >= {sb3_goal:g}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--sb3-seeds", type=int, default=16, help="SB3 trains its seeds one after another")
    parser.add_argument("--venvs", type=Path, default=Path.home() / ".cache" / "jaxrl-bench")
    parser.add_argument("--skip", nargs="*", default=[], choices=["rejax", "sb3"])
    args = parser.parse_args()

    rows = jaxrl_rows("ppo", "CartPole-v1", PPO, HP, args.seeds, args.steps)
    if "rejax" not in args.skip:
        rejax = ensure_venv(args.venvs / "rejax", ["rejax==0.1.3", "gymnax==0.0.9"])
        for seeds in args.seeds:
            for name, evaluate in (("rejax (default eval)", 1), ("rejax (eval off)", 0)):
                rows.append((name, seeds, run_child(rejax, REJAX_CHILD, "PPO", seeds, args.steps, json.dumps(REJAX_KWARGS), evaluate)))
    if "sb3" not in args.skip:
        sb3 = ensure_venv(args.venvs / "sb3", ["torch==2.13.0", "stable-baselines3", "gymnasium"])
        rows.append(("Stable-Baselines3", args.sb3_seeds, run_child(sb3, SB3_CHILD, "PPO", args.sb3_seeds, args.steps, json.dumps(SB3_KWARGS), "CartPole-v1", 5)))

    print_table(f"PPO CartPole-v1, {args.steps:,} env steps per seed, rejax hyperparameters", rows)
    print_ratios(rows, args.seeds, args.sb3_seeds, rejax_goal=1.5, sb3_goal=40)

if __name__ == "__main__":
    main()
