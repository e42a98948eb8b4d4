"""Time to a solved task: the wall clock of `jaxrl train` from pressing enter to the final table,
cold (an empty compilation cache) and warm (the same command again), and where the time went.

    python scripts/time_to_solve.py                       # every row, cold then warm
    python scripts/time_to_solve.py --only ppo/CartPole-v1 --until
    python scripts/time_to_solve.py --only ppo/CartPole-v1 --extra "--set num_envs=16"

Each row runs the documented command (`jaxrl train ALGO --env ENV --seeds 16`, the pair's preset
and nothing else; ``--until`` adds the env's solved mark as a stopping rule) in a fresh process, as
a user would, and reads back the run's `timings.json` (import, resolve, setup, compile, train,
stop checks, evaluate, write) and `eval.json` (each seed's greedy return over 100 episodes).
"other" is the wall clock the phases do not cover (argument parsing, interpreter exit). Run it
alone: a second job on the machine halves every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jaxrl.stats import format_table

# (algo, env, env args, solved mark, "every" seed must reach it or the "mean" over seeds)
ROWS = {
    "ppo/CartPole-v1": ("ppo", "CartPole-v1", [], 475.0, "every"),
    "pqn/CartPole-v1": ("pqn", "CartPole-v1", [], 475.0, "every"),
    "ppo/Acrobot-v1": ("ppo", "Acrobot-v1", [], -100.0, "every"),
    # FrozenLake's best policy succeeds about 74% of the time, so one seed's 100-episode rate falls
    # below 0.70 by chance one time in five: its mark (Gymnasium's reward_threshold) is the mean.
    "q_learning/FrozenLake-v1": ("q_learning", "FrozenLake-v1", [], 0.70, "mean"),
}
PHASES = ("import", "resolve", "setup", "compile", "train", "stop_checks", "evaluate", "write")


def run_once(row: str, seeds: int, until: bool, extra: list[str], cache: Path, workdir: Path) -> dict:
    """One command in a fresh process; its wall clock, phases and outcome."""
    algo, env, env_args, mark, rule = ROWS[row]
    out = workdir / f"run-{time.time_ns()}"
    command = ["jaxrl", "train", algo, "--env", env, "--seeds", str(seeds), *env_args, "--out", str(out), "--quiet", *extra]
    if until:
        command += ["--until", str(mark)]
    environ = {**os.environ, "XDG_CACHE_HOME": str(cache)}  # the compilation cache lives under it
    start = time.perf_counter()
    done = subprocess.run(command, env=environ, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{shlex.join(command)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    timings_file = out / "timings.json"
    if timings_file.exists():
        timings = json.loads(timings_file.read_text())
    else:  # a jaxrl from before timings.json: the compile and train figures its summary line prints
        found = re.search(r"compiled in ([\d.]+) s, trained in ([\d.]+) s", done.stdout)
        timings = {"compile": float(found[1]), "train": float(found[2])} if found else {}
    evaluation = json.loads((out / "eval.json").read_text())
    config = json.loads((out / "config.json").read_text())
    per_seed = evaluation["per_seed_return"]
    steps = json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])["env_steps"]
    solved = min(per_seed) >= mark if rule == "every" else sum(per_seed) / len(per_seed) >= mark
    return {"row": row, "command": shlex.join(command[:command.index("--out")] + command[command.index("--quiet") + 1:]),
            "wall": wall, "timings": timings, "per_seed": per_seed, "steps_per_seed": steps,
            "steps_asked": config["steps"], "solved": solved, "rule": rule, "mark": mark}


def table(results: list[dict]) -> str:
    header = ["row", "cache", "wall s", *PHASES, "other", "steps/seed", "min seed", "mean", "solved"]
    lines = [header]
    for r in results:
        t = r["timings"]
        other = r["wall"] - sum(t.get(k, 0.0) for k in PHASES)
        mean = sum(r["per_seed"]) / len(r["per_seed"])
        lines.append([r["row"], r["cache"], f"{r['wall']:.1f}", *(f"{t.get(k, 0.0):.1f}" for k in PHASES), f"{other:.1f}",
                      f"{r['steps_per_seed']:,}", f"{min(r['per_seed']):.3g}", f"{mean:.3g}",
                      ("yes" if r["solved"] else "NO") + f" ({r['rule']} >= {r['mark']:g})"])
    return format_table(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", choices=sorted(ROWS), help="rows to run (default: all)")
    parser.add_argument("--seeds", type=int, default=16)
    parser.add_argument("--until", action="store_true", help="add --until MARK (the stopping rule) to each command")
    parser.add_argument("--extra", default="", help="more `jaxrl train` arguments, e.g. \"--set num_envs=16\"")
    parser.add_argument("--warm-runs", type=int, default=1, help="warm repeats after the cold run (default 1)")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="jaxrl-tts-") as tmp:
        for row in args.only or list(ROWS):
            cache = Path(tmp) / f"cache-{row.replace('/', '-')}"  # empty: the first run compiles cold
            for attempt in range(1 + args.warm_runs):
                result = run_once(row, args.seeds, args.until, shlex.split(args.extra), cache, Path(tmp))
                result["cache"] = "cold" if attempt == 0 else "warm"
                results.append(result)
                print(f"{row} {result['cache']}: {result['wall']:.1f} s  ({result['command']})", file=sys.stderr, flush=True)
    print(table(results))


if __name__ == "__main__":
    main()
