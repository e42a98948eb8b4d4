"""Sweeps: settings from grids and ranges, ranking with a 95% CI, the CLI, and bad input failing fast."""

import csv
import importlib
import json

import numpy as np
import pytest

import jaxrl
from jaxrl import cli
from jaxrl.stats import mean_ci
from jaxrl.sweep import LogUniform, Uniform, grid_settings, random_settings

FROZEN = ["q_learning", "--env", "FrozenLake-v1", "--env-arg", "is_slippery=false"]


def test_mean_ci_matches_students_t_by_hand():
    mean, half = mean_ci(np.array([[1.0, 2.0, 3.0, 4.0], [5.0, np.nan, 5.0, np.nan]]))
    # t(0.975, df=3) = 3.182446; sample std of 1..4 = 1.290994
    np.testing.assert_allclose(mean, [2.5, 5.0])
    np.testing.assert_allclose(half, [3.182446 * 1.290994 / 2, 0.0], rtol=1e-5)
    mean, half = mean_ci(np.array([[7.0, np.nan], [np.nan, np.nan]]))
    assert mean[0] == 7.0 and np.isnan(half[0]) and np.isnan(mean[1])


def test_grid_is_the_product_over_fixed_base_values():
    agent = jaxrl.agents.make("q_learning", "FrozenLake-v1")
    settings = grid_settings(agent, {"learning_rate": [0.1, 0.5], "gamma": [0.9, 0.99, 1.0]}, base={"epsilon": 0.3})
    assert [(s["learning_rate"], s["gamma"]) for s in settings] == [
        (0.1, 0.9), (0.1, 0.99), (0.1, 1.0), (0.5, 0.9), (0.5, 0.99), (0.5, 1.0)]
    assert all(s["epsilon"] == 0.3 and s["q_init"] == 0.0 for s in settings)


def test_log_uniform_samples_each_decade_equally_and_reproducibly():
    agent = jaxrl.agents.make("q_learning", "FrozenLake-v1")
    ranges = {"learning_rate": LogUniform(1e-4, 1e-1), "gamma": Uniform(0.9, 1.0)}
    settings = random_settings(agent, ranges, 3000, seed=5)
    lr = np.array([s["learning_rate"] for s in settings])
    assert lr.min() >= 1e-4 and lr.max() <= 1e-1
    decades = np.histogram(np.log10(lr), bins=[-4, -3, -2, -1])[0] / len(lr)
    np.testing.assert_allclose(decades, 1 / 3, atol=0.04)  # uniform in lr would put 90% in the last decade
    gamma = np.array([s["gamma"] for s in settings])
    assert 0.9 <= gamma.min() and gamma.max() <= 1.0 and abs(gamma.mean() - 0.95) < 0.005
    assert random_settings(agent, ranges, 4, seed=5) != random_settings(agent, ranges, 4, seed=6)
    assert random_settings(agent, ranges, 4, seed=5) == random_settings(agent, ranges, 4, seed=5)


def test_cli_grid_sweep_ranks_and_writes_results(tmp_path, capsys):
    out = tmp_path / "sweep"
    code = cli.main(["sweep", *FROZEN, "--grid", "gamma=0,0.95", "--grid", "learning_rate=0.5,0.9", "--seeds", "4",
                     "--steps", "4000", "--eval-episodes", "5", "--out", str(out), "--quiet", "--chunks", "2"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "return (mean [95% CI] over seeds)" in printed and "4 settings x 4 seeds" in printed
    ranked = json.loads((out / "sweep.json").read_text())["ranked"]
    assert [r["rank"] for r in ranked] == [1, 2, 3, 4]
    iqms = [r["iqm_return"] for r in ranked]
    assert iqms == sorted(iqms, reverse=True)  # ranked by IQM over seeds
    assert all(r["iqm_ci95_low"] <= r["iqm_return"] <= r["iqm_ci95_high"] for r in ranked)
    # with gamma=0 no value reaches the start state, so the greedy policy wanders; gamma=0.95 learns the path
    assert ranked[0]["hparams"]["gamma"] == 0.95 and ranked[0]["mean_return"] == 1.0
    assert max(r["mean_return"] for r in ranked if r["hparams"]["gamma"] == 0.0) < 1.0
    for r in ranked:
        mean, half = mean_ci(np.array(r["per_seed_return"]))
        assert r["mean_return"] == pytest.approx(float(mean)) and r["ci95_high"] - r["mean_return"] == pytest.approx(float(np.nan_to_num(half)))
    rows = list(csv.DictReader(open(out / "sweep.csv")))
    assert [int(r["rank"]) for r in rows] == [1, 2, 3, 4] and float(rows[0]["gamma"]) == 0.95
    config = json.loads((out / "config.json").read_text())
    assert config["batched_settings"] and len(config["hparams"]) == 4
    loaded = jaxrl.load(out)
    assert loaded.run_shape == (4, 4)
    metrics = list(csv.DictReader(open(out / "metrics.csv")))
    assert len(metrics) == 100 * 16 and {r["setting"] for r in metrics} == {"0", "1", "2", "3"}


def test_random_sweep_in_python_draws_from_the_ranges():
    swept = jaxrl.sweep("q_learning", "FrozenLake-v1", ranges={"learning_rate": LogUniform(0.01, 1.0)}, samples=3,
                        seeds=2, steps=500, eval_episodes=2, progress=False)
    assert len(swept.rows) == 3 and swept.result.metrics["episode_return"].shape[:2] == (3, 2)
    assert all(0.01 <= r.hparams["learning_rate"] <= 1.0 for r in swept.rows)
    assert swept.varied == ["learning_rate"] and "learning_rate" in swept.table()


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--grid", "gama=0.9,0.99"], "unknown q_learning hyperparameter (--grid) 'gama'. Did you mean 'gamma'"),
        (["--grid", "gamma="], "--grid gamma= has no values"),
        (["--grid", "num_envs=1,2"], "num_envs is a static config option"),
        (["--random", "learning_rate=log:0:1"], "log-uniform range learning_rate needs low > 0"),
        (["--random", "learning_rate=log:-1e-3:1"], "log-uniform range learning_rate needs low > 0"),
        (["--random", "learning_rate=0.5:0.1"], "low=0.5 must be <= high=0.1"),
        (["--random", "learning_rate=0.1:0.5", "--samples", "0"], "samples=0 must be >= 1"),
        ([], "needs either --grid"),
        (["--grid", "gamma=0.9", "--random", "learning_rate=0.1:0.5"], "needs either --grid"),
        (["--grid", "gamma=0.9,1.5"], "gamma=1.5 must be in [0, 1]"),
    ],
)
def test_bad_sweeps_fail_before_compiling_or_writing(tmp_path, capsys, monkeypatch, argv, message):
    engine = importlib.import_module("jaxrl.train")
    monkeypatch.setattr(engine, "_make_chunk_fn", lambda *a, **k: pytest.fail("compiled before validating input"))
    assert cli.main(["sweep", *FROZEN, *argv, "--out", str(tmp_path / "never"), "--quiet"]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "never").exists()
