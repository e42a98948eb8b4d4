"""Exploration: schedules by hand, sampling frequencies against the stated distributions."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl.core import exploration


def test_schedules_by_hand():
    kw = dict(start=1.0, end=0.05, decay=0.995, duration=100.0)
    assert exploration.epsilon_schedule("constant", 500, **kw) == pytest.approx(1.0)
    assert exploration.epsilon_schedule("linear", 0, **kw) == pytest.approx(1.0)
    assert exploration.epsilon_schedule("linear", 50, **kw) == pytest.approx(0.525)
    assert exploration.epsilon_schedule("linear", 1000, **kw) == pytest.approx(0.05)
    assert exploration.epsilon_schedule("exponential", 10, **kw) == pytest.approx(0.995**10, rel=1e-5)
    assert exploration.epsilon_schedule("exponential", 10_000, **kw) == pytest.approx(0.05)
    with pytest.raises(ValueError, match="unknown epsilon schedule"):
        exploration.epsilon_schedule("cosine", 1, **kw)


def _frequencies(sample, n=40_000, num_actions=4):
    keys = jax.random.split(jax.random.key(0), n)
    actions = np.asarray(jax.vmap(sample)(keys))
    return np.bincount(actions, minlength=num_actions) / n


def _assert_close(freq, probs, n=40_000):
    tolerance = 5 * np.sqrt(np.asarray(probs) * (1 - np.asarray(probs)) / n) + 1e-9
    np.testing.assert_array_less(np.abs(freq - probs), tolerance)


def test_greedy_breaks_ties_uniformly():
    q = jnp.array([1.0, 3.0, 3.0, 0.0])
    _assert_close(_frequencies(lambda k: exploration.greedy(k, q)), [0, 0.5, 0.5, 0])


def test_epsilon_greedy_matches_its_probs():
    q = jnp.array([1.0, 3.0, 3.0, 0.0])
    probs = np.asarray(exploration.epsilon_greedy_probs(q, 0.2))
    np.testing.assert_allclose(probs, [0.05, 0.45, 0.45, 0.05], rtol=1e-6)
    _assert_close(_frequencies(lambda k: exploration.epsilon_greedy(k, q, 0.2)), probs)


def test_boltzmann_matches_softmax():
    q = jnp.array([1.0, 2.0, 0.0, -1.0])
    probs = np.exp(np.array(q) / 0.5) / np.exp(np.array(q) / 0.5).sum()
    np.testing.assert_allclose(exploration.boltzmann_probs(q, 0.5), probs, rtol=1e-5)
    _assert_close(_frequencies(lambda k: exploration.boltzmann(k, q, 0.5)), probs)
