"""The zoo: train every shipped preset with its own budget (the documented default command,
``jaxrl.train(ALGO, ENV, seeds=N)``), score each seed's greedy policy in jaxrl and in Gymnasium's
own env where Gymnasium has it, and report mean and IQM with a 95% bootstrap CI.

    python scripts/zoo.py --only dqn/CartPole-v1 --seeds 8            # print the rows
    python scripts/zoo.py --only dqn/CartPole-v1 --seeds 8 --write    # also record them in the
                                                                      # preset's provenance and docs/ZOO.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

import numpy as np

import jaxrl
from jaxrl import presets
from jaxrl.stats import bootstrap_ci

GYMNASIUM_IDS = {"CartPole-v1", "Acrobot-v1", "MountainCar-v0", "Pendulum-v1", "MountainCarContinuous-v0",
                 "FrozenLake-v1", "FrozenLake8x8-v1", "Taxi-v3", "CliffWalking-v0"}
ZOO_FILE = Path(__file__).resolve().parent.parent / "docs" / "ZOO.md"


def gymnasium_returns(result: jaxrl.TrainResult, env_id: str, episodes: int) -> np.ndarray | None:
    """Each seed's mean return over ``episodes`` episodes of Gymnasium's own ``env_id``."""
    if env_id not in GYMNASIUM_IDS:
        return None
    import gymnasium as gym

    per_seed = []
    for seed in range(result.run_shape[-1]):
        policy, env, total = result.policy(seed=seed), gym.make(env_id), 0.0
        for episode in range(episodes):
            obs, _ = env.reset(seed=10_000 * seed + episode)
            done = False
            while not done:
                obs, reward, terminated, truncated, _ = env.step(policy(obs))
                total += float(reward)
                done = terminated or truncated
        per_seed.append(total / episodes)
    return np.array(per_seed)


def measure(preset: presets.Preset, seeds: int, episodes: int) -> dict:
    """Train the preset's pair with the default command and score it; the measured fields."""
    start = time.perf_counter()
    result = jaxrl.train(preset.algo, preset.env, seeds=seeds, progress=False)
    jaxrl_returns = jaxrl.evaluate(result, episodes=100).per_run()["return"]
    gym_returns = gymnasium_returns(result, preset.env, episodes)
    iqm, low, high = bootstrap_ci(jaxrl_returns)
    measured = {"seeds": seeds, "steps": int(result.env_steps[-1]), "mean": float(np.mean(jaxrl_returns)), "iqm": iqm,
                "iqm_ci95": [low, high], "per_seed": [round(float(r), 4) for r in jaxrl_returns],
                "wall_seconds": round(time.perf_counter() - start, 1),
                "command": f"python scripts/zoo.py --only {preset.name} --seeds {seeds} --write",
                "date": dt.date.today().isoformat()}
    if gym_returns is not None:
        g_iqm, g_low, g_high = bootstrap_ci(gym_returns)
        measured["gymnasium"] = {"episodes_per_seed": episodes, "mean": float(np.mean(gym_returns)), "iqm": g_iqm,
                                 "iqm_ci95": [g_low, g_high]}
    return measured


def row(preset: presets.Preset) -> str:
    m, threshold = preset.provenance.get("measured"), preset.provenance.get("threshold")
    if not m:
        return f"| {preset.name} | {preset.steps:,} | not measured yet | | | {threshold} | |"
    g = m.get("gymnasium")
    gym_text = f"{g['iqm']:.4g} [{g['iqm_ci95'][0]:.4g}, {g['iqm_ci95'][1]:.4g}] (mean {g['mean']:.4g})" if g else "n/a"
    met = "yes" if threshold is not None and m["mean"] >= threshold and (g is None or g["mean"] >= threshold) else "no"
    return (f"| {preset.name} | {m['steps']:,} x {m['seeds']} seeds | {m['iqm']:.4g} [{m['iqm_ci95'][0]:.4g}, "
            f"{m['iqm_ci95'][1]:.4g}] (mean {m['mean']:.4g}) | {gym_text} | {m['wall_seconds']} s | {threshold} | {met} |")


def write_zoo() -> None:
    """docs/ZOO.md from every preset's recorded measurement."""
    rows = [row(p) for p in presets.all_presets().values()]
    met = sum(r.endswith("| yes |") for r in rows)
    ZOO_FILE.write_text(
        "# The zoo: what the default command reaches\n\n"
        "Each row trains `jaxrl.train(ALGO, ENV, seeds=N)` with the pair's shipped preset "
        "(`jaxrl/presets/ALGO.json`) and its budget, then scores every seed's greedy policy: 100 episodes "
        "in jaxrl, and in Gymnasium's own env where Gymnasium has it. Returns are per-seed means; IQM with "
        "a 95% percentile bootstrap CI over seeds (`jaxrl/stats.py`). A threshold is met when both means reach it. "
        "Regenerate a row with the command in the preset's provenance.\n\n"
        f"{met} of {len(rows)} rows meet their threshold.\n\n"
        "| preset | steps x seeds | jaxrl return: IQM [95% CI] | Gymnasium return: IQM [95% CI] | wall time | threshold | met |\n"
        "|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n")


def record(preset: presets.Preset, measured: dict) -> None:
    """Store ``measured`` in the preset's provenance, in its JSON file."""
    data = json.loads(preset.file.read_text())
    data[preset.env]["provenance"]["measured"] = measured
    preset.file.write_text(json.dumps(data, indent=2) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", help="preset names (ALGO/ENV); default: all")
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--gym-episodes", type=int, default=20, help="Gymnasium episodes per seed")
    parser.add_argument("--write", action="store_true", help="record the results in the presets and docs/ZOO.md")
    args = parser.parse_args()
    chosen = [presets.get(name) for name in args.only] if args.only else list(presets.all_presets().values())
    for preset in chosen:
        measured = measure(preset, args.seeds, args.gym_episodes)
        print(json.dumps({preset.name: measured}), flush=True)
        if args.write:
            record(preset, measured)
    if args.write:
        presets.all_presets.cache_clear()
        write_zoo()
        print(f"wrote {ZOO_FILE}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
