"""Optuna adapter: Optuna proposes, jaxrl trains a batch of trials x many seeds in ONE program.

Optuna's ask-and-tell interface lets each round ask ``trials_per_batch`` trials, train all of them
side by side (one compiled program over trials x seeds), and tell each trial the mean greedy return
over its seeds. Needs the ``optuna`` extra.

    import optuna, jaxrl
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=0))
    jaxrl.tuning.optimize(study, "q_learning", "FrozenLake-v1", {"learning_rate": jaxrl.LogUniform(1e-3, 1.0)},
                          trials=32, trials_per_batch=8, seeds=16, steps=100_000)
    study.best_params
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from jaxrl import presets
from jaxrl.errors import ConfigError
from jaxrl.runs import RunSpec, apply_preset, execute, make_agent, plan, resolve_settings
from jaxrl.stats import mean_ci
from jaxrl.sweep import Distribution, LogUniform, random_settings


def _suggest(trial: Any, ranges: Mapping[str, Distribution]) -> dict[str, float]:
    return {name: trial.suggest_float(name, d.low, d.high, log=isinstance(d, LogUniform)) for name, d in ranges.items()}


def optimize(
    study: Any,
    algo: str,
    env: str,
    ranges: Mapping[str, Distribution],
    *,
    trials: int,
    trials_per_batch: int = 8,
    seeds: int = 8,
    steps: int | None = None,
    hparams: Mapping[str, float] | None = None,
    config: Mapping[str, Any] | None = None,
    env_kwargs: Mapping[str, Any] | None = None,
    seed: int = 0,
    eval_episodes: int = 20,
    progress: bool = False,
    preset: str | None = presets.AUTO,
) -> Any:
    """Run ``trials`` Optuna trials in batches of ``trials_per_batch``, each batch one compiled
    program over its trials x ``seeds`` seeds. A trial's value is its mean greedy return over
    seeds; its user attributes hold the per-seed returns and the 95% CI. Returns the study."""
    import optuna

    spec = apply_preset(RunSpec(algo, env, env_kwargs, config, hparams, seeds, steps, seed, preset=preset,
                                until=None))  # trials are compared at one budget
    hparams = spec.hparams  # the pair's preset under the given values
    agent = make_agent(spec)
    plan(spec, agent, random_settings(agent, ranges, 1, base=hparams), batched=True)  # checks everything before anything runs
    if study.direction != optuna.study.StudyDirection.MAXIMIZE:
        raise ConfigError("the study must maximise the return: optuna.create_study(direction='maximize')")
    if trials < 1 or trials_per_batch < 1:
        raise ConfigError(f"trials={trials} and trials_per_batch={trials_per_batch} must be >= 1")
    done = 0
    while done < trials:
        batch = [study.ask() for _ in range(min(trials_per_batch, trials - done))]
        settings = resolve_settings(agent, [{**dict(hparams or {}), **_suggest(t, ranges)} for t in batch])
        _, evaluation, _ = execute(plan(spec, agent, settings, batched=True), eval_episodes=eval_episodes, progress=progress)
        returns = evaluation.returns.mean(-1)  # [trials, seeds]
        mean, half = mean_ci(returns, axis=-1)
        for i, trial in enumerate(batch):
            trial.set_user_attr("per_seed_return", returns[i].tolist())
            trial.set_user_attr("ci95", float(np.nan_to_num(half[i])))
            study.tell(trial, float(mean[i]))
        done += len(batch)
    return study
