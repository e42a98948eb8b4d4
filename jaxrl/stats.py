"""Statistics over seeds, shared by the run and sweep tables, the report and the plots.

Robust aggregates in the sense of Agarwal et al. (2021, "Deep RL at the edge of the statistical
precipice", the rliable library): the interquartile mean (IQM, the mean of the middle 50% of runs),
percentile bootstrap confidence intervals stratified by task, and the probability of improvement.
Written on NumPy and SciPy: rliable itself pulls in arch, pandas and
seaborn, too heavy for the core install, for three short functions.
"""

from __future__ import annotations

from typing import Callable, Iterator, Sequence

import numpy as np


def mean_ci(values: np.ndarray, axis: int = -1, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Mean over ``axis`` and the half-width of its ``confidence`` interval (Student's t).

    NaNs (points where a seed completed no episode) are left out; the half-width is NaN where
    fewer than two values remain, and the mean NaN where none does.
    """
    from scipy.special import stdtrit  # Student's t quantile: scipy.stats.t.ppf's numbers, without importing scipy.stats

    values = np.asarray(values, np.float64)
    count = np.sum(np.isfinite(values), axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        total = np.nansum(values, axis=axis)
        mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
        deviations = np.where(np.isfinite(values), values - np.expand_dims(mean, axis), 0.0)
        variance = np.sum(deviations**2, axis=axis) / np.maximum(count - 1, 1)
        t = stdtrit(np.maximum(count - 1, 1), 0.5 + confidence / 2)
        half = np.where(count > 1, t * np.sqrt(variance / np.maximum(count, 1)), np.nan)
    return mean, half


def iqm(values: np.ndarray) -> float:
    """The interquartile mean of finite ``values`` (all of them pooled): the mean after dropping the
    lowest and the highest quarter of the runs (``n // 4`` each), as ``scipy.stats.trim_mean(x, 0.25)``
    and rliable's IQM compute it; NaN when none is finite."""
    finite = np.asarray(values, np.float64).ravel()
    finite = finite[np.isfinite(finite)]
    return float(_iqm_rows(finite[None])[0]) if finite.size else float("nan")


def _iqm_rows(rows: np.ndarray) -> np.ndarray:
    """The IQM of each row of a 2-D array of finite values: one sort and one mean for all rows (the
    bootstrap's 2,000 resamples took a second as separate ``trim_mean`` calls)."""
    count = rows.shape[1]
    cut = count // 4
    kept = np.sort(rows, axis=1)[:, cut:count - cut]
    total = np.zeros(rows.shape[0])
    for column in kept.T:  # summed left to right: the same rounding for one row as for many
        total += column
    return total / kept.shape[1]


def stratified_resamples(tasks: Sequence[np.ndarray], resamples: int, seed: int = 0) -> Iterator[list[np.ndarray]]:
    """``resamples`` bootstrap draws of ``tasks`` (one array of runs per task): each draw takes runs
    with replacement within every task separately, so every task keeps its number of runs."""
    rng = np.random.default_rng(seed)
    for _ in range(resamples):
        yield [t[rng.integers(0, t.size, t.size)] for t in tasks]


def bootstrap_ci(tasks: Sequence[np.ndarray] | np.ndarray, statistic: Callable[[np.ndarray], float] = iqm,
                 confidence: float = 0.95, resamples: int = 2_000, seed: int = 0) -> tuple[float, float, float]:
    """``statistic`` of the pooled runs and its percentile bootstrap ``confidence`` interval.

    ``tasks`` is one array of per-run scores, or a list of them (one per task): each resample draws
    runs with replacement within every task separately (the stratified bootstrap), so every task
    keeps its number of runs. Non-finite scores are left out. Returns ``(point, low, high)``.
    """
    groups = [np.asarray(t, np.float64).ravel() for t in ([tasks] if isinstance(tasks, np.ndarray) else tasks)]
    groups = [g[np.isfinite(g)] for g in groups]
    groups = [g for g in groups if g.size]
    if not groups:
        return float("nan"), float("nan"), float("nan")
    point = statistic(np.concatenate(groups))
    draws = np.stack([np.concatenate(draw) for draw in stratified_resamples(groups, resamples, seed)])
    if statistic is iqm:  # every resample in one call
        samples = _iqm_rows(draws)
    else:
        samples = np.array([statistic(draw) for draw in draws])
    tail = (1.0 - confidence) / 2 * 100
    low, high = np.percentile(samples, [tail, 100 - tail])
    return float(point), float(low), float(high)


def probability_of_improvement(x: np.ndarray, y: np.ndarray) -> float:
    """P(X > Y) + P(X = Y) / 2 for a run drawn from ``x`` against one from ``y`` (the Mann-Whitney
    U statistic over all pairs, divided by their number): 0.5 means neither is better."""
    x = np.asarray(x, np.float64).ravel()
    y = np.asarray(y, np.float64).ravel()
    x, y = x[np.isfinite(x)], y[np.isfinite(y)]
    if not (x.size and y.size):
        return float("nan")
    greater = (x[:, None] > y[None, :]).mean()
    equal = (x[:, None] == y[None, :]).mean()
    return float(greater + 0.5 * equal)


def format_table(rows: list[list[str]]) -> str:
    """Left-aligned columns, a rule under the header row."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
