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

import contextlib
import dataclasses
import importlib.util
import inspect
import json
import time
import warnings
from typing import Any, Iterator, Mapping

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
        _tell(study, batch, _train_batch(spec, agent, ranges, batch, eval_episodes, progress))
        done += len(batch)
    return study


def _train_batch(spec: RunSpec, agent: Any, ranges: Mapping[str, Distribution], batch: list[Any], eval_episodes: int,
                 progress: bool) -> np.ndarray:
    """Train the batch's trials x ``spec.seeds`` seeds in one program: each run's mean greedy return, [trials, seeds]."""
    settings = resolve_settings(agent, [{**dict(spec.hparams or {}), **_suggest(t, ranges)} for t in batch])
    _, evaluation, _ = execute(plan(spec, agent, settings, batched=True), eval_episodes=eval_episodes, progress=progress)
    return evaluation.returns.mean(-1)


def _tell(study: Any, batch: list[Any], returns: np.ndarray) -> None:
    """Tell each trial its mean over seeds; its per-seed returns and 95% CI go in its user attributes."""
    mean, half = mean_ci(returns, axis=-1)
    for i, trial in enumerate(batch):
        trial.set_user_attr("per_seed_return", returns[i].tolist())
        trial.set_user_attr("ci95", float(np.nan_to_num(half[i])))
        study.tell(trial, float(mean[i]))


# -- shared studies: `jaxrl tune` workers on one Optuna storage ------------------------------------

JOURNAL_PREFIX = "journal:"
SCHEMA_ATTEMPTS = 5  # tries to open an RDB storage whose schema another worker is creating


def open_storage(url: str, heartbeat: float = 10.0) -> Any:
    """An Optuna storage from ``url``: an RDB URL (``sqlite:///FILE``, ``postgresql://USER@HOST/DB``)
    with a heartbeat every ``heartbeat`` seconds (a trial whose worker stops beating for three
    intervals is failed and retried once more by the other workers), or ``journal:FILE`` (Optuna's
    journal file, one machine; it has no heartbeat, so a killed worker's trials are not retried)."""
    import optuna
    import sqlalchemy.exc

    if url.startswith(JOURNAL_PREFIX):
        path = url[len(JOURNAL_PREFIX):]
        if not path:
            raise ConfigError("--storage journal:FILE needs a file name, e.g. --storage journal:tune.log")
        return optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(path))
    if "://" not in url:
        raise ConfigError(f"--storage {url!r} is not a storage URL: give sqlite:///FILE.db, postgresql://USER@HOST/DB "
                          "or journal:FILE")
    engine_url = url
    if url.startswith("postgresql://") and importlib.util.find_spec("psycopg2") is not None:
        # The postgres extra installs psycopg2; SQLAlchemy 2.1 made psycopg (3) the default driver.
        engine_url = "postgresql+psycopg2://" + url[len("postgresql://"):]
    interval = max(1, int(round(heartbeat)))
    # Optuna 4.9 renamed the retry callback and its argument; older releases have only the old names.
    retry = getattr(optuna.storages, "RetryHeartbeatStaleTrialCallback", None) or optuna.storages.RetryFailedTrialCallback
    argument = ("heartbeat_stale_trial_callback" if "heartbeat_stale_trial_callback" in
                inspect.signature(optuna.storages.RDBStorage).parameters else "failed_trial_callback")
    for attempt in range(SCHEMA_ATTEMPTS):
        try:
            with _quiet_optuna():
                return optuna.storages.RDBStorage(engine_url, heartbeat_interval=interval, grace_period=3 * interval,
                                                  **{argument: retry(max_retry=3)})
        except Exception as error:  # a missing driver, an unreachable server, a bad URL
            # Workers started together race to create the schema: the loser sees a table or type that
            # "already exists", or a unique key taken (SQLite's alembic_version row, PostgreSQL's pg_type).
            if isinstance(error, sqlalchemy.exc.IntegrityError) or "already exists" in str(error):
                if attempt + 1 < SCHEMA_ATTEMPTS:
                    time.sleep(0.2 * (attempt + 1))
                    continue
            raise ConfigError(f"cannot open the Optuna storage {url}: {str(error).splitlines()[0]}") from None


