"""The training engine, shared by every agent.

``train_runs`` trains seeds x hyperparameter settings as one batch of "runs" in one compiled program:
``vmap`` over runs, a ``lax.scan`` of logging periods per chunk, each period a ``lax.scan`` of
``train_step``. A thin Python loop over chunks reports progress and hands each chunk's metrics
to callbacks. Metrics are reduced per logging period, never per chunk, so the chunk size changes
neither the curves nor the parameters: same key, same bits. With several devices the run axis
is sharded over them.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import time
from typing import Any, Callable, Iterable, Mapping

import jax
import jax.numpy as jnp
import numpy as np
from gymnax.environments import spaces

from jaxrl import compilation, distributed
from jaxrl.compilation import cpu_compiler_options
from jaxrl.core.agent import Agent, carried_act, describe_space
from jaxrl.core.hparams import stack_hparams
from jaxrl.core.rollout import SUMMED_METRICS
from jaxrl.envs.wrappers import host_stepped, success_fn
from jaxrl.errors import ConfigError
from jaxrl.evaluate import EvalResult, evaluate


@dataclasses.dataclass
class ChunkReport:
    """What a callback sees after each chunk. Metric arrays are ``[runs, logs_in_chunk]``."""

    chunk: int
    num_chunks: int
    env_steps: np.ndarray  # env steps per seed at each log point of this chunk
    metrics: dict[str, np.ndarray]
    state: Any
    steps_per_second: float  # all runs' env steps per wall-clock second in this chunk


Callback = Callable[[ChunkReport], None]


@dataclasses.dataclass
class Policy:
    """A plain ``obs -> action`` callable for one trained run (NumPy/Python in and out).

    A recurrent agent's policy carries its hidden state from call to call: call ``reset()`` at the
    start of every episode (a feed-forward policy's ``reset()`` does nothing, so a loop that
    always calls it serves both)."""

    agent: Agent
    params: Any
    key: jax.Array
    _count: int = 0

    def __post_init__(self) -> None:
        self._initial_carry, act = carried_act(self.agent)
        self._act = jax.jit(act)
        self._carry = self._initial_carry
        self._space = self.agent.env.observation_space(self.agent.env_params)

    def reset(self) -> None:
        """Start a new episode: the hidden state back to the initial carry (feed-forward: nothing)."""
        self._carry = self._initial_carry

    def __call__(self, obs: Any) -> Any:
        obs = checked_observation(self._space, obs)
        key = jax.random.fold_in(self.key, self._count)
        self._count += 1
        action, self._carry = self._act(self.params, self._carry, jnp.asarray(obs), key)
        action = np.asarray(action)
        return action.item() if action.ndim == 0 else action


def checked_observation(space: Any, obs: Any) -> np.ndarray:
    """One observation as an array, refused unless it belongs to ``space``: a Discrete space's
    observation is a whole number in [0, n), a Box's has the space's shape."""
    array = np.asarray(obs)
    if isinstance(space, spaces.Discrete):
        if array.shape != () or not np.issubdtype(array.dtype, np.number) or array != np.round(array) or not 0 <= array < space.n:
            raise ConfigError(f"observation {obs!r} is not in this policy's observation space Discrete({space.n}): "
                              f"give one whole number from 0 to {space.n - 1}")
        return array.astype(np.int32)
    if isinstance(space, spaces.Box) and array.shape != tuple(space.shape):
        raise ConfigError(f"observation of shape {array.shape} does not fit this policy's observation space "
                          f"{describe_space(space)}: give one observation of shape {tuple(space.shape)}")
    return array


class TrainedRuns:
    """Per-run access shared by ``TrainResult`` and ``jaxrl.load``'s ``LoadedRun``.

    ``run_shape`` is ``(seeds,)``, or ``(settings, seeds)`` when a list of hyperparameter settings
    was trained; ``hparams`` holds one resolved setting per setting; ``final_params`` every run's
    final parameters, with leading axes ``run_shape``.
    """

    agent: Agent
    hparams: list[dict[str, float]]
    run_shape: tuple[int, ...]
    final_params: Any

    def _index(self, seed: int, setting: int) -> tuple[int, ...]:
        seeds, settings = self.run_shape[-1], len(self.hparams)
        bad = [f"{name}={value}" for name, value, count in (("seed", seed, seeds), ("setting", setting, settings))
               if not 0 <= value < count]
        if bad:
            raise ConfigError(f"seed={seed}, setting={setting} is out of range: these runs have {seeds} seeds and "
                              f"{settings} settings, so {' and '.join(bad)} is out of range")
        return (setting, seed) if len(self.run_shape) == 2 else (seed,)

    def params(self, seed: int = 0, setting: int = 0) -> Any:
        """One run's final parameters."""
        index = self._index(seed, setting)
        return jax.tree.map(lambda x: x[index], self.final_params)

    def policy(self, seed: int = 0, setting: int = 0) -> Policy:
        """The greedy/deterministic policy of one run, for a plain (e.g. Gymnasium) loop."""
        return Policy(self.agent, self.params(seed, setting), jax.random.key(seed))

    def evaluate(self, episodes: int = 100, seed: int = 0) -> EvalResult:
        """Every run's greedy policy for ``episodes`` episodes (``jaxrl.evaluate``)."""
        return evaluate(self, episodes=episodes, seed=seed)


