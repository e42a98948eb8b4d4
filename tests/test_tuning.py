"""The Optuna adapter: batches of trials x seeds in one program, each trial told its mean greedy return."""

import numpy as np
import pytest

import jaxrl
from jaxrl.tuning import optimize

optuna = pytest.importorskip("optuna")


def test_optuna_trials_train_in_batches_and_get_their_mean_return():
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
    ranges = {"learning_rate": jaxrl.LogUniform(0.01, 1.0), "gamma": jaxrl.Uniform(0.5, 0.99)}
    common = dict(seeds=3, steps=1500, eval_episodes=4, env_kwargs={"is_slippery": False})
    optimize(study, "q_learning", "FrozenLake-v1", ranges, trials=5, trials_per_batch=3, **common)
    assert len(study.trials) == 5 and all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    assert study.trials[0].distributions["learning_rate"].log and not study.trials[0].distributions["gamma"].log
    for t in study.trials:
        assert 0.01 <= t.params["learning_rate"] <= 1.0 and 0.5 <= t.params["gamma"] <= 0.99
        assert t.value == pytest.approx(np.mean(t.user_attrs["per_seed_return"]))
    # a trial's value is what its setting scores alone: training in a batch changes nothing
    trial = study.trials[4]  # trained in the second batch, beside one other trial
    alone = jaxrl.train("q_learning", "FrozenLake-v1", env_kwargs={"is_slippery": False}, seeds=3, steps=1500,
                        hparams=trial.params, progress=False)
    assert jaxrl.evaluate(alone, episodes=4).returns.mean(-1).tolist() == trial.user_attrs["per_seed_return"]


def test_bad_optuna_searches_fail_before_training():
    study = optuna.create_study(direction="minimize")
    with pytest.raises(jaxrl.ConfigError, match="must maximise"):
        optimize(study, "q_learning", "FrozenLake-v1", {"gamma": jaxrl.Uniform(0.5, 0.9)}, trials=1)
    with pytest.raises(jaxrl.ConfigError, match="log-uniform range learning_rate needs low > 0"):
        optimize(study, "q_learning", "FrozenLake-v1", {"learning_rate": jaxrl.LogUniform(0.0, 1.0)}, trials=1)
    with pytest.raises(jaxrl.ConfigError, match="Did you mean 'gamma'"):
        optimize(study, "q_learning", "FrozenLake-v1", {"gama": jaxrl.Uniform(0.5, 0.9)}, trials=1)
    assert len(study.trials) == 0
