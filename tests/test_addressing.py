"""Tests of ntm_numpy.addressing, eqs (5)-(9) and the whole chain.

Gradient checks compare the analytic backward with float64 central differences
(ntm_numpy.gradcheck) for a random upstream gradient and assert a scale-relative error
below 1e-6. Measured worst cases (ci and three HYPOTHESIS_PROFILE=thorough runs):
cosine 1.2e-7 (reached on flat draws, see below; generic draws stay under 1e-8),
content 3e-8, interpolation 2e-8 (g in {0, 1} included), shift 1e-9, sharpen 2e-8,
sharpen with exact zeros 3e-8, whole chain (eqs 5-9) 5e-8; cosine at an all-zero memory
row 9e-8 and at an all-zero key 5e-9 (step 1e-8, see those tests). Set
NTM_REPORT_RELERR=1 and run with -s to print them.

Memory rows and keys in the generic gradient checks have every entry at least 0.1 in
magnitude: near a zero vector the smoothed norm sqrt(u.u + NORM_EPS) curves on the scale
sqrt(NORM_EPS) = 1e-4, where a central difference with step 1e-6 is off by ~1e-5
relative. The zero vectors are checked on their own, with a smaller step.

Some functions are flat in degenerate cases hypothesis likes to draw: cosine similarity
with M = 1 (K = sign(u) sign(v)) or with every row parallel to the key, and any
normalised weighting over N = 1 row (constant 1, up to the eps terms). The whole
gradient is then ~1e-8 or less, while the central difference carries ~1e-9 of
round-off (1e-16 * |f| / h). The gradient checks therefore divide by
max(gradient scale, FLAT_FLOOR = 1e-2) instead of rel_error's default 1e-8 floor: on
generic inputs, whose gradients are O(0.1-10), the criterion is the plain relative error
< 1e-6; on flat ones it is an absolute difference < 1e-8.
"""
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import reference as ref
from support import FLAT_FLOOR, arrays, floats, gradcheck, recorder

_record = recorder(__name__)
from ntm_numpy.activations import sigmoid_forward, softmax_forward, softplus_forward
from ntm_numpy.addressing import (
    address_backward,
    address_forward,
    content_weighting_backward,
    content_weighting_forward,
    cosine_similarity_backward,
    cosine_similarity_forward,
    interpolation_backward,
    interpolation_forward,
    sharpen_backward,
    sharpen_forward,
    shift_backward,
    shift_forward,
)
from ntm_numpy.constants import NORM_EPS, SHARPEN_EPS
from ntm_numpy.gradcheck import numerical_gradient, rel_error

TOL = 1e-6



# ----------------------------------------------------------------------------------------
# strategies
# ----------------------------------------------------------------------------------------
def away_from_zero(shape, lo=0.1, hi=2.0):
    """Entries in [-hi, -lo] U [lo, hi] (see the module docstring)."""
    return hnp.arrays(np.float64, shape, elements=floats(lo, hi) | floats(-hi, -lo))


def softmax(x):
    return softmax_forward(x, axis=1)[0]


def softplus(x):
    return softplus_forward(x)[0]


def sigmoid(x):
    return sigmoid_forward(x)[0]


@st.composite
def sizes(draw):
    B = draw(st.integers(1, 3))
    N = draw(st.integers(1, 6))
    M = draw(st.integers(1, 5))
    S = 2 * draw(st.integers(0, 4)) + 1  # 1..9, often larger than N
    return B, N, M, S


