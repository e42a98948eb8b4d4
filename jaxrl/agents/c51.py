"""C51 (Bellemare, Dabney and Munos 2017, "A Distributional Perspective on Reinforcement Learning").

The network outputs, per action, logits over ``num_atoms`` returns evenly spaced on
``[v_min, v_max]`` (the support: ``num_atoms`` static config, the bounds traced hyperparameters).
The target distribution is that of ``R + discount * Z(s', a*)``, ``Z`` the target network's at the
final observation ``s'`` and ``a*`` its greedy action there (the online network's with
``double``), projected back onto the support (``jaxrl.core.distributional.categorical_projection``);
the loss is its cross-entropy with the online distribution at ``(s, a)``, and with prioritised
replay the per-sample cross-entropy is the priority. ``discount = gamma^m (1 - terminated)``
over the n-step window: a time-limit truncation bootstraps from the final observation's
distribution, only a termination collapses the target onto the reward. The action values are the
distributions' means; the greedy action is their argmax.

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
class C51Config(dqn.DQNConfig):
    """DQN's static options, plus the number of atoms; the loss is the cross-entropy."""

    loss: Literal["cross_entropy"] = "cross_entropy"  # of the projected target distribution
    num_atoms: int = 51  # atoms of the fixed support (the paper's 51)


@struct.dataclass
class C51HParams(dqn.DQNHParams):
    v_min: float = hparam(-10.0, "the support's lowest return (set it to the env's return range)")
    v_max: float = hparam(10.0, "the support's highest return (> v_min)")

    @classmethod
    def check_setting(cls, setting: Mapping[str, float]) -> None:
        v_min, v_max = setting["v_min"], setting["v_max"]
        if not v_min < v_max:
            raise ConfigError(
                f"hyperparameters v_min={v_min:g} and v_max={v_max:g}: C51's support needs v_min < v_max; "
                "set them to bound the env's discounted returns, e.g. v_min=0 v_max=100 for reward 1 per step "
                "at gamma=0.99"
            )


def validate(config: C51Config, name: str) -> None:
    if config.num_atoms < 2:
        raise ConfigError(f"num_atoms={config.num_atoms}: {name}'s support needs at least 2 atoms "
                          "(the paper uses 51); pass e.g. config={'num_atoms': 51}")


# -- loss -----------------------------------------------------------------------------------------
def atoms(config: C51Config, hparams: Any) -> jax.Array:
    """The support ``[num_atoms]`` of a run (its ``v_min`` and ``v_max``)."""
    return distributional.support(hparams.v_min, hparams.v_max, config.num_atoms)


def c51_loss(params: Any, target_params: Any, parts: ValueParts, batch: Batch, weights: jax.Array,
             hparams: Any, noise: UpdateNoise | None = None) -> tuple[jax.Array, tuple[jax.Array, jax.Array]]:
    """The weighted cross-entropy of the online distribution at ``(s, a)`` with the projected
    target distribution; returns the loss and (per-sample cross-entropies, mean ``Q(s, a)``)."""
    chex.assert_rank([batch.action, batch.reward, batch.discount, weights], 1)
    chex.assert_type(batch.action, int)
    z = atoms(parts.config, hparams)
    logits_tm1, logits_t = value_based.distributional_pair(parts, params, target_params, batch, hparams, noise)
    target = jax.vmap(distributional.categorical_projection, in_axes=(0, 0, 0, None))(
        batch.reward, batch.discount, jax.nn.softmax(logits_t), z)
    cross_entropy = jax.vmap(distributional.categorical_cross_entropy)(target, logits_tm1)
    q_mean = jnp.mean(distributional.expected_value(logits_tm1, z))
    return jnp.mean(weights * cross_entropy), (cross_entropy, q_mean)


def _values(config: C51Config, logits: jax.Array, hparams: Any) -> jax.Array:
    return distributional.expected_value(logits, atoms(config, hparams))


def _greedy_scores(config: C51Config, logits: jax.Array) -> jax.Array:
    # the mean over atom indices: an increasing affine map of the mean return
    # (v_min + delta * index), so the same argmax without the run's support bounds
    return distributional.expected_value(logits, jnp.arange(config.num_atoms, dtype=jnp.float32))


def head(config: C51Config) -> Head:
    return Head(atoms=config.num_atoms, values=partial(_values, config), greedy_scores=partial(_greedy_scores, config),
                loss=c51_loss, error_metric="cross_entropy")


def q_function(agent: Agent, hparams: Mapping[str, float] | Any = None) -> Any:
    """``(params, obs) -> action values`` (the distributions' means) of a made C51 agent, on the
    support of ``hparams`` (a dict over the defaults: pass the run's v_min and v_max)."""
    return dqn.value_function(agent, head(agent.config), hparams)


def distribution_function(agent: Agent) -> Any:
    """``(params, obs) -> probabilities [..., num_actions, num_atoms]`` of a made C51 agent."""
    parts = dqn.build_parts(agent.env, agent.env_params, agent.config, head(agent.config))
    return lambda params, obs: jax.nn.softmax(value_based.outputs(parts, params, obs), axis=-1)


# -- the agent ------------------------------------------------------------------------------------
def make(env: Any, env_params: Any, config: C51Config | dict | None = None, *, name: str = "c51") -> Agent:
    config = resolve_config(C51Config, config, name)
    validate(config, name)
    return dqn.make_family(env, env_params, config, C51HParams, head(config), name)
