"""Replay buffers: partial fill, wrap-around, n-step windows, uniform and prioritised sampling
statistics and importance weights against NumPy references."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrl
from jaxrl.core import buffers
from jaxrl.core.buffers import ReplayBuffer, importance_weights, tree_leaf_values, tree_total


def _filled(buffer: ReplayBuffer, adds: int, alpha: float = 1.0):
    """A buffer after ``adds`` rows; entry (t, e) stores the value 100 * t + e."""
    state = buffer.init({"x": jnp.zeros((), jnp.int32)})
    for t in range(adds):
        state = buffer.add(state, {"x": 100 * t + jnp.arange(buffer.num_envs)}, alpha)
    return state


def _sampled_values(buffer, state, n=4_000, key=0):
    sample = jax.jit(buffer.sample, static_argnums=2)(state, jax.random.key(key), n)
    return np.asarray(buffer.get(state, sample.rows, sample.envs)["x"]), sample


def test_partial_fill_samples_only_written_entries():
    buffer = ReplayBuffer(rows=8, num_envs=3)
    state = _filled(buffer, 3)
    assert int(state.rows_filled) == 3 and int(state.pos) == 3 and int(buffer.num_valid(state)) == 9
    values, sample = _sampled_values(buffer, state)
    assert set(values) == {100 * t + e for t in range(3) for e in range(3)}
    np.testing.assert_allclose(sample.probs, 1 / 9)


def test_wrap_around_keeps_the_newest_rows():
    buffer = ReplayBuffer(rows=5, num_envs=2)
    state = _filled(buffer, 12)  # rows written 0..11; 7..11 are kept
    assert int(state.rows_filled) == 5 and int(state.pos) == 2
    np.testing.assert_array_equal(state.data["x"][:, 0], [1000, 1100, 700, 800, 900])
    values, _ = _sampled_values(buffer, state)
    assert set(values) == {100 * t + e for t in range(7, 12) for e in range(2)}


@pytest.mark.parametrize("adds", [4, 12])
def test_n_step_windows_are_complete_and_in_time_order(adds):
    """With window 3 a row is sampled only when the two rows after it are written (and are its
    future, not older data after wrap-around)."""
    buffer = ReplayBuffer(rows=6, num_envs=2, window=3)
    state = _filled(buffer, adds)
    values, sample = _sampled_values(buffer, state)
    first_kept = max(0, adds - 6)
    assert set(values // 100) == set(range(first_kept, adds - 2))
    window = np.asarray(buffer.window_of(state, state.data["x"], sample.rows, sample.envs))
    np.testing.assert_array_equal(window, values[:, None] + 100 * np.arange(3))


def test_uniform_sampling_statistics():
    buffer = ReplayBuffer(rows=10, num_envs=4)
    state = _filled(buffer, 17)  # wrapped: 40 entries
    values, _ = _sampled_values(buffer, state, n=200_000)
    counts = np.unique(values, return_counts=True)[1]
    assert counts.size == 40
    expected = 200_000 / 40
    chi2 = ((counts - expected) ** 2 / expected).sum()
    assert chi2 < 80  # 39 degrees of freedom: p(chi2 > 80) < 1e-4


def _numpy_probs(priorities, alpha):
    p = np.asarray(priorities, np.float64) ** alpha
    return p / p.sum()


def test_prioritized_sampling_frequencies_and_weights_match_numpy():
    buffer = ReplayBuffer(rows=6, num_envs=2, prioritized=True)
    state = _filled(buffer, 6, alpha=0.6)
    # give every entry a known priority through the public update path
    rows, envs = np.divmod(np.arange(12), 2)
    priorities = np.linspace(0.1, 3.0, 12).astype(np.float32)
    everything = buffer.sample(state, jax.random.key(0), 12)._replace(rows=jnp.asarray(rows), envs=jnp.asarray(envs))
    state = buffer.update_priorities(state, everything, jnp.asarray(priorities), 0.6)
    np.testing.assert_allclose(float(tree_total(state.tree)), (priorities.astype(np.float64) ** 0.6).sum(), rtol=1e-5)
    assert float(state.max_priority) == pytest.approx(3.0)

    sample = jax.jit(buffer.sample, static_argnums=2)(state, jax.random.key(1), 120_000, 0.4)
    leaf = np.asarray(sample.rows) * 2 + np.asarray(sample.envs)
    freq = np.bincount(leaf, minlength=12) / leaf.size
    reference = _numpy_probs(priorities, 0.6)
    np.testing.assert_allclose(freq, reference, atol=0.004)
    np.testing.assert_allclose(sample.probs, reference[leaf], rtol=1e-5)
    # importance weights: (N P(i))^-beta / max over the batch
    w = (12 * reference[leaf]) ** -0.4
    np.testing.assert_allclose(sample.weights, w / w.max(), rtol=1e-5)


def test_prioritized_new_entries_get_the_max_priority_and_overwrites_replace_old_ones():
    buffer = ReplayBuffer(rows=4, num_envs=1, prioritized=True)
    state = _filled(buffer, 4, alpha=1.0)
    sample = buffer.sample(state, jax.random.key(0), 2)._replace(rows=jnp.array([0, 1]), envs=jnp.array([0, 0]))
    state = buffer.update_priorities(state, sample, jnp.array([5.0, 0.5]), 1.0)
    state = buffer.add(state, {"x": jnp.array([400])}, 1.0)  # overwrites row 0 (priority 5) with max 5
    leaves = np.asarray(tree_leaf_values(state.tree)[:4])
    np.testing.assert_allclose(leaves, [5.0, 0.5, 1.0, 1.0])
    assert float(tree_total(state.tree)) == pytest.approx(7.5)
    # masked updates change nothing
    masked = buffer.update_priorities(state, sample, jnp.array([9.0, 9.0]), 1.0, mask=False)
    for masked_level, level in zip(masked.tree, state.tree):
        np.testing.assert_array_equal(masked_level, level)


def test_prioritized_incomplete_windows_are_never_sampled():
    buffer = ReplayBuffer(rows=8, num_envs=2, window=3, prioritized=True)
    state = _filled(buffer, 5)
    values, sample = _sampled_values(buffer, state, n=5_000)
    assert set(values // 100) == {0, 1, 2}
    np.testing.assert_allclose(sample.probs, 1 / 6, rtol=1e-5)


def test_sum_tree_with_non_power_of_two_capacity_and_large_buffer():
    buffer = ReplayBuffer(rows=1_000_003, num_envs=1, prioritized=True)
    assert buffer.tree_leaves == 1 << 20 and buffer.tree_depth == 20
    state = buffer.init({"x": jnp.zeros((), jnp.int32)})
    state = jax.jit(buffer.add)(state, {"x": jnp.array([7])}, 0.6)
    sample = buffer.sample(state, jax.random.key(0), 16, 0.4)
    np.testing.assert_array_equal(sample.rows, 0)
    np.testing.assert_allclose(sample.weights, 1.0)


def test_importance_weights_reference():
    probs = jnp.array([0.5, 0.25, 0.125])
    w = np.array([(4 * 0.5) ** -0.5, (4 * 0.25) ** -0.5, (4 * 0.125) ** -0.5])
    np.testing.assert_allclose(importance_weights(probs, 4, 0.5), w / w.max(), rtol=1e-6)


@pytest.mark.parametrize("top_levels", [12, 2])  # all in the top array; a top array and three deeper levels
def test_sum_tree_levels_stay_the_sums_of_their_children_through_adds_and_updates(monkeypatch, top_levels):
    monkeypatch.setattr(buffers, "TOP_LEVELS", top_levels)
    buffer = ReplayBuffer(rows=7, num_envs=3, window=2, prioritized=True)  # 21 entries: 32 leaves, depth 5
    state = buffer.init({"x": jnp.zeros((), jnp.int32)})
    assert len(state.tree) == 1 + max(0, 5 - top_levels)
    key = jax.random.key(0)
    for step in range(20):  # wraps around the 7 rows twice
        key, sample_key, priority_key = jax.random.split(key, 3)
        state = buffer.add(state, {"x": jnp.full(3, step)}, 0.6)
        sample = buffer.sample(state, sample_key, 4, 0.4)
        priorities = jax.random.uniform(priority_key, (4,), minval=0.1, maxval=5.0)
        state = buffer.update_priorities(state, sample, priorities, 0.6, mask=step % 3 != 0)
        top = np.asarray(state.tree[0])
        levels = [top[1 << d: 2 << d] for d in range(min(5, top_levels) + 1)] + [np.asarray(x) for x in state.tree[1:]]
        assert len(levels) == 6
        for parent, children in zip(levels[:-1], levels[1:]):
            np.testing.assert_array_equal(parent, children[0::2] + children[1::2])
        # the row being written (window incomplete) has priority 0, and only written entries have mass
        leaves = np.asarray(tree_leaf_values(state.tree))
        np.testing.assert_array_equal(leaves, levels[-1])
        assert np.all(leaves[buffer._leaf(int(state.pos - 1) % 7, np.arange(3))] == 0)
        assert np.all(leaves[buffer.capacity:] == 0)
        assert float(tree_total(state.tree)) == pytest.approx(float(leaves.sum()), rel=1e-5)


def test_prioritized_update_compiles_without_copying_the_sum_tree():
    """Each level of the tree is updated in place in a training loop: no copy of a level in the
    loop body (a copy costs time in proportion to the capacity, per update)."""
    import re

    buffer = ReplayBuffer.with_capacity(200_000, 10, window=3, prioritized=True)
    state = buffer.init({"x": jnp.zeros(4)})

    def body(state, key):
        state = buffer.add(state, {"x": jnp.ones((10, 4))}, 0.6)
        sample = buffer.sample(state, key, 100, 0.4)
        priorities = jnp.abs(sample.weights) + 0.1
        return buffer.update_priorities(state, sample, priorities, 0.6, mask=sample.probs[0] > 0), sample.weights.sum()

    program = jax.jit(lambda state, key: jax.lax.scan(body, state, jax.random.split(key, 4)))
    text = program.lower(state, jax.random.key(0)).compile().as_text()
    body_text = text.split("ENTRY")[0]  # the entry computation may copy its arguments once
    sizes = {1 << depth for depth in range(buffers.TOP_LEVELS + 1, buffer.tree_depth + 1)}
    copies = [line for line in body_text.splitlines()
              if (m := re.search(r"= f32\[(\d+)\]\S* copy\(", line)) and int(m.group(1)) in sizes]
    assert copies == []


@pytest.mark.parametrize("runs", [1, 4])
@pytest.mark.parametrize("algo,env_id,config", [
    ("dqn", "Breakout-MinAtar", {"learning_starts": 100, "torso": "cnn", "hidden": (16,)}),
    ("sac", "Pendulum-v1", {"learning_starts": 300, "hidden": (16,)}),
])
def test_training_loop_never_copies_the_buffer(algo, env_id, config, runs):
    """One env step then one gradient step per train_step (train_freq 1, gradient_steps 1): the
    compiled chunk program writes each row in place and reads minibatches without copying any
    buffer-sized array in its loops (XLA did, at every step, when the write and the read were
    not kept apart by a loop: BENCHMARKS.md, session 20). With several runs vmapped on a device
    too: a loop whose condition differs between runs makes vmap select every carried array,
    the buffer included, at every step (BENCHMARKS.md, session 21)."""
    import importlib
    import re

    engine = importlib.import_module("jaxrl.train")
    capacity = 4_999 if algo == "sac" else 4_998  # a size no other array of the program has
    config = {"buffer_capacity": capacity, "num_envs": 1, "train_freq": 1, "gradient_steps": 1, **config}
    agent = jaxrl.agents.make(algo, env_id, config=config)
    state = engine._initial_states(agent, 0, runs, [agent.hparams_cls.defaults()], 10_000)
    text = engine._make_chunk_fn(agent, 4, 2, runs).lower(state).compile().as_text()
    copies, computation = [], ""
    for line in text.splitlines():  # the entry computation may copy its arguments once per chunk
        if line and not line.startswith(" "):
            computation = line.split(" ")[0]
        big = re.search(rf"[\[,]{capacity}[,\]]", line)  # [capacity, ...] or [runs, capacity, ...]
        in_a_loop = computation != "ENTRY" and not computation.startswith("%wrapped_copy_computation")
        if big and in_a_loop and (re.search(r" copy(-start)?\(", line) or "calls=%wrapped_copy_computation" in line):
            copies.append(line.strip()[:120])
    assert copies == []
