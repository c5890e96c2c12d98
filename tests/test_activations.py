"""Tests of ntm_numpy.activations: sigmoid, tanh, softplus, softmax and the affine layer.

Forward values are compared with scalar ``math`` transcriptions (tests/reference.py);
backward passes with float64 central differences (ntm_numpy.gradcheck.numerical_gradient
and rel_error, random upstream gradient), asserting a scale-relative error below 1e-6.
Measured worst case (ci and three HYPOTHESIS_PROFILE=thorough runs): sigmoid 4e-9,
tanh 9e-9, softplus 6e-10, softmax 9e-9, affine 5e-8. Set NTM_REPORT_RELERR=1 and run
with -s to print them.
"""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import reference as ref
from support import floats, gradcheck, recorder

_record = recorder(__name__)
from ntm_numpy.activations import (
    affine_backward,
    affine_forward,
    sigmoid,
    sigmoid_backward,
    sigmoid_forward,
    softmax_backward,
    softmax_forward,
    softplus_backward,
    softplus_forward,
    tanh_backward,
    tanh_forward,
)

TOL = 1e-6


# rel_error divides by max(gradient scale, floor). Hypothesis readily draws inputs where a
# whole gradient is tiny or exactly 0 (zero weights, saturated units, W = 1e-6, ...) while
# the central difference carries ~1e-11..1e-9 of round-off (1e-16 * |f| / h), so the
# default 1e-8 floor would report "errors" of 1e-3 on correct code. With a 1e-2 floor the
# check is the plain relative error on generic inputs (gradients O(0.1-10)) and an
# absolute 1e-8 bound on flat ones.




shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5)


@st.composite
def array_and_rng(draw, lo=-5.0, hi=5.0):
    x = draw(hnp.arrays(np.float64, shapes, elements=floats(lo, hi)))
    return x, np.random.default_rng(draw(st.integers(0, 2**32 - 1)))


def _elementwise(fn, x):
    return np.vectorize(fn, otypes=[np.float64])(x)


SCALAR_REFERENCES = {
    "sigmoid": (sigmoid_forward, sigmoid_backward, ref.sigmoid),
    "tanh": (tanh_forward, tanh_backward, math.tanh),
    "softplus": (softplus_forward, softplus_backward, ref.softplus),
}