@contextlib.contextmanager
def _quiet_optuna() -> Iterator[None]:
    """Optuna marks heartbeats and stale-trial retries experimental; jaxrl relies on them knowingly."""
    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        # ask/tell with heartbeats: jaxrl beats for its trials itself (_Heartbeat)
        warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used with Study.optimize")
        yield


def _study_definition(spec: RunSpec, ranges: Mapping[str, Distribution]) -> dict[str, Any]:
    """What every worker of one study must share (a JSON-safe dict, kept in the study's user attributes)."""
    return {"algo": spec.algo, "env": spec.env, "env_kwargs": dict(spec.env_kwargs or {}),
            "config": dict(spec.config or {}), "hparams": dict(spec.hparams or {}), "seeds": spec.seeds,
            "steps": spec.steps, "seed": spec.seed,
            "ranges": {k: [type(d).__name__, d.low, d.high] for k, d in sorted(ranges.items())}}


def _live(trial: Any) -> bool:
    import optuna

    return trial.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.RUNNING, optuna.trial.TrialState.WAITING)


def _claim(study: Any, trials: int, batch_size: int) -> list[Any]:
    """Ask up to ``batch_size`` trials while the study has fewer than ``trials`` live ones (complete,
    running or waiting). Trial numbers are handed out by the storage, so two workers asking at once
    agree which trial is one too many: that one is failed at once (user attribute ``surplus``)."""
    import optuna
    from optuna.trial import TrialState

    batch: list[Any] = []
    # Waiting trials (retries of a stale one) are not subtracted: study.ask() hands them out first.
    missing = trials - sum(t.state in (TrialState.COMPLETE, TrialState.RUNNING) for t in study.get_trials(deepcopy=False))
    for _ in range(min(batch_size, missing)):
        with _quiet_optuna():
            trial = study.ask()
        before = [t for t in study.get_trials(deepcopy=False) if t.number < trial.number and _live(t)]
        if len(before) >= trials:
            study._storage.set_trial_user_attr(trial._trial_id, "surplus", True)
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            break
        batch.append(trial)
    return batch


class _Heartbeat:
    """Beats for the given trials from a thread while their batch trains (RDB storages only)."""

    def __init__(self, study: Any, batch: list[Any]):
        import threading

        storage = study._storage
        beating = hasattr(storage, "record_heartbeat") and storage.get_heartbeat_interval() is not None
        self._beat = batch if beating else []
        self._storage, self._stop = storage, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        interval = self._storage.get_heartbeat_interval()
        while not self._stop.wait(interval):
            for trial in self._beat:
                self._storage.record_heartbeat(trial._trial_id)

    def __enter__(self) -> "_Heartbeat":
        for trial in self._beat:
            self._storage.record_heartbeat(trial._trial_id)
        if self._beat:
            self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()


