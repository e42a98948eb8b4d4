"""Shared helpers for the experiment scripts: flags, per-seed summaries and exact evaluation.

Every figure the scripts print is a per-seed quantity summarised over seeds (mean ± std, min,
max), so a bad seed is never hidden by the mean.

Besides ``jaxrl.evaluate`` (sampled greedy episodes), the scripts compute each seed's greedy
policy's *exact* expected return from the env's transition table (``exact_greedy_return``): a
backward recursion over the time limit, with greedy ties split uniformly as ``jaxrl``'s greedy
policy breaks them. It has no sampling noise, and it cross-checks the sampled evaluation.
"""

from __future__ import annotations

import argparse
import time
from typing import Any, Mapping

import numpy as np

import jaxrl


# -- flags ----------------------------------------------------------------------------------------
def make_parser(doc: str, steps: int | None, seeds: int = 32) -> argparse.ArgumentParser:
    """A parser with the flags every script takes: ``--seeds`` and ``--steps``."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=seeds, help=f"seeds trained side by side (default {seeds})")
    default = f"{steps:,}" if steps is not None else "see above"
    parser.add_argument("--steps", type=int, default=steps, help=f"env steps per seed (default {default})")
    return parser


# -- summaries over seeds -------------------------------------------------------------------------
def seed_stats(values: Any, fmt: str = ".3f") -> str:
    """``mean ± std (min .., max ..)`` of one value per seed; seeds with NaN (no data) are left out, and said so."""
    values = np.asarray(values, np.float64).ravel()
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return f"no data for any of {values.size} seeds"
    seeds = f"{values.size} seeds" if finite.size == values.size else f"the {finite.size} of {values.size} seeds with data"
    return f"{finite.mean():{fmt}} ± {finite.std():{fmt}} (min {finite.min():{fmt}}, max {finite.max():{fmt}}, {seeds})"


def value_counts(values: Any, fmt: str = "g") -> str:
    """Each distinct per-seed value with how many seeds have it, e.g. ``-13 x32``."""
    distinct, counts = np.unique(np.round(np.asarray(values, np.float64).ravel(), 6), return_counts=True)
    return ", ".join(f"{v:{fmt}} x{c}" for v, c in zip(distinct, counts))


def late_mean(metric: np.ndarray, fraction: float = 0.5) -> np.ndarray:
    """Per-seed ``nanmean`` of a logged curve over its last ``fraction`` of log points."""
    start = int(round(metric.shape[-1] * (1.0 - fraction)))
    return np.nanmean(metric[..., start:], axis=-1)


def late_episode_mean(metrics: Mapping[str, np.ndarray], name: str = "episode_return", fraction: float = 0.5) -> np.ndarray:
    """Per-seed mean of an episode metric over the training episodes that ended in the last
    ``fraction`` of training, each episode counted once.

    ``late_mean`` of the logged curve instead weights every log period equally, whatever the
    number of episodes in it, so a period holding one long, bad episode counts as much as one
    holding fifty short ones: with long episodes around, it is the more pessimistic of the two.
    """
    start = int(round(metrics[name].shape[-1] * (1.0 - fraction)))
    values, episodes = metrics[name][..., start:], metrics["episodes"][..., start:]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.nansum(values * episodes, axis=-1) / episodes.sum(axis=-1)


def first_log_reaching(curve: np.ndarray, env_steps: np.ndarray, threshold: float) -> np.ndarray:
    """Env steps at the first log point from which ``curve >= threshold`` holds to the end; NaN if never."""
    ok = np.nan_to_num(curve, nan=-np.inf) >= threshold
    holds_to_end = np.flip(np.cumprod(np.flip(ok, -1), -1), -1).astype(bool)
    first = np.argmax(holds_to_end, axis=-1)
    return np.where(holds_to_end.any(-1), env_steps[first], np.nan)


class Stopwatch:
    """Wall time since creation, compile and evaluation included."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    def __str__(self) -> str:
        return f"{time.perf_counter() - self.start:.1f} s"


def header(title: str, **fields: Any) -> None:
    print(f"== {title}")
    for name, value in fields.items():
        print(f"   {name}: {value}")


# -- exact evaluation from the transition table ----------------------------------------------------
def env_table(env_id: str, env_kwargs: Mapping[str, Any] | None = None):
    """The env's transition table and its time limit (the horizon of an episode)."""
    env, params = jaxrl.make_env(env_id, **dict(env_kwargs or {}))
    return env.transition_table(), int(params.max_steps_in_episode)


def greedy_probs(q: np.ndarray) -> np.ndarray:
    """The greedy policy of Q-tables ``[..., S, A]``, ties split uniformly (as ``jaxrl`` breaks them)."""
    q = np.asarray(q)
    mask = (q == q.max(-1, keepdims=True)).astype(np.float64)
    return mask / mask.sum(-1, keepdims=True)


