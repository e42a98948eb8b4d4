"""scripts/bench_gpu.py end to end on CPU with tiny budgets: every row trains, evaluates and
lands in the table and the JSON."""

import json
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "bench_gpu.py"


def test_every_row_runs_on_a_tiny_budget(tmp_path):
    out = tmp_path / "results.json"
    environ = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"),
               "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    done = subprocess.run([sys.executable, str(SCRIPT), "--scale", "0.0005", "--max-seeds", "2", "--eval-episodes", "1",
                           "--json", str(out)], env=environ, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    results = json.loads(out.read_text())
    assert [r["row"] for r in results] == ["ppo-cartpole-2048", "ppo-breakout-minatar", "pqn-breakout-minatar",
                                           "dqn-cartpole-16", "dqn-cartpole-256", "sac-pendulum-16"]
    for r in results:
        assert r["seeds"] <= 2 and r["steps_per_seed"] > 0 and r["train_s"] > 0 and r["compile_s"] > 0, r
        assert r["env_steps_per_s"] > 0 and r["greedy_return"] == r["greedy_return"], r  # finite, not NaN
    assert "| ppo-cartpole-2048 | 2 |" in done.stdout and "device: " in done.stdout


def test_bad_scale_is_refused():
    done = subprocess.run([sys.executable, str(SCRIPT), "--scale", "2"], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)})
    assert done.returncode == 2 and "--scale must be in (0, 1]" in done.stderr
