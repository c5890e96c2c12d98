"""Tests of ntm_numpy.step, the model's fused time step.

The step must compute what the primitives compute, one head at a time: the LSTM gates
(controller.py), the head parameter maps (heads.py), eqs (5)-(9) (addressing.py), the
reads and the writes in turn (memory.py). Its backward must match float64 central
differences for a random upstream gradient of every output, for every input.
"""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from support import FLAT_FLOOR, arrays, gradcheck, recorder

from ntm_numpy.activations import softmax_forward
from ntm_numpy.addressing import address_forward
from ntm_numpy.controller import lstm_gates_forward
from ntm_numpy.heads import erase_add_forward, head_params_forward
from ntm_numpy.memory import read_forward, write_forward
from ntm_numpy.step import Dims, step_backward, step_forward

_record = recorder(__name__)
TOL = 1e-6


@st.composite
def step_cases(draw, lstm=None):
    """Small steps: sizes, the controller, and inputs in bounded ranges. The previous
    weightings are softmaxes of drawn logits, as the model's are."""
    B, N, M, H = (draw(st.integers(1, n)) for n in (3, 6, 4, 4))
    R, W, k = draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(0, 2))
    lstm = draw(st.booleans()) if lstm is None else lstm
    dims = Dims(H, M, N, R, W, 2 * k + 1, lstm)
    K, A = R + W, M + 2 * k + 4
    G, P = (4 * H if lstm else H), K * A + W * 2 * M
    z = draw(arrays((B, G)))
    c_prev = draw(arrays((B, H))) if lstm else None
    # memory entries away from 0, so that no row's smoothed norm sits at its kink
    # (test_addressing checks the zero rows on their own)
    signs = np.where(draw(hnp.arrays(np.bool_, (B, N, M))), 1.0, -1.0)
    memory = signs * draw(arrays((B, N, M), 0.1, 2.0))
    w_prev = softmax_forward(draw(arrays((R + W, B, N))), axis=-1)[0]
    # the head map: every raw value at least 0.4 away from 0 (|h W| <= 0.1 < |b|), so that
    # no key is near the zero vector, where the smoothed norm curves on the scale 1e-4
    heads_W = draw(arrays((H, P), -0.1 / H, 0.1 / H))
    heads_b = np.where(draw(hnp.arrays(np.bool_, (P,))), 1.0, -1.0) * draw(arrays((P,), 0.5, 1.5))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return dims, z, c_prev, memory, w_prev, heads_W, heads_b, rng


def primitive_step(dims, z, c_prev, memory, w_prev, heads_W, heads_b):
    """The same step, one head at a time, with the primitives."""
    H, M, N, R, W, S, lstm = dims
    K, A = R + W, M + S + 3
    if lstm:
        (h, c), _ = lstm_gates_forward(z, c_prev)
    else:
        h, c = np.tanh(z), None
    raw = h @ heads_W + heads_b
    weights = []
    for k in range(K):
        hp, _ = head_params_forward(raw[:, k * A : (k + 1) * A], M, S, False)
        weights.append(address_forward(memory, w_prev[k], hp.key, hp.beta, hp.g, hp.s,
                                       hp.gamma)[0])
    reads = [read_forward(memory, weights[r])[0] for r in range(R)]
    for k in range(W):
        (e, a), _ = erase_add_forward(raw[:, K * A + 2 * M * k : K * A + 2 * M * (k + 1)])
        memory = write_forward(memory, weights[R + k], e, a)[0]
    return h, c, np.stack(reads), memory, np.stack(weights)


