"""Did a change move a preset's speed? Train one seed (or ``--seeds N`` side by side) of each preset's settings in two trees, in
turn (before, after, before, after, ...), each run a fresh process, and print env steps/s (compile
excluded; of all seeds together) and the final logged return, which must agree where the change keeps results.

    git worktree add /tmp/before <commit>
    python scripts/preset_speed_ab.py --before /tmp/before --presets dqn/CartPole-v1 c51/CartPole-v1 \\
        --steps 50000 --repeats 2

Both trees run with this interpreter (they share a venv); ``--after`` defaults to this checkout.
Run it with nothing else timing on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ONE_RUN = """
import json, sys
import jaxrl, jaxrl.presets
preset = jaxrl.presets.get(sys.argv[1])
result = jaxrl.train(preset.algo, preset.env, env_kwargs=preset.env_kwargs, seeds=int(sys.argv[3]), steps=int(sys.argv[2]),
                     config=preset.config, hparams=preset.hparams, preset=None, progress=False, until=None)
returns = result.metrics["episode_return"][:, -1]
print(json.dumps({"steps_per_s": float(result.env_steps[-1]) * int(sys.argv[3]) / result.train_seconds,
                  "compile_s": result.compile_seconds, "final_return": float(returns.mean())}))
"""


def one_run(tree: Path, preset: str, steps: int, seeds: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run([sys.executable, "-c", ONE_RUN, preset, str(steps), str(seeds)], cwd=tree, env=env,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, required=True, help="the tree before the change")
    parser.add_argument("--after", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument("--presets", nargs="+", required=True, help="preset names, ALGO/LABEL")
    parser.add_argument("--steps", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=1, help="seeds trained side by side in each run")
    args = parser.parse_args()
    print("| preset | before env steps/s | after env steps/s | after / before | final return before, after |")
    print("|---|---:|---:|---:|---|")
    for preset in args.presets:
        runs = {"before": [], "after": []}
        for _ in range(args.repeats):
            for side in ("before", "after"):
                runs[side].append(one_run(getattr(args, side), preset, args.steps, args.seeds))
        rates = {side: [r["steps_per_s"] for r in runs[side]] for side in runs}
        ratio = sum(rates["after"]) / sum(rates["before"])
        returns = {side: {round(r["final_return"], 4) for r in runs[side]} for side in runs}
        print(f"| {preset} | {' / '.join(f'{x:,.0f}' for x in rates['before'])} | "
              f"{' / '.join(f'{x:,.0f}' for x in rates['after'])} | {ratio:.2f}x | "
              f"{sorted(returns['before'])}, {sorted(returns['after'])} |", flush=True)


if __name__ == "__main__":
    main()
