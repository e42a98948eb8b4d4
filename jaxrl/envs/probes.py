"""Probe environments: tiny MDPs whose exact values pin down an agent's update rule.

Each isolates one thing an agent can get wrong (after Andy Jones' "debugging RL" probes):

=========================  ===========================================  =========================
probe                      dynamics                                     exact values
=========================  ===========================================  =========================
constant_reward            1 state, 1 action, reward 1, ends            Q = 1
observation_reward         2 start states, reward +1 / -1 by state     Q(s) = +1, -1
discounting                state 0 -> state 1 -> ends with reward 1     Q(0) = gamma, Q(1) = 1
action_reward              1 state, 2 actions, reward 0 / 1, ends       Q = [0, 1]
observation_action_reward  2 start states, reward 1 iff action == s     Q(s, a) = [a == s]
time_limit                 1 state, reward 1, never terminates,         Q = 1 / (1 - gamma)
                           truncated every T steps                      (only with correct
                                                                        truncation bootstrap)
ContinuousActionProbe      obs 0, action in [-4, 4], reward             best action 0.5
                           -(a - 0.5)^2, ends
ContinuousTimeLimitProbe   obs 0, action in [-1, 1], reward 1, never    Q = 1 / (1 - gamma)
                           terminates, truncated every T steps
MemoryCueProbe             a cue (one-hot of 2) at t = 0, then zeros;   return 1 with memory of
                           at the last of L steps reward +1 if the      the episode's first
                           action matches the cue, else -1; ends        observation, 0 without
=========================  ===========================================  =========================
"""

from __future__ import annotations

import numpy as np

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct
from gymnax.environments import environment, spaces

from jaxrl.envs.tabular_env import TabularEnv, table_from_outcomes


def _env(outcomes: dict, initial: list[float], name: str, max_steps: int = 100) -> TabularEnv:
    return TabularEnv(table_from_outcomes(outcomes, np.array(initial)), max_steps=max_steps, name=name)


def constant_reward() -> TabularEnv:
    return _env({0: {0: [(1.0, 0, 1.0, True)]}}, [1.0], "probe/ConstantReward")


def observation_reward() -> TabularEnv:
    outcomes = {0: {0: [(1.0, 0, 1.0, True)]}, 1: {0: [(1.0, 1, -1.0, True)]}}
    return _env(outcomes, [0.5, 0.5], "probe/ObservationReward")


def discounting() -> TabularEnv:
    outcomes = {0: {0: [(1.0, 1, 0.0, False)]}, 1: {0: [(1.0, 0, 1.0, True)]}}
    return _env(outcomes, [1.0, 0.0], "probe/Discounting")


def action_reward() -> TabularEnv:
    return _env({0: {0: [(1.0, 0, 0.0, True)], 1: [(1.0, 0, 1.0, True)]}}, [1.0], "probe/ActionReward")


def observation_action_reward() -> TabularEnv:
    outcomes = {s: {a: [(1.0, s, float(a == s), True)] for a in range(2)} for s in range(2)}
    return _env(outcomes, [0.5, 0.5], "probe/ObservationActionReward")


def time_limit(max_steps: int = 5) -> TabularEnv:
    """Reward 1 forever; only the time limit ends an episode (truncation, never termination)."""
    return _env({0: {0: [(1.0, 0, 1.0, False)]}}, [1.0], "probe/TimeLimit", max_steps=max_steps)


@struct.dataclass
class ProbeState(environment.EnvState):
    pass


@struct.dataclass
class ProbeParams(environment.EnvParams):
    max_steps_in_episode: int = 1