@given(step_cases())
def test_step_forward_matches_the_primitives(case):
    dims, z, c_prev, memory, w_prev, heads_W, heads_b, _ = case
    B, H = z.shape[0], dims.H
    h, c, r, new_memory, w, cache = step_forward(z.copy(), c_prev, memory, w_prev, heads_W,
                                                 heads_b, dims, np.empty((B, H)))
    expected = primitive_step(dims, z, c_prev, memory, w_prev, heads_W, heads_b)
    # the primitives add SHARPEN_EPS = 1e-12 to eq (9)'s normaliser; the step does not
    for got, want in zip((h, c, r, new_memory, w), expected):
        if want is None:
            assert got is None
        else:
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-11)
    # the cached stages are distributions over rows, like the primitives'
    for stage in (cache.w_c, cache.w_g, cache.w_s, cache.w):
        np.testing.assert_allclose(stage.sum(axis=-1), 1.0, atol=1e-12)


def _flat_step(dims):
    """forward(*inputs) -> (every output, flattened into one vector, cache) and its
    backward, for check_backward. The inputs are z, c_prev (LSTM only), memory, w_prev,
    heads_W, heads_b."""
    lstm = dims.lstm

    def forward(*inputs):
        if lstm:
            z, c_prev, memory, w_prev, heads_W, heads_b = inputs
        else:
            (z, memory, w_prev, heads_W, heads_b), c_prev = inputs, None
        B = z.shape[0]
        outs = step_forward(z.copy(), c_prev, memory, w_prev, heads_W, heads_b, dims,
                            np.empty((B, dims.H)))
        h, c, r, new_memory, w, cache = outs
        parts = [h, r, new_memory, w] + ([c] if lstm else [])
        flat = np.concatenate([p.ravel() for p in parts])
        return flat, (cache, [p.shape for p in parts], heads_W, h, z.shape)

    def backward(dflat, fcache):
        cache, shapes, heads_W, h, z_shape = fcache
        sizes = np.cumsum([0] + [int(np.prod(s)) for s in shapes])
        dh, dr, dmemory, dw, *dc = (dflat[a:b].reshape(s).copy()
                                    for a, b, s in zip(sizes[:-1], sizes[1:], shapes))
        B = h.shape[0]
        draw = np.empty((B, heads_W.shape[1]))
        dz = np.empty(z_shape)
        dc_prev, dmemory_prev, dw_prev = step_backward(
            dmemory, dw, dr, dh, dc[0] if lstm else None, heads_W, cache, dims, draw, dz)
        grads = [dz] + ([dc_prev] if lstm else []) + [dmemory_prev, dw_prev, h.T @ draw,
                                                     draw.sum(axis=0)]
        return tuple(grads)

    return forward, backward


@pytest.mark.parametrize("lstm", [True, False], ids=["lstm", "feedforward"])
@given(data=st.data())
def test_step_backward_gradcheck(lstm, data):
    dims, z, c_prev, memory, w_prev, heads_W, heads_b, rng = data.draw(step_cases(lstm=lstm))
    inputs = [z] + ([c_prev] if lstm else []) + [memory, w_prev, heads_W, heads_b]
    forward, backward = _flat_step(dims)
    errors = gradcheck(forward, backward, inputs, rng, floor=FLAT_FLOOR)
    _record("step (lstm)" if lstm else "step (feed-forward)", errors)
    assert max(errors) < TOL, errors


@given(step_cases())
def test_step_forward_is_deterministic_and_leaves_its_inputs(case):
    dims, z, c_prev, memory, w_prev, heads_W, heads_b, _ = case
    before = [a.copy() for a in (memory, w_prev, heads_W, heads_b)]
    B = z.shape[0]
    first = step_forward(z.copy(), c_prev, memory, w_prev, heads_W, heads_b, dims,
                         np.empty((B, dims.H)))
    second = step_forward(z.copy(), c_prev, memory, w_prev, heads_W, heads_b, dims,
                          np.empty((B, dims.H)))
    for a, b in zip(first[:5], second[:5]):
        if a is not None:
            np.testing.assert_array_equal(a, b)
    for a, b in zip(before, (memory, w_prev, heads_W, heads_b)):
        np.testing.assert_array_equal(a, b)
