"""Hyperparameter sweeps: a grid or random samples x seeds, trained as ONE compiled program.

Every setting is a row of the traced hyperparameters, so ``jaxrl.train(..., hparams=[...])``
trains the whole sweep side by side; this module builds the settings, ranks them by the mean
greedy return over seeds with a 95% confidence interval, and writes the results.

    result = jaxrl.sweep("q_learning", "FrozenLake-v1", grid={"learning_rate": [0.1, 0.5], "gamma": [0.9, 0.99]}, seeds=8)
    print(result.table())
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import warnings
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from jaxrl import presets
from jaxrl.core.agent import Agent
from jaxrl.errors import ConfigError
from jaxrl.io.files import atomic_write_bytes, atomic_write_json
from jaxrl.io.run_dir import varied
from jaxrl.runs import RunSpec, apply_preset, execute, make_agent, plan, resolve_settings, route_names
from jaxrl.stats import bootstrap_ci, format_table, mean_ci

SWEEP_JSON = "sweep.json"
SWEEP_CSV = "sweep.csv"


@dataclasses.dataclass(frozen=True)
class Uniform:
    """Sample uniformly in [low, high]."""

    low: float
    high: float

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.uniform(self.low, self.high, n)


@dataclasses.dataclass(frozen=True)
class LogUniform:
    """Sample log-uniformly in [low, high] (both > 0): each decade equally often."""

    low: float
    high: float

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.exp(rng.uniform(math.log(self.low), math.log(self.high), n))


Distribution = Uniform | LogUniform


def grid_settings(agent: Agent, grid: Mapping[str, Sequence[float]], base: Mapping[str, float] | None = None) -> list[dict[str, float]]:
    """Every combination of the grid's values (the last name varies fastest), over ``base``, resolved."""
    if not grid:
        raise ConfigError("the grid is empty: give at least one hyperparameter with values, e.g. --grid learning_rate=0.1,0.5")
    route_names(agent.name, grid, "--grid")  # a sweep varies hyperparameters only
    for name, values in grid.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values) == 0:
            raise ConfigError(f"grid {name}: give a non-empty list of values, e.g. --grid {name}=0.1,0.5")
    return resolve_settings(agent, ({**dict(base or {}), **dict(zip(grid, combo))} for combo in itertools.product(*grid.values())))


def random_settings(agent: Agent, ranges: Mapping[str, Distribution], samples: int, seed: int = 0,
                    base: Mapping[str, float] | None = None) -> list[dict[str, float]]:
    """``samples`` settings drawn independently from ``ranges`` (NumPy generator seeded by ``seed``), over ``base``, resolved."""
    _check_ranges(agent, ranges)
    if int(samples) < 1:
        raise ConfigError(f"samples={samples} must be >= 1")
    rng = np.random.default_rng(seed)
    columns = {name: dist.sample(rng, int(samples)) for name, dist in ranges.items()}
    return resolve_settings(agent, ({**dict(base or {}), **{k: float(v[i]) for k, v in columns.items()}} for i in range(int(samples))))


def _check_ranges(agent: Agent, ranges: Mapping[str, Distribution]) -> None:
    """Refuse an empty search, names that are not hyperparameters, and ranges that cannot be sampled."""
    if not ranges:
        raise ConfigError("no ranges to sample: give at least one, e.g. --random learning_rate=log:1e-4:1e-2")
    route_names(agent.name, ranges, "--random")
    for name, dist in ranges.items():
        if not isinstance(dist, (Uniform, LogUniform)):
            raise ConfigError(f"range {name}={dist!r}: use jaxrl.sweep.Uniform(low, high) or LogUniform(low, high)")
        if not (math.isfinite(dist.low) and math.isfinite(dist.high) and dist.low <= dist.high):
            raise ConfigError(f"range {name}: low={dist.low} must be <= high={dist.high}, both finite")
        if isinstance(dist, LogUniform) and dist.low <= 0:
            raise ConfigError(f"log-uniform range {name} needs low > 0 (got {dist.low}); use a positive low, or a uniform range")