def exact_greedy_return(table, q: np.ndarray | None, horizon: int, reward: np.ndarray | None = None) -> np.ndarray:
    """Expected undiscounted return within ``horizon`` steps from the reset distribution.

    ``q``: Q-tables ``[..., S, A]`` (their greedy policies are evaluated; one value per table), or
    None for the optimal policy under the time limit. ``reward`` replaces the table's rewards, e.g.
    a success indicator ``[S, A, K]`` to get the probability of reaching the goal in time.
    """
    reward = table.reward if reward is None else reward
    policy = None if q is None else greedy_probs(q)
    batch = () if q is None else np.shape(q)[:-2]
    continues = 1.0 - table.terminated
    values = np.zeros(batch + (table.num_states,))
    for _ in range(horizon):
        # q_k(s, a) = sum_o p_o (r_o + [not terminated_o] v_{k-1}(s'_o)), for every table at once
        q_k = np.sum(table.probs * (reward + continues * values[..., table.next_state]), axis=-1)
        values = q_k.max(-1) if policy is None else np.sum(policy * q_k, axis=-1)
    return values @ table.initial


def goal_indicator(table) -> np.ndarray:
    """1 on transitions that end the episode with a positive reward (FrozenLake's goal), else 0."""
    return (table.terminated & (table.reward > 0)).astype(np.float64)


def greedy_reachable_states(table, q: np.ndarray) -> np.ndarray:
    """Non-terminal states the greedy policy (any tied action) can visit from the start."""
    policy = greedy_probs(q)
    seen = np.zeros(table.num_states, bool)
    frontier = list(np.flatnonzero(table.initial > 0))
    seen[frontier] = True
    while frontier:
        s = frontier.pop()
        for a in np.flatnonzero(policy[s] > 0):
            for k in np.flatnonzero(table.probs[s, a] > 0):
                s_next = table.next_state[s, a, k]
                if not table.terminated[s, a, k] and not seen[s_next]:
                    seen[s_next] = True
                    frontier.append(s_next)
    return np.flatnonzero(seen)


# -- FrozenLake pictures ---------------------------------------------------------------------------
FROZEN_LAKE_ARROWS = "<v>^"  # actions 0 left, 1 down, 2 right, 3 up


