"""scripts/time_to_solve.py end to end on a tiny budget: a fresh `jaxrl train` process, its
timings.json read back, and the table."""

import importlib.util
import os
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "time_to_solve.py"


def _script():
    spec = importlib.util.spec_from_file_location("time_to_solve", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_one_row_cold_with_its_phases(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))  # the venv's jaxrl
    script = _script()
    result = script.run_once("q_learning/FrozenLake-v1", seeds=2, until=True, extra=["--steps", "4000", "--eval-episodes", "10"],
                             cache=tmp_path / "cache", workdir=tmp_path)
    result["cache"] = "cold"
    assert set(result["timings"]) >= {"import", "resolve", "setup", "compile", "train", "evaluate", "write"}
    assert 0 < sum(result["timings"].values()) <= result["wall"]
    assert result["steps_per_seed"] <= 4000 and len(result["per_seed"]) == 2
    assert "--until 0.7" in result["command"] and "--out" not in result["command"]
    table = script.table([result])
    assert "q_learning/FrozenLake-v1" in table and "cold" in table and "(mean >= 0.7)" in table