@dataclasses.dataclass
class TrainResult(TrainedRuns):
    """Curves, final states and policies of a training batch.

    ``metrics[name]`` has shape ``run_shape + (logs,)``; ``env_steps[t]`` is the env steps per seed at log ``t``.
    """

    agent: Agent
    hparams: list[dict[str, float]]
    run_shape: tuple[int, ...]
    env_steps: np.ndarray
    metrics: dict[str, np.ndarray]
    final_state: Any
    compile_seconds: float
    train_seconds: float
    diverged: list[Divergence] = dataclasses.field(default_factory=list)  # runs that produced NaN/inf
    stopped_early: bool = False  # the stopping rule ended training before the last chunk
    # Wall-clock seconds by phase: setup (init, placement, tracing), compile, train (the device
    # running chunks), write (the callbacks); the run pipeline adds evaluate and its own writes.
    timings: dict[str, float] = dataclasses.field(default_factory=dict)

    @property
    def final_params(self) -> Any:
        return self.final_state.params


def _derived_metrics(raw: Mapping[str, np.ndarray], has_success: bool) -> dict[str, np.ndarray]:
    """Per-period means over completed episodes (NaN where no episode ended in the period)."""
    out = {k: v for k, v in raw.items() if k not in SUMMED_METRICS}
    episodes = raw["episodes"]
    with np.errstate(invalid="ignore", divide="ignore"):
        out["episode_return"] = np.where(episodes > 0, raw["episode_return_sum"] / episodes, np.nan)
        out["episode_length"] = np.where(episodes > 0, raw["episode_length_sum"] / episodes, np.nan)
        if has_success:
            out["success_rate"] = np.where(episodes > 0, raw["successes"] / episodes, np.nan)
    out["episodes"] = episodes
    return out


def _check_resume_layout(resume: Any, chunks: int, logs_per_chunk: int) -> None:
    """A checkpoint continues only the run that wrote it: same chunks, same logging periods."""
    if resume.num_chunks != chunks or not 0 < resume.chunks_done <= chunks or len(resume.env_steps) != resume.chunks_done * logs_per_chunk:
        raise ConfigError(
            f"the checkpoint ({resume.chunks_done} of {resume.num_chunks} chunks, {len(resume.env_steps)} logged points) "
            f"does not fit this run's layout ({chunks} chunks of {logs_per_chunk} logged points); "
            "resume with the same steps, log_interval and num_chunks as the original run")


def _largest_divisor_at_most(n: int, bound: int) -> int:
    return max(d for d in range(1, max(1, min(n, bound)) + 1) if n % d == 0)


def _run_keys(seed: jax.Array, num_seeds: int, num_settings: int) -> jax.Array:
    """Seed ``i``'s key is the same whatever the number of seeds or settings (traced: no compile of its own)."""
    keys = jax.vmap(lambda i: jax.random.fold_in(jax.random.key(seed), i))(jnp.arange(num_seeds))
    return jnp.tile(keys, num_settings)


def _shard_runs(tree: Any, num_runs: int, one_device: bool = False) -> Any:
    """Shard the run axis over as many devices as divide it evenly (6 runs on 4 devices: 3).

    Through host memory: resharding device arrays compiles a slicing program per leaf shape
    (0.5 s for PPO's state), slicing host arrays compiles nothing (PRNG key arrays, which have no
    host form, still take one).
    """
    devices = run_devices(num_runs, one_device)
    if len(devices) < 2:
        return tree
    sharding = jax.sharding.NamedSharding(_runs_mesh(devices), jax.sharding.PartitionSpec("runs"))
    if distributed.multi_process():
        return distributed.place(tree, sharding)
    return jax.device_put(jax.device_get(tree), sharding)


