"""jaxrl's orthogonal initialiser: jax's values bit for bit, and no batched QR in any init.

jaxlib's batched LAPACK QR waits for tasks on XLA's intra-op pool; two at once (a critic
ensemble, several runs per device) hung the init on a 2-core machine (BENCHMARKS.md, session 19).
"""

import jax
import numpy as np
import pytest

import jaxrl
from jaxrl.core.networks import orthogonal


@pytest.mark.parametrize("shape", [(4, 64), (64, 64), (64, 2), (3, 3, 4, 32)])
def test_values_equal_jax_orthogonal_batched_or_not(shape):
    mine, reference = orthogonal(2 ** 0.5), jax.nn.initializers.orthogonal(2 ** 0.5)
    key = jax.random.key(3)
    np.testing.assert_array_equal(jax.jit(lambda k: mine(k, shape))(key), jax.jit(lambda k: reference(k, shape))(key))
    keys = jax.random.split(key, (2, 3))
    twice = lambda init: jax.jit(jax.vmap(jax.vmap(lambda k: init(k, shape))))(keys)  # noqa: E731
    np.testing.assert_array_equal(twice(mine), twice(reference))


@pytest.mark.parametrize("algo", ["td3", "sac", "ppo"])
def test_no_init_runs_a_batched_qr(algo):
    agent = jaxrl.agents.make(algo, "Pendulum-v1", config={"hidden": [32, 32]})
    hparams = agent.hparams()
    runs = jax.vmap(agent.init, in_axes=(0, None))  # several runs on one device, as the engine does
    lowered = jax.jit(runs).lower(jax.random.split(jax.random.key(0), 4), hparams).as_text()
    assert "lapack_sgeqrf_ffi" in lowered  # the orthogonal initialiser's QR is there...
    assert 'num_batch_dims = "0"' in lowered and 'num_batch_dims = "1"' not in lowered  # ...never batched
