"""Reproduce an intermittent hang found in session 19: TD3 (twin critics, 256x256) on
gymnasium:HalfCheetah-v5 sometimes never finishes its compiled init program. Each attempt is a
fresh process that stops right after the init (normally about 2 s); an attempt still in the init
after ``--timeout`` seconds counts as hung (6 of 19 launches here). gdb on a hung process: both
threads of XLA's 2-thread intra-op pool sit in jaxlib's LAPACK QR kernel (``lapack_sgeqrf_ffi``,
the orthogonal initialiser), each in ``ParallelBatchMap`` waiting for batch subtasks queued on the
same pool: the critic ensemble's ``nn.vmap`` makes its QRs batched, and two of them at once leave
no thread for the subtasks. The env is not involved (the bridge's callback never ran). Fixed the
same session (``jaxrl.core.networks.orthogonal`` never batches its QR: 0 of 10 hung after); kept as
the regression check.

    python scripts/repro_bridge_init_hang.py [--attempts 8] [--timeout 30]
"""

from __future__ import annotations

import argparse
import subprocess
import sys

ATTEMPT = """
import importlib, time, jaxrl
engine = importlib.import_module("jaxrl.train")
initial_states, start = engine._initial_states, time.time()
def stop_after_init(*args, **kwargs):
    initial_states(*args, **kwargs)
    print(f"init done in {time.time() - start:.1f} s", flush=True)
    raise SystemExit(0)
engine._initial_states = stop_after_init
jaxrl.train("td3", "gymnasium:HalfCheetah-v5", seeds=1, steps=200_000,
            config={"hidden": [256, 256], "buffer_capacity": 200_000, "batch_size": 256, "learning_starts": 25_000},
            hparams={"learning_rate": 3e-4, "actor_learning_rate": 3e-4}, progress=True, log_interval=10_000, until=None)
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--attempts", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args()
    hung = 0
    for attempt in range(1, args.attempts + 1):
        try:
            done = subprocess.run([sys.executable, "-c", ATTEMPT], capture_output=True, text=True, timeout=args.timeout)
            line = [x for x in done.stdout.splitlines() if x.startswith("init done")]
            print(f"attempt {attempt}: {line[0] if line else 'exited ' + str(done.returncode)}", flush=True)
        except subprocess.TimeoutExpired:
            hung += 1
            print(f"attempt {attempt}: HUNG (still in the init after {args.timeout:g} s)", flush=True)
    print(f"{hung} of {args.attempts} attempts hung")
    return 1 if hung else 0


if __name__ == "__main__":
    sys.exit(main())
