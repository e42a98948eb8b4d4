"""StatelessCartPole-v1: CartPole-v1 that shows only the cart's position and the pole's angle.

The velocities are hidden, so a policy must infer them from the observations it has seen: a test
of memory (recurrent policies) on a well-known task. gymnax's CartPole-v1 dynamics, reward and
500-step time limit are kept as they are (this class only changes what is observed), so a
transition here equals CartPole-v1's with the observation ``full_obs[[0, 2]]``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from gymnax.environments import spaces
from gymnax.environments.classic_control.cartpole import CartPole, EnvParams, EnvState


class StatelessCartPole(CartPole):
    """CartPole-v1 observed as (cart position, pole angle), in that order."""

    def __init__(self):
        super().__init__()
        self.obs_shape = (2,)

    def get_obs(self, state: EnvState, params: EnvParams | None = None, key: jax.Array | None = None) -> jax.Array:
        return jnp.array([state.x, state.theta])

    @property
    def name(self) -> str:
        return "StatelessCartPole-v1"

    def observation_space(self, params: EnvParams) -> spaces.Box:
        high = jnp.array([params.x_threshold * 2, params.theta_threshold_radians * 2])
        return spaces.Box(-high, high, (2,), dtype=jnp.float32)
