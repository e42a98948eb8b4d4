"""Rainbow (Hessel et al. 2018, "Rainbow: Combining Improvements in Deep Reinforcement Learning"):
C51's categorical head with Double targets, a dueling network, 3-step returns, prioritised replay
(priorities: the per-sample cross-entropy) and NoisyNets exploration, as one named variant.

Everything is C51's and the DQN family's (``jaxrl.agents.c51``, ``jaxrl.agents.dqn.make_family``):
this module only declares the variant's defaults. The paper's algorithmic constants are kept:
``n_step=3``, ``priority_alpha=0.5``, ``priority_beta`` 0.4 annealed to 1 over the run,
``noisy_sigma0=0.5``, 51 atoms on ``[v_min, v_max] = [-10, 10]``; the behaviour policy is greedy
on the noisy network (epsilon 0 after ``learning_starts``, uniform before), ``act`` greedy on its
mean weights.

Scaled for CPU budgets (the paper trains for 200M Atari frames): the replay and network sizes,
``learning_starts`` (1k env steps, the paper's 80k frames = 20k agent steps), the target period
(1k env steps, the paper's 32k frames = 8k agent steps), the learning rate (DQN's 1e-3 for small
networks, the paper's 6.25e-5 for its Atari CNN) and the batch (64, the paper's 32) are the DQN
family's CPU defaults; Adam's epsilon is the library's 1e-5 (the paper's 1.5e-4 is not
configurable here). The tuned CartPole-v1 settings are in README.md. Set ``v_min``/``v_max`` to
bound the env's discounted returns (e.g. 0 and 100 for reward 1 per step at gamma 0.99).
"""

from __future__ import annotations

from typing import Any

from flax import struct

from jaxrl.agents import c51, dqn
from jaxrl.core.agent import Agent
from jaxrl.core.hparams import hparam, resolve_config

# what makes the variant: the registry applies these over C51Config's defaults
CONFIG_DEFAULTS: dict[str, Any] = {"double": True, "dueling": True, "n_step": 3, "prioritized": True,
                                   "exploration": "noisy"}


@struct.dataclass
class RainbowHParams(c51.C51HParams):
    """C51's hyperparameters with the paper's priority exponent (0.5; C51's and DQN's default is 0.6)."""

    priority_alpha: float = hparam(0.5, "prioritised replay: priority exponent (0: uniform; Rainbow's 0.5)", low=0)


def make(env: Any, env_params: Any, config: c51.C51Config | dict | None = None, *, name: str = "rainbow") -> Agent:
    """Build Rainbow (the registry's ``CONFIG_DEFAULTS`` under the given config)."""
    if config is None or isinstance(config, dict):
        config = resolve_config(c51.C51Config, config, name, defaults=CONFIG_DEFAULTS)
    c51.validate(config, name)
    return dqn.make_family(env, env_params, config, RainbowHParams, c51.head(config), name)


def q_function(agent: Agent, hparams: Any = None) -> Any:
    """``(params, obs) -> action values`` (the mean network's distributions' means) of a made agent."""
    return c51.q_function(agent, hparams)


__all__ = ["CONFIG_DEFAULTS", "RainbowHParams", "make", "q_function"]