class ContinuousActionProbe(environment.Environment[ProbeState, ProbeParams]):
    """Observation zeros(1); one action in [-4, 4]; reward -(a - 0.5)^2; terminates after one step.

    The range is wide so that clipping is negligible: E[reward] = -(mean - 0.5)^2 - std^2 is
    maximal at mean 0.5 whatever the policy's std, entropy bonus or not.
    """

    target: float = 0.5

    @property
    def default_params(self) -> ProbeParams:
        return ProbeParams()

    @property
    def name(self) -> str:
        return "probe/ContinuousAction"

    def step_env(self, key: jax.Array, state: ProbeState, action: Any, params: ProbeParams):
        reward = -jnp.sum((jnp.asarray(action, jnp.float32) - self.target) ** 2)
        return jnp.zeros(1), ProbeState(time=state.time + 1), reward, jnp.asarray(True), {}

    def reset_env(self, key: jax.Array, params: ProbeParams):
        return jnp.zeros(1), ProbeState(time=jnp.zeros((), jnp.int32))

    def action_space(self, params: ProbeParams | None = None) -> spaces.Box:
        return spaces.Box(-4.0, 4.0, (1,), jnp.float32)

    def observation_space(self, params: ProbeParams) -> spaces.Box:
        return spaces.Box(0.0, 0.0, (1,), jnp.float32)


class ContinuousTimeLimitProbe(ContinuousActionProbe):
    """Observation zeros(1); any action in [-1, 1]; reward 1 forever; never terminates, truncated
    every ``max_steps`` steps. Only bootstrapping through truncation learns Q = 1 / (1 - gamma)."""

    def __init__(self, max_steps: int = 5):
        super().__init__()
        self.max_steps = max_steps

    @property
    def default_params(self) -> ProbeParams:
        return ProbeParams(max_steps_in_episode=self.max_steps)

    @property
    def name(self) -> str:
        return "probe/ContinuousTimeLimit"

    def step_env(self, key: jax.Array, state: ProbeState, action: Any, params: ProbeParams):
        return jnp.zeros(1), ProbeState(time=state.time + 1), jnp.asarray(1.0), jnp.asarray(False), {}

    def action_space(self, params: ProbeParams | None = None) -> spaces.Box:
        return spaces.Box(-1.0, 1.0, (1,), jnp.float32)


@struct.dataclass
class CueState(environment.EnvState):
    cue: jax.Array  # 0 or 1, drawn at reset


@struct.dataclass
class CueParams(environment.EnvParams):
    max_steps_in_episode: int = 100


class MemoryCueProbe(environment.Environment[CueState, CueParams]):
    """Memory: the right action depends on the episode's FIRST observation only.

    Step 0 shows the cue, ``one_hot(cue, 2)``; every later observation is zeros(2). The episode
    terminates after ``length`` steps; the last step pays +1 if the action equals the cue, else
    -1 (earlier steps pay 0). A policy that remembers the cue earns 1 per episode; a feed-forward
    one cannot beat 0 in expectation. A time limit under ``length`` (``max_episode_steps``)
    truncates every episode before its reward.
    """

    def __init__(self, length: int = 4):
        super().__init__()
        if length < 1:
            raise ValueError(f"length={length} must be >= 1")
        self.length = length

    @property
    def default_params(self) -> CueParams:
        return CueParams()

    @property
    def name(self) -> str:
        return "probe/MemoryCue"

    def _obs(self, state: CueState) -> jax.Array:
        return jax.nn.one_hot(state.cue, 2, dtype=jnp.float32) * (state.time == 0)

    def step_env(self, key: jax.Array, state: CueState, action: Any, params: CueParams):
        last = state.time + 1 >= self.length
        reward = jnp.where(last, jnp.where(action == state.cue, 1.0, -1.0), 0.0)
        state = CueState(time=state.time + 1, cue=state.cue)
        return self._obs(state), state, reward, last, {}

    def reset_env(self, key: jax.Array, params: CueParams):
        state = CueState(time=jnp.zeros((), jnp.int32), cue=jax.random.bernoulli(key).astype(jnp.int32))
        return self._obs(state), state

    def action_space(self, params: CueParams | None = None) -> spaces.Discrete:
        return spaces.Discrete(2)

    def observation_space(self, params: CueParams) -> spaces.Box:
        return spaces.Box(0.0, 1.0, (2,), jnp.float32)


PROBES = {
    "probe/ConstantReward": constant_reward,
    "probe/ObservationReward": observation_reward,
    "probe/Discounting": discounting,
    "probe/ActionReward": action_reward,
    "probe/ObservationActionReward": observation_action_reward,
    "probe/TimeLimit": time_limit,
    "probe/ContinuousAction": ContinuousActionProbe,
    "probe/ContinuousTimeLimit": ContinuousTimeLimitProbe,
    "probe/MemoryCue": MemoryCueProbe,
}

