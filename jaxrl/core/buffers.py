"""Replay buffers held in the training state: uniform and prioritised, fixed capacity, circular.

Agent-agnostic: the buffer stores any pytree of per-env transition fields (observation, action,
reward, ``terminated``, ``truncated``, ``final_obs``, ...). Its static shape is ``rows x num_envs``:
each add writes one row, one transition per env, so each env's transitions stay in time order
along the row axis. That is what lets a sampler read an n-step window ``row, row + 1, ...`` of
one env (see ``window``), cut it at episode ends, and bootstrap from the final observation.

* Uniform sampling draws a row among the rows whose ``window`` steps are all written (the oldest
  ``rows_filled - window + 1``), and an env: O(1) per sample, whatever the capacity, correct
  while partly full and after wrap-around.
* Prioritised sampling (proportional, Schaul et al. 2016) keeps ``priority ** alpha`` of every
  entry in a sum tree held as one array per level (``levels[d]`` has ``2**d`` nodes, node ``i``
  of level ``d`` the sum of nodes ``2i`` and ``2i + 1`` of level ``d + 1``; the last level holds
  the leaves): sampling (stratified over the batch), priority updates and adds each cost
  O(log capacity) per entry. One array per level, not one array for the whole tree, so that
  each level's update is a scatter into its own buffer, done in place: with the tree in one
  array, XLA's CPU backend copied it whole several times per update (its ``fori_loop`` over
  the levels read and wrote the same buffer), a cost that grew with the capacity. Entries whose window is not complete yet have priority 0; a new
  entry gets the largest priority seen so far when its window completes.

Functions are pure; the static sizes live in ``ReplayBuffer`` (made once, outside jit).
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import chex
import jax
import jax.numpy as jnp
from flax import struct


@struct.dataclass
class ReplayState:
    data: Any  # pytree; every leaf [rows, num_envs, ...]
    pos: jax.Array  # int32: the next row to write
    rows_filled: jax.Array  # int32: rows written so far, at most ``rows``
    tree: tuple[jax.Array, ...] | None  # prioritised only: the sum tree of priority ** alpha, one array per level
    max_priority: jax.Array | None  # prioritised only: the largest priority seen (before alpha)


class Sample(NamedTuple):
    """Where the sampled entries are, and (prioritised) their importance weights."""

    rows: jax.Array  # [batch] int32
    envs: jax.Array  # [batch] int32
    weights: jax.Array  # [batch] importance-sampling weights, max 1 over the batch (1 when uniform)
    probs: jax.Array  # [batch] the probability each entry had of being drawn


@dataclasses.dataclass(frozen=True)
class ReplayBuffer:
    """Static description: ``rows x num_envs`` entries; ``window`` consecutive steps per sample."""

    rows: int
    num_envs: int
    window: int = 1  # n of n-step returns: a row is sampled only once rows row..row+n-1 are written
    prioritized: bool = False

    @classmethod
    def with_capacity(cls, capacity: int, num_envs: int, window: int = 1, prioritized: bool = False) -> "ReplayBuffer":
        """A buffer of ``capacity`` transitions (a multiple of ``num_envs``, checked by callers)."""
        return cls(rows=capacity // num_envs, num_envs=num_envs, window=window, prioritized=prioritized)

    @property
    def capacity(self) -> int:
        return self.rows * self.num_envs

    @property
    def tree_leaves(self) -> int:
        return 1 << max(0, (self.capacity - 1).bit_length())

    @property
    def tree_depth(self) -> int:
        return self.tree_leaves.bit_length() - 1

    # -- state ------------------------------------------------------------------------------------
    def init(self, example: Any) -> ReplayState:
        """An empty buffer for transitions shaped like ``example`` (one env's fields, no env axis)."""
        data = jax.tree.map(lambda x: jnp.zeros((self.rows, self.num_envs) + jnp.shape(x), jnp.asarray(x).dtype), example)
        zero = jnp.zeros((), jnp.int32)
        tree = tuple(jnp.zeros(1 << d, jnp.float32) for d in range(self.tree_depth + 1)) if self.prioritized else None
        max_priority = jnp.ones((), jnp.float32) if self.prioritized else None
        return ReplayState(data, zero, zero, tree, max_priority)

    def add(self, state: ReplayState, batch: Any, alpha: jax.Array | float = 1.0) -> ReplayState:
        """Write one transition per env (leaves ``[num_envs, ...]``) as the next row, O(num_envs)."""
        chex.assert_tree_shape_prefix(batch, (self.num_envs,))
        data = jax.tree.map(lambda buf, x: buf.at[state.pos].set(x.astype(buf.dtype)), state.data, batch)
        rows_filled = jnp.minimum(state.rows_filled + 1, self.rows)
        tree = state.tree
        if self.prioritized:
            envs = jnp.arange(self.num_envs)
            # The row whose window this add completes enters with the largest priority so far.
            done_row = (state.pos - (self.window - 1)) % self.rows
            value = jnp.where(rows_filled >= self.window, state.max_priority**alpha, 0.0)
            leaves, values = self._leaf(jnp.full_like(envs, done_row), envs), jnp.full(self.num_envs, value)
            if self.window > 1:  # the new row's window is incomplete: not sampled yet
                # One update for both rows (they differ: validate_replay keeps rows > window - 1);
                # two in a row made XLA copy each level of the tree between them.
                leaves = jnp.concatenate([self._leaf(jnp.full_like(envs, state.pos), envs), leaves])
                values = jnp.concatenate([jnp.zeros(self.num_envs), values])
            tree = _tree_set(tree, leaves, values)
        return state.replace(data=data, pos=(state.pos + 1) % self.rows, rows_filled=rows_filled, tree=tree)

    # -- sampling ---------------------------------------------------------------------------------
    def num_valid(self, state: ReplayState) -> jax.Array:
        """Entries that can be sampled: those whose ``window`` steps are all written."""
        return jnp.maximum(state.rows_filled - (self.window - 1), 0) * self.num_envs

    def sample(self, state: ReplayState, key: jax.Array, batch_size: int, beta: jax.Array | float = 1.0) -> Sample:
        """``batch_size`` entries with replacement: uniform, or proportional to priority ** alpha."""
        if self.prioritized:
            return self._sample_prioritized(state, key, batch_size, beta)
        valid_rows = jnp.maximum(state.rows_filled - (self.window - 1), 1)
        u = jax.random.uniform(key, (batch_size,))
        flat = jnp.minimum((u * (valid_rows * self.num_envs)).astype(jnp.int32), valid_rows * self.num_envs - 1)
        offset, envs = jnp.divmod(flat, self.num_envs)
        oldest = (state.pos - state.rows_filled) % self.rows
        rows = (oldest + offset) % self.rows
        ones = jnp.ones(batch_size, jnp.float32)
        return Sample(rows, envs, ones, ones / (valid_rows * self.num_envs))

    def _sample_prioritized(self, state: ReplayState, key: jax.Array, batch_size: int, beta: jax.Array | float) -> Sample:
        tree = state.tree
        total = tree[0][0]
        # Stratified: one draw in each of batch_size equal slices of the total mass.
        u = (jnp.arange(batch_size) + jax.random.uniform(key, (batch_size,))) * (total / batch_size)
        leaf = jnp.zeros(batch_size, jnp.int32)
        for level in tree[1:]:  # from the root's children down to the leaves
            left, right = level[2 * leaf], level[2 * leaf + 1]
            go_right = jnp.logical_and(u >= left, right > 0)
            leaf, u = 2 * leaf + go_right, jnp.where(go_right, u - left, u)
        # The drawn leaves' values, from the last level's reads rather than another read of the
        # leaves: a read that only the importance weights use could run after the priority update,
        # and XLA copied the leaves to keep it safe.
        probs = jnp.where(go_right, right, left) / total
        weights = importance_weights(probs, self.num_valid(state), beta)
        rows, envs = jnp.divmod(leaf, self.num_envs)
        return Sample(rows, envs, weights, probs)

    def update_priorities(self, state: ReplayState, sample: Sample, priorities: jax.Array,
                          alpha: jax.Array | float, mask: jax.Array | bool = True) -> ReplayState:
        """Set the sampled entries' priorities (e.g. ``|TD error| + eps``); O(batch log capacity).

        Where ``mask`` is False nothing changes (used before learning starts, without a branch)."""
        if not self.prioritized:
            return state
        chex.assert_equal_shape((sample.rows, priorities))
        leaves = jnp.where(mask, self._leaf(sample.rows, sample.envs), self.tree_leaves)  # masked: out of range
        tree = _tree_set(state.tree, leaves, priorities**alpha)
        max_priority = jnp.where(mask, jnp.maximum(state.max_priority, priorities.max()), state.max_priority)
        return state.replace(tree=tree, max_priority=max_priority)

    # -- reading ----------------------------------------------------------------------------------
    def get(self, state: ReplayState, rows: jax.Array, envs: jax.Array, offset: jax.Array | int = 0) -> Any:
        """The stored fields at ``(rows + offset, envs)``: leaves ``[batch, ...]``."""
        rows = (rows + offset) % self.rows
        return jax.tree.map(lambda x: x[rows, envs], state.data)

    def window_of(self, state: ReplayState, fields: Any, rows: jax.Array, envs: jax.Array) -> Any:
        """``fields`` (a pytree of stored arrays, e.g. ``(data.reward, data.terminated)``) over the
        ``window`` steps from each sampled entry: leaves ``[batch, window, ...]``."""
        steps = (rows[:, None] + jnp.arange(self.window)) % self.rows
        return jax.tree.map(lambda x: x[steps, envs[:, None]], fields)

    def _leaf(self, rows: jax.Array, envs: jax.Array) -> jax.Array:
        return rows * self.num_envs + envs


def importance_weights(probs: jax.Array, num_entries: jax.Array, beta: jax.Array | float) -> jax.Array:
    """``(N * P(i)) ** -beta``, normalised by the batch's largest weight (so all are <= 1)."""
    weights = (jnp.maximum(num_entries, 1) * probs) ** -beta
    return weights / jnp.max(weights)


def _tree_set(tree: tuple[jax.Array, ...], leaves: jax.Array, values: jax.Array) -> tuple[jax.Array, ...]:
    """Set leaf values and recompute their ancestors, level by level: O(k log P) for k leaves.
    Leaves out of range (``>= 2**depth``) change nothing: their ancestors are out of range too."""
    levels = list(tree)
    levels[-1] = levels[-1].at[leaves].set(values.astype(levels[-1].dtype), mode="drop")
    nodes = leaves
    for depth in range(len(levels) - 2, -1, -1):
        nodes = nodes // 2
        below = levels[depth + 1]
        sums = below.at[2 * nodes].get(mode="clip") + below.at[2 * nodes + 1].get(mode="clip")
        levels[depth] = levels[depth].at[nodes].set(sums, mode="drop")
    return tuple(levels)
