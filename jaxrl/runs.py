"""The run pipeline: a run is specified once, resolved and checked once, trained by the engine,
written to a run directory when an output is given, and loaded back.

    spec = RunSpec("q_learning", "FrozenLake-v1", hparams={"learning_rate": 0.5}, seeds=8, steps=50_000)
    result, evaluation, path = execute(resolve(spec), out="runs/frozenlake")
    run = load(path)

``jaxrl.train``, ``jaxrl.sweep``, ``jaxrl.tuning.optimize`` and the ``jaxrl`` command all build a
``RunSpec`` and go through ``resolve`` (or ``plan``, given settings a sweep made) and ``execute``.
Every check happens in ``resolve``/``plan``, before any file is written or anything compiled.
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Literal, Mapping, Sequence

import jax
import numpy as np

from jaxrl import agents as agents_lib
from jaxrl import distributed, presets
from jaxrl.core.agent import Agent
from jaxrl.cpu_devices import check_environment
from jaxrl.envs.wrappers import host_stepped
from jaxrl.core.hparams import check_hparam_names, resolve_hparams
from jaxrl.errors import ConfigError, check_choice, unknown_name_error, whole_number
from jaxrl.evaluate import EvalResult, evaluate
from jaxrl.io import checkpoint, render, report, run_dir
from jaxrl.io import tensorboard as tb
from jaxrl.io.files import atomic_write_bytes, to_jsonable
from jaxrl.train import Callback, Layout, TrainedRuns, TrainResult, layout, runs_device_count, train_runs

Settings = Mapping[str, Any] | Sequence[Mapping[str, Any]] | None


# The stopping rule's episodes per run by default: the final evaluation's default too, so one
# compiled evaluation program serves both.
UNTIL_EPISODES = 100


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """A run as the user gives it: ``algo`` (a name, or a made ``Agent``), ``env`` (an id or a gymnax
    env), its keyword arguments, the static ``config``, ``hparams`` (one setting, or a list trained
    side by side), ``seeds`` per setting, ``steps`` env steps per seed, the base ``seed``, env
    steps per seed between logged points and the number of chunks (how often Python reports).
    ``until`` is a stopping rule: after each chunk every run's greedy policy plays ``until_episodes``
    episodes, and training ends once every run's mean return is at least ``until``."""

    algo: str | Agent
    env: str | Any | None = None
    env_kwargs: Mapping[str, Any] | None = None
    config: Mapping[str, Any] | Any | None = None
    hparams: Settings = None
    seeds: int = 1
    steps: int | None = None  # None: the preset's budget, else DEFAULT_STEPS
    seed: int = 0
    log_interval: int | None = None
    num_chunks: int = 20
    on_divergence: Literal["stop", "continue"] | None = None  # None: stop, but continue for a list of settings
    preset: str | None = presets.AUTO  # "auto": the (algo, env) pair's tuned preset if any; None: library defaults
    until: float | str | None = presets.AUTO  # stop once every run's greedy return reaches this (checked after each
    # chunk); "auto": the preset's stopping rule if it has one; None: train every step
    until_episodes: int = UNTIL_EPISODES  # greedy episodes per run for that check


@dataclasses.dataclass(frozen=True)
class Run:
    """A checked run: the spec, its agent, each setting resolved, the runs' leading axes
    ``run_shape`` (``(seeds,)``, or ``(settings, seeds)`` for a list of settings) and its layout
    (``layout.total_steps``: the env steps per seed really trained, ``steps`` rounded up to whole updates)."""

    spec: RunSpec
    agent: Agent
    settings: list[dict[str, float]]
    run_shape: tuple[int, ...]
    layout: Layout

    @property
    def on_divergence(self) -> str:
        return self.spec.on_divergence or ("continue" if len(self.run_shape) == 2 else "stop")

    def rounding_note(self) -> str | None:
        """Why the env steps trained differ from those asked for (None when they don't)."""
        trained, asked, per_update = self.layout.total_steps, self.spec.steps, self.agent.steps_per_update
        if trained == asked:
            return None
        return (f"trains {trained:,} env steps per seed, not {asked:,}: one train_step of {self.agent.name} takes "
                f"{per_update:,} env steps per seed and each logged point {self.layout.steps_per_log:,}, so the "
                "steps round up to whole logged points")

    def definition(self) -> dict[str, Any]:
        """The run as config.json records it (and ``--resume`` compares it), in JSON form."""
        spec = self.spec
        if not (isinstance(spec.algo, str) and isinstance(spec.env, str)):
            raise ConfigError("a run directory needs an algorithm name and an env id (it is rebuilt from them)")
        definition = {"algo": spec.algo, "env": spec.env, "env_kwargs": dict(spec.env_kwargs or {}),
                      "config": vars(self.agent.config), "hparams": self.settings,
                      "batched_settings": len(self.run_shape) == 2, "seeds": spec.seeds, "steps": spec.steps,
                      "seed": spec.seed, "log_interval": spec.log_interval, "num_chunks": spec.num_chunks,
                      "steps_trained": self.layout.total_steps, "preset": spec.preset, "until": spec.until,
                      "until_episodes": spec.until_episodes}
        return json.loads(json.dumps(to_jsonable(definition)))


