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
  entry in a sum tree (node ``i`` of level ``d`` the sum of nodes ``2i`` and ``2i + 1`` of level
  ``d + 1``; the last level holds the leaves): sampling (stratified over the batch), priority
  updates and adds each cost O(log capacity) per entry. The top ``TOP_LEVELS`` levels share one
  array (node ``i`` at index ``i``, the root at 1), walked by a ``fori_loop``; each deeper level
  is an array of its own, walked unrolled. In one array, XLA's CPU backend copied the whole tree
  several times per update (a loop that reads and writes one buffer gets a copy on entry), a
  cost that grew with the capacity: 2 MB per copy at 200k entries. A scatter into a level of
  its own is done in place; the top's copies stay under 128 KB, and keeping its levels in a loop
  keeps the compile time of a large buffer near that of a small one. Entries whose window is not complete yet have priority 0; a new
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
    tree: tuple[jax.Array, ...] | None  # prioritised only: the sum tree of priority ** alpha: (top levels, deeper levels...)
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
        top_depth = min(self.tree_depth, TOP_LEVELS)
        tree = tuple([jnp.zeros(2 << top_depth, jnp.float32)] + [jnp.zeros(1 << d, jnp.float32) for d in
                                                                  range(top_depth + 1, self.tree_depth + 1)]) if self.prioritized else None
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
        total = tree_total(state.tree)
        # Stratified: one draw in each of batch_size equal slices of the total mass.
        u = (jnp.arange(batch_size) + jax.random.uniform(key, (batch_size,))) * (total / batch_size)
        leaf, value = _descend(state.tree, u)
        probs = value / total
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


TOP_LEVELS = 14  # the sum tree's levels 0..14 (32,767 nodes, 128 KB) share one array


def tree_total(tree: tuple[jax.Array, ...]) -> jax.Array:
    """The sum of every leaf (the root)."""
    return tree[0][1]


def tree_leaf_values(tree: tuple[jax.Array, ...]) -> jax.Array:
    """Every leaf's value (``priority ** alpha``), in entry order."""
    return tree[-1] if len(tree) > 1 else tree[0][tree[0].shape[0] // 2:]


def _pair_sums(level: jax.Array, nodes: jax.Array) -> jax.Array:
    """Children ``2n`` and ``2n + 1`` of ``level`` summed (out-of-range ``n``: a value never stored)."""
    return level.at[2 * nodes].get(mode="clip") + level.at[2 * nodes + 1].get(mode="clip")


def _descend(tree: tuple[jax.Array, ...], u: jax.Array) -> tuple[jax.Array, jax.Array]:
    """The leaves where cumulative masses ``u`` fall, and their values. The values come from the
    last level's reads, not a read of the leaves after: a read only the importance weights use
    may run after the priority update, and XLA copied the leaves to keep it safe."""
    top = tree[0]
    top_depth = top.shape[0].bit_length() - 2

    def down(level: jax.Array, node: jax.Array, u: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        left, right = level[2 * node], level[2 * node + 1]
        go_right = jnp.logical_and(u >= left, right > 0)
        return 2 * node + go_right, jnp.where(go_right, u - left, u), jnp.where(go_right, right, left)

    node, u, value = jax.lax.fori_loop(0, top_depth, lambda _, carry: down(top, carry[0], carry[1]),
                                       (jnp.ones(u.shape, jnp.int32), u, jnp.zeros(u.shape, top.dtype)))
    node = node - (1 << top_depth)  # the node's place in level top_depth
    for level in tree[1:]:
        node, u, value = down(level, node, u)
    return node, value


def _tree_set(tree: tuple[jax.Array, ...], leaves: jax.Array, values: jax.Array) -> tuple[jax.Array, ...]:
    """Set leaf values and recompute their ancestors, level by level: O(k log P) for k leaves.
    Leaves out of range (``>= 2**depth``) change nothing: their ancestors are out of range too."""
    top, deeper = tree[0], list(tree[1:])
    nodes, values = leaves, values.astype(top.dtype)
    if deeper:
        deeper[-1] = deeper[-1].at[nodes].set(values, mode="drop")
        for depth in range(len(deeper) - 2, -1, -1):
            nodes = nodes // 2
            deeper[depth] = deeper[depth].at[nodes].set(_pair_sums(deeper[depth + 1], nodes), mode="drop")
        nodes = nodes // 2
        values = _pair_sums(deeper[0], nodes)
    size = top.shape[0]
    nodes = nodes + size // 2  # index in the top array of its deepest level
    in_range = nodes < size
    top = top.at[nodes].set(values, mode="drop")

    def up(_: int, carry: tuple[jax.Array, jax.Array]) -> tuple[jax.Array, jax.Array]:
        top, nodes = carry
        nodes = jnp.where(in_range, nodes // 2, size)
        return top.at[nodes].set(_pair_sums(top, nodes), mode="drop"), nodes

    top = jax.lax.fori_loop(0, size.bit_length() - 2, up, (top, nodes))[0]
    return (top, *deeper)
