"""Learning-curve plots: the band is the 95% CI over seeds, and a run directory gets its PNGs."""

import numpy as np
from PIL import Image

from jaxrl import cli
from jaxrl.io import plots
from jaxrl.stats import mean_ci


def test_curve_is_the_mean_and_the_band_the_95_ci_over_seeds():
    rng = np.random.default_rng(0)
    steps = np.arange(1, 11) * 100
    returns = rng.normal(size=(5, 10)).cumsum(1)
    returns[2, 3] = np.nan  # a seed that completed no episode in that period is left out there
    figure = plots.curve_figure(steps, {"episode_return": returns}, "test")
    axes = figure.axes[0]
    mean, half = mean_ci(returns, axis=0)
    np.testing.assert_allclose(axes.lines[0].get_ydata(), mean)
    band = axes.collections[0].get_paths()[0].vertices
    for t, x in enumerate(steps):
        ys = band[np.isclose(band[:, 0], x), 1]
        np.testing.assert_allclose([ys.min(), ys.max()], [mean[t] - half[t], mean[t] + half[t]], rtol=1e-6)
    assert "5 seeds" in axes.get_title()


def test_a_sweep_writes_its_pngs(tmp_path):
    # (a single run's learning_curve.png is checked in test_checkpoint, which trains one anyway)
    sweep = tmp_path / "sweep"
    base = ["q_learning", "--env", "FrozenLake-v1", "--seeds", "3", "--steps", "2000", "--quiet", "--eval-episodes", "2"]
    assert cli.main(["sweep", *base, "--grid", "learning_rate=0.1,0.5", "--out", str(sweep)]) == 0
    for png in (sweep / plots.CURVE_FILE, sweep / plots.SWEEP_CURVES_FILE):
        image = Image.open(png)
        assert image.format == "PNG" and image.size[0] >= 500
        assert len(np.unique(np.asarray(image.convert("L")))) > 20  # drawn, not blank