def run_devices(num_runs: int, one_device: bool = False) -> list[Any]:
    """The devices the run axis is split over: as many as divide ``num_runs`` evenly (one for
    ``one_device``: envs stepped on the host, whose callbacks run one batch at a time). In a
    multi-process run, the same number of every process's devices (``jaxrl.distributed``)."""
    if distributed.multi_process():
        return distributed.runs_devices(runs_device_count(num_runs))
    return jax.devices()[: 1 if one_device else runs_device_count(num_runs)]


def runs_device_count(num_runs: int) -> int:
    """How many devices the run axis is split over: as many as divide ``num_runs`` evenly."""
    return _largest_divisor_at_most(num_runs, jax.device_count())


def _runs_mesh(devices: list[Any]) -> jax.sharding.Mesh:
    """A one-axis mesh named "runs" over ``devices``."""
    return jax.sharding.Mesh(np.array(devices), ("runs",))


def _run_init(agent: Agent, to_keys: Callable[[jax.Array], jax.Array], key_source: jax.Array, run_hparams: dict) -> Any:
    """Compile and run the init program: ``to_keys(key_source)`` gives one key per run, then each
    run's ``agent.init`` runs one after another (``lax.map``, not ``vmap``).

    A vmapped init batches the orthogonal initialisers' QR factorisations, and jaxlib's CPU
    LAPACK kernel spreads a batch over XLA's intra-op thread pool and waits for it from a thread
    of that same pool: when as many QR kernels run at once as the pool has threads, every thread
    waits and the process hangs (reproduced here on 2 cores: within 3,000 executions of PPO's
    16-seed init; none in 8,000 with ``lax.map``, whose QRs are single matrices). For the same
    reason it runs on one device: partitioned over two, both pool threads run a QR and wait on
    each other (SAC's 16-seed init hung so). The program runs once, in milliseconds, so on CPU it
    is also compiled without LLVM optimisation, which cuts its compile from seconds to about one.
    """
    def init_all(key_source: jax.Array, run_hparams: dict) -> Any:
        return jax.lax.map(lambda run: agent.init(*run), (to_keys(key_source), run_hparams))

    lowered = jax.jit(init_all).lower(key_source, run_hparams)
    return lowered.compile(compiler_options=cpu_compiler_options(0))(key_source, run_hparams)


def init_runs(agent: Agent, keys: jax.Array, run_hparams: dict) -> Any:
    """Every run's initial state from one key and one hyperparameter setting per run."""
    return _run_init(agent, lambda k: k, keys, run_hparams)


def _initial_states(agent: Agent, seed: int, num_seeds: int, settings: list[dict[str, float]], total_steps: int) -> Any:
    """Every run's initial state (``num_seeds`` runs per setting, settings outermost), the keys
    derived inside the init program: one compile instead of several. The engine fills in
    ``total_steps``, the env steps per seed the run trains (schedules over the whole run)."""
    stacked = stack_hparams(agent.hparams_cls, settings, total_steps=float(total_steps))
    run_hparams = jax.tree.map(lambda x: np.repeat(x, num_seeds), stacked)
    to_keys = lambda s: _run_keys(s, num_seeds, len(settings))  # noqa: E731
    return _run_init(agent, to_keys, np.uint32(seed % 2**32), run_hparams)


