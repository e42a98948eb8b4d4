"""Divergence is caught inside the compiled program and reported with run, step and quantity."""

from __future__ import annotations

import json

import numpy as np
import pytest

import jaxrl
from jaxrl.cli import main
from jaxrl.train import DivergenceError

PPO_SMALL = {"num_envs": 4, "rollout_len": 32, "num_minibatches": 2, "num_epochs": 2}
OFF_POLICY_SMALL = {"buffer_capacity": 2_000, "batch_size": 32, "learning_starts": 100, "hidden": (32, 32)}

# One case per family: (algo, env, config, hparams) that produce NaN from the first updates.
DIVERGING = {
    "tabular": ("q_learning", "FrozenLake-v1", {}, {"learning_rate": 1e38, "q_init": 1e38, "gamma": 1.0}),
    "on-policy": ("ppo", "Pendulum-v1", PPO_SMALL, {"learning_rate": 1e6}),
    "value-based": ("dqn", "CartPole-v1", OFF_POLICY_SMALL, {"learning_rate": 1e30}),
    "continuous": ("sac", "Pendulum-v1", OFF_POLICY_SMALL, {"learning_rate": 1e8, "actor_learning_rate": 1e8}),
}


@pytest.mark.parametrize("family", list(DIVERGING))
def test_divergence_stops_training_naming_run_step_and_quantity(family):
    algo, env, config, hparams = DIVERGING[family]
    with pytest.raises(DivergenceError) as error:
        jaxrl.train(algo, env, seeds=2, steps=2_000, config=config, hparams=hparams, progress=False, num_chunks=4,
                    preset=None)
    first = error.value.divergences[0]
    assert first.run in ((0,), (1,)) and first.env_steps > 0 and first.quantity
    message = str(error.value)
    assert f"seed {first.run[0]}" in message and "became NaN or infinite by env step" in message
    assert "Lower the learning rate" in message


@pytest.mark.parametrize("family", list(DIVERGING))
def test_with_continue_the_diverged_runs_are_listed_and_the_others_finish(family):
    algo, env, config, hparams = DIVERGING[family]
    settings = [{}, hparams] if algo != "q_learning" else [{"learning_rate": 0.1}, hparams]
    result = jaxrl.train(algo, env, seeds=2, steps=2_000, config=config, hparams=settings, progress=False, num_chunks=4,
                         preset=None)
    diverged = {d.run for d in result.diverged}
    assert diverged and all(run[0] == 1 for run in diverged)  # only the diverging setting
    healthy = [leaf[0] for leaf in jax_leaves(result.final_params)]
    assert all(np.all(np.isfinite(leaf)) for leaf in healthy)


def jax_leaves(tree):
    import jax

    return [np.asarray(x) for x in jax.tree.leaves(tree)]


def test_the_cli_exits_non_zero_and_keeps_only_finite_files(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", "ppo", "--env", "Pendulum-v1", "--seeds", "2", "--steps", "4096", "--quiet", "--out", str(out), "--no-preset",
                 "--set", "learning_rate=1e6", *sum((["--set", f"{k}={v}"] for k, v in PPO_SMALL.items()), [])])
    assert code == 3
    err = capsys.readouterr().err
    assert "jaxrl: error: training diverged (seed" in err and "Traceback" not in err
    assert (out / "config.json").exists() and not (out / "params.msgpack").exists()
    for line in (out / "metrics.jsonl").read_text().splitlines() if (out / "metrics.jsonl").exists() else []:
        assert all(v is None or np.isfinite(v) for k, vs in json.loads(line).items() if k != "env_steps" for v in vs)


def test_a_sweep_ranks_a_diverged_setting_last_and_leaves_it_out_of_the_means():
    swept = jaxrl.sweep("ppo", "Pendulum-v1", grid={"learning_rate": [1e6, 1e-3]}, seeds=2, steps=1_024,
                        config=PPO_SMALL, eval_episodes=2, progress=False, preset=None)
    assert [row.setting for row in swept.rows] == [1, 0]
    assert swept.rows[-1].diverged_seeds == [0, 1] and swept.rows[0].diverged_seeds == []
    assert np.isnan(swept.rows[-1].mean_return) and np.isfinite(swept.rows[0].mean_return)
    assert "diverged seeds" in swept.table()


def test_finite_but_absurd_values_warn_once_with_run_and_step(capsys):
    jaxrl.train("dqn", "CartPole-v1", steps=2_000, config=OFF_POLICY_SMALL, hparams={"learning_rate": 1e8},
                progress=False, num_chunks=2, on_divergence="continue", preset=None)
    err = capsys.readouterr().err
    warned = [line for line in err.splitlines() if "is likely diverging" in line]
    assert warned and all("in run (0,) by env step" in line for line in warned)
    assert len(warned) == len({line.split(" reached")[0] for line in warned})  # once per quantity
