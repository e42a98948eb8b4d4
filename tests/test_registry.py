"""The algorithm registry and the typed declarations: what `jaxrl algos` shows is what an agent gets."""

from __future__ import annotations

import dataclasses

import pytest

import jaxrl
from jaxrl.agents import ALGORITHMS
from jaxrl.cli import main

ENV_FOR = {"dqn": "CartPole-v1", "double_dqn": "CartPole-v1", "reinforce": "CartPole-v1", "a2c": "CartPole-v1",
           "ppo": "CartPole-v1", "ddpg": "Pendulum-v1", "td3": "Pendulum-v1", "sac": "Pendulum-v1"}


def _env(algo: str) -> str:
    return ENV_FOR.get(algo, "FrozenLake-v1")


def _listing(out: str) -> dict[str, list[str]]:
    """`jaxrl algos` output as {algorithm: its indented lines}."""
    listing: dict[str, list[str]] = {}
    for line in out.splitlines():
        if line.startswith(" "):
            listing[name].append(line)
        else:
            name = line.split(":")[0]
            listing[name] = []
    return listing


def test_jaxrl_algos_shows_every_variants_true_defaults(capsys):
    assert main(["algos"]) == 0
    listing = _listing(capsys.readouterr().out)
    assert list(listing) == list(ALGORITHMS)
    for algo, lines in listing.items():
        agent = jaxrl.agents.make(algo, _env(algo))  # what the agent really gets
        assert lines[0] == "  config:  " + ", ".join(f"{k}={v}" for k, v in dataclasses.asdict(agent.config).items())
        assert lines[1] == "  hparams: " + ", ".join(f"{k}={v:g}" for k, v in agent.default_hparams.items())
    assert "planning_steps=10" in listing["dyna_q"][0]  # the variant's default, not the family's 0


def test_jaxrl_algos_one_algorithm_lists_bounds_and_meanings(capsys):
    assert main(["algos", "ppo"]) == 0
    out = capsys.readouterr().out
    assert "gae_lambda" in out and "in [0, 1]" in out and "GAE lambda" in out
    assert "total_steps" not in out  # the engine's, not the user's
    assert main(["algos", "ppo_typo"]) == 2


@pytest.mark.parametrize("algo", list(ALGORITHMS))
def test_every_hyperparameter_is_declared_with_a_description_and_a_default_in_bounds(algo):
    hparams_cls = ALGORITHMS[algo].hparams_cls
    for field in dataclasses.fields(hparams_cls):
        assert field.metadata["doc"], f"{algo}.{field.name} has no description"
        assert field.metadata["bounds"].contains(field.default), f"{algo}.{field.name}'s default is out of bounds"


def test_variants_are_their_family_with_the_registrys_config_defaults():
    assert jaxrl.agents.make("double_dqn", "CartPole-v1").config.double is True
    assert jaxrl.agents.make("dqn", "CartPole-v1").config.double is False
    td3 = jaxrl.agents.make("td3", "Pendulum-v1", config={"policy_delay": 3}).config
    assert (td3.num_critics, td3.target_smoothing, td3.policy_delay) == (2, True, 3)  # user's value wins


@pytest.mark.parametrize("algo,config,message", [
    ("dqn", {"torso": "transformer"}, "torso='transformer': choose 'mlp', 'cnn', 'nature_cnn' or 'auto'"),
    ("ppo", {"activation": "gelu"}, "activation='gelu': choose 'tanh', 'relu', 'elu' or 'swish'"),
    ("sarsa", {"epsilon_schedule": "cosine"}, "epsilon_schedule='cosine': choose 'constant', 'linear' or 'exponential'"),
    ("ddpg", {"noise": "pink"}, "noise='pink': choose 'gaussian' or 'ou'"),
])
def test_string_options_are_checked_against_their_literal_type(algo, config, message):
    with pytest.raises(jaxrl.ConfigError) as error:
        jaxrl.agents.make(algo, _env(algo), config=config)
    assert message in str(error.value)


def test_total_steps_is_the_engines_not_a_user_hyperparameter():
    with pytest.raises(jaxrl.ConfigError, match="total_steps is set by the engine"):
        jaxrl.train("ppo", "CartPole-v1", hparams={"total_steps": 10}, steps=1_000, progress=False)
    assert main(["train", "ppo", "--env", "CartPole-v1", "--set", "total_steps=5"]) == 2


def test_hyperparameters_have_bounds_everywhere():
    with pytest.raises(jaxrl.ConfigError, match=r"gae_lambda=2.0 must be in \[0, 1\]"):
        jaxrl.train("ppo", "CartPole-v1", hparams={"gae_lambda": 2}, progress=False)
    with pytest.raises(jaxrl.ConfigError, match="clip_eps=-0.2 must be > 0"):
        jaxrl.train("ppo", "CartPole-v1", hparams={"clip_eps": -0.2}, progress=False)
    with pytest.raises(jaxrl.ConfigError, match="ent_coef=-1.0 must be >= 0"):
        jaxrl.train("a2c", "CartPole-v1", hparams={"ent_coef": -1}, progress=False)