@st.composite
def address_inputs(draw, wide=False):
    """(memory, w_prev, key, beta, g, s, gamma, rng).

    ``wide``: memory and key anywhere in [-3, 3] (zeros included) and wider raw ranges,
    for the forward properties; otherwise the ranges suited to central differences.
    """
    B, N, M, S = draw(sizes())
    if wide:
        memory = draw(arrays((B, N, M)))
        key = draw(arrays((B, M)))
        beta = softplus(draw(arrays((B, 1), -10.0, 10.0)))
        gamma = 1.0 + softplus(draw(arrays((B, 1), -5.0, 4.0)))
        lo, hi = -6.0, 6.0
    else:
        memory = draw(away_from_zero((B, N, M)))
        key = draw(away_from_zero((B, M)))
        beta = softplus(draw(arrays((B, 1))))
        gamma = 1.0 + softplus(draw(arrays((B, 1))))
        lo, hi = -3.0, 3.0
    w_prev = softmax(draw(arrays((B, N), lo, hi)))
    g = sigmoid(draw(arrays((B, 1), -5.0, 5.0)))
    s = softmax(draw(arrays((B, S), lo, hi)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return memory, w_prev, key, beta, g, s, gamma, rng


def assert_distribution(w, tol=1e-12):
    assert np.all(np.isfinite(w))
    assert np.all(w >= 0.0)
    np.testing.assert_allclose(w.sum(axis=1), 1.0, rtol=0, atol=tol)


CLOSE = dict(rtol=1e-10, atol=1e-12)

# ----------------------------------------------------------------------------------------
# forward against the loop reference
# ----------------------------------------------------------------------------------------


@given(address_inputs(wide=True))
def test_cosine_matches_reference(case):
    memory, _, key, *_ = case
    K, _ = cosine_similarity_forward(memory, key)
    np.testing.assert_allclose(K, ref.cosine(memory, key), **CLOSE)
    assert np.all(np.abs(K) <= 1.0)


@given(address_inputs(wide=True))
def test_content_weighting_matches_reference(case):
    memory, _, key, beta, *_ = case
    w, _ = content_weighting_forward(memory, key, beta)
    np.testing.assert_allclose(w, ref.content(memory, key, beta), **CLOSE)


@given(address_inputs(wide=True))
def test_interpolation_matches_reference(case):
    memory, w_prev, key, beta, g, *_ = case
    w_c = ref.content(memory, key, beta)
    w_g, _ = interpolation_forward(w_c, w_prev, g)
    np.testing.assert_allclose(w_g, ref.interpolate(w_c, w_prev, g), **CLOSE)


@given(address_inputs(wide=True))
def test_shift_matches_reference(case):
    _, w_prev, _, _, _, s, _, _ = case
    w_s, _ = shift_forward(w_prev, s)
    np.testing.assert_allclose(w_s, ref.shift(w_prev, s), **CLOSE)


@pytest.mark.parametrize("N, S", [(1, 9), (2, 5), (3, 7), (4, 9), (5, 3), (6, 1)])
def test_shift_matches_reference_fixed_sizes(N, S):
    # S > N in most of these: wrapped offsets add up
    rng = np.random.default_rng(N * 10 + S)
    w = softmax(rng.standard_normal((2, N)))
    s = softmax(rng.standard_normal((2, S)))
    np.testing.assert_allclose(shift_forward(w, s)[0], ref.shift(w, s), **CLOSE)


@given(address_inputs(wide=True))
def test_sharpen_matches_reference(case):
    _, w_prev, _, _, _, _, gamma, _ = case
    out, _ = sharpen_forward(w_prev, gamma)
    np.testing.assert_allclose(out, ref.sharpen(w_prev, gamma), **CLOSE)


@given(address_inputs(wide=True))
def test_address_chain_matches_reference(case):
    memory, w_prev, key, beta, g, s, gamma, _ = case
    w, cache = address_forward(memory, w_prev, key, beta, g, s, gamma)
    np.testing.assert_allclose(w, ref.address(memory, w_prev, key, beta, g, s, gamma), **CLOSE)
    # the cache exposes every stage, each equal to the reference stage
    for b in range(memory.shape[0]):
        stages = ref.address_one(memory[b], w_prev[b], key[b], beta[b, 0], g[b, 0], s[b],
                                 gamma[b, 0])
        for got, want in zip((cache.w_c, cache.w_g, cache.w_s, cache.w), stages):
            np.testing.assert_allclose(got[b], want, **CLOSE)


# ----------------------------------------------------------------------------------------
# backward against central differences, every input
# ----------------------------------------------------------------------------------------
@given(address_inputs())
def test_cosine_backward_gradcheck(case):
    memory, _, key, *_, rng = case
    errors = gradcheck(cosine_similarity_forward, cosine_similarity_backward, [memory, key],
                       rng)
    _record("cosine", errors)
    assert len(errors) == 2 and max(errors) < TOL, errors


@given(address_inputs())
def test_content_weighting_backward_gradcheck(case):
    memory, _, key, beta, *_, rng = case
    errors = gradcheck(content_weighting_forward, content_weighting_backward,
                       [memory, key, beta], rng)
    _record("content", errors)
    assert len(errors) == 3 and max(errors) < TOL, errors


@given(address_inputs())
def test_interpolation_backward_gradcheck(case):
    memory, w_prev, key, beta, g, s, gamma, rng = case
    w_c = softmax(rng.standard_normal(w_prev.shape))
    errors = gradcheck(interpolation_forward, interpolation_backward, [w_c, w_prev, g], rng)
    _record("interpolation", errors)
    assert len(errors) == 3 and max(errors) < TOL, errors


@given(address_inputs())
def test_shift_backward_gradcheck(case):
    _, w_prev, _, _, _, s, _, rng = case
    errors = gradcheck(shift_forward, shift_backward, [w_prev, s], rng)
    _record("shift", errors)
    assert len(errors) == 2 and max(errors) < TOL, errors


@given(address_inputs())
def test_sharpen_backward_gradcheck(case):
    _, w_prev, _, _, _, _, gamma, rng = case
    errors = gradcheck(sharpen_forward, sharpen_backward, [w_prev, gamma], rng)
    _record("sharpen", errors)
    assert len(errors) == 2 and max(errors) < TOL, errors


@given(address_inputs())
def test_address_backward_gradcheck(case):
    *inputs, rng = case
    errors = gradcheck(address_forward, address_backward, inputs, rng)
    _record("address chain", errors)
    assert len(errors) == 7 and max(errors) < TOL, errors


@given(address_inputs())
def test_address_backward_shapes(case):
    *inputs, rng = case
    w, cache = address_forward(*inputs)
    grads = address_backward(rng.standard_normal(w.shape), cache)
    assert [g.shape for g in grads] == [x.shape for x in inputs]


# ----------------------------------------------------------------------------------------
# invariants: every stage is a distribution over rows
# ----------------------------------------------------------------------------------------
# Sharpening divides by sum(u**gamma) + SHARPEN_EPS with u = w / max(w), so its output
# sums to 1 - SHARPEN_EPS / (sum(u**gamma) + SHARPEN_EPS), and sum(u**gamma) >= 1: the
# sum is within 1e-12 of 1.
SHARPEN_SUM_TOL = 1e-8


@given(address_inputs(wide=True))
def test_every_stage_is_a_distribution(case):
    memory, w_prev, key, beta, g, s, gamma, _ = case
    w_c, _ = content_weighting_forward(memory, key, beta)
    assert_distribution(w_c)
    w_g, _ = interpolation_forward(w_c, w_prev, g)
    assert_distribution(w_g)
    w_s, _ = shift_forward(w_g, s)
    assert_distribution(w_s)
    w, _ = sharpen_forward(w_s, gamma)
    assert_distribution(w, tol=SHARPEN_SUM_TOL)
    chain, cache = address_forward(memory, w_prev, key, beta, g, s, gamma)
    assert_distribution(chain, tol=SHARPEN_SUM_TOL)
    for stage in (cache.w_c, cache.w_g, cache.w_s):
        assert_distribution(stage)


@given(address_inputs(wide=True), st.data())
def test_one_hot_shift_is_np_roll_for_every_offset(case, data):
    _, w_prev, *_ = case
    S = 2 * data.draw(st.integers(0, 4)) + 1  # includes S > N
    for col in range(S):
        s = np.zeros((w_prev.shape[0], S))
        s[:, col] = 1.0
        w_s, _ = shift_forward(w_prev, s)
        np.testing.assert_array_equal(w_s, np.roll(w_prev, col - S // 2, axis=-1))


def test_shift_by_plus_one_moves_weight_to_the_next_row():
    # the sign convention spelled out: offset +1 moves the focus from row i to row i+1
    w = np.array([[0.0, 1.0, 0.0, 0.0]])
    s = np.array([[0.0, 0.0, 1.0]])  # offsets -1, 0, +1
    np.testing.assert_array_equal(shift_forward(w, s)[0], [[0.0, 0.0, 1.0, 0.0]])
    s = np.array([[1.0, 0.0, 0.0]])
    np.testing.assert_array_equal(shift_forward(w, s)[0], [[1.0, 0.0, 0.0, 0.0]])


@given(address_inputs(wide=True))
def test_sharpen_with_gamma_one_is_the_identity(case):
    _, w_prev, *_ = case
    out, _ = sharpen_forward(w_prev, np.ones((w_prev.shape[0], 1)))
    # out = u / (sum(u) + SHARPEN_EPS) with u = w / max(w), sum(u) >= 1
    np.testing.assert_allclose(out, w_prev, rtol=0, atol=SHARPEN_EPS + 1e-15)


@given(address_inputs(wide=True))
def test_interpolation_gate_extremes_select_an_input(case):
    memory, w_prev, key, beta, *_ = case
    w_c, _ = content_weighting_forward(memory, key, beta)
    B = w_c.shape[0]
    np.testing.assert_array_equal(interpolation_forward(w_c, w_prev, np.ones((B, 1)))[0], w_c)
    np.testing.assert_array_equal(interpolation_forward(w_c, w_prev, np.zeros((B, 1)))[0],
                                  w_prev)


# ----------------------------------------------------------------------------------------
# extremes: forward and backward stay finite
# ----------------------------------------------------------------------------------------
def _backward_finite(forward, backward, inputs, rng):
    out, cache = forward(*inputs)
    assert np.all(np.isfinite(out))
    grads = backward(rng.standard_normal(out.shape), cache)
    for g in grads:
        assert np.all(np.isfinite(g))
    return out, grads


@given(address_inputs(wide=True))
def test_large_beta_stays_finite(case):
    memory, w_prev, key, beta, g, s, gamma, rng = case
    big = np.full_like(beta, 1e3)
    w, _ = _backward_finite(content_weighting_forward, content_weighting_backward,
                            [memory, key, big], rng)
    assert_distribution(w)
    w, _ = _backward_finite(address_forward, address_backward,
                            [memory, w_prev, key, big, g, s, gamma], rng)
    assert_distribution(w, tol=SHARPEN_SUM_TOL)


@given(address_inputs(wide=True))
def test_large_gamma_stays_finite(case):
    memory, w_prev, key, beta, g, s, gamma, rng = case
    big = np.full_like(gamma, 50.0)
    _backward_finite(sharpen_forward, sharpen_backward, [w_prev, big], rng)
    _backward_finite(address_forward, address_backward,
                     [memory, w_prev, key, beta, g, s, big], rng)


@pytest.mark.parametrize(
    "w, gamma",
    [
        ([0.5, 0.5], 50.0),
        ([1 / 6] * 6, 50.0),
        ([1 / 6] * 6, 20.0),
        ([0.5, 0.3, 0.2], 50.0),
        ([1 / 128] * 128, 7.0),
    ],
)
def test_large_gamma_sharpening_is_still_a_distribution(w, gamma):
    w = np.array([w])
    out, _ = sharpen_forward(w, np.array([[gamma]]))
    # eq (9) without any eps, evaluated in log space: w**gamma / sum(w**gamma)
    logp = gamma * np.log(w)
    want = np.exp(logp - logp.max()) / np.exp(logp - logp.max()).sum()
    np.testing.assert_allclose(out.sum(), 1.0, rtol=1e-9)
    np.testing.assert_allclose(out, want, rtol=1e-6, atol=1e-12)


@given(address_inputs(wide=True))
def test_all_zero_memory_and_key_stay_finite(case):
    memory, w_prev, key, beta, g, s, gamma, rng = case
    zm, zk = np.zeros_like(memory), np.zeros_like(key)
    for mem, k in ((zm, key), (memory, zk), (zm, zk)):
        K, _ = _backward_finite(cosine_similarity_forward, cosine_similarity_backward,
                                [mem, k], rng)
        if not mem.any() or not k.any():
            np.testing.assert_array_equal(K, 0.0)
        w_c, _ = _backward_finite(content_weighting_forward, content_weighting_backward,
                                  [mem, k, beta], rng)
        if not mem.any() or not k.any():
            # every row is neutral: the content weighting is uniform
            np.testing.assert_allclose(w_c, 1.0 / mem.shape[1], rtol=1e-12)
        _backward_finite(address_forward, address_backward,
                         [mem, w_prev, k, beta, g, s, gamma], rng)


# At a zero vector the smoothed norm sqrt(u.u + NORM_EPS) has third derivative
# ~ NORM_EPS**-1.5 = 1e12, so the central-difference truncation error is ~ h**2 * 1e11:
# 0.1 (relative 1e-5) for h = 1e-6, but 1e-5 (relative 1e-9) for h = 1e-8, where the
# round-off, ~1e-16 / h = 1e-8 absolute, is still negligible against gradients of ~1e4.
ZERO_STEP = 1e-8


@given(address_inputs())
def test_cosine_gradient_at_a_zero_memory_row(case):
    memory, _, key, *_, rng = case
    memory = memory.copy()
    memory[:, 0, :] = 0.0
    K, cache = cosine_similarity_forward(memory, key)
    dK = rng.standard_normal(K.shape)
    dmem, dkey = cosine_similarity_backward(dK, cache)
    # analytic: at u = 0, dK/du = v / (sqrt(NORM_EPS) ||v||)
    key_norm = np.sqrt((key * key).sum(axis=1, keepdims=True) + NORM_EPS)
    expected_row = dK[:, :1] * key / (np.sqrt(NORM_EPS) * key_norm)
    np.testing.assert_allclose(dmem[:, 0, :], expected_row, rtol=1e-9)

    def f_mem(m):
        return cosine_similarity_forward(m, key)[0]

    def f_key(k):
        return cosine_similarity_forward(memory, k)[0]

    errors = [rel_error(dmem, numerical_gradient(f_mem, memory, dK, h=ZERO_STEP), FLAT_FLOOR),
              rel_error(dkey, numerical_gradient(f_key, key, dK), FLAT_FLOOR)]
    _record("cosine at zero row", errors)
    assert max(errors) < TOL, errors


@given(address_inputs())
def test_cosine_gradient_at_a_zero_key(case):
    memory, _, key, *_, rng = case
    key = np.zeros_like(key)
    K, cache = cosine_similarity_forward(memory, key)
    dK = rng.standard_normal(K.shape)
    dmem, dkey = cosine_similarity_backward(dK, cache)
    # analytic: at v = 0, dK/dv = sum_i dK_i M(i) / (||M(i)|| sqrt(NORM_EPS))
    mem_norm = np.sqrt((memory * memory).sum(axis=2) + NORM_EPS)
    expected = ((dK / mem_norm)[:, :, None] * memory).sum(axis=1) / np.sqrt(NORM_EPS)
    np.testing.assert_allclose(dkey, expected, rtol=1e-9)

    def f_key(k):
        return cosine_similarity_forward(memory, k)[0]

    def f_mem(m):
        return cosine_similarity_forward(m, key)[0]

    errors = [rel_error(dkey, numerical_gradient(f_key, key, dK, h=ZERO_STEP), FLAT_FLOOR),
              rel_error(dmem, numerical_gradient(f_mem, memory, dK), FLAT_FLOOR)]
    _record("cosine at zero key", errors)
    assert max(errors) < TOL, errors


@given(address_inputs(wide=True), st.sampled_from([0.0, 1.0]))
def test_one_hot_previous_weighting_and_extreme_gate(case, gate):
    memory, w_prev, key, beta, g, s, gamma, rng = case
    B, N = w_prev.shape
    one_hot = np.zeros((B, N))
    one_hot[np.arange(B), rng.integers(0, N, size=B)] = 1.0
    g = np.full((B, 1), gate)
    w, cache = address_forward(memory, one_hot, key, beta, g, s, gamma)
    assert_distribution(w, tol=SHARPEN_SUM_TOL)
    if gate == 0.0:
        np.testing.assert_array_equal(cache.w_g, one_hot)
    grads = address_backward(rng.standard_normal(w.shape), cache)
    for grad in grads:
        assert np.all(np.isfinite(grad))
    # the gate itself is linear: its gradient is exact even at 0 and 1
    errors = gradcheck(interpolation_forward, interpolation_backward, [cache.w_c, one_hot, g],
                       rng)
    _record("interpolation at g in {0,1}", errors)
    assert max(errors) < TOL


@st.composite
def weights_with_zeros(draw):
    """A weighting with some exact zeros (at least one zero, and one positive entry per
    row) and gamma, either exactly 1 or 3 + softplus(raw) in [3.05, 6.05] (see the test)."""
    B = draw(st.integers(1, 3))
    N = draw(st.integers(2, 6))
    w = softmax(draw(arrays((B, N))))  # every entry >= e**-6 / 6 > 4e-4
    zero = draw(hnp.arrays(np.bool_, (B, N)))
    keep = draw(st.lists(st.integers(0, N - 1), min_size=B, max_size=B))
    zero[np.arange(B), keep] = False
    zero[0, (keep[0] + 1 + draw(st.integers(0, N - 2))) % N] = True
    w = np.where(zero, 0.0, w)
    w = w / w.sum(axis=1, keepdims=True)  # renormalising only makes the positive entries larger
    if draw(st.booleans()):
        gamma = np.ones((B, 1))
    else:
        gamma = 3.0 + softplus(draw(arrays((B, 1))))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return w, gamma, rng


@given(weights_with_zeros())
def test_sharpen_backward_at_exact_zeros(case):
    w, gamma, rng = case
    out, cache = sharpen_forward(w, gamma)
    assert_distribution(out, tol=SHARPEN_SUM_TOL)
    dout = rng.standard_normal(out.shape)
    dw, dgamma = sharpen_backward(dout, cache)
    assert np.all(np.isfinite(dw)) and np.all(np.isfinite(dgamma))
    zero = w == 0.0
    assert zero.any()
    # analytic one-sided derivative at w_i = 0 (the only direction that stays a weighting):
    # d(w_i**gamma)/dw_i is 1 for gamma = 1 and 0 for gamma > 1, so
    #   dw_i = (dout_i - sum_j dout_j out_j) / (sum_j w_j**gamma + SHARPEN_EPS)  if gamma = 1
    #   dw_i = 0                                                                if gamma > 1
    total = (w**gamma).sum(axis=1, keepdims=True) + SHARPEN_EPS
    linear = (dout - (dout * out).sum(axis=1, keepdims=True)) / total
    expected = np.where(gamma == 1.0, linear, 0.0)
    np.testing.assert_allclose(dw[zero], expected[zero], rtol=1e-9, atol=1e-12)
    # one-sided (forward) differences at the zeros: off by O(h |dout|) for gamma = 1 (the
    # map is linear-fractional), by h**(gamma-1) <= 1e-12 for gamma >= 3, plus ~1e-10 of
    # round-off; measured against max(|dw|, FLAT_FLOOR) that is below 1e-5
    h = 1e-6
    base = (out * dout).sum()
    scale = max(np.abs(dw).max(), FLAT_FLOOR)
    for b, i in zip(*np.nonzero(zero)):
        wp = w.copy()
        wp[b, i] += h
        one_sided = ((sharpen_forward(wp, gamma)[0] * dout).sum() - base) / h
        assert abs(one_sided - dw[b, i]) / scale < 1e-5
    # central differences at the positive entries only (all > 4e-4, so a step of 1e-6
    # never reaches 0; stepping a zero entry to -1e-6 would leave the domain) and for gamma
    num = np.zeros_like(w)
    hc = 1e-6
    for b, i in zip(*np.nonzero(~zero)):
        wp, wm = w.copy(), w.copy()
        wp[b, i] += hc
        wm[b, i] -= hc
        num[b, i] = ((sharpen_forward(wp, gamma)[0] - sharpen_forward(wm, gamma)[0]) * dout).sum()
        num[b, i] /= 2 * hc
    err_w = rel_error(np.where(zero, 0.0, dw), num, FLAT_FLOOR)
    num_g = numerical_gradient(lambda x: sharpen_forward(w, x)[0], gamma, dout)
    err_g = rel_error(dgamma, num_g, FLAT_FLOOR)
    _record("sharpen with zeros", [err_w, err_g])
    assert err_w < TOL and err_g < TOL, (err_w, err_g)


# ----------------------------------------------------------------------------------------
# bad input: ValueError naming the argument
# ----------------------------------------------------------------------------------------
def _raises_naming(name):
    # the package's messages start with the argument's name, "name: expected ..."
    return pytest.raises(ValueError, match=rf"^{re.escape(name)}\b")


def _good(B=2, N=4, M=3, S=3):
    rng = np.random.default_rng(1)
    return dict(
        memory=rng.standard_normal((B, N, M)),
        w_prev=np.full((B, N), 1.0 / N),
        key=rng.standard_normal((B, M)),
        beta=np.ones((B, 1)),
        g=np.full((B, 1), 0.5),
        s=np.full((B, S), 1.0 / S),
        gamma=np.full((B, 1), 2.0),
    )


BAD_ADDRESS = [
    ("memory", {"memory": np.zeros((4, 3))}),
    ("key", {"key": np.zeros((2, 4))}),  # M mismatch
    ("key", {"key": np.zeros((3, 3))}),  # batch mismatch
    ("beta", {"beta": np.ones(2)}),
    ("beta", {"beta": np.ones((3, 1))}),
    ("w_prev", {"w_prev": np.full((2, 5), 0.2)}),
    ("w_prev", {"w_prev": np.full((1, 4), 0.25)}),
    ("g", {"g": np.full((2, 2), 0.5)}),
    ("s", {"s": np.full((2, 4), 0.25)}),  # S even
    ("s", {"s": np.full((3, 3), 1 / 3)}),  # batch mismatch
    ("s", {"s": np.full(3, 1 / 3)}),  # 1-D
    ("gamma", {"gamma": np.full((2,), 2.0)}),
    ("gamma", {"gamma": np.full((1, 1), 2.0)}),
]


@pytest.mark.parametrize("name, change", BAD_ADDRESS)
def test_address_rejects_bad_input(name, change):
    args = {**_good(), **change}
    with _raises_naming(name):
        address_forward(**args)


@pytest.mark.parametrize(
    "name, call",
    [
        ("memory", lambda a: cosine_similarity_forward(a["memory"][0], a["key"])),
        ("key", lambda a: cosine_similarity_forward(a["memory"], a["key"][:, :2])),
        ("key", lambda a: cosine_similarity_forward(a["memory"], a["key"][:1])),
        ("beta", lambda a: content_weighting_forward(a["memory"], a["key"], a["beta"][:1])),
        ("w_c", lambda a: interpolation_forward(a["w_prev"][0], a["w_prev"], a["g"])),
        ("w_prev", lambda a: interpolation_forward(a["w_prev"], a["w_prev"][:1], a["g"])),
        ("g", lambda a: interpolation_forward(a["w_prev"], a["w_prev"], a["g"][:, 0])),
        ("w_g", lambda a: shift_forward(a["w_prev"][0], a["s"])),
        ("s", lambda a: shift_forward(a["w_prev"], a["s"][:1])),
        ("s", lambda a: shift_forward(a["w_prev"], np.full((2, 2), 0.5))),
        ("s", lambda a: shift_forward(a["w_prev"], np.full((2, 10), 0.1))),
        ("w", lambda a: sharpen_forward(a["w_prev"][None], a["gamma"])),
        ("gamma", lambda a: sharpen_forward(a["w_prev"], a["gamma"][:1])),
        ("gamma", lambda a: sharpen_forward(a["w_prev"], np.full((2, 2), 2.0))),
    ],
)
def test_primitives_reject_bad_input(name, call):
    with _raises_naming(name):
        call(_good())
