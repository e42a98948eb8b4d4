"""Run directories' files: what ``jaxrl.runs`` writes for ``jaxrl train`` and reads back for ``jaxrl eval``.

    RUN_DIR/config.json     algorithm, env, env kwargs, static config, hyperparameters, seeds
    RUN_DIR/metrics.jsonl   one line per logged point: env_steps and each metric per run
    RUN_DIR/metrics.csv     the same, one row per (logged point, run): env_steps, setting, seed, metrics
    RUN_DIR/tensorboard/    TensorBoard events per seed and aggregated (with tensorboardX installed)
    RUN_DIR/checkpoint.msgpack  the full training state after the latest chunk (for --resume)
    RUN_DIR/params.msgpack  final parameters of every run (flax serialization), written atomically
    RUN_DIR/eval.json       the final evaluation summary
    RUN_DIR/learning_curve.png  mean return over seeds with a 95% CI band (sweeps: sweep_curves.png too)

A run directory is never overwritten: an existing, non-empty one is refused before anything runs.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import serialization

from jaxrl.errors import ConfigError
from jaxrl.io import checkpoint
from jaxrl.io.files import atomic_write_bytes, atomic_write_json, to_jsonable

CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.jsonl"
METRICS_CSV_FILE = "metrics.csv"
PARAMS_FILE = "params.msgpack"
EVAL_FILE = "eval.json"


def create_run_dir(path: str | Path, run_config: dict[str, Any]) -> Path:
    """Make a fresh run directory holding ``run_config`` as config.json; refuse one that already holds files."""
    path = Path(path)
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise ConfigError(f"run directory {path} already exists and is not empty; choose another --out or remove it")
    path.mkdir(parents=True, exist_ok=True)
    atomic_write_json(path / CONFIG_FILE, run_config)
    return path


def read_config(path: str | Path) -> dict[str, Any]:
    config_path = Path(path) / CONFIG_FILE
    if not config_path.exists():
        raise ConfigError(f"{path} is not a jaxrl run directory (no {CONFIG_FILE})")
    return json.loads(config_path.read_text())


def run_shape(config: dict[str, Any]) -> tuple[int, ...]:
    """The runs' leading axes from config.json: ``(seeds,)``, or ``(settings, seeds)`` for a list of settings."""
    seeds = int(config["seeds"])
    return (len(config["hparams"]), seeds) if config.get("batched_settings") else (seeds,)


def varied(settings: list[dict[str, float]]) -> list[str]:
    """The hyperparameters whose values differ between settings."""
    return [k for k in settings[0] if len({s[k] for s in settings}) > 1]


