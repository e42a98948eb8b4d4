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
import sys
from pathlib import Path
from typing import Any, Sequence


from jaxrl.core.hparams import ConfigError


def _parse_assignments(items: Sequence[str], flag: str) -> dict[str, str]:
    out = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"{flag} {item!r}: expected KEY=VALUE, e.g. {flag} learning_rate=0.1")
        key, value = item.split("=", 1)
        out[key.strip()] = value.strip()
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


def split_settings(algo: str, assignments: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Route each --set KEY=VALUE to the static config or to the hyperparameters, by name."""
    from jaxrl.agents import spec
    from jaxrl.core.hparams import unknown_name_error
    import dataclasses

    algorithm = spec(algo)
    config_names = [f.name for f in dataclasses.fields(algorithm.config_cls)]
    config, hparams = {}, {}
    for key, value in assignments.items():
        if key in config_names:
            config[key] = value
        elif key in algorithm.default_hparams:
            hparams[key] = value
        else:
            raise unknown_name_error(f"{algo} setting (--set)", key, config_names + list(algorithm.default_hparams))
    return config, hparams


def _format_table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def summary_table(evaluation: Any, hparams: list[dict[str, float]], batched: bool) -> str:
    """Mean ± std over seeds of each seed's mean return (and success rate, episode length)."""
    per_run = evaluation.per_run()
    returns = per_run["return"].reshape(len(hparams) if batched else 1, -1)
    success = per_run.get("success_rate")
    success = None if success is None else success.reshape(returns.shape)
    lengths = per_run["length"].reshape(returns.shape)
    header = ["setting", "seeds", "return (mean ± std over seeds)", "success rate", "episode length"]
    rows = [header]
    for i in range(returns.shape[0]):
        label = ", ".join(f"{k}={v:g}" for k, v in hparams[i].items()) if batched else "-"
        rows.append([
            label if len(label) < 60 else label[:57] + "...",
            str(returns.shape[1]),
            f"{returns[i].mean():.3f} ± {returns[i].std():.3f}",
            "n/a" if success is None else f"{success[i].mean():.3f} ± {success[i].std():.3f}",
            f"{lengths[i].mean():.1f}",
        ])
    return _format_table(rows)


def cmd_train(args: argparse.Namespace) -> int:
    import jaxrl
    from jaxrl.io import run_dir

    assignments = _parse_assignments(args.set, "--set")
    env_kwargs = {k: _literal(v) for k, v in _parse_assignments(args.env_arg, "--env-arg").items()}
    config, hparams = split_settings(args.algo, assignments)
    # Build the agent and check every input before creating files or compiling anything.
    agent = jaxrl.agents.make(args.algo, args.env, config=config, **env_kwargs)
    from jaxrl.core.hparams import resolve_hparams

    resolved = resolve_hparams(agent.name, agent.default_hparams, hparams)
    if args.seeds < 1:
        raise ConfigError(f"--seeds {args.seeds} must be >= 1")
    if args.eval_episodes < 1:
        raise ConfigError(f"--eval-episodes {args.eval_episodes} must be >= 1")
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = Path(args.out or f"runs/{args.algo}-{args.env}-{stamp}")
    out = run_dir.create_run_dir(out)
    run_dir.write_config(out, {
        "algo": args.algo,
        "env": args.env,
        "env_kwargs": env_kwargs,
        "config": vars(agent.config) if hasattr(agent.config, "__dict__") else dict(config),
        "hparams": [resolved],
        "batched_settings": False,
        "seeds": args.seeds,
        "steps": args.steps,
        "seed": args.seed,
        "jaxrl_version": jaxrl.__version__,
    })
    result = jaxrl.train(
        agent,
        seeds=args.seeds,
        steps=args.steps,
        hparams=resolved,
        seed=args.seed,
        log_interval=args.log_interval,
        progress=not args.quiet,
        callbacks=[run_dir.MetricsWriter(out)],
    )
    run_dir.save_params(out, result.final_state.params)
    evaluation = jaxrl.evaluate(result, episodes=args.eval_episodes, seed=args.seed)
    run_dir.atomic_write_json(out / run_dir.EVAL_FILE, {"episodes_per_seed": args.eval_episodes, **evaluation.summary(), **{f"per_seed_{k}": v for k, v in evaluation.per_run().items()}})
    rate = args.seeds * result.env_steps[-1] / max(result.train_seconds, 1e-9)
    print(f"\n{args.algo} on {args.env}: {args.seeds} seeds x {int(result.env_steps[-1]):,} env steps, "
          f"compiled in {result.compile_seconds:.1f} s, trained in {result.train_seconds:.1f} s ({rate:,.0f} env steps/s)")
    print(f"greedy evaluation, {args.eval_episodes} episodes per seed:")
    print(summary_table(evaluation, result.hparams, False))
    print(f"\nrun directory: {out}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from jaxrl.io import run_dir

    if args.episodes < 1:
        raise ConfigError(f"--episodes {args.episodes} must be >= 1")
    run = run_dir.load(args.run_dir)
    evaluation = run.evaluate(episodes=args.episodes, seed=args.seed)
    config = run.config
    print(f"{config['algo']} on {config['env']} ({args.run_dir}), greedy, {args.episodes} episodes per seed:")
    print(summary_table(evaluation, config["hparams"], bool(config.get("batched_settings"))))
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
    print(_format_table(rows))
    return 0


def cmd_algos(args: argparse.Namespace) -> int:
    import dataclasses

    from jaxrl.agents import ALGORITHMS

    for name, algorithm in ALGORITHMS.items():
        print(f"{name}: {algorithm.summary}")
        config = {f.name: f.default for f in dataclasses.fields(algorithm.config_cls)}
        print(f"  config:  {', '.join(f'{k}={v}' for k, v in config.items())}")
        print(f"  hparams: {', '.join(f'{k}={v:g}' for k, v in algorithm.default_hparams.items())}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jaxrl", description="JAX-accelerated, vectorised reinforcement learning.")
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train an agent on many seeds in one compiled program")
    train.add_argument("algo", help="algorithm (see `jaxrl algos`)")
    train.add_argument("--env", required=True, help="environment id (see `jaxrl envs`)")
    train.add_argument("--seeds", type=int, default=8, help="seeds trained in parallel (default 8)")
    train.add_argument("--steps", type=int, default=100_000, help="env steps per seed (default 100000)")
    train.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a config option or hyperparameter; repeatable")
    train.add_argument("--env-arg", action="append", default=[], metavar="KEY=VALUE", help="an env keyword argument, e.g. is_slippery=false; repeatable")
    train.add_argument("--out", help="run directory to create (default runs/ALGO-ENV-TIMESTAMP); never overwritten")
    train.add_argument("--seed", type=int, default=0, help="base random seed (default 0)")
    train.add_argument("--log-interval", type=int, default=None, help="env steps per seed between logged points")
    train.add_argument("--eval-episodes", type=int, default=100, help="greedy evaluation episodes per seed at the end")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(func=cmd_train)

    evaluate = sub.add_parser("eval", help="evaluate a run directory's final policies again")
    evaluate.add_argument("run_dir")
    evaluate.add_argument("--episodes", type=int, default=100)
    evaluate.add_argument("--seed", type=int, default=1)
    evaluate.set_defaults(func=cmd_eval)

    envs = sub.add_parser("envs", help="list environment ids with their spaces")
    envs.set_defaults(func=cmd_envs)
    algos = sub.add_parser("algos", help="list algorithms with their options and defaults")
    algos.set_defaults(func=cmd_algos)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command in ("train", "eval"):
        from jaxrl.compilation import enable_compilation_cache

        enable_compilation_cache()  # a repeated command skips most of its compile time
    try:
        return args.func(args)
    except ConfigError as error:
        print(f"jaxrl: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("jaxrl: interrupted; files already written are complete", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
