"""Statistics over seeds, shared by sweep tables and plots."""

from __future__ import annotations

import numpy as np


def mean_ci(values: np.ndarray, axis: int = -1, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Mean over ``axis`` and the half-width of its ``confidence`` interval (Student's t).

    NaNs (points where a seed completed no episode) are left out; the half-width is NaN where
    fewer than two values remain, and the mean NaN where none does.
    """
    from scipy import stats  # imported here: `import jaxrl` stays quick

    values = np.asarray(values, np.float64)
    count = np.sum(np.isfinite(values), axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        total = np.nansum(values, axis=axis)
        mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
        deviations = np.where(np.isfinite(values), values - np.expand_dims(mean, axis), 0.0)
        variance = np.sum(deviations**2, axis=axis) / np.maximum(count - 1, 1)
        t = stats.t.ppf(0.5 + confidence / 2, np.maximum(count - 1, 1))
        half = np.where(count > 1, t * np.sqrt(variance / np.maximum(count, 1)), np.nan)
    return mean, half


def format_table(rows: list[list[str]]) -> str:
    """Left-aligned columns, a rule under the header row."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
