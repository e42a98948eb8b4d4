"""Run directories: what ``jaxrl train`` writes and ``jaxrl eval`` reads back.

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

import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import serialization

from jaxrl import agents as agents_lib
from jaxrl.core.agent import Agent
from jaxrl.errors import ConfigError
from jaxrl.io.files import atomic_write_bytes, atomic_write_json, to_jsonable

CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.jsonl"
METRICS_CSV_FILE = "metrics.csv"
PARAMS_FILE = "params.msgpack"
EVAL_FILE = "eval.json"


def create_run_dir(path: str | Path) -> Path:
    """Make a fresh run directory; refuse one that already holds files."""
    path = Path(path)
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise ConfigError(f"run directory {path} already exists and is not empty; choose another --out or remove it")
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_config(path: Path, run_config: dict[str, Any]) -> None:
    atomic_write_json(path / CONFIG_FILE, run_config)


def read_config(path: str | Path) -> dict[str, Any]:
    config_path = Path(path) / CONFIG_FILE
    if not config_path.exists():
        raise ConfigError(f"{path} is not a jaxrl run directory (no {CONFIG_FILE})")
    return json.loads(config_path.read_text())


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


@dataclasses.dataclass
class LoadedRun:
    """A finished run, rebuilt from its directory: the agent and every run's final parameters."""

    path: Path
    config: dict[str, Any]
    agent: Agent
    params: Any  # leading axes run_shape
    run_shape: tuple[int, ...]

    def params_of(self, seed: int = 0, setting: int = 0) -> Any:
        batched = len(self.run_shape) == 2
        index = (setting, seed) if batched else (seed,)
        if seed >= self.run_shape[-1] or (batched and setting >= self.run_shape[0]):
            raise ConfigError(f"run {self.path} has run shape {self.run_shape}; seed={seed}, setting={setting} is out of range")
        return jax.tree.map(lambda x: x[index], self.params)

    def policy(self, seed: int = 0, setting: int = 0):
        from jaxrl.train import Policy

        return Policy(self.agent, self.params_of(seed, setting), jax.random.key(seed))

    def evaluate(self, episodes: int = 100, seed: int = 0):
        from jaxrl.evaluate import evaluate

        return evaluate(self.agent, self.params, episodes=episodes, seed=seed)


def load(path: str | Path) -> LoadedRun:
    """Rebuild a run directory's agent and final parameters (works in a fresh process)."""
    path = Path(path)
    config = read_config(path)
    if not (path / PARAMS_FILE).exists():
        raise ConfigError(f"run {path} has no {PARAMS_FILE}: it did not finish training")
    agent = agents_lib.make(config["algo"], config["env"], config=config["config"], **config.get("env_kwargs", {}))
    settings = config["hparams"]
    seeds = int(config["seeds"])
    run_shape = (len(settings), seeds) if config.get("batched_settings") else (seeds,)
    target = jax.eval_shape(agent.init, jax.random.key(0), agent.hparams()).params
    raw = serialization.msgpack_restore((path / PARAMS_FILE).read_bytes())
    params = serialization.from_state_dict(target, raw)
    params = jax.tree.map(jnp.asarray, params)
    leaf = jax.tree.leaves(params)[0]
    if tuple(np.shape(leaf)[: len(run_shape)]) != run_shape:
        raise ConfigError(f"{path / PARAMS_FILE} does not hold {run_shape} runs; the run directory is inconsistent")
    return LoadedRun(path, config, agent, params, run_shape)


@dataclasses.dataclass
class RunSpec:
    """Everything that defines a run directory's training: written to config.json, checked on resume."""

    algo: str
    env: str
    env_kwargs: dict[str, Any]
    config: dict[str, Any]
    hparams: list[dict[str, float]]
    batched_settings: bool
    seeds: int
    steps: int
    seed: int = 0
    log_interval: int | None = None
    num_chunks: int = 20

    def to_json(self) -> dict[str, Any]:
        """The JSON form (tuples become lists), as config.json stores it."""
        return json.loads(json.dumps(to_jsonable(dataclasses.asdict(self))))


# Keys of config.json that are not part of the run's definition.
_INFORMATIONAL_KEYS = ("jaxrl_version",)


def _check_same_run(path: Path, spec: RunSpec) -> None:
    saved = {k: v for k, v in read_config(path).items() if k not in _INFORMATIONAL_KEYS}
    given = spec.to_json()
    differing = sorted(k for k in set(saved) | set(given) if saved.get(k, "<missing>") != given.get(k, "<missing>"))
    if differing:
        details = "; ".join(f"{k}: saved {saved.get(k, '<missing>')!r}, given {given.get(k, '<missing>')!r}" for k in differing)
        raise ConfigError(f"cannot resume {path}: its config.json differs from this command ({details}). "
                          "Repeat the original command's arguments with --resume, or drop --resume to start a new run")


