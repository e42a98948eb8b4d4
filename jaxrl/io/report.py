"""One self-contained HTML page per run directory: it opens offline, with nothing to fetch.

Config, evaluation summary (and a sweep's ranking), the learning curve, a sparkline per seed
(inline SVG) and the policy's GIF; images are embedded as base64 data URIs, styles inline.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from jaxrl.io.plots import CURVE_FILE, SWEEP_CURVES_FILE
from jaxrl.io.run_dir import read_config, read_metrics, run_shape, varied

REPORT_FILE = "report.html"
GIF_FILE = "episode.gif"

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.9em; } td, th { border: 1px solid #ddd; padding: 3px 8px; text-align: left; }
th { background: #f4f4f4; } code { background: #f4f4f4; padding: 1px 4px; }
.sparks { display: flex; flex-wrap: wrap; gap: 10px; } .spark { font-size: 0.8em; text-align: center; }
img { max-width: 100%; } svg.sparkline { background: #fafafa; border: 1px solid #eee; }
"""

# Records on the page whether every embedded image decoded, for the headless-browser test.
_SCRIPT = """
window.addEventListener("load", function () {
  var images = Array.prototype.slice.call(document.images);
  var shown = images.filter(function (i) { return i.complete && i.naturalWidth > 0; });
  document.body.setAttribute("data-images-shown", shown.length + "/" + images.length);
});
"""


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]], css_id: str) -> str:
    head = "".join(f"<th>{_esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table id="{css_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _data_uri(path: Path, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode()}"


def sparkline(values: np.ndarray, low: float, high: float, width: int = 160, height: int = 36) -> str:
    """An inline SVG polyline of ``values`` scaled to [low, high]; NaN points break the line."""
    span = (high - low) or 1.0
    xs = np.linspace(2, width - 2, len(values))
    ys = height - 2 - (np.asarray(values, np.float64) - low) / span * (height - 4)
    segments, current = [], []
    for x, y in zip(xs, ys):
        if np.isfinite(y):
            current.append(f"{x:.1f},{y:.1f}")
        elif current:
            segments.append(current)
            current = []
    if current:
        segments.append(current)
    lines = "".join(f'<polyline fill="none" stroke="#1f77b4" stroke-width="1.5" points="{" ".join(s)}"/>' for s in segments)
    return f'<svg class="sparkline" width="{width}" height="{height}" viewBox="0 0 {width} {height}">{lines}</svg>'


def _curves(records: list[dict], name: str) -> np.ndarray:
    """[runs, logs] of one metric from metrics.jsonl records (null -> NaN)."""
    return np.array([[np.nan if v is None else v for v in r[name]] for r in records], np.float64).T


def _sparklines(config: dict, records: list[dict], best: int) -> str:
    returns = _curves(records, "episode_return")
    shape = run_shape(config)
    if len(shape) == 2:
        returns = returns[best * shape[1]:(best + 1) * shape[1]]
    finite = returns[np.isfinite(returns)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    cells = []
    for seed, curve in enumerate(returns):
        last = curve[np.isfinite(curve)]
        final = f"{last[-1]:.4g}" if last.size else "n/a"
        cells.append(f'<div class="spark" data-seed="{seed}">{sparkline(curve, low, high)}<br>seed {seed}: final {final}</div>')
    scope = f" (setting {best}, the best)" if len(shape) == 2 else ""
    return (f"<p>Episode return per seed{_esc(scope)}, all on one scale [{low:.4g}, {high:.4g}].</p>"
            f'<div class="sparks" id="sparklines">{"".join(cells)}</div>')


def _config_section(config: dict) -> str:
    rows = [[k, json.dumps(config[k])] for k in ("algo", "env", "env_kwargs", "seeds", "steps", "steps_trained", "seed",
                                                 "log_interval", "num_chunks") if k in config]
    rows += [[f"config.{k}", json.dumps(v)] for k, v in config.get("config", {}).items()]
    settings = config.get("hparams", [])
    if len(settings) == 1:
        rows += [[f"hparams.{k}", _fmt(v)] for k, v in settings[0].items()]
    else:
        names = varied(settings)
        rows.append(["hparams", f"{len(settings)} settings varying {', '.join(names) or 'nothing'}"])
        rows += [[f"hparams.{k}", _fmt(v)] for k, v in settings[0].items() if k not in names]
    return _table(["key", "value"], rows, "config")


def _summary_section(path: Path) -> str:
    """The evaluation summary (and a sweep's ranking)."""
    parts = []
    eval_file = path / "eval.json"
    sweep_file = path / "sweep.json"
    if eval_file.exists() and not sweep_file.exists():  # a sweep's settings are summarised one by one below
        evaluation = json.loads(eval_file.read_text())
        keys = ("episodes_per_seed", "iqm_return", "iqm_ci95_low", "iqm_ci95_high", "mean_return", "std_return",
                "success_rate", "mean_length")
        parts.append(_table(["greedy evaluation", "value"], [[k, _fmt(evaluation.get(k))] for k in keys], "summary"))
        per_seed = evaluation.get("per_seed_return")
        if per_seed is not None and np.ndim(per_seed) == 1:
            parts.append("<p>Per seed return: " + ", ".join(f"{v:.4g}" for v in per_seed) + "</p>")
    if sweep_file.exists():
        ranked = json.loads(sweep_file.read_text())["ranked"]
        names = varied([r["hparams"] for r in ranked])
        rows = [[r["rank"], r["setting"], *(_fmt(r["hparams"][k]) for k in names), _fmt(r.get("iqm_return")),
                 f"[{_fmt(r.get('iqm_ci95_low'))}, {_fmt(r.get('iqm_ci95_high'))}]", _fmt(r["mean_return"]),
                 f"[{_fmt(r['ci95_low'])}, {_fmt(r['ci95_high'])}]", _fmt(r["success_rate"])] for r in ranked]
        parts.append("<h2>Sweep ranking</h2>" + _table(["rank", "setting", *names, "IQM return", "95% bootstrap CI", "mean return",
                                                        "95% CI", "success rate"], rows, "ranking"))
    return "".join(parts) or "<p>No evaluation yet (the run has not finished).</p>"


def best_setting(path: Path) -> int:
    """The sweep's best setting by its ranking (sweep.json); 0 for a plain run."""
    sweep_file = path / "sweep.json"
    return json.loads(sweep_file.read_text())["ranked"][0]["setting"] if sweep_file.exists() else 0


def build_report(path: str | Path) -> str:
    """The HTML page of a run directory (pictures must already be there to be included)."""
    path = Path(path)
    config = read_config(path)
    records = read_metrics(path) if (path / "metrics.jsonl").exists() else []
    title = f"{config['algo']} on {config['env']}"
    summary = _summary_section(path)
    sections = [f"<h1>{_esc(title)}</h1><p>Run directory <code>{_esc(path.resolve())}</code>, "
                f"jaxrl {_esc(config.get('jaxrl_version', '?'))}.</p>",
                "<h2>Summary</h2>", summary, "<h2>Config</h2>", _config_section(config)]
    pictures = [(CURVE_FILE, "learning curve"), (SWEEP_CURVES_FILE, "sweep comparison")]
    for name, alt in pictures:
        if (path / name).exists():
            sections += [f"<h2>{_esc(alt.capitalize())}</h2>", f'<img id="{name.split(".")[0]}" alt="{_esc(alt)}" src="{_data_uri(path / name, "image/png")}">']
    if records:
        sections += ["<h2>Seeds</h2>", _sparklines(config, records, best_setting(path))]
    if (path / GIF_FILE).exists():
        sections += ["<h2>Policy</h2>", f'<img id="episode" alt="episodes of the trained policy" src="{_data_uri(path / GIF_FILE, "image/gif")}">']
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{_esc(title)}</title>'
            f"<style>{_STYLE}</style><script>{_SCRIPT}</script></head><body>{''.join(sections)}</body></html>\n")
