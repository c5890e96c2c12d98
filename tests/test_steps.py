"""Tests of the model's two time steps, ntm_numpy.reference_step and ntm_numpy.fused_step.

Each step must compute what the primitives compute, one head at a time: the LSTM gates
(controller.py), the head parameter maps (heads.py), eqs (5)-(9) (addressing.py), the
reads and the writes in turn (memory.py). Each backward must match float64 central
differences for a random upstream gradient of every output, for every input; and the
fused step's backward must match the reference step's, output for output, on the same
inputs and upstream gradients (to 1e-10).
"""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ntm_numpy import fused_step, reference_step
from ntm_numpy.activations import softmax_forward
from ntm_numpy.addressing import address_forward
from ntm_numpy.controller import lstm_gates_forward
from ntm_numpy.heads import erase_add_forward, head_params_forward
from ntm_numpy.memory import read_forward, write_forward
from ntm_numpy.reference_step import DEFAULT_OPS, Dims

from support import FLAT_FLOOR, arrays, counting_ops, gradcheck, recorder

_record = recorder(__name__)
TOL = 1e-6
#: relative agreement of the two steps in float64 (they differ by rounding only)
SAME = 1e-10
STEPS = {"reference": reference_step, "fused": fused_step}


@st.composite
def step_cases(draw, lstm=None):
    """Small steps: sizes, the controller, and inputs in bounded ranges. The previous
    weightings are softmaxes of drawn logits, as the model's are."""
    B, N, M, H = (draw(st.integers(1, n)) for n in (3, 6, 4, 4))
    R, W, k = draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(0, 2))
    lstm = draw(st.booleans()) if lstm is None else lstm
    dims = Dims(H, M, N, R, W, 2 * k + 1, lstm)
    G, P = (4 * H if lstm else H), dims.layout.P
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
    L = dims.layout
    K, A = L.K, L.A
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
    ea = raw[:, L.erase_add]
    for k in range(W):
        (e, a), _ = erase_add_forward(ea[:, 2 * M * k : 2 * M * (k + 1)])
        memory = write_forward(memory, weights[R + k], e, a)[0]
    return h, c, np.stack(reads), memory, np.stack(weights)


@pytest.mark.parametrize("step", sorted(STEPS))
@given(case=step_cases())
def test_step_forward_matches_the_primitives(step, case):
    dims, z, c_prev, memory, w_prev, heads_W, heads_b, _ = case
    B, H = z.shape[0], dims.H
    h, c, r, new_memory, w, cache = STEPS[step].step_forward(
        z.copy(), c_prev, memory, w_prev, heads_W, heads_b, dims, np.empty((B, H)))
    expected = primitive_step(dims, z, c_prev, memory, w_prev, heads_W, heads_b)
    # the primitives add SHARPEN_EPS = 1e-12 to eq (9)'s normaliser; the step does not
    for got, want in zip((h, c, r, new_memory, w), expected):
        if want is None:
            assert got is None
        else:
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-11)
    # the recorded stages are distributions over rows, like the primitives'
    rec = cache.record()
    for stage in (rec.w_c, rec.w_g, rec.w_s, rec.w):
        np.testing.assert_allclose(stage.sum(axis=-1), 1.0, atol=1e-12)
    np.testing.assert_array_equal(rec.w, w)


def _backward_heads_W(step, heads_W):
    """The head map's weights as ``step.step_backward`` takes them: (H, P) for the
    reference step, (P, H), a contiguous transposed copy, for the fused step."""
    return np.ascontiguousarray(heads_W.T) if step.TRANSPOSED_HEADS_W else heads_W


