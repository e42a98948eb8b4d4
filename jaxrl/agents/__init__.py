"""Agents by name. ``make(algo, env, ...)`` builds any of them on any compatible env.

The registry is the one place a named variant is declared: its family's ``make``, config class
and hyperparameter class, and the config defaults that make it that variant (double_dqn's
``double=True``, td3's twin critics and delay, dyna_q's planning steps).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

from jaxrl.agents import c51, ddpg, dqn, pg, ppo, pqn, qr_dqn, rainbow, sac, tabular
from jaxrl.core.agent import Agent
from jaxrl.core.hparams import HParams, resolve_config
from jaxrl.envs import make_env
from jaxrl.errors import unknown_name_error


@dataclasses.dataclass(frozen=True)
class AlgorithmSpec:
    make: Callable[..., Agent]  # (env, env_params, config, *, name) -> Agent
    config_cls: type
    hparams_cls: type[HParams]
    summary: str
    config_defaults: dict[str, Any] = dataclasses.field(default_factory=dict)  # what makes a named variant

    def default_config(self) -> dict[str, Any]:
        """This algorithm's full static config by default (the variant's defaults applied)."""
        return {**{f.name: f.default for f in dataclasses.fields(self.config_cls)}, **self.config_defaults}


_TABULAR = (tabular.make, tabular.TabularConfig, tabular.TabularHParams)
_DQN = (dqn.make, dqn.DQNConfig, dqn.DQNHParams)
_DDPG = (ddpg.make, ddpg.DDPGConfig, ddpg.DDPGHParams)

ALGORITHMS: dict[str, AlgorithmSpec] = {
    "q_learning": AlgorithmSpec(*_TABULAR, "tabular Q-learning (off-policy TD control)"),
    "sarsa": AlgorithmSpec(*_TABULAR, "tabular SARSA (on-policy TD control)"),
    "expected_sarsa": AlgorithmSpec(*_TABULAR, "tabular Expected SARSA"),
    "dyna_q": AlgorithmSpec(*_TABULAR, "tabular Dyna-Q (Q-learning + model-based planning)", {"planning_steps": 10}),
    "reinforce": AlgorithmSpec(pg.make_reinforce, pg.ReinforceConfig, pg.ReinforceHParams,
                               "REINFORCE (Monte-Carlo policy gradient), discrete or continuous"),
    "a2c": AlgorithmSpec(pg.make_a2c, pg.A2CConfig, pg.A2CHParams, "A2C (synchronous advantage actor-critic), discrete or continuous"),
    "ppo": AlgorithmSpec(ppo.make, ppo.PPOConfig, ppo.PPOHParams, "PPO (clipped surrogate, GAE), discrete or continuous"),
    "dqn": AlgorithmSpec(*_DQN, "DQN with replay and a target network; options double, dueling, n_step, prioritized"),
    "double_dqn": AlgorithmSpec(*_DQN, "Double DQN (dqn with double=true)", {"double": True}),
    "c51": AlgorithmSpec(c51.make, c51.C51Config, c51.C51HParams,
                         "C51 (categorical return distribution on [v_min, v_max], cross-entropy); dqn's options"),
    "qr_dqn": AlgorithmSpec(qr_dqn.make, qr_dqn.QRDQNConfig, qr_dqn.QRDQNHParams,
                            "QR-DQN (quantile regression, quantile Huber loss); dqn's options"),
    "pqn": AlgorithmSpec(pqn.make, pqn.PQNConfig, pqn.PQNHParams,
                         "PQN (no replay, no target network; LayerNorm Q-network, Q(lambda) over vectorised rollouts)"),
    "rainbow": AlgorithmSpec(rainbow.make, c51.C51Config, rainbow.RainbowHParams,
                             "Rainbow (c51 + double + dueling + 3-step + prioritised + exploration=noisy)",
                             rainbow.CONFIG_DEFAULTS),
    "ddpg": AlgorithmSpec(*_DDPG, "DDPG (deterministic actor, Q critic, Gaussian or OU noise), continuous actions"),
    "td3": AlgorithmSpec(*_DDPG, "TD3 (twin critics, target smoothing, delayed actor), continuous actions",
                         {"num_critics": 2, "target_smoothing": True, "policy_delay": 2}),
    "sac": AlgorithmSpec(sac.make, sac.SACConfig, sac.SACHParams,
                         "SAC (twin critics, squashed Gaussian, automatic temperature), continuous actions"),
}


def spec(algo: str) -> AlgorithmSpec:
    if algo not in ALGORITHMS:
        raise unknown_name_error("algorithm", algo, list(ALGORITHMS))
    return ALGORITHMS[algo]


def make(algo: str, env: str | Any, env_params: Any = None, config: Any = None, **env_kwargs: Any) -> Agent:
    """Build agent ``algo`` on ``env`` (an env id, or a gymnax env with its ``env_params``)."""
    algorithm = spec(algo)
    config = resolve_config(algorithm.config_cls, config, algo, defaults=algorithm.config_defaults)
    if isinstance(env, str):
        env, default_params = make_env(env, **env_kwargs)
        env_params = default_params if env_params is None else env_params
    elif env_params is None:
        env_params = env.default_params
    return algorithm.make(env, env_params, config, name=algo)


__all__ = ["ALGORITHMS", "Agent", "AlgorithmSpec", "c51", "ddpg", "dqn", "sac", "make", "pg", "ppo", "pqn", "qr_dqn",
           "rainbow", "spec", "tabular"]
