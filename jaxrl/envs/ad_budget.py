"""AdBudget: spend an advertising budget over two channels to maximise sales (a JAX-native,
continuous-action env in the spirit of the DDPG tutorial, and the worked example of writing and
registering your own env).

State: the remaining budget and the steps left. Each step the agent chooses a spend per channel,
``a_c`` in ``[0, max_spend]``; if the spends exceed the remaining budget they are scaled down
together to what is left. Sales have diminishing returns: ``sum_c k_c * sqrt(a_c)``. The episode
ends when the budget is spent or after ``horizon`` steps: both are the task's own end, so both are
``terminated`` (the remaining time is in the observation; there is no time-limit truncation).

Analytic optimum (undiscounted return, when ``max_spend`` does not bind): maximising
``sum_t sum_c k_c sqrt(a_tc)`` subject to ``sum a_tc = B`` gives (Lagrange, concavity)
``a_tc = B k_c^2 / (T sum_c k_c^2)`` every step, so the best return is ``sqrt(B T sum_c k_c^2)``.
With the defaults (B 10, T 10, k = (1, 0.5), max_spend 2): spends 0.8 and 0.2 per step, optimum
``sqrt(125) = 11.18``. ``AdBudget.optimal_return(params)`` computes it.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from gymnax.environments import environment, spaces


@struct.dataclass
class AdBudgetState(environment.EnvState):
    budget: jax.Array  # remaining budget
    time: jax.Array  # steps taken


@struct.dataclass
class AdBudgetParams(environment.EnvParams):
    budget: float = 10.0  # B
    horizon: int = 10  # T
    effectiveness: tuple[float, float] = (1.0, 0.5)  # k_c: sales per sqrt(unit spent), per channel
    max_spend: float = 2.0  # per channel per step
    max_steps_in_episode: int = 10  # = horizon; the episode always ends by then


class AdBudget(environment.Environment[AdBudgetState, AdBudgetParams]):
    """Two advertising channels, a budget, diminishing returns. Observation: [budget left / B,
    steps left / T]; action: the spend per channel, in [0, max_spend]^2; reward: sales."""

    def __init__(self, budget: float = 10.0, horizon: int = 10, effectiveness: tuple[float, float] = (1.0, 0.5),
                 max_spend: float = 2.0):
        super().__init__()
        if budget <= 0 or horizon < 1 or max_spend <= 0 or len(effectiveness) != 2 or min(effectiveness) < 0:
            raise ValueError("AdBudget needs budget > 0, horizon >= 1, max_spend > 0 and two effectiveness values >= 0")
        self._params = AdBudgetParams(budget=float(budget), horizon=int(horizon),
                                      effectiveness=tuple(float(k) for k in effectiveness),
                                      max_spend=float(max_spend), max_steps_in_episode=int(horizon))

    @property
    def default_params(self) -> AdBudgetParams:
        return self._params

    @property
    def name(self) -> str:
        return "AdBudget-v0"

    @property
    def num_actions(self) -> int:
        return 2

    def step_env(self, key: jax.Array, state: AdBudgetState, action: Any, params: AdBudgetParams):
        spend = jnp.clip(jnp.asarray(action, jnp.float32), 0.0, params.max_spend)
        total = spend.sum()
        spend = spend * jnp.where(total > state.budget, state.budget / jnp.maximum(total, 1e-8), 1.0)
        sales = jnp.sum(jnp.asarray(params.effectiveness, jnp.float32) * jnp.sqrt(spend))
        budget = jnp.maximum(state.budget - spend.sum(), 0.0)
        time = state.time + 1
        next_state = AdBudgetState(budget=budget, time=time)
        terminated = jnp.logical_or(budget <= 1e-6 * params.budget, time >= params.horizon)
        return self._obs(next_state, params), next_state, sales, terminated, {}

    def reset_env(self, key: jax.Array, params: AdBudgetParams):
        state = AdBudgetState(budget=jnp.asarray(params.budget, jnp.float32), time=jnp.zeros((), jnp.int32))
        return self._obs(state, params), state

    def _obs(self, state: AdBudgetState, params: AdBudgetParams) -> jax.Array:
        return jnp.stack([state.budget / params.budget, (params.horizon - state.time) / params.horizon]).astype(jnp.float32)

    def action_space(self, params: AdBudgetParams | None = None) -> spaces.Box:
        params = params or self.default_params
        return spaces.Box(0.0, params.max_spend, (2,), jnp.float32)

    def observation_space(self, params: AdBudgetParams) -> spaces.Box:
        return spaces.Box(0.0, 1.0, (2,), jnp.float32)

    @staticmethod
    def optimal_return(params: AdBudgetParams) -> float:
        """The best undiscounted return, ``sqrt(B T sum k^2)``, when the per-step cap does not bind
        (checked: the optimal spends ``B k_c^2 / (T sum k^2)`` must be within ``max_spend``)."""
        k = np.asarray(params.effectiveness, np.float64)
        spends = params.budget * k**2 / (params.horizon * np.sum(k**2))
        if np.any(spends > params.max_spend + 1e-9):
            raise ValueError("max_spend binds: the closed-form optimum does not apply to these parameters")
        return float(np.sqrt(params.budget * params.horizon * np.sum(k**2)))
