"""Run directories: what ``jaxrl train`` writes and ``jaxrl eval`` reads back.

    RUN_DIR/config.json     algorithm, env, env kwargs, static config, hyperparameters, seeds
    RUN_DIR/metrics.jsonl   one line per logged point: env_steps and each metric per run
    RUN_DIR/params.msgpack  final parameters of every run (flax serialization), written atomically
    RUN_DIR/eval.json       the final evaluation summary

A run directory is never overwritten: an existing, non-empty one is refused before anything runs.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import serialization

from jaxrl import agents as agents_lib
from jaxrl.core.agent import Agent
from jaxrl.core.hparams import ConfigError, stack_hparams
from jaxrl.io.files import atomic_write_bytes, atomic_write_json, to_jsonable

CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.jsonl"
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


class MetricsWriter:
    """A train callback appending one JSON line per logged point, synced to disk per chunk."""

    def __init__(self, path: Path):
        self.path = Path(path) / METRICS_FILE

    def __call__(self, report: Any) -> None:
        lines = []
        for t, env_steps in enumerate(report.env_steps):
            record = {"env_steps": int(env_steps)}
            record.update({k: to_jsonable(v[:, t]) for k, v in report.metrics.items()})
            lines.append(json.dumps(record))
        with open(self.path, "a") as f:
            f.write("\n".join(lines) + "\n")
            f.flush()
            os.fsync(f.fileno())


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
    hparams = jax.tree.map(lambda x: x[0], stack_hparams(settings))
    target = jax.eval_shape(agent.init, jax.random.key(0), hparams).params
    raw = serialization.msgpack_restore((path / PARAMS_FILE).read_bytes())
    params = serialization.from_state_dict(target, raw)
    params = jax.tree.map(jnp.asarray, params)
    leaf = jax.tree.leaves(params)[0]
    if tuple(np.shape(leaf)[: len(run_shape)]) != run_shape:
        raise ConfigError(f"{path / PARAMS_FILE} does not hold {run_shape} runs; the run directory is inconsistent")
    return LoadedRun(path, config, agent, params, run_shape)