def _one_run_at_a_time(run_one: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``run_one`` over a run axis of size 1, without ``vmap``: a vmapped axis of size 1 stays in
    XLA's CPU program and costs (PQN's LayerNorm MLP trained at half speed under it)."""
    def run(state: Any) -> Any:
        return jax.tree.map(lambda x: x[None], run_one(jax.tree.map(lambda x: x[0], state)))

    return run


def _make_chunk_fn(agent: Agent, updates_per_log: int, logs: int, num_runs: int) -> Callable[[Any], tuple[Any, dict]]:
    """The chunk program over ``num_runs`` runs: each device holds ``num_runs / devices`` of them
    (``run_devices``) and steps them vmapped, or unbatched where it holds one (``shard_map`` over
    the devices, so each device's program is written for its own runs)."""
    def run_one(state: Any) -> tuple[Any, dict]:
        def accumulate(carry: tuple[Any, dict], _: Any) -> tuple[tuple[Any, dict], None]:
            state, totals = carry
            state, metrics = agent.train_step(state)
            return (state, jax.tree.map(jnp.add, totals, metrics)), None

        def period(state: Any, _: Any) -> tuple[Any, tuple[dict, jax.Array]]:
            # Metrics are summed in the loop carry (no per-step buffers), then averaged. A NaN or
            # inf in any step's metric survives the sum; the parameters are checked once per period.
            shapes = jax.eval_shape(agent.train_step, state)[1]
            zeros = jax.tree.map(lambda x: jnp.zeros(x.shape, x.dtype), shapes)
            (state, totals), _ = jax.lax.scan(accumulate, (state, zeros), None, length=updates_per_log)
            reduced = {k: v if k in SUMMED_METRICS else v / updates_per_log for k, v in totals.items()}
            return state, (reduced, params_finite(state.params))

        return jax.lax.scan(period, state, None, length=logs)

    devices = run_devices(num_runs, host_stepped(agent.env))
    local = jax.vmap(run_one) if num_runs > len(devices) else _one_run_at_a_time(run_one)
    if len(devices) > 1:
        runs = jax.sharding.PartitionSpec("runs")
        local = jax.shard_map(local, mesh=_runs_mesh(devices), in_specs=runs, out_specs=runs,
                              check_vma=False)  # per-device values: nothing is replicated
    return jax.jit(local, donate_argnums=0)


def params_finite(params: Any) -> jax.Array:
    """True when every floating-point parameter is finite (one flag, checked once per logging period)."""
    flags = [jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(params) if jnp.issubdtype(x.dtype, jnp.inexact)]
    return jnp.all(jnp.stack(flags)) if flags else jnp.array(True)


@dataclasses.dataclass(frozen=True)
class Layout:
    """How ``steps`` env steps per seed become whole train_steps, logging periods and chunks.

    A train_step advances every seed by ``steps_per_update`` env steps, so ``steps`` rounds up to
    whole updates, and the updates to whole logging periods: ``total_steps`` is what is trained.
    """

    updates_per_log: int
    num_logs: int
    logs_per_chunk: int
    chunks: int
    steps_per_log: int
    total_steps: int


def layout(steps: int, steps_per_update: int, log_interval: int | None, num_chunks: int) -> Layout:
    """The run's layout (``log_interval`` None or 0: 100 logged points per run)."""
    total_updates = math.ceil(steps / steps_per_update)
    log_interval = log_interval or max(1, steps // 100)
    updates_per_log = max(1, min(total_updates, round(log_interval / steps_per_update)))
    num_logs = math.ceil(total_updates / updates_per_log)
    logs_per_chunk = _largest_divisor_at_most(num_logs, math.ceil(num_logs / num_chunks))
    steps_per_log = updates_per_log * steps_per_update
    return Layout(updates_per_log, num_logs, logs_per_chunk, num_logs // logs_per_chunk, steps_per_log,
                  num_logs * steps_per_log)


# Learning metrics whose magnitude beyond this is finite but absurd for any algorithm (a warning).
ABSURD_MAGNITUDE = 1e10


@dataclasses.dataclass(frozen=True)
class Divergence:
    """Where a run first produced a non-finite value: its index in ``run_shape``, the logging point,
    the env steps per seed at its end, and the quantity (``parameters`` or a metric's name)."""

    run: tuple[int, ...]
    log: int
    env_steps: int
    quantity: str

    def describe(self) -> str:
        where = f"setting {self.run[0]}, seed {self.run[1]}" if len(self.run) == 2 else f"seed {self.run[0]}"
        return f"{where}: {self.quantity} became NaN or infinite by env step {self.env_steps:,} (logged point {self.log + 1})"


class DivergenceError(RuntimeError):
    """Training produced NaN or infinite values and the run was set to stop (``on_divergence='stop'``)."""

    def __init__(self, divergences: list[Divergence], steps_done: int):
        self.divergences, self.steps_done = divergences, steps_done
        listed = "; ".join(d.describe() for d in divergences[:8]) + (" ..." if len(divergences) > 8 else "")
        super().__init__(
            f"training diverged ({listed}). Nothing after env step {steps_done:,} per seed was kept: a run "
            "directory holds the last finite checkpoint and metrics. Lower the learning rate (or clip "
            "gradients harder) and train again; on_divergence='continue' (--on-divergence continue) "
            "trains the other runs to the end and marks these as diverged")


def _divergences(raw: Mapping[str, np.ndarray], finite_params: np.ndarray, run_shape: tuple[int, ...],
                 first_log: int, steps_per_log: int, known: set[tuple[int, ...]]) -> list[Divergence]:
    """The first non-finite quantity of each run not yet ``known`` to have diverged, in this chunk."""
    found = []
    for flat in range(finite_params.shape[0]):
        run = np.unravel_index(flat, run_shape)
        run = tuple(int(i) for i in run)
        if run in known:
            continue
        bad = {"parameters": ~finite_params[flat]}
        bad.update({k: ~np.isfinite(v[flat]) for k, v in raw.items()})
        firsts = {k: int(np.argmax(b)) for k, b in bad.items() if b.any()}
        if firsts:
            log = min(firsts.values())
            quantity = next(k for k, t in firsts.items() if t == log)
            found.append(Divergence(run, first_log + log, (first_log + log + 1) * steps_per_log, quantity))
    return found


def _warn_absurd(raw: Mapping[str, np.ndarray], run_shape: tuple[int, ...], first_log: int, steps_per_log: int,
                 warned: set[str]) -> None:
    """Warn once per quantity about finite learning metrics beyond ``ABSURD_MAGNITUDE`` (e.g. value losses)."""
    for name, values in raw.items():
        if name in SUMMED_METRICS or name in warned:
            continue
        with np.errstate(invalid="ignore"):
            absurd = np.isfinite(values) & (np.abs(values) > ABSURD_MAGNITUDE)
        if absurd.any():
            flat, log = np.unravel_index(int(np.argmax(absurd)), absurd.shape)
            run = tuple(int(i) for i in np.unravel_index(int(flat), run_shape))
            warned.add(name)
            print(f"jaxrl: warning: {name} reached {values[flat, log]:.3g} in run {run} by env step "
                  f"{(first_log + log + 1) * steps_per_log:,}: the run is likely diverging (lower the learning rate)",
                  file=sys.stderr)


class _Progress:
    """tqdm when installed, else a line per chunk on stderr."""

    def __init__(self, total: int, enabled: bool, label: str):
        self.enabled, self.bar = enabled, None
        if enabled:
            try:
                from tqdm.auto import tqdm

                self.bar = tqdm(total=total, unit=" env steps", unit_scale=True, desc=label, dynamic_ncols=True)
            except ImportError:
                pass

    def update(self, steps: int, done: int, total: int, fields: dict[str, str]) -> None:
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.update(steps)
            self.bar.set_postfix(fields, refresh=True)
        else:
            text = " ".join(f"{k}={v}" for k, v in fields.items())
            print(f"[{done:,}/{total:,} env steps per seed] {text}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def train_runs(agent: Agent, settings: list[dict[str, float]], run_shape: tuple[int, ...], *, steps: int, seed: int,
               log_interval: int | None, num_chunks: int, progress: bool, callbacks: Iterable[Callback] = (),
               resume: Any = None, on_divergence: str = "stop",
               stop: Callable[[int, Any], bool] | None = None) -> TrainResult:
    """Train ``run_shape`` runs (``(seeds,)`` or ``(settings, seeds)``, one resolved setting per
    setting) of ``agent`` for ``steps`` env steps per seed; the input is checked by ``jaxrl.runs``.

    ``log_interval`` is env steps per seed between logged points (default: 100 points per run);
    ``num_chunks`` only sets how often Python reports. ``resume`` is a
    ``jaxrl.io.checkpoint.Checkpoint`` of this same run: training continues from it, and the
    result equals the uninterrupted run's bit for bit. A run whose parameters or metrics become
    NaN or infinite raises ``DivergenceError`` after its chunk (``on_divergence="stop"``), or is
    listed in ``TrainResult.diverged`` while the others train on (``"continue"``). ``stop(chunk,
    state)`` (a stopping rule), asked after each chunk's callbacks with every run's state, ends
    training there when it returns True; asked again of a resumed checkpoint's state, it makes a
    resumed run stop where the uninterrupted one did.
    """
    setup_start = time.perf_counter()
    train_compiler_options = cpu_compiler_options(compilation.TRAIN_PROGRAM_LLVM_LEVEL, agent.cpu_compile_options)
    seeds = run_shape[-1]

    plan = layout(steps, agent.steps_per_update, log_interval, num_chunks)
    updates_per_log, logs_per_chunk = plan.updates_per_log, plan.logs_per_chunk
    chunks, steps_per_log, total_steps = plan.chunks, plan.steps_per_log, plan.total_steps

    num_runs = len(settings) * seeds
    state = _initial_states(agent, seed, seeds, settings, total_steps)
    first_chunk, history = 0, []
    if resume is not None:
        _check_resume_layout(resume, chunks, logs_per_chunk)
        state, first_chunk = resume.restore(state), resume.chunks_done
        history.append(dict(resume.metrics))
    restored = seen = state
    state = _shard_runs(state, num_runs, host_stepped(agent.env))
    stopped = 0 < first_chunk < chunks and stop is not None and stop(first_chunk - 1, restored)

    compiled, compile_seconds, compile_start = None, 0.0, time.perf_counter()
    if not stopped:  # a resumed run the rule had already stopped has nothing left to train
        lowered = _make_chunk_fn(agent, updates_per_log, logs_per_chunk, num_runs).lower(state)
        compile_start = time.perf_counter()
        compiled = lowered.compile(compiler_options=train_compiler_options)
        compile_seconds = time.perf_counter() - compile_start
    timings = {"setup": compile_start - setup_start, "compile": compile_seconds}

    has_success = success_fn(agent.env) is not None
    # The bar counts env steps over all runs; its rate is the throughput a user cares about.
    used = len(run_devices(num_runs, host_stepped(agent.env)))
    where = f" on {used} of {jax.device_count()} devices" if jax.device_count() > 1 else ""
    bar = _Progress(total_steps * num_runs, progress, f"{agent.name} x{num_runs} runs{where}")
    if first_chunk:
        done = first_chunk * logs_per_chunk * steps_per_log
        bar.update(done * num_runs, done, total_steps, {"resumed at steps/seed": f"{done:,}"})
    train_seconds = write_seconds = stop_seconds = 0.0
    diverged: list[Divergence] = []
    warned: set[str] = set()
    try:
        for chunk in range(first_chunk, chunks if not stopped else first_chunk):
            start = time.perf_counter()
            state, (raw, finite) = compiled(state)
            raw, finite = distributed.gather((raw, finite))
            # every process sees every run's state (a multi-process run gathers it to each host)
            seen = distributed.gather(state) if distributed.multi_process() else state
            elapsed = time.perf_counter() - start
            train_seconds += elapsed
            first_log = chunk * logs_per_chunk
            new = _divergences(raw, finite, run_shape, first_log, steps_per_log, {d.run for d in diverged})
            if new and on_divergence == "stop":  # before the callbacks: files keep the last finite chunk
                raise DivergenceError(new, first_log * steps_per_log)
            diverged += new
            _warn_absurd(raw, run_shape, first_log, steps_per_log, warned)
            metrics = _derived_metrics(raw, has_success)
            history.append(metrics)
            env_steps = (np.arange(first_log, first_log + logs_per_chunk) + 1) * steps_per_log
            rate = num_runs * logs_per_chunk * steps_per_log / max(elapsed, 1e-9)
            report = ChunkReport(chunk, chunks, env_steps, metrics, seen, rate)
            write_start = time.perf_counter()
            for callback in callbacks:
                callback(report)
            write_seconds += time.perf_counter() - write_start
            fields = {"steps/seed": f"{int(env_steps[-1]):,}"}
            last_return = metrics["episode_return"][:, -1]
            if np.isfinite(last_return).any():
                fields["return"] = f"{np.nanmean(last_return):.3g}"
            if "success_rate" in metrics and np.isfinite(metrics["success_rate"][:, -1]).any():
                fields["success"] = f"{np.nanmean(metrics['success_rate'][:, -1]):.2f}"
            if bar.bar is None:
                fields["env steps/s"] = f"{rate:,.0f}"
            bar.update(num_runs * logs_per_chunk * steps_per_log, int(env_steps[-1]), total_steps, fields)
            if stop is not None and chunk < chunks - 1:
                check_start = time.perf_counter()
                stopped = stop(chunk, seen)
                stop_seconds += time.perf_counter() - check_start
                if stopped:
                    break
    finally:
        bar.close()

    logs_done = sum(h["episodes"].shape[1] for h in history)
    curves = {k: np.concatenate([h[k] for h in history], axis=1).reshape(run_shape + (logs_done,)) for k in history[0]}
    final = seen if distributed.multi_process() else state
    final_state = jax.tree.map(lambda x: x.reshape(run_shape + x.shape[1:]), final)
    return TrainResult(
        agent=agent,
        hparams=settings,
        run_shape=run_shape,
        env_steps=(np.arange(logs_done) + 1) * steps_per_log,
        metrics=curves,
        final_state=final_state,
        compile_seconds=compile_seconds,
        train_seconds=train_seconds,
        diverged=diverged,
        stopped_early=stopped,
        timings={**timings, "train": train_seconds, "write": write_seconds, "stop_checks": stop_seconds},
    )