def prepare(path: str | Path, spec: RunSpec, resume: bool = False) -> tuple[Path, Any]:
    """Create a fresh run directory for ``spec``, or reopen one to resume it.

    Returns the directory and the checkpoint to resume from (None: start from scratch). On resume
    the metrics files are cut back to exactly what the checkpoint holds, so points a killed run
    logged after its last checkpoint are trained again rather than repeated.
    """
    from jaxrl.io import checkpoint

    path = Path(path)
    if not resume:
        path = create_run_dir(path)
        atomic_write_json(path / CONFIG_FILE, {**spec.to_json(), "jaxrl_version": _version()})
        return path, None
    _check_same_run(path, spec)
    previous = checkpoint.load(path)
    if previous is None:
        rewrite_metrics(path, np.zeros(0), {}, spec.seeds)
    else:
        rewrite_metrics(path, previous.env_steps, previous.metrics, spec.seeds)
    return path, previous


def _version() -> str:
    import jaxrl

    return jaxrl.__version__


def train_in_dir(path: str | Path, spec: RunSpec, *, resume: bool = False, progress: bool = True,
                 eval_episodes: int = 100, agent: Agent | None = None, plot: bool = True,
                 tensorboard: bool = True) -> tuple[Any, Any, Path]:
    """Train ``spec`` into a run directory, with metrics, a checkpoint per chunk, params and eval.

    Everything is validated before any file is written. ``resume=True`` continues the run in
    ``path`` from its last checkpoint; the outcome equals an uninterrupted run's bit for bit.
    ``plot=False`` leaves the learning-curve PNGs to the caller; TensorBoard event files are
    written when tensorboardX is installed, unless ``tensorboard=False``. Returns ``(TrainResult, EvalResult, path)``.
    """
    from jaxrl.core.hparams import resolve_hparams
    from jaxrl.evaluate import evaluate
    from jaxrl.io import checkpoint
    from jaxrl.io import tensorboard as tb
    from jaxrl.train import train

    agent = agent or agents_lib.make(spec.algo, spec.env, config=spec.config, **spec.env_kwargs)
    spec.hparams = [resolve_hparams(agent.hparams_cls, h, agent.name, type(agent.config)) for h in spec.hparams]
    spec.config = vars(agent.config) if dataclasses.is_dataclass(agent.config) else dict(spec.config)
    if not spec.hparams:
        raise ConfigError("no hyperparameter settings given: pass at least one")
    if spec.seeds < 1:
        raise ConfigError(f"seeds={spec.seeds} must be >= 1")
    if spec.steps < agent.steps_per_update:
        raise ConfigError(f"steps={spec.steps} is fewer than one train_step ({agent.steps_per_update} env steps per seed)")
    if eval_episodes < 1:
        raise ConfigError(f"eval_episodes={eval_episodes} must be >= 1")
    path, previous = prepare(path, spec, resume)
    callbacks: list[Any] = [MetricsWriter(path, spec.seeds)]
    if tensorboard and tb.available():
        events = tb.TensorBoardWriter(path, spec.seeds, len(spec.hparams), spec.batched_settings)
        if resume:
            events.restart(previous.env_steps if previous else np.zeros(0), previous.metrics if previous else {})
        callbacks.append(events)
    callbacks.append(checkpoint.CheckpointWriter(path, previous))  # last: a checkpoint means all else is written
    result = train(
        agent,
        seeds=spec.seeds,
        steps=spec.steps,
        hparams=spec.hparams if spec.batched_settings else spec.hparams[0],
        seed=spec.seed,
        log_interval=spec.log_interval,
        num_chunks=spec.num_chunks,
        progress=progress,
        callbacks=callbacks,
        resume=previous,
    )
    save_params(path, result.final_state.params)
    evaluation = evaluate(result, episodes=eval_episodes, seed=spec.seed)
    atomic_write_json(path / EVAL_FILE, {"episodes_per_seed": eval_episodes, **evaluation.summary(),
                                         **{f"per_seed_{k}": v for k, v in evaluation.per_run().items()}})
    if plot:
        plot_curves(path)
    return result, evaluation, path


def plot_curves(path: Path) -> None:
    """Learning-curve PNGs, when matplotlib is installed (it comes with gymnax)."""
    try:
        from jaxrl.io.plots import plot_run
    except ImportError:
        print("jaxrl: matplotlib is not installed; no learning-curve plot written", file=sys.stderr)
        return
    plot_run(path)
