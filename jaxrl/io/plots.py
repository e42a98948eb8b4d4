"""Learning-curve pictures: mean over seeds with a 95% confidence band (matplotlib, no display).

Figures are drawn on matplotlib's Agg canvas directly (no pyplot, no global backend), so this
works headless and never touches a user's interactive matplotlib state.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from jaxrl.io.files import atomic_write_bytes
from jaxrl.io.run_dir import read_config, read_metrics, run_shape, varied
from jaxrl.stats import mean_ci

CURVE_FILE = "learning_curve.png"
SWEEP_CURVES_FILE = "sweep_curves.png"
MAX_SWEEP_LINES = 8


def _figure(panels: int) -> tuple[Any, list[Any]]:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(5.5 * panels, 3.6), dpi=100, layout="constrained")
    return figure, [figure.add_subplot(1, panels, i + 1) for i in range(panels)]


def draw_band(axes: Any, env_steps: np.ndarray, curves: np.ndarray, label: str | None = None) -> None:
    """Mean over seeds (``curves`` is ``[seeds, logs]``) as a line, its 95% CI as a band."""
    mean, half = mean_ci(curves, axis=0)
    (line,) = axes.plot(env_steps, mean, label=label, linewidth=1.5)
    half = np.nan_to_num(half)  # one seed: no band
    axes.fill_between(env_steps, mean - half, mean + half, color=line.get_color(), alpha=0.25, linewidth=0)


def curve_figure(env_steps: np.ndarray, metrics: dict[str, np.ndarray], title: str,
                 labels: Sequence[str] | None = None) -> Any:
    """Episode return (and success rate, where the env has goals) against env steps per seed.

    ``metrics[name]`` is ``[seeds, logs]`` for one run, or ``[settings, seeds, logs]`` with ``labels``.
    """
    from matplotlib.ticker import EngFormatter, MaxNLocator

    names = [n for n in ("episode_return", "success_rate") if n in metrics]
    figure, axes = _figure(len(names))
    for ax, name in zip(axes, names):
        curves = metrics[name] if labels is not None else metrics[name][None]
        for i, setting_curves in enumerate(curves):
            draw_band(ax, env_steps, setting_curves, None if labels is None else labels[i])
        ax.set_xlabel("env steps per seed")
        ax.set_ylabel(name.replace("_", " ") + " (mean, 95% CI)")
        ax.xaxis.set_major_formatter(EngFormatter(sep=""))  # 100k, 1.5M: short labels that never overlap
        ax.xaxis.set_major_locator(MaxNLocator(6))
        ax.grid(alpha=0.3)
    seeds = metrics[names[0]].shape[-2]
    axes[0].set_title(f"{title} ({seeds} seeds)", fontsize=10)
    if labels is not None:
        axes[-1].legend(fontsize=7, loc="best")
    return figure


def save_png(figure: Any, path: str | Path) -> None:
    """Render to PNG bytes and write them atomically."""
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg

    buffer = io.BytesIO()
    FigureCanvasAgg(figure).print_png(buffer)
    atomic_write_bytes(path, buffer.getvalue())


def _setting_label(hparams: dict[str, float], varied: Sequence[str]) -> str:
    return ", ".join(f"{k}={hparams[k]:.3g}" for k in varied) or "default"


def _ranking(path: Path, returns: np.ndarray, logs: int) -> list[int]:
    """Settings best first: the sweep's ranking (sweep.json) where written, else by mean training
    return over the last tenth of the run."""
    import json

    if (path / "sweep.json").exists():
        return [r["setting"] for r in json.loads((path / "sweep.json").read_text())["ranked"]]
    final = np.nanmean(returns[..., -max(1, logs // 10):], axis=(1, 2))
    return [int(i) for i in np.argsort(-np.nan_to_num(final, nan=-np.inf), kind="stable")]


def plot_run(path: str | Path) -> list[Path]:
    """Write a run directory's learning-curve PNG from its metrics.jsonl; for a sweep, the best
    setting's curve and a comparison of the best settings (ranked as in sweep.json). Returns the
    files written."""
    path = Path(path)
    config, records = read_config(path), read_metrics(path)
    env_steps = np.array([r["env_steps"] for r in records])
    settings = config["hparams"]
    shape = run_shape(config)
    metrics = {name: np.array([[np.nan if v is None else v for v in r[name]] for r in records], np.float64).T.reshape(shape + (-1,))
               for name in ("episode_return", "success_rate") if name in records[0]}
    title = f"{config['algo']} on {config['env']}"
    if len(shape) == 1:
        save_png(curve_figure(env_steps, metrics, title), path / CURVE_FILE)
        return [path / CURVE_FILE]
    # a sweep: the best setting alone, and the best settings side by side
    order = _ranking(path, metrics["episode_return"], len(env_steps))[:MAX_SWEEP_LINES]
    names = varied(settings)
    best = {k: v[order[0]] for k, v in metrics.items()}
    save_png(curve_figure(env_steps, best, f"{title}, best: {_setting_label(settings[order[0]], names)}"), path / CURVE_FILE)
    top = {k: v[order] for k, v in metrics.items()}
    labels = [_setting_label(settings[i], names) for i in order]
    save_png(curve_figure(env_steps, top, f"{title}, best {len(order)} of {len(settings)} settings", labels), path / SWEEP_CURVES_FILE)
    return [path / CURVE_FILE, path / SWEEP_CURVES_FILE]