@dataclasses.dataclass
class SweepRow:
    """One setting's outcome: per-seed greedy returns and their mean with a 95% CI."""

    rank: int
    setting: int
    hparams: dict[str, float]
    returns: np.ndarray  # per seed: mean greedy return over the evaluation episodes
    mean_return: float
    ci95: float  # half-width of the 95% confidence interval of the mean over seeds
    final_train_return: float  # mean over seeds of the last logged training return
    success_rate: float | None
    iqm_return: float = float("nan")  # interquartile mean over seeds: what the ranking sorts by
    iqm_ci95: tuple[float, float] = (float("nan"), float("nan"))  # its 95% percentile bootstrap interval
    diverged_seeds: list[int] = dataclasses.field(default_factory=list)  # left out of the means; ranked last

    def to_json(self) -> dict[str, Any]:
        return {
            "rank": self.rank, "setting": self.setting, "hparams": self.hparams, "mean_return": self.mean_return,
            "ci95_low": self.mean_return - self.ci95, "ci95_high": self.mean_return + self.ci95,
            "final_train_return": self.final_train_return, "success_rate": self.success_rate,
            "iqm_return": self.iqm_return, "iqm_ci95_low": self.iqm_ci95[0], "iqm_ci95_high": self.iqm_ci95[1],
            "per_seed_return": self.returns.tolist(), "diverged_seeds": self.diverged_seeds,
        }


@dataclasses.dataclass
class SweepResult:
    """The trained batch, its evaluation, and the settings ranked best first."""

    result: Any  # TrainResult with metrics [settings, seeds, logs]
    evaluation: Any  # EvalResult [settings, seeds, episodes]
    rows: list[SweepRow]
    varied: list[str]  # names that differ between settings
    path: Path | None = None

    @property
    def best(self) -> SweepRow:
        return self.rows[0]

    def table(self, limit: int | None = None) -> str:
        diverged = any(row.diverged_seeds for row in self.rows)
        header = ["rank", "setting", *self.varied, "return IQM [95% bootstrap CI]", "return (mean [95% CI] over seeds)",
                  "final train return", "success rate"]
        lines = [header + (["diverged seeds"] if diverged else [])]
        for row in self.rows[:limit]:
            lines.append([
                str(row.rank), str(row.setting), *(f"{row.hparams[k]:.4g}" for k in self.varied),
                f"{row.iqm_return:.3f} [{row.iqm_ci95[0]:.3f}, {row.iqm_ci95[1]:.3f}]",
                f"{row.mean_return:.3f} [{row.mean_return - row.ci95:.3f}, {row.mean_return + row.ci95:.3f}]",
                f"{row.final_train_return:.3f}", "n/a" if row.success_rate is None else f"{row.success_rate:.3f}",
            ] + ([", ".join(map(str, row.diverged_seeds)) or "-"] if diverged else []))
        return format_table(lines)


def _last_finite(curves: np.ndarray) -> np.ndarray:
    """Each run's last non-NaN logged value (NaN if it never completed an episode)."""
    finite = np.isfinite(curves)
    last = curves.shape[-1] - 1 - np.argmax(finite[..., ::-1], axis=-1)
    values = np.take_along_axis(curves, last[..., None], axis=-1)[..., 0]
    return np.where(finite.any(-1), values, np.nan)


def rank(settings: list[dict[str, float]], result: Any, evaluation: Any) -> list[SweepRow]:
    """Rows sorted by the IQM of the seeds' greedy returns, best first (ties keep setting order); the
    mean and its t-interval are kept beside it. Runs that diverged are left out of their setting's
    statistics, and a setting with any is ranked after the rest."""
    returns = evaluation.returns.mean(-1)  # [settings, seeds]
    diverged = np.zeros(returns.shape, bool)
    for divergence in getattr(result, "diverged", ()):
        diverged[divergence.run] = True
    kept = np.where(diverged, np.nan, returns)
    mean, half = mean_ci(kept, axis=-1)
    curves = np.where(diverged[..., None], np.nan, result.metrics["episode_return"])
    with warnings.catch_warnings():  # a setting whose every seed diverged has no mean: NaN, said in its row
        warnings.simplefilter("ignore", RuntimeWarning)
        final = np.nanmean(_last_finite(curves), axis=-1)
        success = None if evaluation.successes is None else np.nanmean(
            np.where(diverged[..., None], np.nan, evaluation.successes), axis=(-1, -2))
    robust = [bootstrap_ci(row) for row in kept]  # (IQM, low, high) per setting
    order = sorted(range(len(settings)), key=lambda i: (bool(diverged[i].any()), -np.nan_to_num(robust[i][0], nan=-np.inf), i))
    return [SweepRow(r + 1, i, settings[i], returns[i], float(mean[i]), float(half[i]) if np.isfinite(half[i]) else 0.0,
                     float(final[i]), None if success is None else float(success[i]), robust[i][0], robust[i][1:],
                     [int(s) for s in np.flatnonzero(diverged[i])]) for r, i in enumerate(order)]


