"""The ``jaxrl`` command: train, eval, envs, algos.

    jaxrl train q_learning --env FrozenLake-v1 --env-arg is_slippery=false --seeds 32 --steps 50000 \\
        --set learning_rate=0.8 --set gamma=0.95 --out runs/frozenlake
    jaxrl eval runs/frozenlake --episodes 100
    jaxrl envs
    jaxrl algos
"""

from __future__ import annotations

import argparse
import ast
import datetime as dt
import os
import sys
from pathlib import Path
from typing import Any, Sequence


from jaxrl.cpu_devices import check_environment
from jaxrl.errors import ConfigError
from jaxrl.stats import bootstrap_ci, format_table


def _parse_assignments(items: Sequence[str], flag: str) -> dict[str, str]:
    """KEY=VALUE items as a dict; a key given twice is refused (the later one would silently win)."""
    out = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"{flag} {item!r}: expected KEY=VALUE, e.g. {flag} learning_rate=0.1")
        key, value = (part.strip() for part in item.split("=", 1))
        if key in out:
            raise ConfigError(f"{flag} {key} is given twice ({key}={out[key]} and {key}={value}); give it once"
                              + (f", with every value: {flag} {key}={out[key]},{value}" if flag == "--grid" else ""))
        out[key] = value
    return out


def _literal(value: str) -> Any:
    """'false' -> False, '3' -> 3, '8x8' -> '8x8'."""
    lowered = value.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return value


def summary_table(evaluation: Any, hparams: list[dict[str, float]], run_shape: tuple[int, ...],
                  diverged: Sequence[tuple[int, ...]] = ()) -> str:
    """Mean ± std over seeds of each seed's mean return (and success rate, episode length); diverged
    runs are left out of the means and counted in their own column."""
    import numpy as np

    batched = len(run_shape) == 2
    per_run = evaluation.per_run()
    shape = (len(hparams) if batched else 1, run_shape[-1])
    kept = np.ones(shape, bool)
    for run in diverged:
        kept[run if batched else (0, run[0])] = False
    header = ["setting", "seeds", "return IQM [95% bootstrap CI]", "return (mean ± std over seeds)", "success rate",
              "episode length"]
    rows = [header + (["diverged"] if len(diverged) else [])]
    for i in range(shape[0]):
        label = ", ".join(f"{k}={v:g}" for k, v in hparams[i].items()) if batched else "-"
        values = {k: v.reshape(shape)[i][kept[i]] for k, v in per_run.items()}
        stat = lambda x, f: "n/a" if not x.size else f"{x.mean():{f}} ± {x.std():{f}}"  # noqa: E731
        rows.append([
            label if len(label) < 60 else label[:57] + "...",
            str(shape[1]),
            "n/a" if not values["return"].size else "{:.3f} [{:.3f}, {:.3f}]".format(*bootstrap_ci(values["return"])),
            stat(values["return"], ".3f"),
            "n/a" if "success_rate" not in values else stat(values["success_rate"], ".3f"),
            "n/a" if not values["length"].size else f"{values['length'].mean():.1f}",
        ] + ([str(int((~kept[i]).sum()))] if len(diverged) else []))
    return format_table(rows)


def _spec_from_args(args: argparse.Namespace) -> Any:
    """The ``RunSpec`` of the shared train/sweep arguments (checked, nothing written); each --set
    KEY=VALUE goes to the static config or the hyperparameters by name."""
    from jaxrl.runs import UNTIL_EPISODES, RunSpec

    config, hparams, env_kwargs = _assignments_from_args(args)
    for flag, value in (("--seeds", args.seeds), ("--chunks", args.chunks), ("--eval-episodes", args.eval_episodes),
                        ("--log-interval", 1 if args.log_interval is None else args.log_interval)):
        if value < 1:
            raise ConfigError(f"{flag} {value} must be >= 1")
    return RunSpec(algo=args.algo, env=args.env, env_kwargs=env_kwargs, config=config, hparams=hparams, seeds=args.seeds,
                   steps=args.steps, seed=args.seed, log_interval=args.log_interval, num_chunks=args.chunks,
                   on_divergence=args.on_divergence, preset=None if args.no_preset else args.preset,
                   until=getattr(args, "until", None),  # sweep has no --until: settings are compared at one budget
                   until_episodes=getattr(args, "until_episodes", UNTIL_EPISODES))