def _run_labels(num_runs: int, seeds: int) -> list[tuple[int, int]]:
    """(setting, seed) of each flat run index; runs are setting-major."""
    return [(r // seeds, r % seeds) for r in range(num_runs)]


def _csv_cell(value: Any) -> str:
    value = to_jsonable(value)
    return "" if value is None else str(value)


def metrics_jsonl_lines(env_steps: np.ndarray, metrics: dict[str, np.ndarray]) -> list[str]:
    """One JSON line per logged point: env_steps and each metric as a list over runs."""
    lines = []
    for t, steps in enumerate(env_steps):
        record = {"env_steps": int(steps)}
        record.update({k: to_jsonable(v[:, t]) for k, v in metrics.items()})
        lines.append(json.dumps(record))
    return lines


def metrics_csv_lines(env_steps: np.ndarray, metrics: dict[str, np.ndarray], seeds: int) -> list[str]:
    """Tidy CSV rows: one per (logged point, run), columns env_steps, setting, seed, metrics."""
    names = list(metrics)
    labels = _run_labels(next(iter(metrics.values())).shape[0], seeds)
    rows = []
    for t, steps in enumerate(env_steps):
        for r, (setting, seed) in enumerate(labels):
            rows.append(",".join([str(int(steps)), str(setting), str(seed)] + [_csv_cell(metrics[k][r, t]) for k in names]))
    return rows


def csv_header(metrics: dict[str, np.ndarray]) -> str:
    return ",".join(["env_steps", "setting", "seed"] + list(metrics))


def _append_synced(path: Path, lines: list[str]) -> None:
    with open(path, "a") as f:
        f.write("".join(line + "\n" for line in lines))
        f.flush()
        os.fsync(f.fileno())


class MetricsWriter:
    """A train callback appending each logged point to metrics.jsonl and metrics.csv, synced per chunk."""

    def __init__(self, path: Path, seeds: int = 1):
        self.path = Path(path) / METRICS_FILE
        self.csv_path = Path(path) / METRICS_CSV_FILE
        self.seeds = seeds

    def __call__(self, report: Any) -> None:
        _append_synced(self.path, metrics_jsonl_lines(report.env_steps, report.metrics))
        header = [] if self.csv_path.exists() and self.csv_path.stat().st_size else [csv_header(report.metrics)]
        _append_synced(self.csv_path, header + metrics_csv_lines(report.env_steps, report.metrics, self.seeds))


def rewrite_metrics(path: Path, env_steps: np.ndarray, metrics: dict[str, np.ndarray], seeds: int) -> None:
    """Replace metrics.jsonl and metrics.csv with exactly these points (what a checkpoint holds)."""
    jsonl = metrics_jsonl_lines(env_steps, metrics) if len(env_steps) else []
    atomic_write_bytes(Path(path) / METRICS_FILE, "".join(line + "\n" for line in jsonl).encode())
    csv = [csv_header(metrics)] + metrics_csv_lines(env_steps, metrics, seeds) if len(env_steps) else []
    atomic_write_bytes(Path(path) / METRICS_CSV_FILE, "".join(line + "\n" for line in csv).encode())


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    with open(Path(path) / METRICS_FILE) as f:
        return [json.loads(line) for line in f if line.strip()]


def save_params(path: Path, params: Any) -> None:
    atomic_write_bytes(Path(path) / PARAMS_FILE, serialization.to_bytes(jax.device_get(params)))


def read_params(path: str | Path, target: Any) -> Any:
    """Every run's final parameters from params.msgpack, in ``target``'s structure (leading axes as saved)."""
    path = Path(path)
    if not (path / PARAMS_FILE).exists():
        raise ConfigError(f"run {path} has no {PARAMS_FILE}: it did not finish training")
    raw = serialization.msgpack_restore((path / PARAMS_FILE).read_bytes())
    return jax.tree.map(jnp.asarray, serialization.from_state_dict(target, raw))


def write_eval(path: Path, episodes: int, summary: dict[str, Any], per_run: dict[str, np.ndarray]) -> None:
    """eval.json: the evaluation summary and each run's means over its episodes."""
    atomic_write_json(path / EVAL_FILE, {"episodes_per_seed": episodes, **summary,
                                         **{f"per_seed_{k}": v for k, v in per_run.items()}})


# Keys of config.json that are not part of the run's definition.
_INFORMATIONAL_KEYS = ("jaxrl_version", "steps_trained")  # derived or informational, not compared on resume


def check_same_run(path: Path, saved: dict[str, Any], given: dict[str, Any]) -> None:
    """Refuse to resume ``path`` unless its saved definition equals the given one, naming each difference."""
    saved = {k: v for k, v in saved.items() if k not in _INFORMATIONAL_KEYS}
    given = {k: v for k, v in given.items() if k not in _INFORMATIONAL_KEYS}
    differing = sorted(k for k in set(saved) | set(given) if saved.get(k, "<missing>") != given.get(k, "<missing>"))
    if differing:
        details = "; ".join(f"{k}: saved {saved.get(k, '<missing>')!r}, given {given.get(k, '<missing>')!r}" for k in differing)
        raise ConfigError(f"cannot resume {path}: its config.json differs from this command ({details}). "
                          "Repeat the original command's arguments with --resume, or drop --resume to start a new run")


def reopen(path: Path, seeds: int) -> checkpoint.Checkpoint | None:
    """The checkpoint to resume ``path`` from (None: start from scratch), with the metrics files cut
    back to exactly what it holds, so points a killed run logged after it are trained again rather
    than repeated."""
    previous = checkpoint.load(path)
    if previous is None:
        rewrite_metrics(path, np.zeros(0), {}, seeds)
    else:
        rewrite_metrics(path, previous.env_steps, previous.metrics, seeds)
    return previous
