"""Tests of ntm_numpy.losses: masked sigmoid cross-entropy."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ntm_numpy._validation import ShapeError
from ntm_numpy.gradcheck import check_backward, numerical_gradient, rel_error
from ntm_numpy.losses import (
    SigmoidCrossEntropyCache,
    sigmoid,
    sigmoid_cross_entropy_backward,
    sigmoid_cross_entropy_forward,
)

GRAD_TOL = 1e-6

# Small shapes; the values themselves come from a seeded numpy generator, so that
# shrinking cannot produce degenerate inputs (all logits 0 and targets 0.5 give a zero
# gradient whose central difference is pure round-off).
shapes = st.tuples(st.integers(1, 4), st.integers(1, 3), st.integers(1, 4))
seeds = st.integers(0, 2**32 - 1)
mask_kinds = st.sampled_from(["none", "steps", "bits"])


def make_inputs(shape, seed, mask_kind, scale=3.0):
    rng = np.random.default_rng(seed)
    T, B, Y = shape
    logits = rng.normal(scale=scale, size=shape)
    targets = rng.uniform(0.0, 1.0, size=shape)
    if mask_kind == "none":
        mask = None
    elif mask_kind == "steps":
        mask = rng.integers(0, 2, size=(T, B)).astype(np.float64)
    else:
        mask = rng.integers(0, 2, size=(T, B, Y)).astype(np.float64)
    return logits, targets, mask


def slow_loss(logits, targets, mask):
    """Loop transcription of L = (1/B) sum m * (-y log s - (1 - y) log(1 - s))."""
    T, B, Y = logits.shape
    total = 0.0
    for t in range(T):
        for b in range(B):
            for j in range(Y):
                z, y = float(logits[t, b, j]), float(targets[t, b, j])
                if mask is None:
                    m = 1.0
                elif mask.ndim == 2:
                    m = float(mask[t, b])
                else:
                    m = float(mask[t, b, j])
                s = 1.0 / (1.0 + math.exp(-z))
                total += m * (-y * math.log(s) - (1.0 - y) * math.log(1.0 - s))
    return total / B


@given(shapes, seeds, mask_kinds)
def test_forward_matches_loop(shape, seed, mask_kind):
    logits, targets, mask = make_inputs(shape, seed, mask_kind)
    loss, cache = sigmoid_cross_entropy_forward(logits, targets, mask)
    assert isinstance(loss, float)
    assert isinstance(cache, SigmoidCrossEntropyCache)
    assert loss == pytest.approx(slow_loss(logits, targets, mask), rel=1e-10, abs=1e-12)


def test_forward_known_value():
    # One sequence, one bit, z = 0: bce = log 2 whatever the target.
    loss, _ = sigmoid_cross_entropy_forward(np.zeros((1, 1, 1)), np.ones((1, 1, 1)))
    assert loss == pytest.approx(math.log(2.0))
    # The loss is averaged over the batch, summed over time and bits.
    loss, _ = sigmoid_cross_entropy_forward(np.zeros((3, 2, 4)), np.ones((3, 2, 4)))
    assert loss == pytest.approx(3 * 4 * math.log(2.0))


@given(shapes, seeds, mask_kinds)
def test_backward_gradcheck(shape, seed, mask_kind):
    logits, targets, mask = make_inputs(shape, seed, mask_kind)
    if mask is None:
        def fwd(z, y):
            return sigmoid_cross_entropy_forward(z, y)

        def bwd(dout, cache):
            return sigmoid_cross_entropy_backward(dout, cache)[:2]

        errors = check_backward(fwd, bwd, [logits, targets], rng=np.random.default_rng(seed))
    else:
        errors = check_backward(
            sigmoid_cross_entropy_forward,
            sigmoid_cross_entropy_backward,
            [logits, targets, mask],
            rng=np.random.default_rng(seed),
        )
        assert math.isnan(errors[2])  # the mask gets no gradient
    assert errors[0] < GRAD_TOL, errors
    assert errors[1] < GRAD_TOL, errors


def test_backward_default_dout_and_shapes():
    logits, targets, mask = make_inputs((3, 2, 4), 1, "steps")
    _, cache = sigmoid_cross_entropy_forward(logits, targets, mask)
    dz, dy, dm = sigmoid_cross_entropy_backward(1.0, cache)
    assert dm is None
    assert dz.shape == dy.shape == logits.shape
    num = numerical_gradient(lambda z: sigmoid_cross_entropy_forward(z, targets, mask)[0], logits)
    assert rel_error(dz, num) < GRAD_TOL
    dz2, dy2, _ = sigmoid_cross_entropy_backward(-2.5, cache)
    np.testing.assert_allclose(dz2, -2.5 * dz)
    np.testing.assert_allclose(dy2, -2.5 * dy)


@given(shapes, seeds, st.sampled_from(["steps", "bits"]))
def test_masked_entries_contribute_nothing(shape, seed, mask_kind):
    logits, targets, mask = make_inputs(shape, seed, mask_kind)
    full_mask = np.broadcast_to(mask[..., None] if mask.ndim == 2 else mask, shape)
    off = full_mask == 0
    other = logits.copy()
    other[off] = np.random.default_rng(seed + 1).normal(scale=100.0, size=int(off.sum()))
    targets2 = targets.copy()
    targets2[off] = 1.0 - targets2[off]

    loss1, cache1 = sigmoid_cross_entropy_forward(logits, targets, mask)
    loss2, cache2 = sigmoid_cross_entropy_forward(other, targets2, mask)
    assert loss1 == loss2
    dz1, dy1, _ = sigmoid_cross_entropy_backward(1.0, cache1)
    dz2, dy2, _ = sigmoid_cross_entropy_backward(1.0, cache2)
    np.testing.assert_array_equal(dz1, dz2)
    np.testing.assert_array_equal(dz1[off], 0.0)
    np.testing.assert_array_equal(dy1[off], 0.0)
    np.testing.assert_array_equal(dy1[~off], dy2[~off])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_huge_logits_are_finite_and_exact(dtype):
    z = np.array([1e4, -1e4, 1e4, -1e4], dtype=dtype).reshape(1, 1, 4)
    y = np.array([1.0, 0.0, 0.0, 1.0], dtype=dtype).reshape(1, 1, 4)
    loss, cache = sigmoid_cross_entropy_forward(z, y)
    # Right answers cost 0 nats, wrong ones |z| nats each.
    assert loss == pytest.approx(2e4)
    dz, dy, _ = sigmoid_cross_entropy_backward(1.0, cache)
    assert dz.dtype == dtype and dy.dtype == dtype
    assert np.all(np.isfinite(dz)) and np.all(np.isfinite(dy))
    np.testing.assert_allclose(dz.ravel(), [0.0, 0.0, 1.0, -1.0])


def test_sigmoid_stable():
    x = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0])
    s = sigmoid(x)
    assert s[0] == 0.0 and s[-1] == 1.0 and s[2] == 0.5
    np.testing.assert_allclose(s[1:4], 1.0 / (1.0 + np.exp(-x[1:4])))
    assert sigmoid(np.float32(1000.0)).dtype == np.float32


def test_float32_stays_float32():
    logits, targets, mask = make_inputs((2, 2, 3), 3, "bits")
    loss, cache = sigmoid_cross_entropy_forward(
        logits.astype(np.float32), targets.astype(np.float32), mask.astype(np.float32)
    )
    dz, dy, _ = sigmoid_cross_entropy_backward(1.0, cache)
    assert dz.dtype == np.float32 and dy.dtype == np.float32
    assert loss == pytest.approx(slow_loss(logits, targets, mask), rel=1e-5)


def test_bool_mask_accepted():
    logits, targets, mask = make_inputs((3, 2, 2), 4, "steps")
    a, _ = sigmoid_cross_entropy_forward(logits, targets, mask)
    b, _ = sigmoid_cross_entropy_forward(logits, targets, mask.astype(bool))
    assert a == b


@pytest.mark.parametrize(
    "logits, targets, mask, exc, words",
    [
        ([[[0.0]]], np.zeros((1, 1, 1)), None, ShapeError, ["logits", "ndarray", "list"]),
        (np.zeros((2, 3)), np.zeros((2, 3)), None, ShapeError, ["logits", "3 dimensions", "(2, 3)"]),
        (np.zeros((2, 3, 4)), np.zeros((2, 3, 5)), None, ShapeError, ["targets", "(2, 3, 4)", "(2, 3, 5)"]),
        (np.zeros((2, 3, 4)), np.zeros((2, 3, 4)), np.ones((3, 2)), ShapeError, ["mask", "(2, 3)", "(3, 2)"]),
        (np.zeros((2, 3, 4)), np.zeros((2, 3, 4)), np.ones((2, 3, 1)), ShapeError, ["mask", "(2, 3, 4)"]),
        (np.zeros((2, 3, 4)), np.zeros((2, 3, 4)), [1, 1], ShapeError, ["mask", "list"]),
        (np.zeros((2, 3, 4)), np.zeros((2, 3, 4)), -np.ones((2, 3)), ValueError, ["mask", "non-negative"]),
        (np.zeros((2, 3, 4)), np.zeros((2, 3, 4)), np.full((2, 3), np.nan), ValueError, ["mask", "finite"]),
        (np.zeros((2, 3, 4), dtype=int), np.zeros((2, 3, 4)), None, ValueError, ["logits", "floating", "int"]),
        (np.zeros((0, 3, 4)), np.zeros((0, 3, 4)), None, ShapeError, ["logits", "non-empty", "(0, 3, 4)"]),
        (np.full((2, 3, 4), np.inf), np.zeros((2, 3, 4)), None, ValueError, ["logits", "finite", "24"]),
        (np.zeros((2, 3, 4)), np.full((2, 3, 4), np.nan), None, ValueError, ["targets", "finite"]),
        (np.zeros((2, 3, 4)), np.full((2, 3, 4), "a"), None, ValueError, ["targets", "real"]),
    ],
)
def test_bad_input(logits, targets, mask, exc, words):
    with pytest.raises(exc) as info:
        sigmoid_cross_entropy_forward(logits, targets, mask)
    for w in words:
        assert w in str(info.value)


def test_one_nan_logit_rejected():
    logits = np.zeros((2, 2, 2))
    logits[1, 0, 1] = np.nan
    with pytest.raises(ValueError, match="logits"):
        sigmoid_cross_entropy_forward(logits, np.zeros((2, 2, 2)))


@pytest.mark.parametrize("dout", [np.nan, np.inf, np.ones(2), "1", None])
def test_bad_dout(dout):
    _, cache = sigmoid_cross_entropy_forward(np.zeros((1, 1, 1)), np.zeros((1, 1, 1)))
    with pytest.raises(ValueError, match="dout"):
        sigmoid_cross_entropy_backward(dout, cache)


def test_bad_cache():
    with pytest.raises(ValueError, match="cache"):
        sigmoid_cross_entropy_backward(1.0, (np.zeros(1), np.zeros(1), np.zeros(1), 1))
