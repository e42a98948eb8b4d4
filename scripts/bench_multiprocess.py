"""The cost of a multi-process job on one machine: the same `jaxrl train` command as one process
and as several local processes on jax.distributed, side by side, with their wall clock and the
phases process 0's `timings.json` records (compile, train, evaluate...).

    python scripts/bench_multiprocess.py                          # PPO CartPole, 16 seeds, 20 chunks
    python scripts/bench_multiprocess.py --args "train q_learning --env FrozenLake-v1 --seeds 8 --steps 200000"

The layouts (LAYOUTS) all share this machine's cores: 1 process x 2 devices (jaxrl's default on
2 cores), 1 x 4, 2 x 1 and 2 x 2. A multi-process row adds what crossing
processes costs: starting the coordination service, gathering each chunk's metrics and state to
every process, and every process evaluating. Run it alone (timings on a shared machine vary).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jaxrl.stats import format_table

DEFAULT_ARGS = "train ppo --env CartPole-v1 --seeds 16 --steps 204800 --until none --chunks 20 --eval-episodes 100 --quiet"
LAYOUTS = [(1, 2), (1, 4), (2, 1), (2, 2)]  # (processes, CPU devices per process)
PHASES = ("setup", "compile", "train", "evaluate", "write")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def run_layout(args: list[str], processes: int, devices: int, out: Path) -> dict[str, float]:
    """Wall clock and process 0's timings of ``jaxrl ARGS`` over ``processes`` x ``devices``."""
    environ = {**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}", "JAXRL_COMPILE_CACHE": "0"}
    port = _free_port()
    job = ["--coordinator", f"localhost:{port}", "--num-processes", str(processes)] if processes > 1 else []
    start = time.perf_counter()
    running = [subprocess.Popen([sys.executable, "-m", "jaxrl.cli", *args, "--out", str(out), *job,
                                 *(["--process-id", str(i)] if processes > 1 else [])],
                                env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
               for i in range(processes)]
    errors = [p.communicate()[1] for p in running]
    wall = time.perf_counter() - start
    if any(p.returncode for p in running):
        raise SystemExit(f"{processes} x {devices} failed:\n" + "\n".join(e[-2000:] for e in errors))
    timings = json.loads((out / "timings.json").read_text())
    returns = json.loads((out / "eval.json").read_text())
    return {"wall": wall, **{k: timings.get(k, 0.0) for k in PHASES}, "iqm": returns["iqm_return"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--args", default=DEFAULT_ARGS, help="the jaxrl command line (without --out)")
    options = parser.parse_args()
    args = shlex.split(options.args)
    rows = [["processes x devices", "wall s", *(f"{p} s" for p in PHASES), "greedy IQM"]]
    with tempfile.TemporaryDirectory() as tmp:
        for processes, devices in LAYOUTS:
            got = run_layout(args, processes, devices, Path(tmp) / f"{processes}x{devices}")
            rows.append([f"{processes} x {devices}", f"{got['wall']:.1f}", *(f"{got[p]:.1f}" for p in PHASES),
                         f"{got['iqm']:.1f}"])
            print(format_table(rows), flush=True)
    print(f"\ncommand: jaxrl {options.args}")


if __name__ == "__main__":
    main()
