"""Run directories' files: what ``jaxrl.runs`` writes for ``jaxrl train`` and reads back for ``jaxrl eval``.

    RUN_DIR/config.json     algorithm, env, env kwargs, static config, hyperparameters, seeds
    RUN_DIR/metrics.jsonl   one line per logged point: env_steps and each metric per run
    RUN_DIR/metrics.csv     the same, one row per (logged point, run): env_steps, setting, seed, metrics
    RUN_DIR/tensorboard/    TensorBoard events per seed and aggregated (with tensorboardX installed)
    RUN_DIR/checkpoint.msgpack  the full training state after the latest chunk (for --resume)
    RUN_DIR/params.msgpack  final parameters of every run (flax serialization), written atomically
    RUN_DIR/eval.json       the final evaluation summary
    RUN_DIR/learning_curve.png  mean return over seeds with a 95% CI band (sweeps: sweep_curves.png too)
    RUN_DIR/.lock           holds the PID of the process writing the run, locked (flock) while it runs

A run directory is never overwritten: an existing, non-empty one is refused before anything runs.
One process writes a run at a time: a second writer (train, sweep or --resume) is refused.
"""

from __future__ import annotations

import fcntl
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
from jaxrl.io.files import append_synced, atomic_write_bytes, atomic_write_json, to_jsonable, unreadable, write_error

CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.jsonl"
METRICS_CSV_FILE = "metrics.csv"
PARAMS_FILE = "params.msgpack"
EVAL_FILE = "eval.json"
LOCK_FILE = ".lock"
_CONFIG_KEYS = {"algo": str, "env": str, "config": dict, "hparams": list, "seeds": int}


class WriterLock:
    """An exclusive ``flock`` on RUN_DIR/.lock, held by the one process writing the run; the OS drops
    it when that process exits, however it exits (kill -9 included). Use as a context manager."""

    def __init__(self, path: Path):
        file = Path(path) / LOCK_FILE
        try:
            self._fd = os.open(file, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as error:
            raise write_error(file, error) from None
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(self._fd, 32, 0).decode(errors="replace").strip() or "unknown"
            self.release()
            raise ConfigError(f"run directory {path} is being written by another process (PID {holder}); "
                              "wait for it to finish or stop it, then run the command again") from None
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, f"{os.getpid()}\n".encode(), 0)

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # closing the file drops the lock
            self._fd = -1

    def __enter__(self) -> "WriterLock":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()


def _refuse_files(path: Path, allowed: tuple[str, ...] = ()) -> None:
    if path.exists() and (not path.is_dir() or any(p.name not in allowed for p in path.iterdir())):
        raise ConfigError(f"run directory {path} already exists and is not empty; choose another --out or remove it")


def create_run_dir(path: Path, run_config: dict[str, Any]) -> WriterLock:
    """Make a fresh run directory holding ``run_config`` as config.json, locked for this process;
    refuse one that already holds files (checked again under the lock, against a racing writer)."""
    _refuse_files(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise write_error(path, error) from None
    lock = WriterLock(path)
    try:
        _refuse_files(path, allowed=(LOCK_FILE,))
        atomic_write_json(path / CONFIG_FILE, run_config)
    except BaseException:
        lock.release()
        raise
    return lock


def read_config(path: str | Path) -> dict[str, Any]:
    """config.json, with its keys' types checked; a clear error for a missing or damaged file."""
    config_path = Path(path) / CONFIG_FILE
    if not config_path.exists():
        raise ConfigError(f"{path} is not a jaxrl run directory (no {CONFIG_FILE})")
    try:
        config = json.loads(config_path.read_text())
        wrong = [k for k, kind in _CONFIG_KEYS.items() if not isinstance(config.get(k), kind)]
        if wrong:
            raise ValueError(f"{', '.join(wrong)} missing or of the wrong type")
    except (ValueError, AttributeError) as error:
        raise unreadable(config_path, error, "restore it from a copy (the run cannot be read without it)") from None
    return config


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
    append_synced(path, "".join(line + "\n" for line in lines).encode())


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
    file = Path(path) / METRICS_FILE
    try:
        return [json.loads(line) for line in file.read_text().splitlines() if line.strip()]
    except ValueError as error:
        raise unreadable(file, error, "resume the run with --resume RUN_DIR to rewrite it from the checkpoint") from None


def save_params(path: Path, params: Any) -> None:
    atomic_write_bytes(Path(path) / PARAMS_FILE, serialization.to_bytes(jax.device_get(params)))


def _leaf_shapes(tree: Any) -> dict[str, tuple[tuple[int, ...], str]]:
    """Each leaf's (shape, dtype) by its path in a state dict."""
    return {jax.tree_util.keystr(p): (tuple(np.shape(x)), np.dtype(x.dtype).name)
            for p, x in jax.tree_util.tree_flatten_with_path(tree)[0]}


def _params_mismatch(raw: Any, target: Any, shape: tuple[int, ...]) -> str:
    """How ``raw`` differs from ``target``'s leaves with leading axes ``shape`` ('' when it does not)."""
    saved = _leaf_shapes(raw)
    expected = {p: (shape + s, d) for p, (s, d) in _leaf_shapes(serialization.to_state_dict(target)).items()}
    if saved.keys() != expected.keys():
        return f"parameters {sorted(saved)} where this run's config has {sorted(expected)}"
    return "; ".join(f"{p} is {saved[p][1]}{list(saved[p][0])}, the config needs {expected[p][1]}{list(expected[p][0])}"
                     for p in expected if saved[p] != expected[p])


def read_params(path: str | Path, target: Any, shape: tuple[int, ...]) -> Any:
    """Every run's final parameters from params.msgpack: ``target``'s structure (abstract leaves)
    with leading axes ``shape``, checked leaf by leaf before anything is built from them."""
    file = Path(path) / PARAMS_FILE
    if not file.exists():
        raise ConfigError(f"run {path} has no {PARAMS_FILE}: it did not finish training")
    try:
        raw = serialization.msgpack_restore(file.read_bytes())
        mismatch = _params_mismatch(raw, target, shape)
    except Exception as error:  # msgpack raises several kinds on a damaged file
        raise unreadable(file, error, "train the run again (or --resume it after deleting the file)") from None
    if mismatch:
        raise ConfigError(f"{file} does not belong to this run's config.json ({mismatch}); it was written by another "
                          "algorithm or config: put the run's own params.msgpack back, or train it again")
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


def reopen(path: Path, seeds: int) -> checkpoint.Checkpoint:
    """The checkpoint to resume ``path`` from, with the metrics files cut back to exactly what it
    holds, so points a killed run logged after it are trained again rather than repeated. A finished
    run, or one without a checkpoint, is refused."""
    if (path / PARAMS_FILE).exists():
        raise ConfigError(f"run {path} has finished ({PARAMS_FILE} is written): there is nothing to resume. "
                          f"`jaxrl eval {path}` evaluates it; to train longer, start a new run with --out")
    previous = checkpoint.load(path)
    if previous is None:
        raise ConfigError(f"cannot resume {path}: it has no {checkpoint.CHECKPOINT_FILE} (it stopped before its first "
                          "chunk ended). Start it again with --out NEW_DIR (or remove the directory and reuse its name)")
    rewrite_metrics(path, previous.env_steps, previous.metrics, seeds)
    return previous
