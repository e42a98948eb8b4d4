"""IQM, stratified bootstrap CIs and probability of improvement, by hand and against NumPy/SciPy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as scipy_stats

from jaxrl.stats import bootstrap_ci, iqm, probability_of_improvement


def test_iqm_by_hand():
    assert iqm(np.arange(8.0)) == pytest.approx(3.5)  # drops 0, 1 and 6, 7: mean of 2..5
    assert iqm(np.array([1.0, 2.0, 3.0, 4.0, 100.0])) == pytest.approx(3.0)  # drops 1 and 100
    assert iqm(np.array([5.0, np.nan, 1.0, 3.0, np.inf])) == pytest.approx(3.0)  # non-finite runs left out
    assert np.isnan(iqm(np.array([np.nan])))


@pytest.mark.parametrize("n", [4, 7, 10, 33])
def test_iqm_matches_numpy_on_random_data(n):
    x = np.random.default_rng(n).normal(size=n) * 10
    k = n // 4
    assert iqm(x) == pytest.approx(np.mean(np.sort(x)[k:n - k]), rel=1e-12)


def test_bootstrap_ci_brackets_the_point_and_matches_scipy():
    x = np.random.default_rng(0).normal(3.0, 2.0, size=40)
    point, low, high = bootstrap_ci(x, np.mean, resamples=4_000)
    assert low < point < high and point == pytest.approx(x.mean())
    reference = scipy_stats.bootstrap((x,), np.mean, method="percentile", n_resamples=4_000, random_state=0).confidence_interval
    assert low == pytest.approx(reference.low, abs=0.1) and high == pytest.approx(reference.high, abs=0.1)
    assert bootstrap_ci(np.full(8, 2.0)) == (2.0, 2.0, 2.0)  # no spread, no interval


@pytest.mark.parametrize("n", [1, 5, 16, 17, 64])
def test_the_iqm_bootstrap_scores_every_resample_as_iqm_does(n):
    """bootstrap_ci scores all IQM resamples in one vectorised call: the same numbers as iqm, one by one."""
    x = np.round(np.random.default_rng(n).normal(size=n) * 100, 1)
    by_one = lambda pooled: iqm(pooled)  # noqa: E731  (not `iqm` itself: takes the one-by-one path)
    assert bootstrap_ci(x) == bootstrap_ci(x, by_one)
    assert bootstrap_ci([x, x[: max(1, n // 2)] + 3]) == bootstrap_ci([x, x[: max(1, n // 2)] + 3], by_one)
    assert iqm(x) == pytest.approx(scipy_stats.trim_mean(x, 0.25), rel=1e-12, abs=1e-12)


def test_the_bootstrap_is_stratified_by_task():
    sizes = []

    def record(pooled: np.ndarray) -> float:
        sizes.append((np.sum(pooled < 100), np.sum(pooled >= 100)))
        return float(pooled.mean())

    bootstrap_ci([np.arange(3.0), 100 + np.arange(5.0)], record, resamples=50)
    assert set(sizes) == {(3, 5)}  # every resample keeps 3 runs of the first task and 5 of the second


def test_probability_of_improvement_by_hand():
    assert probability_of_improvement([3.0, 4.0], [1.0, 2.0]) == 1.0
    assert probability_of_improvement([1.0, 2.0], [3.0, 4.0]) == 0.0
    assert probability_of_improvement([1.0, 2.0, 3.0], [2.0]) == pytest.approx((0 + 0.5 + 1) / 3)
    x, y = np.random.default_rng(1).normal(size=(2, 30))
    u = scipy_stats.mannwhitneyu(x, y).statistic
    assert probability_of_improvement(x, y) == pytest.approx(u / (30 * 30))
