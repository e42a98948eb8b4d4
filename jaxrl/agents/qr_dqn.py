"""QR-DQN (Dabney, Rowland, Bellemare and Munos 2018, "Distributional Reinforcement Learning with
Quantile Regression").

The network outputs, per action, ``num_quantiles`` returns ``theta_i`` estimating the return
distribution's quantiles at the midpoints ``tau_i = (2i + 1) / (2N)``. The target samples are
``R + discount * theta_j(s', a*)``, ``theta`` the target network's at the final observation ``s'``
and ``a*`` its greedy action there (the online network's with ``double``); the loss is the
quantile Huber loss (threshold ``kappa``, 1 as in the paper) of the online quantiles at
``(s, a)`` against them, and with prioritised replay the per-sample loss is the priority.
``discount = gamma^m (1 - terminated)`` over the n-step window: a time-limit truncation
bootstraps from the final observation's quantiles, only a termination collapses the target onto
the reward. The action values are the quantiles' means; the greedy action is their argmax.

``num_quantiles`` defaults to 32: the loss compares every online quantile with every target
sample (N^2 terms per sample), so 32 keeps it cheaper than the network's own pass on a CPU, while
32 quantiles resolve a return distribution far more finely than the greedy mean needs (the paper
used 200 on Atari, where accelerators make N^2 cheap; set ``num_quantiles`` for that).

Everything else (replay, n-step windows, Double, dueling, prioritised replay, exploration, target
updates) is the DQN family's (``jaxrl.agents.dqn.make_family``): this module declares the head.
"""

from __future__ import annotations

import dataclasses
from functools import partial
from typing import Any, Literal, Mapping

import chex
import jax
import jax.numpy as jnp
from flax import struct

from jaxrl.agents import dqn
from jaxrl.core import distributional, value_based
from jaxrl.core.agent import Agent
from jaxrl.core.hparams import hparam, resolve_config
from jaxrl.core.off_policy import Batch
from jaxrl.core.value_based import Head, UpdateNoise, ValueParts
from jaxrl.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class QRDQNConfig(dqn.DQNConfig):
    """DQN's static options, plus the number of quantiles; the loss is the quantile Huber loss."""

    loss: Literal["quantile_huber"] = "quantile_huber"
    num_quantiles: int = 32  # quantile midpoints tau_i = (2i + 1) / (2N)


@struct.dataclass
class QRDQNHParams(dqn.DQNHParams):
    kappa: float = hparam(1.0, "the quantile Huber loss's threshold (the paper's 1)", low=0, low_open=True)


def _validate(config: QRDQNConfig, name: str) -> None:
    if config.num_quantiles < 1:
        raise ConfigError(f"num_quantiles={config.num_quantiles} must be >= 1 for {name}; "
                          "pass e.g. config={'num_quantiles': 32}")


# -- loss -----------------------------------------------------------------------------------------
def qr_loss(params: Any, target_params: Any, parts: ValueParts, batch: Batch, weights: jax.Array,
            hparams: Any, noise: UpdateNoise | None = None) -> tuple[jax.Array, tuple[jax.Array, jax.Array]]:
    """The weighted quantile Huber loss of the online quantiles at ``(s, a)`` against the target
    samples; returns the loss and (per-sample losses, mean ``Q(s, a)``)."""
    chex.assert_rank([batch.action, batch.reward, batch.discount, weights], 1)
    chex.assert_type(batch.action, int)
    theta_tm1, theta_t = value_based.distributional_pair(parts, params, target_params, batch, hparams, noise)
    target = batch.reward[:, None] + batch.discount[:, None] * theta_t
    tau = distributional.quantile_midpoints(parts.config.num_quantiles)
    per_sample = jax.vmap(distributional.quantile_huber_loss, in_axes=(0, 0, None, None))(
        theta_tm1, jax.lax.stop_gradient(target), tau, hparams.kappa)
    return jnp.mean(weights * per_sample), (per_sample, jnp.mean(theta_tm1))


def _mean(quantiles: jax.Array, hparams: Any = None) -> jax.Array:
    return jnp.mean(quantiles, axis=-1)


def head(config: QRDQNConfig) -> Head:
    return Head(atoms=config.num_quantiles, values=_mean, greedy_scores=_mean, loss=qr_loss,
                error_metric="quantile_loss")


def q_function(agent: Agent, hparams: Mapping[str, float] | Any = None) -> Any:
    """``(params, obs) -> action values`` (the quantiles' means) of a made QR-DQN agent."""
    return dqn.value_function(agent, head(agent.config), hparams)


def quantile_function(agent: Agent) -> Any:
    """``(params, obs) -> quantiles [..., num_actions, num_quantiles]`` of a made QR-DQN agent."""
    parts = dqn.build_parts(agent.env, agent.env_params, agent.config, head(agent.config))
    return partial(value_based.outputs, parts)


# -- the agent ------------------------------------------------------------------------------------
# XLA's CPU backend hands reductions to YNNPACK by default; the quantile Huber loss's backward
# reduces [batch, N, N'] arrays built from several elementwise inputs, which YNNPACK's fusion
# materialises one by one. Without its reduce fusions the CartPole preset trains 2.4x faster
# (BENCHMARKS.md, session 24). Measured the same way, C51 moved within noise (+6%) and Rainbow lost
# 12%, so the other agents keep XLA's default.
CPU_COMPILE_OPTIONS = {"xla_cpu_experimental_ynn_fusion_type": "LIBRARY_FUSION_TYPE_DOT"}  # the default, DOT and REDUCE, less REDUCE


def make(env: Any, env_params: Any, config: QRDQNConfig | dict | None = None, *, name: str = "qr_dqn") -> Agent:
    config = resolve_config(QRDQNConfig, config, name)
    _validate(config, name)
    agent = dqn.make_family(env, env_params, config, QRDQNHParams, head(config), name)
    return agent._replace(cpu_compile_options=CPU_COMPILE_OPTIONS)