def route_names(algo: str, given: Mapping[str, Any], flag: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split user-given names into (static config, hyperparameters) by ``algo``'s declarations.

    ``--set`` takes both kinds. A sweep's ``--grid``/``--random`` vary hyperparameters only: a static
    option fixes the compiled program's shape. Engine-owned and unknown names are refused.
    """
    algorithm = agents_lib.spec(algo)
    config_names = [f.name for f in dataclasses.fields(algorithm.config_cls)]
    hparam_names = algorithm.hparams_cls.names()
    config, hparams = {}, {}
    for name, value in given.items():
        if name in config_names and flag == "--set":
            config[name] = value
        elif name in hparam_names:
            hparams[name] = value
        elif name in config_names:
            raise ConfigError(f"{name} is a static config option of {algo}: it fixes the program's shape, so it "
                              f"cannot vary inside one compiled sweep. Fix it with --set {name}=VALUE (config=) and run one sweep per value")
        elif flag == "--set" and name not in algorithm.hparams_cls.engine_names():
            raise unknown_name_error(f"{algo} setting (--set)", name, config_names + hparam_names)
        else:
            check_hparam_names(algorithm.hparams_cls, [name], algo, kind=f"hyperparameter ({flag})")
    return config, hparams


DEFAULT_STEPS = 100_000


def apply_preset(spec: RunSpec) -> RunSpec:
    """The spec with its preset's config, hyperparameters and step budget under the user's own values
    (name by name), and ``preset`` set to the preset's name (or None); says which preset it uses."""
    preset = presets.choose(spec.preset, spec.algo, spec.env, spec.env_kwargs)
    steps = spec.steps if spec.steps is not None else (preset.steps if preset else DEFAULT_STEPS)
    until = spec.until if not _is_auto(spec.until) else (preset.until if preset else None)
    if preset is None:
        return dataclasses.replace(spec, steps=steps, preset=None, until=until)
    over = lambda base, given: {**base, **given} if isinstance(given, Mapping) else given  # noqa: E731
    config = spec.config if not (spec.config is None or isinstance(spec.config, Mapping)) else over(preset.config, spec.config or {})
    if isinstance(spec.hparams, (list, tuple)):
        hparams: Settings = [over(preset.hparams, h or {}) for h in spec.hparams]
    else:
        hparams = over(preset.hparams, spec.hparams or {})
    print(f"jaxrl: {preset.describe()}; your values override it, --no-preset (preset=None) uses the library defaults",
          file=sys.stderr)
    return dataclasses.replace(spec, config=config, hparams=hparams, steps=steps, preset=preset.name, until=until)


def _is_auto(value: Any) -> bool:
    return isinstance(value, str) and value == presets.AUTO


def make_agent(spec: RunSpec) -> Agent:
    """The spec's agent: built from the names, or the given one (then config and env kwargs are fixed).
    A preset whose options the agent refuses is named with its file."""
    if isinstance(spec.algo, Agent):
        if spec.config is not None or spec.env_kwargs:
            raise ConfigError("config and env_kwargs are fixed when an Agent is made; pass them to agents.make")
        return spec.algo
    if not isinstance(spec.algo, str):
        raise ConfigError(f"algo={spec.algo!r} is neither an algorithm name (see `jaxrl algos`) nor a made Agent")
    if spec.env is None:
        raise ConfigError("train(algo, env): name the environment, e.g. env='FrozenLake-v1'")
    if not isinstance(spec.env, str) and not (hasattr(spec.env, "step") and hasattr(spec.env, "default_params")):
        raise ConfigError(f"env={spec.env!r} is neither an env id (see `jaxrl envs`) nor a gymnax Environment")
    if spec.env_kwargs is not None and not isinstance(spec.env_kwargs, Mapping):
        raise ConfigError(f"env_kwargs must be a dict of name -> value, not {type(spec.env_kwargs).__name__}")
    try:
        return agents_lib.make(spec.algo, spec.env, config=spec.config, **dict(spec.env_kwargs or {}))
    except ConfigError as error:
        if spec.preset in (None, presets.AUTO):
            raise
        preset = presets.get(spec.preset)
        raise ConfigError(f"{error} (with preset {preset.name} from {preset.file}; --no-preset uses the library "
                          "defaults)") from None


def resolve_settings(agent: Agent, given: Iterable[Mapping[str, Any] | None]) -> list[dict[str, float]]:
    """Each setting: the declared defaults overridden by the given values, every value checked."""
    return [resolve_hparams(agent.hparams_cls, setting, agent.name, type(agent.config), agent.config) for setting in given]


MAX_SEED = 2**32 - 1


def plan(spec: RunSpec, agent: Agent, settings: list[dict[str, float]], batched: bool) -> Run:
    """Check the spec's counts against ``agent`` and fix the run shape (``batched``: settings x seeds)
    and layout; refuse a training state that cannot fit in memory."""
    if not settings:
        raise ConfigError("hparams=[]: give at least one hyperparameter setting")
    seeds = whole_number("seeds", spec.seeds, minimum=1)
    steps = whole_number("steps", spec.steps)
    if steps < agent.steps_per_update:
        raise ConfigError(f"steps={spec.steps} is fewer than one train_step ({agent.steps_per_update} env steps per seed)")
    num_chunks = whole_number("num_chunks", spec.num_chunks, minimum=1)
    log_interval = None if spec.log_interval is None else whole_number("log_interval", spec.log_interval, minimum=1)
    seed = whole_number("seed", spec.seed, minimum=0, maximum=MAX_SEED)
    if spec.on_divergence is not None:
        check_choice("on_divergence", spec.on_divergence, ("stop", "continue"))
    until = check_until(spec.until)
    until_episodes = whole_number("until_episodes", spec.until_episodes, minimum=1)
    run_shape = (len(settings), seeds) if batched else (seeds,)
    num_runs = math.prod(run_shape)
    distributed.check_runs_split(num_runs, runs_device_count(num_runs), host_stepped(agent.env))
    check_memory(agent, num_runs)
    spec = dataclasses.replace(spec, seeds=seeds, steps=steps, num_chunks=num_chunks, log_interval=log_interval, seed=seed,
                               until=until, until_episodes=until_episodes)
    return Run(spec, agent, settings, run_shape, layout(steps, agent.steps_per_update, log_interval, num_chunks))


def check_until(until: Any) -> float | None:
    """The stopping rule's target return as a float (None: no rule)."""
    if until is None:
        return None
    if _is_auto(until):  # resolve() replaces it; a Run planned without a preset has no rule
        return None
    if isinstance(until, bool) or not isinstance(until, (int, float)) or not math.isfinite(until):
        raise ConfigError(f"until={until!r} is not a finite number: give the greedy return every run must reach "
                          "before training stops early, e.g. until=475 for CartPole-v1 (or leave it unset)")
    return float(until)


SCREEN_EPISODES = 10  # the stopping rule's first, cheap look: most chunks fail it


def stopping_rule(run: Run) -> Callable[[int, Any], bool] | None:
    """The engine's ``stop(chunk, state)`` for ``run.spec.until``: True once every run's greedy
    policy averages at least ``until`` over ``until_episodes`` episodes. Each chunk has evaluation
    seeds of its own (the same on resume). A screen of ``SCREEN_EPISODES`` episodes comes first,
    and only when every run passes it do the ``until_episodes`` episodes play: a check then costs
    a tenth as much in the chunks before the target is reached (20 checks of PQN's 256x256 network
    took 40 s at 100 episodes each). A run whose parameters diverged never reaches the target."""
    spec = run.spec
    if spec.until is None:
        return None

    def every_run_reaches(params: Any, episodes: int, seed: int) -> bool:
        returns = evaluate(run.agent, params, episodes=episodes, seed=seed).returns
        return bool(np.all(returns.mean(axis=-1) >= spec.until))

    def reached(chunk: int, state: Any) -> bool:
        seed = (spec.seed * 1_000_003 + 2 * chunk + 1) % 2**32
        if spec.until_episodes > SCREEN_EPISODES and not every_run_reaches(state.params, SCREEN_EPISODES, seed):
            return False
        return every_run_reaches(state.params, spec.until_episodes, (seed + 1) % 2**32)

    return reached


def _nbytes(leaf: Any) -> int:
    return math.prod(leaf.shape) * leaf.dtype.itemsize


def check_memory(agent: Agent, num_runs: int, available: int | None = None) -> None:
    """Refuse ``num_runs`` training states that cannot fit in the devices' memory, before anything is
    allocated: the state's size comes from the agent's init traced abstractly (no memory used)."""
    leaves = jax.tree_util.tree_leaves_with_path(jax.eval_shape(agent.init, jax.random.key(0), agent.hparams()))
    per_run = sum(_nbytes(leaf) for _, leaf in leaves)
    available = _available_bytes() if available is None else available
    needed = 2 * per_run * num_runs  # the state, and its copy while it moves to the devices
    if available is not None and needed > available:
        path, largest = max(leaves, key=lambda item: _nbytes(item[1]))
        raise ConfigError(
            f"the training state needs about {_size(needed)} ({num_runs:,} runs x {_size(per_run)}, twice while "
            f"it is placed on the devices; the largest part is {jax.tree_util.keystr(path)}: {_size(_nbytes(largest))} "
            f"per run) but {_size(available)} of memory is available. Train fewer seeds or settings, or shrink the "
            "state (a smaller buffer_capacity, num_envs or network)")


def _available_bytes() -> int | None:
    """Memory the training state may use: the host's available RAM on CPU, the devices' free memory on
    an accelerator (None when unknown)."""
    device = jax.devices()[0]
    if device.platform == "cpu":
        try:
            with open("/proc/meminfo") as f:
                fields = dict(line.split(":", 1) for line in f)
            return int(fields["MemAvailable"].split()[0]) * 1024
        except (OSError, KeyError, ValueError):
            return None
    stats = [d.memory_stats() or {} for d in jax.devices()]
    free = [s["bytes_limit"] - s.get("bytes_in_use", 0) for s in stats if "bytes_limit" in s]
    return sum(free) if free else None


def _size(nbytes: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if nbytes < 1024 or unit == "TiB":
            return f"{nbytes:.1f} {unit}" if unit != "B" else f"{int(nbytes)} B"
        nbytes /= 1024
    return f"{nbytes:.1f} TiB"


def resolve(spec: RunSpec) -> Run:
    """Build the agent, resolve every setting and check the run, before anything is written or compiled."""
    check_environment()
    spec = apply_preset(spec)
    agent = make_agent(spec)
    batched = isinstance(spec.hparams, (list, tuple))
    return plan(spec, agent, resolve_settings(agent, spec.hparams if batched else [spec.hparams]), batched)


def train_run(run: Run, *, progress: bool = True, callbacks: Iterable[Callback] = (), resume: Any = None) -> TrainResult:
    """Train a checked run with the engine."""
    spec = run.spec
    return train_runs(run.agent, run.settings, run.run_shape, steps=spec.steps, seed=spec.seed, log_interval=spec.log_interval,
                      num_chunks=spec.num_chunks, progress=progress, callbacks=callbacks, resume=resume,
                      on_divergence=run.on_divergence, stop=stopping_rule(run))


def train(
    algo: str | Agent,
    env: str | Any | None = None,
    *,
    seeds: int = 1,
    steps: int | None = None,
    hparams: Settings = None,
    config: Mapping[str, Any] | Any | None = None,
    env_kwargs: Mapping[str, Any] | None = None,
    seed: int = 0,
    log_interval: int | None = None,
    num_chunks: int = 20,
    progress: bool = True,
    callbacks: Iterable[Callback] = (),
    resume: Any = None,
    on_divergence: Literal["stop", "continue"] | None = None,
    preset: str | None = presets.AUTO,
    until: float | str | None = presets.AUTO,
    until_episodes: int = UNTIL_EPISODES,
) -> TrainResult:
    """Train ``seeds`` seeds (x each hyperparameter setting) for ``steps`` env steps per seed.

    ``algo`` is an algorithm name (then ``env`` is an env id or a gymnax env) or a made ``Agent``.
    ``hparams`` is one setting (a dict) or a list of settings trained side by side. ``config``
    holds the agent's static options. ``log_interval`` is env steps per seed between logged
    points (default: 100 points per run); ``num_chunks`` only sets how often Python reports.
    ``resume`` is a ``jaxrl.io.checkpoint.Checkpoint`` of this same run (same arguments): training
    continues from it, and the result equals the uninterrupted run's bit for bit. A run whose
    parameters or losses become NaN or infinite stops training with ``DivergenceError``
    (``on_divergence="stop"``, the default for one setting) or is listed in ``result.diverged``
    while the others train on (``"continue"``, the default for a list of settings). The
    (``algo``, ``env``) pair's tuned preset, when one ships (``jaxrl presets``), sets the config,
    hyperparameters and ``steps`` that are not given; ``preset=None`` uses the library defaults,
    ``preset="ALGO/ENV"`` another pair's (``steps`` not given and no preset: 100,000).
    ``until`` stops training early, after the first chunk at which every run's greedy policy
    averages at least ``until`` over ``until_episodes`` episodes (``result.stopped_early``);
    ``steps`` is then the most it trains. The check is deterministic, so resume stays exact. By
    default (``"auto"``) a preset's own stopping rule applies, if it has one; ``None`` trains every step.
    """
    if resume is not None and not isinstance(resume, checkpoint.Checkpoint):
        raise ConfigError(f"resume={resume!r} is not a checkpoint: pass jaxrl.io.checkpoint.load(run_dir), "
                          "or resume a run directory with `jaxrl train ... --resume RUN_DIR`")
    spec = RunSpec(algo, env, env_kwargs, config, hparams, seeds, steps, seed, log_interval, num_chunks, on_divergence, preset,
                   until, until_episodes)
    return train_run(resolve(spec), progress=progress, callbacks=callbacks, resume=resume)


def _saved_settings(config: dict[str, Any], agent: Agent) -> list[dict[str, float]]:
    """config.json's settings without engine-owned names (runs written before the engine owned
    ``total_steps`` recorded it)."""
    engine = set(agent.hparams_cls.engine_names())
    return [{k: v for k, v in setting.items() if k not in engine} for setting in config["hparams"]]


def _open_run_dir(out: Path, run: Run, resume: bool) -> tuple[run_dir.WriterLock, checkpoint.Checkpoint | None]:
    """Lock a fresh run directory holding config.json, or lock ``out`` and reopen it to resume (same
    definition; the checkpoint to continue from)."""
    from jaxrl import __version__

    definition = run.definition()
    if not resume:
        return run_dir.create_run_dir(out, {**definition, "jaxrl_version": __version__}), None
    saved = run_dir.read_config(out)
    # runs from before presets and stopping rules had none
    saved = {"preset": None, "until": None, "until_episodes": UNTIL_EPISODES, **saved, "hparams": _saved_settings(saved, run.agent)}
    run_dir.check_same_run(out, saved, definition)
    lock = run_dir.WriterLock(out)
    try:
        return lock, run_dir.reopen(out, run.run_shape[-1])
    except BaseException:
        lock.release()
        raise


def _file_writers(path: Path, run: Run, previous: checkpoint.Checkpoint | None, tensorboard: bool) -> list[Callback]:
    """The callbacks that write metrics, TensorBoard events and a checkpoint after each chunk."""
    callbacks: list[Callback] = [run_dir.MetricsWriter(path, run.run_shape[-1])]
    if tensorboard and tb.available():
        events = tb.TensorBoardWriter(path, run.run_shape)
        if previous is not None:
            events.restart(previous.env_steps, previous.metrics)
        callbacks.append(events)
    callbacks.append(checkpoint.CheckpointWriter(path, previous))  # last: a checkpoint means all else is written
    return callbacks


def execute(run: Run, *, out: str | Path | None = None, resume: bool = False, eval_episodes: int = 100,
            progress: bool = True, plot: bool = True, tensorboard: bool = True,
            write_more: Callable[[TrainResult, EvalResult, Path], None] | None = None,
            ) -> tuple[TrainResult, EvalResult, Path | None]:
    """Train a checked run, evaluate every run's greedy policy, and with ``out`` write the run directory.

    The directory gets config, metrics, a checkpoint per chunk, params, eval.json and the
    learning-curve PNGs (``plot=False`` leaves them to the caller); TensorBoard events too when
    tensorboardX is installed, unless ``tensorboard=False``. ``resume=True`` continues the run in
    ``out`` from its last checkpoint; the outcome equals an uninterrupted run's bit for bit. The
    directory is locked while this runs, ``write_more(result, evaluation, path)`` (a sweep's
    ranking) included: a second writer is refused.
    """
    if eval_episodes < 1:
        raise ConfigError(f"eval_episodes={eval_episodes} must be >= 1")
    if out is None:
        result = train_run(run, progress=progress)
        return result, _timed_evaluation(result, eval_episodes, run.spec.seed), None
    path = Path(out)
    if not distributed.is_writer():  # a multi-process run: process 0 writes, the others train their shards
        previous = _follow_writer(path, resume)
        result = train_run(run, progress=False, resume=previous)
        return result, _timed_evaluation(result, eval_episodes, run.spec.seed), path
    try:
        lock, previous = _open_run_dir(path, run, resume)
    except BaseException:
        distributed.agree(False)  # the other processes stop too, rather than wait for this one
        raise
    distributed.agree(True)
    with lock:
        result = train_run(run, progress=progress, callbacks=_file_writers(path, run, previous, tensorboard), resume=previous)
        write_start = time.perf_counter()
        run_dir.save_params(path, result.final_params)
        result.timings["write"] += time.perf_counter() - write_start
        evaluation = _timed_evaluation(result, eval_episodes, run.spec.seed)
        write_start = time.perf_counter()
        run_dir.write_eval(path, eval_episodes, evaluation.summary(), evaluation.per_run())
        if write_more is not None:
            write_more(result, evaluation, path)
        if plot:
            plot_curves(path)
        result.timings["write"] += time.perf_counter() - write_start
    return result, evaluation, path


def _follow_writer(path: Path, resume: bool) -> checkpoint.Checkpoint | None:
    """A process other than 0 of a multi-process run: wait for process 0 to open the run directory
    (and stop if it could not), then read the checkpoint a resumed run continues from."""
    if not distributed.agree(False):
        raise ConfigError(f"process 0 could not open the run directory {path} (its error says why); this process stops too")
    if not resume:
        return None
    previous = checkpoint.load(path)
    if previous is None:  # process 0 found one: the directory is not shared between the machines
        raise ConfigError(f"process {jax.process_index()} finds no checkpoint in {path}: a multi-process run resumes "
                          "from a directory every process can read (a shared filesystem)")
    return previous


def _timed_evaluation(result: TrainResult, episodes: int, seed: int) -> EvalResult:
    """The final greedy evaluation, its wall time added to ``result.timings["evaluate"]``."""
    start = time.perf_counter()
    evaluation = evaluate(result, episodes=episodes, seed=seed)
    result.timings["evaluate"] = time.perf_counter() - start
    return evaluation


def plot_curves(path: Path) -> None:
    """Learning-curve PNGs, when matplotlib is installed (it comes with gymnax)."""
    try:
        from jaxrl.io.plots import plot_run
    except ImportError:
        print("jaxrl: matplotlib is not installed; no learning-curve plot written", file=sys.stderr)
        return
    plot_run(path)


@dataclasses.dataclass
class LoadedRun(TrainedRuns):
    """A finished run, rebuilt from its directory: the agent and every run's final parameters."""

    path: Path
    config: dict[str, Any]
    agent: Agent
    hparams: list[dict[str, float]]
    run_shape: tuple[int, ...]
    final_params: Any


def load(path: str | Path) -> LoadedRun:
    """Rebuild a run directory's agent and final parameters (works in a fresh process)."""
    path = Path(path)
    config = run_dir.read_config(path)
    agent = agents_lib.make(config["algo"], config["env"], config=config["config"], **config.get("env_kwargs", {}))
    shape = run_dir.run_shape(config)
    target = jax.eval_shape(agent.init, jax.random.key(0), agent.hparams()).params
    params = run_dir.read_params(path, target, shape)
    return LoadedRun(path, config, agent, _saved_settings(config, agent), shape, params)


def write_report(path: str | Path, out: str | Path | None = None, gif: bool = True, episodes: int = 2) -> Path:
    """Write ``report.html`` (or ``out``) for a run directory; first draw the learning curve and,
    where the env has a drawing and ``gif`` is set, the best setting's GIF, if they are missing."""
    from jaxrl.io.plots import CURVE_FILE, plot_run

    path = Path(path)
    run_dir.read_config(path)  # a clear error for a directory that is not a run
    if not (path / CURVE_FILE).exists() and (path / run_dir.METRICS_FILE).exists():
        plot_run(path)
    if gif and not (path / report.GIF_FILE).exists() and (path / run_dir.PARAMS_FILE).exists():
        run = load(path)
        try:
            render.drawer_for(run.agent.env)
        except ConfigError:
            pass  # no drawing for this env: the page goes without a GIF
        else:
            render.render_gif(run.agent, run.params(seed=0, setting=report.best_setting(path)), path / report.GIF_FILE, episodes=episodes)
    out = Path(out) if out else path / report.REPORT_FILE
    atomic_write_bytes(out, report.build_report(path).encode())
    return out