def _flat_step(dims, step):
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
        outs = step.step_forward(z.copy(), c_prev, memory, w_prev, heads_W, heads_b, dims,
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
        dc_prev, dmemory_prev, dw_prev = step.step_backward(
            dmemory, dw, dr, dh, dc[0] if lstm else None, _backward_heads_W(step, heads_W), cache,
            dims, draw, dz)
        grads = [dz] + ([dc_prev] if lstm else []) + [dmemory_prev, dw_prev, h.T @ draw,
                                                     draw.sum(axis=0)]
        return tuple(grads)

    return forward, backward


@pytest.mark.parametrize("step", sorted(STEPS))
@pytest.mark.parametrize("lstm", [True, False], ids=["lstm", "feedforward"])
@given(data=st.data())
def test_step_backward_gradcheck(step, lstm, data):
    dims, z, c_prev, memory, w_prev, heads_W, heads_b, rng = data.draw(step_cases(lstm=lstm))
    inputs = [z] + ([c_prev] if lstm else []) + [memory, w_prev, heads_W, heads_b]
    forward, backward = _flat_step(dims, STEPS[step])
    errors = gradcheck(forward, backward, inputs, rng, floor=FLAT_FLOOR)
    _record(f"{step} step ({'lstm' if lstm else 'feed-forward'})", errors)
    assert max(errors) < TOL, errors


def _rel(a, b, floor):
    """Largest difference relative to the larger array's largest entry, or to ``floor``
    (the size of the upstream gradients) when both are smaller: where the true gradient
    is 0 (N = 1, say) one step can give 0 and the other round-off, or the 1e-12 relative
    that SHARPEN_EPS adds to the reference step's eq (9)."""
    scale = max(np.abs(a).max(initial=0.0), np.abs(b).max(initial=0.0), floor)
    return float(np.abs(a - b).max(initial=0.0) / scale)


@given(step_cases())
def test_fused_backward_matches_the_reference_backward(case):
    """Both steps' backward passes from the same inputs and the same random upstream
    gradients: every gradient they return or fill in agrees to 1e-10."""
    dims, z, c_prev, memory, w_prev, heads_W, heads_b, rng = case
    B, H, K = z.shape[0], dims.H, dims.K
    lstm = dims.lstm
    upstream = dict(dmemory=rng.standard_normal(memory.shape),
                    dw=rng.standard_normal(w_prev.shape),
                    dr=rng.standard_normal((dims.R, B, dims.M)),
                    dh=rng.standard_normal((B, H)),
                    dc=rng.standard_normal((B, H)) if lstm else None)
    out = {}
    for name, step in STEPS.items():
        *_, cache = step.step_forward(z.copy(), c_prev, memory, w_prev, heads_W, heads_b,
                                      dims, np.empty((B, H)))
        up = {k: (None if v is None else v.copy()) for k, v in upstream.items()}
        draw, dz = np.empty((B, heads_W.shape[1])), np.empty(z.shape)
        dc_prev, dmemory, dw_prev = step.step_backward(
            up["dmemory"], up["dw"], up["dr"], up["dh"], up["dc"],
            _backward_heads_W(step, heads_W), cache, dims, draw, dz)
        out[name] = dict(dmemory=dmemory, dw_prev=dw_prev, draw=draw, dz=dz, dc_prev=dc_prev)
        assert dw_prev.shape == (K, B, dims.N)
    scale = max(np.abs(v).max() for v in upstream.values() if v is not None)
    for key, ref in out["reference"].items():
        fused = out["fused"][key]
        if ref is None:
            assert fused is None, key
        else:
            assert _rel(fused, ref, scale) < SAME, (key, _rel(fused, ref, scale))


@given(step_cases())
def test_reference_step_calls_every_primitive_through_ops(case):
    """Each of the step's primitives is called through ``ops`` (and only those)."""
    dims, z, c_prev, memory, w_prev, heads_W, heads_b, rng = case
    B, H = z.shape[0], dims.H
    ops, calls = counting_ops()
    *_, cache = reference_step.step_forward(z.copy(), c_prev, memory, w_prev, heads_W,
                                            heads_b, dims, np.empty((B, H)), ops=ops)
    reference_step.step_backward(
        rng.standard_normal(memory.shape), rng.standard_normal(w_prev.shape),
        rng.standard_normal((dims.R, B, dims.M)), rng.standard_normal((B, H)),
        rng.standard_normal((B, H)) if dims.lstm else None, heads_W, cache, dims,
        np.empty((B, heads_W.shape[1])), np.empty(z.shape), ops=ops)
    controller = "lstm_gates" if dims.lstm else "tanh"
    unused = "tanh" if dims.lstm else "lstm_gates"
    for name in DEFAULT_OPS:
        prim = name.rsplit("_", 1)[0]
        expected = 0 if prim == unused else dims.W if prim == "write" else 1
        assert calls.get(name, 0) == expected, (name, calls.get(name, 0), expected)
    assert controller + "_backward" in calls


@pytest.mark.parametrize("step", sorted(STEPS))
@given(case=step_cases())
def test_step_forward_is_deterministic_and_leaves_its_inputs(step, case):
    dims, z, c_prev, memory, w_prev, heads_W, heads_b, _ = case
    before = [a.copy() for a in (memory, w_prev, heads_W, heads_b)]
    B = z.shape[0]
    step_forward = STEPS[step].step_forward
    first = step_forward(z.copy(), c_prev, memory, w_prev, heads_W, heads_b, dims,
                         np.empty((B, dims.H)))
    second = step_forward(z.copy(), c_prev, memory, w_prev, heads_W, heads_b, dims,
                          np.empty((B, dims.H)))
    for a, b in zip(first[:5], second[:5]):
        if a is not None:
            np.testing.assert_array_equal(a, b)
    for a, b in zip(before, (memory, w_prev, heads_W, heads_b)):
        np.testing.assert_array_equal(a, b)