def write_results(path: Path, sweep_result: SweepResult, definition: Mapping[str, Any]) -> None:
    """sweep.json (definition and ranked rows) and sweep.csv (one row per setting, ranked)."""
    atomic_write_json(path / SWEEP_JSON, {"definition": dict(definition), "ranked": [r.to_json() for r in sweep_result.rows]})
    names = list(sweep_result.rows[0].hparams)
    lines = [",".join(["rank", "setting", *names, "iqm_return", "iqm_ci95_low", "iqm_ci95_high", "mean_return", "ci95_low",
                       "ci95_high", "final_train_return", "success_rate"])]
    for row in sweep_result.rows:
        cells = [row.rank, row.setting, *(row.hparams[k] for k in names), row.iqm_return, *row.iqm_ci95, row.mean_return,
                 row.mean_return - row.ci95, row.mean_return + row.ci95, row.final_train_return,
                 "" if row.success_rate is None else row.success_rate]
        lines.append(",".join("" if isinstance(c, float) and not math.isfinite(c) else repr(c) if isinstance(c, float) else str(c) for c in cells))
    atomic_write_bytes(path / SWEEP_CSV, ("\n".join(lines) + "\n").encode())


def sweep(
    algo: str,
    env: str,
    *,
    grid: Mapping[str, Sequence[float]] | None = None,
    ranges: Mapping[str, Distribution] | None = None,
    samples: int | None = None,
    seeds: int = 8,
    steps: int | None = None,
    hparams: Mapping[str, float] | None = None,
    config: Mapping[str, Any] | None = None,
    env_kwargs: Mapping[str, Any] | None = None,
    seed: int = 0,
    log_interval: int | None = None,
    num_chunks: int = 20,
    eval_episodes: int = 100,
    out: str | Path | None = None,
    resume: bool = False,
    progress: bool = True,
    preset: str | None = presets.AUTO,
) -> SweepResult:
    """Train a grid (``grid={name: values}``) or ``samples`` random settings (``ranges={name: LogUniform(...)}``)
    x ``seeds`` seeds in one compiled program, evaluate every run greedily and rank the settings.

    ``hparams`` fixes the hyperparameters that do not vary. With ``out`` the sweep is a run directory
    (config, metrics, checkpoints, params, eval.json, sweep.json, sweep.csv, plots) and ``resume=True``
    continues it after an interruption.
    """
    spec = RunSpec(algo, env, env_kwargs, config, hparams, seeds, steps, seed, log_interval, num_chunks, preset=preset,
                   until=None)  # settings are compared at one budget: no preset's stopping rule
    return run_sweep(spec, grid=grid, ranges=ranges, samples=samples, eval_episodes=eval_episodes, out=out,
                     resume=resume, progress=progress)


def run_sweep(spec: RunSpec, *, grid: Mapping[str, Sequence[float]] | None = None, ranges: Mapping[str, Distribution] | None = None,
              samples: int | None = None, eval_episodes: int = 100, out: str | Path | None = None, resume: bool = False,
              progress: bool = True) -> SweepResult:
    """``sweep`` of a ``RunSpec`` whose ``hparams`` are the fixed base the grid or ranges vary (over
    the pair's preset, when there is one)."""
    spec = apply_preset(spec)
    agent = make_agent(spec)
    if (grid is None) == (ranges is None):
        raise ConfigError("give either grid={name: values} or ranges={name: LogUniform(low, high)} with samples=N")
    if ranges is not None and samples is None:
        raise ConfigError("random search needs samples=N (settings to draw)")
    settings = grid_settings(agent, grid, spec.hparams) if grid is not None else random_settings(agent, ranges, samples, spec.seed, spec.hparams)
    definition = {"grid": {k: list(v) for k, v in grid.items()}} if grid is not None else {
        "random": {k: {"kind": type(d).__name__, "low": d.low, "high": d.high} for k, d in ranges.items()}, "samples": samples}
    def write_ranking(result: Any, evaluation: Any, path: Path) -> None:
        write_results(path, SweepResult(result, evaluation, rank(settings, result, evaluation), varied(settings), path), definition)

    # The ranking is written before the plots (they show the best settings by it), under the run directory's lock.
    result, evaluation, path = execute(plan(spec, agent, settings, batched=True), out=out, resume=resume,
                                       eval_episodes=eval_episodes, progress=progress, write_more=write_ranking)
    return SweepResult(result, evaluation, rank(settings, result, evaluation), varied(settings), path)
