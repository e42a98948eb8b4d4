"""Running mean/variance statistics, for observation and reward normalisation.

The statistics live in the training state, are updated from training data only (after each
update, from the rollout just used), and are applied by ``act`` and evaluation through the params.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct


@struct.dataclass
class RunningStats:
    mean: jax.Array
    var: jax.Array
    count: jax.Array

    @classmethod
    def create(cls, shape: tuple[int, ...]) -> "RunningStats":
        return cls(jnp.zeros(shape, jnp.float32), jnp.ones(shape, jnp.float32), jnp.asarray(1e-4, jnp.float32))

    def update(self, batch: jax.Array) -> "RunningStats":
        """Merge a batch (leading axes are samples) with Chan et al.'s parallel algorithm."""
        batch = batch.reshape((-1,) + self.mean.shape).astype(jnp.float32)
        batch_mean, batch_var = batch.mean(0), batch.var(0)
        batch_count = jnp.asarray(batch.shape[0], jnp.float32)
        delta = batch_mean - self.mean
        count = self.count + batch_count
        mean = self.mean + delta * batch_count / count
        m2 = self.var * self.count + batch_var * batch_count + delta**2 * self.count * batch_count / count
        return RunningStats(mean, m2 / count, count)

    def normalize(self, x: jax.Array, clip: float = 10.0) -> jax.Array:
        return jnp.clip((x - self.mean) / jnp.sqrt(self.var + 1e-8), -clip, clip)


@struct.dataclass
class RewardNormalizer:
    """Scales rewards by the running std of each env's discounted return (as SB3's VecNormalize)."""

    stats: RunningStats
    returns: jax.Array  # [num_envs] running discounted return

    @classmethod
    def create(cls, num_envs: int) -> "RewardNormalizer":
        return cls(RunningStats.create(()), jnp.zeros(num_envs, jnp.float32))

    def scale(self, rewards: jax.Array) -> jax.Array:
        return rewards / jnp.sqrt(self.stats.var + 1e-8)

    def update(self, rewards: jax.Array, dones: jax.Array, gamma: jax.Array) -> "RewardNormalizer":
        """Advance over a rollout ``[T, num_envs]`` of raw rewards and episode ends."""

        def step(returns, inputs):
            reward, done = inputs
            returns = returns * gamma + reward
            return jnp.where(done, 0.0, returns), returns

        returns, history = jax.lax.scan(step, self.returns, (rewards, dones))
        return RewardNormalizer(self.stats.update(history), returns)
