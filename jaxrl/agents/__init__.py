"""Agents by name. ``make(algo, env, ...)`` builds any of them on any compatible env."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

from jaxrl.agents import ddpg, dqn, pg, ppo, sac, tabular
from jaxrl.core.agent import Agent
from jaxrl.errors import unknown_name_error
from jaxrl.envs import make_env


@dataclasses.dataclass(frozen=True)
class AlgorithmSpec:
    make: Callable[..., Agent]  # (env, env_params, config) -> Agent
    config_cls: type
    default_hparams: dict[str, float]
    summary: str
    config_defaults: dict[str, Any] = dataclasses.field(default_factory=dict)  # a named variant's (td3, double_dqn)


ALGORITHMS: dict[str, AlgorithmSpec] = {
    "q_learning": AlgorithmSpec(tabular.make_q_learning, tabular.TabularConfig, tabular.DEFAULT_HPARAMS, "tabular Q-learning (off-policy TD control)"),
    "sarsa": AlgorithmSpec(tabular.make_sarsa, tabular.TabularConfig, tabular.DEFAULT_HPARAMS, "tabular SARSA (on-policy TD control)"),
    "expected_sarsa": AlgorithmSpec(tabular.make_expected_sarsa, tabular.TabularConfig, tabular.DEFAULT_HPARAMS, "tabular Expected SARSA"),
    "dyna_q": AlgorithmSpec(tabular.make_dyna_q, tabular.TabularConfig, tabular.DEFAULT_HPARAMS, "tabular Dyna-Q (Q-learning + model-based planning)"),
    "reinforce": AlgorithmSpec(pg.make_reinforce, pg.ReinforceConfig, pg.REINFORCE_HPARAMS, "REINFORCE (Monte-Carlo policy gradient), discrete or continuous"),
    "a2c": AlgorithmSpec(pg.make_a2c, pg.A2CConfig, pg.A2C_HPARAMS, "A2C (synchronous advantage actor-critic), discrete or continuous"),
    "ppo": AlgorithmSpec(ppo.make, ppo.PPOConfig, ppo.DEFAULT_HPARAMS, "PPO (clipped surrogate, GAE), discrete or continuous"),
    "dqn": AlgorithmSpec(dqn.make, dqn.DQNConfig, dqn.DEFAULT_HPARAMS, "DQN with replay and a target network; options double, dueling, n_step, prioritized"),
    "double_dqn": AlgorithmSpec(dqn.make_double_dqn, dqn.DQNConfig, dqn.DEFAULT_HPARAMS, "Double DQN (dqn with double=true)", {"double": True}),
    "ddpg": AlgorithmSpec(ddpg.make, ddpg.DDPGConfig, ddpg.DDPG_HPARAMS, "DDPG (deterministic actor, Q critic, Gaussian or OU noise), continuous actions"),
    "td3": AlgorithmSpec(ddpg.make_td3, ddpg.DDPGConfig, ddpg.DDPG_HPARAMS, "TD3 (twin critics, target smoothing, delayed actor), continuous actions", ddpg.TD3_CONFIG),
    "sac": AlgorithmSpec(sac.make, sac.SACConfig, sac.DEFAULT_HPARAMS, "SAC (twin critics, squashed Gaussian, automatic temperature), continuous actions"),
}


def spec(algo: str) -> AlgorithmSpec:
    if algo not in ALGORITHMS:
        raise unknown_name_error("algorithm", algo, list(ALGORITHMS))
    return ALGORITHMS[algo]


def make(algo: str, env: str | Any, env_params: Any = None, config: Any = None, **env_kwargs: Any) -> Agent:
    """Build agent ``algo`` on ``env`` (an env id, or a gymnax env with its ``env_params``)."""
    algorithm = spec(algo)
    if isinstance(env, str):
        env, default_params = make_env(env, **env_kwargs)
        env_params = default_params if env_params is None else env_params
    elif env_params is None:
        env_params = env.default_params
    return algorithm.make(env, env_params, config)


__all__ = ["ALGORITHMS", "Agent", "AlgorithmSpec", "ddpg", "dqn", "sac", "make", "pg", "ppo", "spec", "tabular"]