def _assignments_from_args(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(config, hyperparameters, env kwargs) from --set KEY=VALUE (routed by name) and --env-arg KEY=VALUE."""
    from jaxrl.runs import route_names

    config, hparams = route_names(args.algo, _parse_assignments(args.set, "--set"), "--set")
    env_kwargs = {k: _literal(v) for k, v in _parse_assignments(args.env_arg, "--env-arg").items()}
    return config, hparams, env_kwargs


def _print_run_notes(run: Any, result: Any) -> None:
    """What was trained when it differs from what was asked, and the runs that diverged."""
    note = run.rounding_note()
    if note:
        print(f"note: {run.spec.algo} {note}")
    for divergence in result.diverged:
        print(f"diverged: {divergence.describe()}; its evaluation is left out of the means below")


def _output_dir(args: argparse.Namespace) -> tuple[Path, bool]:
    """(run directory, resuming?) from --out / --resume."""
    if args.resume:
        if args.out and Path(args.out).resolve() != Path(args.resume).resolve():
            raise ConfigError("--resume RUN_DIR continues RUN_DIR in place; drop --out (or make it the same directory)")
        return Path(args.resume), True
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    prefix = "" if args.command == "train" else f"{args.command}-"
    env = args.env.replace("/", "-")  # an env id such as probe/TimeLimit must not nest directories
    return Path(args.out or f"runs/{prefix}{args.algo}-{env}-{stamp}"), False


def process_age() -> float | None:
    """Seconds since this process started (Linux's /proc; None elsewhere): the import time a user
    waits before ``main`` runs."""

    try:
        with open("/proc/self/stat") as stat, open("/proc/uptime") as uptime:
            started_ticks = int(stat.read().rsplit(")", 1)[1].split()[19])
            now = float(uptime.read().split()[0])
        return max(0.0, now - started_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return None


def cmd_train(args: argparse.Namespace) -> int:
    import time

    from jaxrl import distributed, runs
    from jaxrl.io.files import atomic_write_json

    started = time.perf_counter()
    run = runs.resolve(_spec_from_args(args))  # every input checked before creating files or compiling anything
    resolved = time.perf_counter() - started
    out, resume = _output_dir(args)
    result, evaluation, out = runs.execute(run, out=out, resume=resume, progress=not args.quiet, eval_episodes=args.eval_episodes)
    rate = args.seeds * result.env_steps[-1] / max(result.train_seconds, 1e-9)
    print(f"\n{args.algo} on {args.env}: {args.seeds} seeds x {int(result.env_steps[-1]):,} env steps, "
          f"compiled in {result.compile_seconds:.1f} s, trained in {result.train_seconds:.1f} s ({rate:,.0f} env steps/s)")
    if result.stopped_early:
        print(f"stopped early (--until {run.spec.until:g}): every seed's greedy policy averaged at least {run.spec.until:g} "
              f"over {run.spec.until_episodes} episodes at {int(result.env_steps[-1]):,} env steps per seed, of "
              f"{run.layout.total_steps:,}")
    else:
        _print_run_notes(run, result)
    print(f"greedy evaluation, {args.eval_episodes} episodes per seed:")
    print(summary_table(evaluation, result.hparams, result.run_shape, [d.run for d in result.diverged]))
    timings = {"import": getattr(args, "import_seconds", None), "resolve": resolved, **result.timings}
    if distributed.is_writer():
        atomic_write_json(out / TIMINGS_FILE, {k: v for k, v in timings.items() if v is not None})
    print("time: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items() if v is not None and v >= 0.05))
    print(f"\nrun directory: {out}")
    return 0


TIMINGS_FILE = "timings.json"  # seconds per phase of `jaxrl train`, for scripts/time_to_solve.py


def _until_value(text: str) -> float | str | None:
    """--until RETURN: a number, none (no stopping rule, not even a preset's) or auto (the preset's)."""
    word = text.strip().lower()
    if word == "none":
        return None
    if word == "auto":
        return "auto"
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number: give the return to stop at, e.g. --until 475, "
                                         "or --until none") from None


def _parse_grid(items: Sequence[str]) -> dict[str, list[float]]:
    grid = {}
    for name, values in _parse_assignments(items, "--grid").items():
        try:
            grid[name] = [float(v) for v in values.split(",") if v.strip()]
        except ValueError:
            raise ConfigError(f"--grid {name}={values}: values must be numbers separated by commas, e.g. --grid {name}=0.1,0.5") from None
        if not grid[name]:
            raise ConfigError(f"--grid {name}= has no values; give some, e.g. --grid {name}=0.1,0.5")
    return grid


def _parse_ranges(items: Sequence[str]) -> dict[str, Any]:
    """--random NAME=LOW:HIGH (uniform) or NAME=log:LOW:HIGH (log-uniform)."""
    from jaxrl.sweep import LogUniform, Uniform

    ranges = {}
    for name, text in _parse_assignments(items, "--random").items():
        parts = text.split(":")
        log = parts[0].strip().lower() in ("log", "loguniform")
        bounds = parts[1:] if log else parts
        try:
            low, high = (float(b) for b in bounds)
        except ValueError:
            raise ConfigError(f"--random {name}={text}: expected LOW:HIGH or log:LOW:HIGH, e.g. --random {name}=log:1e-4:1e-2") from None
        ranges[name] = LogUniform(low, high) if log else Uniform(low, high)
    return ranges


def cmd_sweep(args: argparse.Namespace) -> int:
    from jaxrl.sweep import run_sweep

    spec = _spec_from_args(args)
    if bool(args.grid) == bool(args.random):
        raise ConfigError("jaxrl sweep needs either --grid NAME=V1,V2,... or --random NAME=[log:]LOW:HIGH with --samples N")
    if args.top is not None and args.top < 1:
        raise ConfigError(f"--top {args.top} must be >= 1 (the number of best settings to print)")
    grid = _parse_grid(args.grid) if args.grid else None
    ranges = _parse_ranges(args.random) if args.random else None
    fixed = sorted(set(grid or ranges) & set(spec.hparams))
    if fixed:
        raise ConfigError(f"{', '.join(fixed)} is both fixed with --set and swept with {'--grid' if args.grid else '--random'}; "
                          "drop one of them")
    out, resume = _output_dir(args)
    swept = run_sweep(spec, grid=grid, ranges=ranges, samples=args.samples,
                      eval_episodes=args.eval_episodes, out=out, resume=resume, progress=not args.quiet)
    result = swept.result
    print(f"\n{args.algo} on {args.env}: {len(swept.rows)} settings x {spec.seeds} seeds x {int(result.env_steps[-1]):,} env steps "
          f"in one program, compiled in {result.compile_seconds:.1f} s, trained in {result.train_seconds:.1f} s")
    print(f"ranked by greedy return ({args.eval_episodes} episodes per seed):")
    print(swept.table(limit=args.top))
    print(f"\nrun directory: {swept.path} (ranking in {swept.path / 'sweep.csv'})")
    return 0


def cmd_tune(args: argparse.Namespace) -> int:
    from jaxrl import tuning
    from jaxrl.runs import RunSpec

    study = args.study or (f"{args.algo}-{args.env}" if args.algo and args.env else None)
    if not study:
        raise ConfigError("name the study: jaxrl tune --study NAME --storage URL --show (or give ALGO --env ENV)")
    if args.show:
        print(tuning.show(study, args.storage, args.top))
        return 0
    if not (args.algo and args.env):
        raise ConfigError("jaxrl tune ALGO --env ENV --random NAME=[log:]LOW:HIGH ... --trials N --storage URL: "
                          "give the algorithm and the env (or --show to print a study's ranking)")
    if args.seeds < 1:
        raise ConfigError(f"--seeds {args.seeds} must be >= 1")
    config, hparams, env_kwargs = _assignments_from_args(args)
    ranges = _parse_ranges(args.random)
    spec = RunSpec(algo=args.algo, env=args.env, env_kwargs=env_kwargs, config=config, hparams=hparams, seeds=args.seeds,
                   steps=args.steps, seed=args.seed, preset=None if args.no_preset else args.preset, until=None)
    done = tuning.work(spec, ranges, study_name=study, storage=args.storage, trials=args.trials,
                       trials_per_batch=args.trials_per_batch, eval_episodes=args.eval_episodes, heartbeat=args.heartbeat,
                       progress=not args.quiet)
    print(tuning.show(done.study_name, args.storage, args.top))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from jaxrl.runs import load

    if args.episodes < 1:
        raise ConfigError(f"--episodes {args.episodes} must be >= 1")
    run = load(args.run_dir)
    config = run.config
    seed = config.get("seed", 0) if args.seed is None else args.seed  # default: the final evaluation's seed
    evaluation = run.evaluate(episodes=args.episodes, seed=seed)
    same = "as in training's final table" if seed == config.get("seed", 0) else f"training's final table used {config.get('seed', 0)}"
    print(f"{config['algo']} on {config['env']} ({args.run_dir}), greedy, {args.episodes} episodes per seed, "
          f"evaluation seed {seed} ({same}):")
    print(summary_table(evaluation, run.hparams, run.run_shape))
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    from jaxrl.io import render, report
    from jaxrl.runs import load

    if args.episodes < 1:
        raise ConfigError(f"--episodes {args.episodes} must be >= 1")
    if args.fps < 1:
        raise ConfigError(f"--fps {args.fps} must be >= 1")
    embedded = Path(args.run_dir) / report.GIF_FILE
    out = Path(args.out or embedded)
    if out.suffix.lower() != ".gif":
        raise ConfigError(f"--out {out}: render writes a GIF; name the file with .gif, e.g. --out {out.with_suffix('.gif')}")
    run = load(args.run_dir)
    if not out.parent.is_dir():
        raise ConfigError(f"--out {out}: directory {out.parent} does not exist")
    params = run.params(seed=args.seed, setting=args.setting)

    def progress(index: int, episode: dict) -> None:
        print(f"episode {index + 1}/{args.episodes}: return {episode['return']:.4g}, "
              f"{len(episode['rewards'])} steps", file=sys.stderr, flush=True)

    episodes = render.render_gif(run.agent, params, out, episodes=args.episodes, seed=args.seed, fps=args.fps,
                                 on_episode=progress)
    returns = ", ".join(f"{e['return']:.4g}" for e in episodes)
    print(f"{out}: {args.episodes} episode(s) of seed {args.seed}'s policy, returns {returns}")
    if out.resolve() != embedded.resolve():
        print(f"(jaxrl report embeds {embedded}, the default --out, not this file)")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from jaxrl.runs import write_report

    if args.episodes < 1:
        raise ConfigError(f"--episodes {args.episodes} must be >= 1")
    out = write_report(args.run_dir, out=args.out, gif=not args.no_gif, episodes=args.episodes)
    print(f"{out}: self-contained report (opens offline)")
    return 0


def cmd_envs(args: argparse.Namespace) -> int:
    from jaxrl.core.agent import describe_space
    from jaxrl.envs import list_envs, make_env

    rows = [["id", "observation space", "action space", "time limit"]]
    for env_id in list_envs():
        try:
            env, params = make_env(env_id)
            rows.append([env_id, describe_space(env.observation_space(params)), describe_space(env.action_space(params)),
                         str(getattr(params, "max_steps_in_episode", "-"))])
        except Exception as error:  # an env that cannot be built here still gets listed
            rows.append([env_id, f"unavailable: {type(error).__name__}", "", ""])
    print(format_table(rows))
    _print_suite_ids()
    _print_gymnasium_ids(args.gymnasium)
    return 0


def _print_suite_ids() -> None:
    """Each optional suite's ids, or the extra that brings them."""
    from jaxrl.envs.registry import OPTIONAL_SUITES

    for entry in OPTIONAL_SUITES:
        suite = entry.load()
        ids = suite.available_ids()
        if ids:
            print(f"\n{entry.title.format(n=len(ids))}: " + ", ".join(ids))
        else:
            print(f"\n{entry.missing}, once installed: {suite.INSTALL}")


def _print_gymnasium_ids(every: bool) -> None:
    """The ``gymnasium:ID`` ids the Gymnasium bridge steps on the host (all of them with ``every``)."""
    from jaxrl.envs.gymnasium_bridge import list_gymnasium_ids

    ids = list_gymnasium_ids()
    if not ids:
        print("\nAny Gymnasium env, as gymnasium:ID, once Gymnasium is installed: pip install 'jaxrl[gymnasium]'")
    elif every:
        print("\n" + "\n".join(ids))
    else:
        print(f"\nAnd {len(ids)} Gymnasium ids stepped on the host, as gymnasium:ID (e.g. gymnasium:LunarLander-v3; "
              "its Box2D needs pip install 'jaxrl[box2d]'): jaxrl envs --gymnasium lists them")


def cmd_presets(args: argparse.Namespace) -> int:
    """Every shipped preset with its budget and measured result (one algorithm's with ALGO)."""
    from jaxrl import presets

    shown = [p for p in presets.all_presets().values() if args.algo in (None, p.algo)]
    rows = [["preset", "env", "steps", "seeds", "IQM return [95% CI]", "mean return", "threshold", "file"]]
    for preset in shown:
        env = " ".join([preset.env, *(f"{k}={v}" for k, v in preset.env_kwargs.items())])
        measured = preset.provenance.get("measured", {})
        ci = measured.get("iqm_ci95")
        rows.append([preset.name, env, f"{preset.steps:,}", str(measured.get("seeds", "-")),
                     f"{measured['iqm']:.4g} [{ci[0]:.4g}, {ci[1]:.4g}]" if "iqm" in measured and ci else "-",
                     f"{measured['mean']:.4g}" if "mean" in measured else "-",
                     str(preset.provenance.get("threshold", "-")), preset.file.name])
    print(format_table(rows) if shown else f"no presets{'' if args.algo is None else ' for ' + args.algo}")
    return 0


def cmd_algos(args: argparse.Namespace) -> int:
    """Every algorithm's static config and hyperparameters with their true defaults (one algorithm:
    each hyperparameter's bounds and description too), read from the declarations."""
    from jaxrl.agents import ALGORITHMS, spec

    for name in [args.algo] if args.algo else list(ALGORITHMS):
        algorithm = spec(name)
        print(f"{name}: {algorithm.summary}")
        print(f"  config:  {', '.join(f'{k}={v}' for k, v in algorithm.default_config().items())}")
        if not args.algo:
            print(f"  hparams: {', '.join(f'{k}={v:g}' for k, v in algorithm.hparams_cls.defaults().items())}")
            continue
        rows = [["hyperparameter", "default", "valid", "meaning"]]
        rows += [[k, f"{v:g}", bounds.removeprefix("must be ") or "any", doc] for k, v, bounds, doc in algorithm.hparams_cls.describe()]
        print(format_table(rows))
    return 0


def _add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments `train` and `sweep` share."""
    parser.add_argument("algo", help="algorithm (see `jaxrl algos`)")
    parser.add_argument("--env", required=True, help="environment id (see `jaxrl envs`)")
    parser.add_argument("--seeds", type=int, default=8, help="seeds trained in parallel (default 8)")
    parser.add_argument("--steps", type=int, default=None,
                        help="env steps per seed (default: the preset's budget, else 100000)")
    parser.add_argument("--preset", default="auto", metavar="ALGO/ENV",
                        help="tuned settings to start from (default: the pair's own, when `jaxrl presets` lists one)")
    parser.add_argument("--no-preset", action="store_true", help="the library defaults, not the pair's tuned preset")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a config option or hyperparameter; repeatable")
    parser.add_argument("--env-arg", action="append", default=[], metavar="KEY=VALUE", help="an env keyword argument, e.g. is_slippery=false; repeatable")
    parser.add_argument("--out", help="run directory to create (default runs/[sweep-]ALGO-ENV-TIMESTAMP); never overwritten")
    parser.add_argument("--resume", metavar="RUN_DIR", help="continue this interrupted run from its last checkpoint (same arguments as the original command)")
    parser.add_argument("--seed", type=int, default=0, help="base random seed (default 0)")
    parser.add_argument("--log-interval", type=int, default=None, help="env steps per seed between logged points")
    parser.add_argument("--chunks", type=int, default=20, help="chunks per run: progress, metrics and a checkpoint after each (default 20)")
    parser.add_argument("--eval-episodes", type=int, default=100, help="greedy evaluation episodes per seed at the end")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--on-divergence", choices=("stop", "continue"), default=None,
                        help="when a run's parameters or losses become NaN/inf: stop with an error, keeping the last finite "
                             "checkpoint (train's default), or train the others on and mark it diverged (sweep's default)")


def _add_distributed_arguments(parser: argparse.ArgumentParser) -> None:
    """One job over several processes or machines (JAX's multi-controller runtime): every process
    runs the same command with its own --process-id."""
    group = parser.add_argument_group("several processes or machines (jax.distributed)")
    group.add_argument("--coordinator", metavar="HOST:PORT", help="process 0's address and a free port ($JAXRL_COORDINATOR)")
    group.add_argument("--num-processes", type=int, metavar="N", help="processes in the job ($JAXRL_NUM_PROCESSES)")
    group.add_argument("--process-id", type=int, metavar="I", help="this process's number, 0 to N-1 ($JAXRL_PROCESS_ID)")
    group.add_argument("--distributed", choices=("auto",), default=None,
                       help="auto: let jax.distributed find the coordinator and ids itself (SLURM, ...; $JAXRL_DISTRIBUTED=auto)")


def _join_job(args: argparse.Namespace) -> None:
    """Join a multi-process job when the flags (or $JAXRL_COORDINATOR & co.) ask for one; before
    anything touches a device. Processes other than 0 print nothing to stdout: process 0 reports."""
    from jaxrl import distributed

    if args.command not in ("train", "sweep"):
        return
    settings = distributed.settings_from(args.coordinator, args.num_processes, args.process_id, args.distributed == "auto")
    if settings is None:
        return
    distributed.initialize(settings)
    if not distributed.is_writer():
        sys.stdout = open(os.devnull, "w")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jaxrl", description="JAX-accelerated, vectorised reinforcement learning.")
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train an agent on many seeds in one compiled program")
    _add_run_arguments(train)
    train.add_argument("--until", type=_until_value, default="auto", metavar="RETURN",
                       help="stop early once every seed's greedy policy averages at least RETURN (checked after each "
                            "chunk; --steps is then the most it trains), e.g. --until 475 on CartPole-v1; default: the "
                            "preset's rule if it has one; --until none trains every step")
    train.add_argument("--until-episodes", type=int, default=100, metavar="N",
                       help="greedy episodes per seed for the --until check (default 100, as the final evaluation)")
    _add_distributed_arguments(train)
    train.set_defaults(func=cmd_train)

    sweep = sub.add_parser("sweep", help="train a grid or random hyperparameter settings x seeds in one program and rank them")
    _add_run_arguments(sweep)
    sweep.add_argument("--grid", action="append", default=[], metavar="NAME=V1,V2,...", help="values of one hyperparameter; repeat for a grid")
    sweep.add_argument("--random", action="append", default=[], metavar="NAME=[log:]LOW:HIGH", help="a range to sample (log: log-uniform); repeatable")
    sweep.add_argument("--samples", type=int, default=16, help="random settings to draw (with --random; default 16)")
    sweep.add_argument("--top", type=int, default=None, help="print only the best N settings")
    _add_distributed_arguments(sweep)
    sweep.set_defaults(func=cmd_sweep)

    tune = sub.add_parser("tune", help="an Optuna study shared by any number of workers, each training batches of trials "
                                       "x seeds in one program")
    tune.add_argument("algo", nargs="?", help="algorithm (see `jaxrl algos`); not needed with --show")
    tune.add_argument("--env", help="environment id (see `jaxrl envs`)")
    tune.add_argument("--random", action="append", default=[], metavar="NAME=[log:]LOW:HIGH",
                      help="a hyperparameter's range to search (log: log-uniform); repeatable")
    tune.add_argument("--trials", type=int, default=32, help="complete trials the study should hold, over all workers (default 32)")
    tune.add_argument("--trials-per-batch", type=int, default=8, help="trials a worker trains together in one program (default 8)")
    tune.add_argument("--seeds", type=int, default=8, help="seeds per trial (default 8)")
    tune.add_argument("--steps", type=int, default=None, help="env steps per seed (default: the preset's budget, else 100000)")
    tune.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a fixed config option or hyperparameter")
    tune.add_argument("--env-arg", action="append", default=[], metavar="KEY=VALUE", help="an env keyword argument")
    tune.add_argument("--preset", default="auto", metavar="ALGO/ENV", help="tuned settings to start from (default: the pair's own)")
    tune.add_argument("--no-preset", action="store_true", help="the library defaults, not the pair's tuned preset")
    tune.add_argument("--seed", type=int, default=0, help="base random seed of the trials' runs (default 0)")
    tune.add_argument("--storage", required=True, metavar="URL",
                      help="sqlite:///FILE.db, postgresql://USER@HOST/DB (across machines) or journal:FILE (one machine)")
    tune.add_argument("--study", help="study name (default ALGO-ENV)")
    tune.add_argument("--eval-episodes", type=int, default=20, help="greedy episodes per seed that score a trial (default 20)")
    tune.add_argument("--heartbeat", type=float, default=10.0,
                      help="seconds between a worker's heartbeats (RDB storages): a trial silent for three is retried")
    tune.add_argument("--show", action="store_true", help="print the study's ranking and best setting, train nothing")
    tune.add_argument("--top", type=int, default=None, help="print only the best N trials")
    tune.add_argument("--quiet", action="store_true", help="no progress bar")
    tune.set_defaults(func=cmd_tune)

    evaluate = sub.add_parser("eval", help="evaluate a run directory's final policies again")
    evaluate.add_argument("run_dir")
    evaluate.add_argument("--episodes", type=int, default=100)
    evaluate.add_argument("--seed", type=int, default=None, help="evaluation seed (default: the run's --seed, as its final table)")
    evaluate.set_defaults(func=cmd_eval)

    render = sub.add_parser("render", help="a GIF of a trained policy (toy-text grids, classic control, MinAtar)")
    render.add_argument("run_dir")
    render.add_argument("--episodes", type=int, default=3, help="episodes to show (default 3)")
    render.add_argument("--out", help="GIF file to write (default RUN_DIR/episode.gif)")
    render.add_argument("--seed", type=int, default=0, help="which seed's policy (default 0); also seeds the episodes")
    render.add_argument("--setting", type=int, default=0, help="which setting of a sweep (default 0)")
    render.add_argument("--fps", type=int, default=25, help="frames per second (default 25)")
    render.set_defaults(func=cmd_render)

    report = sub.add_parser("report", help="one self-contained HTML page for a run directory")
    report.add_argument("run_dir")
    report.add_argument("--out", help="HTML file to write (default RUN_DIR/report.html)")
    report.add_argument("--no-gif", action="store_true", help="do not render the policy's GIF when RUN_DIR has none")
    report.add_argument("--episodes", type=int, default=2, help="episodes in a GIF rendered for the report (default 2)")
    report.set_defaults(func=cmd_report)

    envs = sub.add_parser("envs", help="list environment ids with their spaces")
    envs.add_argument("--gymnasium", action="store_true", help="list every gymnasium:ID id instead of counting them")
    envs.set_defaults(func=cmd_envs)
    presets_parser = sub.add_parser("presets", help="list the tuned presets with their measured results")
    presets_parser.add_argument("algo", nargs="?", help="only this algorithm's")
    presets_parser.set_defaults(func=cmd_presets)
    algos = sub.add_parser("algos", help="list algorithms with their options and defaults")
    algos.add_argument("algo", nargs="?", help="show one algorithm's hyperparameters with their bounds and meaning")
    algos.set_defaults(func=cmd_algos)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    import_seconds = process_age()  # before anything else: the time `import jaxrl` took, and the interpreter's start
    args = build_parser().parse_args(argv)
    args.import_seconds = import_seconds if argv is None else None  # only a command line's own process
    try:
        _join_job(args)  # before the engine's import: gymnax's initialises JAX's backends
    except ConfigError as error:
        print(f"jaxrl: error: {error}", file=sys.stderr)
        return 2
    from jaxrl.train import DivergenceError

    try:
        check_environment()
        if args.command in ("train", "sweep", "tune", "eval", "render", "report"):
            from jaxrl.compilation import enable_compilation_cache

            enable_compilation_cache()  # a repeated command skips most of its compile time
        return args.func(args)
    except ConfigError as error:
        print(f"jaxrl: error: {error}", file=sys.stderr)
        return 2
    except DivergenceError as error:
        print(f"jaxrl: error: {error}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print("jaxrl: interrupted; files already written are complete", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