def frozen_lake_q_table(q: np.ndarray, desc: list[str]) -> str:
    """A Q-table, one row per state, with the tile and the greedy action(s), as the tutorials print it."""
    ncol = len(desc[0])
    lines = ["state  tile        left      down     right        up   greedy"]
    for s, row in enumerate(np.asarray(q)):
        tile = desc[s // ncol][s % ncol]
        tied = "".join(FROZEN_LAKE_ARROWS[a] for a in np.flatnonzero(row == row.max()))
        arrows = tied if tile in "SF" and row.max() > row.min() else ""
        lines.append(f"{s:5d}  {tile:>4s}  " + "  ".join(f"{v:8.4f}" for v in row) + f"   {arrows:>6s}")
    return "\n".join(lines)


def frozen_lake_policy_map(q: np.ndarray, desc: list[str]) -> str:
    """The greedy action on each frozen tile as an arrow (the first of tied ones; holes H, goal G;
    '?' where Q is all equal)."""
    q = np.asarray(q)
    ncol = len(desc[0])
    rows = []
    for r, line in enumerate(desc):
        cells = []
        for c, tile in enumerate(line):
            values = q[r * ncol + c]
            if tile in "HG":
                cells.append(tile)
            else:
                cells.append(FROZEN_LAKE_ARROWS[int(np.argmax(values))] if values.max() > values.min() else "?")
        rows.append(" ".join(cells))
    return "\n".join(rows)


# -- on-policy agents (REINFORCE, A2C, PPO) --------------------------------------------------------
def curve_rows(result: Any, name: str = "episode_return", points: int = 10, fmt: str = ".1f", last: bool = False) -> str:
    """A logged curve at ``points`` evenly spaced log points (or its ``last`` log points): env steps
    per seed, then the per-seed values summarised over seeds (mean ± std, min, max)."""
    curve, steps = result.metrics[name], result.env_steps
    if last:
        picks = np.arange(max(0, len(steps) - points), len(steps))
    else:
        picks = np.unique(np.linspace(0, len(steps) - 1, points).round().astype(int))
    rows = [f"  {'env steps':>12s}  {name} per log period, over seeds"]
    rows += [f"  {int(steps[i]):>12,d}  {seed_stats(curve[..., i], fmt)}" for i in picks]
    return "\n".join(rows)


def report_on_policy(result: Any, goal: float | None, episodes: int = 20, seed: int = 7, fmt: str = ".1f") -> np.ndarray:
    """Prints the greedy (deterministic) evaluation, the online return late in training, the
    entropy, the learning curve, the verdict against ``goal`` (if any) and the timings; returns the
    per-seed greedy returns."""
    greedy = jaxrl.evaluate(result, episodes=episodes, seed=seed).per_run()["return"]
    seeds, steps = result.run_shape[-1], int(result.env_steps[-1])
    print(f"\nGreedy/deterministic policy, {episodes} episodes per seed (jaxrl.evaluate, seed={seed}):")
    print(f"  return  {seed_stats(greedy, fmt)}")
    print("Training (sampling policy):")
    print(f"  online return, episodes ending in the last 10% of training  {seed_stats(late_episode_mean(result.metrics, fraction=0.1), fmt)}")
    for name in ("entropy", "epsilon"):  # on-policy agents report entropy, value-based ones epsilon
        if name in result.metrics:
            print(f"  {name + ', last log period':61s}{seed_stats(result.metrics[name][..., -1], '.3f')}")
    print(curve_rows(result, fmt=fmt))
    if goal is not None:
        verdict = "meets" if greedy.mean() >= goal else "MISSES"
        print(f"\nGoal: mean greedy return >= {goal:g}: {verdict} it ({greedy.mean():{fmt}}; min over seeds {greedy.min():{fmt}})")
    rate = seeds * steps / max(result.train_seconds, 1e-9)
    print(f"Compile {result.compile_seconds:.1f} s, training {result.train_seconds:.1f} s "
          f"({rate:,.0f} env steps/s over {seeds} seeds x {steps:,} steps)")
    return greedy


def train_and_report(algo: str, env: str, args: argparse.Namespace, config: Mapping[str, Any],
                     hparams: Mapping[str, Any], goal: float | None, fmt: str = ".1f", **train_kwargs: Any):
    """A deep-RL script's common run: header, training with a progress bar, ``report_on_policy``.
    Returns the result and the per-seed greedy returns."""
    header(f"{algo.upper() if algo != 'reinforce' else 'REINFORCE'} on {env}", seeds=args.seeds,
           steps_per_seed=f"{args.steps:,}", config=dict(config), hparams=dict(hparams))
    result = jaxrl.train(algo, env, seeds=args.seeds, steps=args.steps, config=dict(config), hparams=dict(hparams),
                         progress=True, **train_kwargs)
    return result, report_on_policy(result, goal, fmt=fmt)


# -- Atari (ALE v5 through the Gymnasium bridge) ---------------------------------------------------
def atari_parser(doc: str, steps: int) -> argparse.ArgumentParser:
    """``make_parser`` (1 seed) plus the game, the whole-game evaluation and ``--save``."""
    parser = make_parser(doc, steps=steps, seeds=1)
    parser.add_argument("--game", default="Breakout", help="an ALE v5 game: ALE/GAME-v5 (default Breakout)")
    parser.add_argument("--eval-episodes", type=int, default=10, help="greedy whole games per seed at the end")
    parser.add_argument("--eval-max-steps", type=int, default=10_000, help="agent steps a greedy game may last")
    parser.add_argument("--save", help="write the logged curves and the scores (npz) here")
    return parser


def train_atari(algo: str, args: argparse.Namespace, config: dict, hparams: dict, log_interval: int) -> None:
    """Train ``algo`` on ``ALE/{args.game}-v5`` with episodic life and clipped rewards, then print
    the logged curve (per life, clipped), the speed and each seed's greedy whole-game score."""
    start = time.perf_counter()
    result = jaxrl.train(algo, f"ALE/{args.game}-v5", seeds=args.seeds, steps=args.steps, config=config, hparams=hparams,
                         env_kwargs={"episodic_life": True, "clip_rewards": True}, log_interval=log_interval,
                         until=None, preset=None)
    train_wall = time.perf_counter() - start
    print(curve_rows(result, points=20))
    print(f"training: {train_wall:.0f} s wall, {result.train_seconds:.0f} s in the training program, "
          f"{args.steps * args.seeds / result.train_seconds:.0f} env steps/s over {args.seeds} seed(s)")
    evaluation = jaxrl.evaluate(result, episodes=args.eval_episodes, max_steps=args.eval_max_steps)
    scores = np.asarray(evaluation.returns).mean(-1)
    print(f"greedy whole-game score ({args.eval_episodes} games per seed): {seed_stats(scores, '.1f')}")
    if args.save:
        np.savez(args.save, env_steps=result.env_steps, scores=scores, **{k: np.asarray(v) for k, v in result.metrics.items()})
