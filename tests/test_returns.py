"""Returns against plain-Python references, on trajectories with terminations and truncations mid-batch."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl.core import returns as R


def ref_gae(r, v, nv, term, trunc, gamma, lam):
    out, running = [0.0] * len(r), 0.0
    for t in reversed(range(len(r))):
        delta = r[t] + gamma * (0.0 if term[t] else nv[t]) - v[t]
        running = delta + (0.0 if (term[t] or trunc[t]) else gamma * lam * running)
        out[t] = running
    return out


def ref_mc(r, nv, term, trunc, gamma):
    out = [0.0] * len(r)
    for t in reversed(range(len(r))):
        if term[t]:
            tail = 0.0
        elif trunc[t] or t == len(r) - 1:
            tail = nv[t]
        else:
            tail = out[t + 1]
        out[t] = r[t] + gamma * tail
    return out


def ref_n_step(r, nv, term, trunc, gamma, n):
    out = []
    for t in range(len(r)):
        total = 0.0
        for k in range(n):
            i = t + k
            total += gamma**k * r[i]
            if term[i]:
                break
            if trunc[i] or k == n - 1 or i == len(r) - 1:
                total += gamma ** (k + 1) * nv[i]
                break
        out.append(total)
    return out


def ref_complete(term, trunc):
    out, known = [False] * len(term), False
    for t in reversed(range(len(term))):
        known = term[t] or (not trunc[t] and known)
        out[t] = known
    return out


# T = 8: a termination at t=2 and a truncation at t=5 inside the batch, the rollout cut at t=7.
HAND = dict(
    r=[1.0, 0.5, 2.0, 1.0, -1.0, 3.0, 0.0, 1.0],
    v=[0.3, 0.2, 0.1, 0.5, 0.4, 0.9, 0.2, 0.7],
    nv=[0.2, 0.1, 9.0, 0.4, 0.9, 5.0, 0.7, 0.6],  # nv[2]=9 must be ignored (terminated), nv[5]=5 used (truncated)
    term=[False, False, True, False, False, False, False, False],
    trunc=[False, False, False, False, False, True, False, False],
)


def _arrays(case):
    return {k: jnp.asarray(v, jnp.float32 if k in "r v nv" else bool) for k, v in case.items()}


def _random_case(seed, length=40):
    rng = np.random.default_rng(seed)
    return dict(
        r=rng.normal(size=length).tolist(), v=rng.normal(size=length).tolist(), nv=rng.normal(size=length).tolist(),
        term=(rng.random(length) < 0.1).tolist(), trunc=(rng.random(length) < 0.1).tolist(),
    )


CASES = [HAND] + [_random_case(s) for s in range(5)]


@pytest.mark.parametrize("case", CASES)
def test_gae_matches_reference(case):
    a = _arrays(case)
    for lam in (0.0, 0.95, 1.0):
        adv, target = R.gae(a["r"], a["v"], a["nv"], a["term"], a["trunc"], 0.9, lam)
        expected = ref_gae(case["r"], case["v"], case["nv"], case["term"], case["trunc"], 0.9, lam)
        np.testing.assert_allclose(adv, expected, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(target, np.array(expected) + np.array(case["v"]), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("case", CASES)
def test_monte_carlo_and_n_step_match_reference(case):
    a = _arrays(case)
    mc = R.discounted_returns(a["r"], a["nv"], a["term"], a["trunc"], 0.9)
    np.testing.assert_allclose(mc, ref_mc(case["r"], case["nv"], case["term"], case["trunc"], 0.9), rtol=1e-5, atol=1e-5)
    for n in (1, 3, 100):
        got = R.n_step_returns(a["r"], a["nv"], a["term"], a["trunc"], 0.9, n)
        np.testing.assert_allclose(got, ref_n_step(case["r"], case["nv"], case["term"], case["trunc"], 0.9, n), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(R.complete_return_mask(a["term"], a["trunc"]), ref_complete(case["term"], case["trunc"]))


def test_hand_values():
    a = _arrays(HAND)
    g = 0.9
    # step 1: r1 + g * r2, episode terminates at 2 (its next value 9 is ignored)
    assert R.discounted_returns(a["r"], a["nv"], a["term"], a["trunc"], g)[1] == pytest.approx(0.5 + g * 2.0)
    # step 4: r4 + g * (r5 + g * V(final obs of 5) = 5): truncation bootstraps
    assert R.discounted_returns(a["r"], a["nv"], a["term"], a["trunc"], g)[4] == pytest.approx(-1.0 + g * (3.0 + g * 5.0))
    np.testing.assert_array_equal(R.complete_return_mask(a["term"], a["trunc"]), [True] * 3 + [False] * 5)
    # GAE(1) + v equals the Monte-Carlo return with bootstrap; GAE(0) is the one-step TD error
    adv, target = R.gae(a["r"], a["v"], a["nv"], a["term"], a["trunc"], g, 1.0)
    np.testing.assert_allclose(target, R.discounted_returns(a["r"], a["nv"], a["term"], a["trunc"], g), rtol=1e-6)
    adv0, _ = R.gae(a["r"], a["v"], a["nv"], a["term"], a["trunc"], g, 0.0)
    assert adv0[2] == pytest.approx(2.0 - 0.1) and adv0[5] == pytest.approx(3.0 + g * 5.0 - 0.9)


def test_vmapped_over_envs():
    cases = [_arrays(_random_case(s, 16)) for s in range(3)]
    stacked = {k: jnp.stack([c[k] for c in cases], axis=1) for k in cases[0]}
    adv, _ = jax.vmap(R.gae, in_axes=(1, 1, 1, 1, 1, None, None), out_axes=1)(
        stacked["r"], stacked["v"], stacked["nv"], stacked["term"], stacked["trunc"], 0.99, 0.95
    )
    for i, c in enumerate(cases):
        np.testing.assert_allclose(adv[:, i], R.gae(c["r"], c["v"], c["nv"], c["term"], c["trunc"], 0.99, 0.95)[0], rtol=1e-6)