def work(spec: RunSpec, ranges: Mapping[str, Distribution], *, study_name: str, storage: str, trials: int,
         trials_per_batch: int = 8, eval_episodes: int = 20, heartbeat: float = 10.0, progress: bool = False,
         poll: float | None = None) -> Any:
    """One worker of a shared study: ask up to ``trials_per_batch`` trials, train them x
    ``spec.seeds`` seeds in one program, tell their mean greedy returns; repeat until the study
    holds ``trials`` complete trials. Any number of workers may run this at once on one storage.
    A worker with nothing left to ask waits while others' trials run, failing stale ones (their
    worker stopped beating) so that their retries are trained too. Returns the study."""
    import optuna

    if trials < 1 or trials_per_batch < 1:
        raise ConfigError(f"--trials {trials} and --trials-per-batch {trials_per_batch} must be >= 1")
    if not ranges:
        raise ConfigError("jaxrl tune needs at least one --random NAME=[log:]LOW:HIGH to search")
    spec = apply_preset(dataclasses.replace(spec, until=None))  # trials are compared at one budget
    agent = make_agent(spec)
    plan(spec, agent, random_settings(agent, ranges, 1, base=spec.hparams), batched=True)  # checked before any trial
    definition = json.loads(json.dumps(_study_definition(spec, ranges), default=str))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name=study_name, storage=open_storage(storage, heartbeat), direction="maximize",
                                load_if_exists=True)
    saved = study.user_attrs.get("jaxrl")
    if saved is None:
        study.set_user_attr("jaxrl", definition)
    elif saved != definition:
        differing = sorted(k for k in set(saved) | set(definition) if saved.get(k) != definition.get(k))
        raise ConfigError(f"study {study_name} in {storage} was started with other settings ({', '.join(differing)} "
                          "differ): give every worker the same command, or name another --study")
    poll = heartbeat if poll is None else poll
    while True:
        with _quiet_optuna():
            optuna.storages.fail_stale_trials(study)
        states = [t.state for t in study.get_trials(deepcopy=False)]
        if states.count(optuna.trial.TrialState.COMPLETE) >= trials:
            return study
        batch = _claim(study, trials, trials_per_batch)
        if not batch:
            if optuna.trial.TrialState.RUNNING not in states and optuna.trial.TrialState.WAITING not in states:
                return study
            time.sleep(poll)  # others are training; a stale trial of theirs comes back as a retry
            continue
        with _Heartbeat(study, batch):
            returns = _train_batch(spec, agent, ranges, batch, eval_episodes, progress)
        _tell(study, batch, returns)


def show(study_name: str, storage: str, top: int | None = None) -> str:
    """A shared study's ranking (IQM over seeds with its 95% bootstrap CI, mean) and its best
    setting as a ready ``jaxrl train`` command."""
    import optuna

    from jaxrl.stats import bootstrap_ci, format_table

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = optuna.load_study(study_name=study_name, storage=open_storage(storage))
    except KeyError:
        raise ConfigError(f"there is no study {study_name!r} in {storage}; start one with jaxrl tune ... --study "
                          f"{study_name} --storage {storage}") from None
    done = [t for t in study.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE]
    if not done:
        return f"study {study_name}: no complete trial yet"
    scored = [(bootstrap_ci(np.asarray(t.user_attrs.get("per_seed_return", [t.value]))), t) for t in done]
    scored.sort(key=lambda item: -item[0][0])
    names = sorted(done[0].params)
    rows = [["trial", *names, "return IQM [95% bootstrap CI]", "mean"]]
    for (point, low, high), trial in scored[:top]:
        rows.append([str(trial.number), *(f"{trial.params[n]:.4g}" for n in names), f"{point:.4g} [{low:.4g}, {high:.4g}]",
                     f"{trial.value:.4g}"])
    failed = sum(t.state == optuna.trial.TrialState.FAIL for t in study.get_trials(deepcopy=False))
    definition = study.user_attrs.get("jaxrl", {})
    best = scored[0][1]
    command = ["jaxrl", "train", str(definition.get("algo", "ALGO")), "--env", str(definition.get("env", "ENV")),
               "--seeds", str(definition.get("seeds", 8)), "--steps", str(definition.get("steps", ""))]
    command += [f"--env-arg {k}={v}" for k, v in definition.get("env_kwargs", {}).items()]
    command += [f"--set {k}={v}" for k, v in {**definition.get("config", {}), **definition.get("hparams", {}),
                                              **{k: f"{v:.6g}" for k, v in best.params.items()}}.items()]
    return (f"study {study_name}: {len(done)} complete trials ({failed} failed or retried), ranked by the IQM of "
            f"their seeds' greedy returns\n{format_table(rows)}\n\nbest: {' '.join(command)}")
