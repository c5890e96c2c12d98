"""Tests of ntm_numpy.controller: the LSTM step (gate order i, f, o, g) and the
feed-forward controller.

Forward values are compared with the loop reference (tests/reference.py); backward
passes with float64 central differences (ntm_numpy.gradcheck.numerical_gradient and
rel_error, random upstream gradients for both h and c), asserting a scale-relative error below 1e-6.
Measured worst case (ci and three HYPOTHESIS_PROFILE=thorough runs): LSTM step 5e-8,
LSTM gates 3e-9, feed-forward 5e-9. Set NTM_REPORT_RELERR=1 and run with -s to print
them.
"""
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import reference as ref
from support import floats, gradcheck, recorder

_record = recorder(__name__)
from ntm_numpy.controller import (
    feedforward_backward,
    feedforward_forward,
    lstm_gates_backward,
    lstm_gates_forward,
    lstm_step_backward,
    lstm_step_forward,
)

TOL = 1e-6
CLOSE = dict(rtol=1e-12, atol=1e-13)


# rel_error divides by max(gradient scale, floor). Hypothesis readily draws inputs where a
# whole gradient is tiny or exactly 0 (zero weights, saturated units, W = 1e-6, ...) while
# the central difference carries ~1e-11..1e-9 of round-off (1e-16 * |f| / h), so the
# default 1e-8 floor would report "errors" of 1e-3 on correct code. With a 1e-2 floor the
# check is the plain relative error on generic inputs (gradients O(0.1-10)) and an
# absolute 1e-8 bound on flat ones.




def arrays(shape, lo=-2.0, hi=2.0):
    return hnp.arrays(np.float64, shape, elements=floats(lo, hi))


@st.composite
def lstm_inputs(draw):
    B = draw(st.integers(1, 3))
    D = draw(st.integers(1, 4))
    H = draw(st.integers(1, 4))
    x = draw(arrays((B, D)))
    h_prev = draw(arrays((B, H), -1.0, 1.0))
    c_prev = draw(arrays((B, H)))
    Wx = draw(arrays((D, 4 * H), -1.0, 1.0))
    Wh = draw(arrays((H, 4 * H), -1.0, 1.0))
    b = draw(arrays((4 * H,), -1.0, 1.0))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return x, h_prev, c_prev, Wx, Wh, b, rng


# ----------------------------------------------------------------------------------------
# LSTM
# ----------------------------------------------------------------------------------------
@given(lstm_inputs())
def test_lstm_step_matches_reference(case):
    *inputs, _ = case
    (h, c), _ = lstm_step_forward(*inputs)
    h_ref, c_ref = ref.lstm_step(*inputs)
    np.testing.assert_allclose(h, h_ref, **CLOSE)
    np.testing.assert_allclose(c, c_ref, **CLOSE)


@given(lstm_inputs(), st.data())
def test_lstm_gates_match_reference(case, data):
    x, h_prev, c_prev, *_ = case
    B, H = c_prev.shape
    z = data.draw(arrays((B, 4 * H), -4.0, 4.0))
    (h, c), _ = lstm_gates_forward(z, c_prev)
    h_ref, c_ref = ref.lstm_gates(z, c_prev)
    np.testing.assert_allclose(h, h_ref, **CLOSE)
    np.testing.assert_allclose(c, c_ref, **CLOSE)


def test_lstm_gate_order_is_input_forget_output_candidate():
    # saturate the gates one block at a time: z = [z_i, z_f, z_o, z_g]
    big = 40.0  # sigmoid(40) == 1.0 and sigmoid(-40) < 1e-17 in float64
    c_prev = np.array([[0.3, -0.7]])
    zg = np.array([[0.5, -1.5]])

    def z(i, f, o):
        return np.concatenate([np.full((1, 2), i), np.full((1, 2), f), np.full((1, 2), o), zg],
                              axis=1)

    (h, c), _ = lstm_gates_forward(z(big, -big, big), c_prev)  # write the candidate, forget
    np.testing.assert_allclose(c, np.tanh(zg), atol=1e-15)
    np.testing.assert_allclose(h, np.tanh(np.tanh(zg)), atol=1e-15)
    (h, c), _ = lstm_gates_forward(z(-big, big, big), c_prev)  # keep the cell
    np.testing.assert_allclose(c, c_prev, atol=1e-15)
    (h, c), _ = lstm_gates_forward(z(-big, big, -big), c_prev)  # output gate closed
    np.testing.assert_allclose(h, 0.0, atol=1e-15)