# ----------------------------------------------------------------------------------------
# element-wise functions
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(SCALAR_REFERENCES))
@given(case=array_and_rng(-30.0, 30.0))
def test_elementwise_forward_matches_reference(name, case):
    forward, _, scalar = SCALAR_REFERENCES[name]
    x, _ = case
    out, _ = forward(x)
    assert out.shape == x.shape
    # absolute 1e-15 for the tails of tanh and softplus near their limits
    np.testing.assert_allclose(out, _elementwise(scalar, x), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", sorted(SCALAR_REFERENCES))
@given(case=array_and_rng())
def test_elementwise_backward_gradcheck(name, case):
    forward, backward, _ = SCALAR_REFERENCES[name]
    x, rng = case
    errors = gradcheck(forward, backward, [x], rng)
    _record(name, errors)
    assert len(errors) == 1 and errors[0] < TOL, errors


def test_sigmoid_helper_matches_forward():
    x = np.linspace(-50, 50, 101)
    np.testing.assert_array_equal(sigmoid(x), sigmoid_forward(x)[0])


@pytest.mark.parametrize("name", sorted(SCALAR_REFERENCES))
def test_elementwise_extremes_are_finite(name):
    forward, backward, _ = SCALAR_REFERENCES[name]
    x = np.array([-1000.0, -800.0, -50.0, 0.0, 50.0, 800.0, 1000.0])
    out, cache = forward(x)
    assert np.all(np.isfinite(out))
    (dx,) = backward(np.ones_like(x), cache)
    assert np.all(np.isfinite(dx))


def test_extreme_values():
    big = np.array([-1000.0, 1000.0])
    np.testing.assert_array_equal(sigmoid_forward(big)[0], [0.0, 1.0])
    np.testing.assert_array_equal(tanh_forward(big)[0], [-1.0, 1.0])
    np.testing.assert_array_equal(softplus_forward(big)[0], [0.0, 1000.0])
    # derivatives: sigmoid' = 0 at both ends, softplus' = sigmoid = 0 and 1
    np.testing.assert_array_equal(sigmoid_backward(np.ones(2), sigmoid_forward(big)[1])[0], 0.0)
    np.testing.assert_array_equal(softplus_backward(np.ones(2), softplus_forward(big)[1])[0],
                                  [0.0, 1.0])
    # softplus is log(1 + e^x): at moderate values it must not lose its small tail
    np.testing.assert_allclose(softplus_forward(np.array([-30.0]))[0], math.exp(-30.0),
                               rtol=1e-12)


def test_sigmoid_keeps_relative_precision_in_the_lower_tail():
    x = np.array([-10.0, -20.0, -30.0, -40.0, -100.0, -700.0])
    want = np.array([ref.sigmoid(v) for v in x])
    np.testing.assert_allclose(sigmoid_forward(x)[0], want, rtol=1e-12)
    (dx,) = softplus_backward(np.ones_like(x), softplus_forward(x)[1])
    np.testing.assert_allclose(dx, want, rtol=1e-12)


# ----------------------------------------------------------------------------------------
# softmax
# ----------------------------------------------------------------------------------------
@given(array_and_rng(-30.0, 30.0), st.data())
def test_softmax_forward_matches_reference(case, data):
    x, _ = case
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    out, _ = softmax_forward(x, axis=axis)
    moved = np.moveaxis(x, axis, -1)
    want = np.array([ref.softmax(row) for row in moved.reshape(-1, moved.shape[-1])])
    want = np.moveaxis(want.reshape(moved.shape), -1, axis)
    np.testing.assert_allclose(out, want, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(out.sum(axis=axis), 1.0, rtol=1e-12)
    assert np.all(out >= 0)


@given(array_and_rng(), st.data())
def test_softmax_backward_gradcheck(case, data):
    x, rng = case
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    errors = gradcheck(lambda v: softmax_forward(v, axis=axis), softmax_backward, [x],
                            rng)
    _record("softmax", errors)
    assert errors[0] < TOL, errors


def test_softmax_is_stable_at_large_inputs():
    x = np.array([[1000.0, 0.0, -1000.0], [1000.0, 1000.0, 1000.0]])
    out, cache = softmax_forward(x, axis=1)
    np.testing.assert_allclose(out, [[1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3]], rtol=1e-15)
    (dx,) = softmax_backward(np.arange(6.0).reshape(2, 3), cache)
    assert np.all(np.isfinite(dx))


# ----------------------------------------------------------------------------------------
# affine
# ----------------------------------------------------------------------------------------
@st.composite
def affine_case(draw):
    lead = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    D = draw(st.integers(1, 5))
    F = draw(st.integers(1, 5))
    el = floats(-3.0, 3.0)
    x = draw(hnp.arrays(np.float64, lead + (D,), elements=el))
    W = draw(hnp.arrays(np.float64, (D, F), elements=el))
    b = draw(hnp.arrays(np.float64, (F,), elements=el))
    return x, W, b, np.random.default_rng(draw(st.integers(0, 2**32 - 1)))


@given(affine_case())
def test_affine_forward_matches_reference(case):
    x, W, b, _ = case
    out, _ = affine_forward(x, W, b)
    flat = x.reshape(-1, x.shape[-1])
    want = np.array([[v + b[j] for j, v in enumerate(ref.vecmat(row, W))] for row in flat])
    np.testing.assert_allclose(out, want.reshape(x.shape[:-1] + (W.shape[1],)), rtol=1e-12,
                               atol=1e-12)


@given(affine_case())
def test_affine_backward_gradcheck(case):
    x, W, b, rng = case
    errors = gradcheck(affine_forward, affine_backward, [x, W, b], rng)
    _record("affine", errors)
    assert len(errors) == 3 and max(errors) < TOL, errors