@given(lstm_inputs())
def test_lstm_step_backward_gradcheck(case):
    *inputs, rng = case
    errors = gradcheck(lstm_step_forward, lstm_step_backward, inputs, rng)
    _record("lstm step", errors)
    assert len(errors) == 6 and max(errors) < TOL, errors


@given(lstm_inputs(), st.data())
def test_lstm_gates_backward_gradcheck(case, data):
    _, _, c_prev, *_, rng = case
    B, H = c_prev.shape
    z = data.draw(arrays((B, 4 * H), -4.0, 4.0))
    errors = gradcheck(lstm_gates_forward, lstm_gates_backward, [z, c_prev], rng)
    _record("lstm gates", errors)
    assert len(errors) == 2 and max(errors) < TOL, errors


@given(lstm_inputs())
def test_lstm_backward_shapes(case):
    *inputs, rng = case
    (h, c), cache = lstm_step_forward(*inputs)
    grads = lstm_step_backward((rng.standard_normal(h.shape), rng.standard_normal(c.shape)),
                               cache)
    assert [g.shape for g in grads] == [x.shape for x in inputs]


def test_lstm_saturated_gates_are_finite():
    rng = np.random.default_rng(0)
    z = np.array([[-1000.0, 1000.0, -1000.0, 1000.0, 500.0, -500.0, 800.0, -800.0]])
    c_prev = np.array([[1e3, -1e3]])
    (h, c), cache = lstm_gates_forward(z, c_prev)
    assert np.all(np.isfinite(h)) and np.all(np.isfinite(c))
    for g in lstm_gates_backward((rng.standard_normal((1, 2)), rng.standard_normal((1, 2))),
                                 cache):
        assert np.all(np.isfinite(g))


# ----------------------------------------------------------------------------------------
# feed-forward
# ----------------------------------------------------------------------------------------
@st.composite
def ff_inputs(draw):
    B = draw(st.integers(1, 3))
    D = draw(st.integers(1, 5))
    H = draw(st.integers(1, 5))
    return (draw(arrays((B, D))), draw(arrays((D, H), -1.0, 1.0)),
            draw(arrays((H,), -1.0, 1.0)),
            np.random.default_rng(draw(st.integers(0, 2**32 - 1))))


@given(ff_inputs())
def test_feedforward_matches_reference(case):
    x, W, b, _ = case
    h, _ = feedforward_forward(x, W, b)
    np.testing.assert_allclose(h, ref.feedforward(x, W, b), **CLOSE)


@given(ff_inputs())
def test_feedforward_backward_gradcheck(case):
    x, W, b, rng = case
    errors = gradcheck(feedforward_forward, feedforward_backward, [x, W, b], rng)
    _record("feedforward", errors)
    assert len(errors) == 3 and max(errors) < TOL, errors


# ----------------------------------------------------------------------------------------
# bad input: ValueError naming the argument
# ----------------------------------------------------------------------------------------
def _raises_naming(name):
    # the package's messages start with the argument's name, "name: expected ..."
    return pytest.raises(ValueError, match=rf"^{re.escape(name)}\b")


def _lstm_ok(B=2, D=3, H=2):
    return dict(x=np.zeros((B, D)), h_prev=np.zeros((B, H)), c_prev=np.zeros((B, H)),
                Wx=np.zeros((D, 4 * H)), Wh=np.zeros((H, 4 * H)), b=np.zeros(4 * H))


@pytest.mark.parametrize(
    "name, change",
    [
        ("x", {"x": np.zeros(3)}),
        ("h_prev", {"h_prev": np.zeros((3, 2))}),  # batch mismatch
        ("c_prev", {"c_prev": np.zeros((2, 3))}),  # H mismatch
        ("c_prev", {"c_prev": np.zeros((1, 2))}),  # batch mismatch
        ("Wx", {"Wx": np.zeros((4, 8))}),  # D mismatch
        ("Wx", {"Wx": np.zeros((3, 6))}),  # not 4H
        ("Wh", {"Wh": np.zeros((2, 6))}),
        ("b", {"b": np.zeros(6)}),
        ("b", {"b": np.zeros((1, 8))}),
    ],
)
def test_lstm_step_rejects_bad_input(name, change):
    with _raises_naming(name):
        lstm_step_forward(**{**_lstm_ok(), **change})


@pytest.mark.parametrize(
    "name, args",
    [
        ("x", (np.zeros(3), np.zeros((3, 2)), np.zeros(2))),
        ("W", (np.zeros((2, 3)), np.zeros((4, 2)), np.zeros(2))),
        ("b", (np.zeros((2, 3)), np.zeros((3, 2)), np.zeros(3))),
    ],
)
def test_feedforward_rejects_bad_input(name, args):
    with _raises_naming(name):
        feedforward_forward(*args)
