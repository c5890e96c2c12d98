"""Tests of ntm_numpy.heads: the map from a head's raw controller outputs to
key, beta, g, s, gamma (and erase, add for write heads).

The backward is compared with float64 central differences of the raw input for a random
upstream gradient in every field, asserting a scale-relative error below 1e-6. Measured
worst case (ci and three HYPOTHESIS_PROFILE=thorough runs): read heads 7e-9, write heads
1.3e-9, the model's separate erase/add map 4e-9. Set NTM_REPORT_RELERR=1 and run with -s
to print them.
"""
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import reference as ref
from support import FLAT_FLOOR, floats, recorder

_record = recorder(__name__)
from ntm_numpy.gradcheck import numerical_gradient, rel_error
from ntm_numpy.heads import (
    HeadParams,
    erase_add_backward,
    erase_add_forward,
    head_layout,
    head_params_backward,
    head_params_forward,
    head_size,
)

TOL = 1e-6
# rel_error divides by max(gradient scale, floor): with saturated raw values a whole
# gradient can be ~1e-9 while the central difference carries ~1e-10 of round-off, so the
# default floor 1e-8 would flag correct code. With 1e-2 the check is the plain relative
# error on generic inputs and an absolute 1e-8 bound on flat ones.
FIELDS = ("key", "beta", "g", "s", "gamma", "erase", "add")



@st.composite
def head_inputs(draw, lo=-5.0, hi=5.0):
    B = draw(st.integers(1, 3))
    M = draw(st.integers(1, 5))
    S = 2 * draw(st.integers(0, 4)) + 1
    write = draw(st.booleans())
    raw = draw(hnp.arrays(np.float64, (B, head_size(M, S, write)), elements=floats(lo, hi)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return raw, M, S, write, rng


def _fields(write):
    return FIELDS if write else FIELDS[:5]


def test_head_size():
    assert head_size(4, 3, False) == 4 + 3 + 3
    assert head_size(4, 3, True) == 3 * 4 + 3 + 3
    assert head_size(1, 1, True) == 7


@given(head_inputs(-30.0, 30.0))
def test_head_params_match_reference(case):
    raw, M, S, write, _ = case
    params, _ = head_params_forward(raw, M, S, write)
    want = ref.head_params(raw, M, S, write)
    for name in _fields(write):
        got = getattr(params, name)
        assert got.shape == want[name].shape, name
        np.testing.assert_allclose(got, want[name], rtol=1e-12, atol=1e-15, err_msg=name)
    if not write:
        assert params.erase is None and params.add is None


@given(head_inputs(-10.0, 10.0))
def test_head_params_ranges(case):
    # |raw| <= 10 keeps every activation strictly inside its open range in float64
    raw, M, S, write, _ = case
    p, _ = head_params_forward(raw, M, S, write)
    B = raw.shape[0]
    assert p.key.shape == (B, M) and np.all(np.abs(p.key) < 1)
    assert p.beta.shape == (B, 1) and np.all(p.beta > 0)
    assert p.g.shape == (B, 1) and np.all((p.g > 0) & (p.g < 1))
    assert p.s.shape == (B, S) and np.all(p.s >= 0)
    np.testing.assert_allclose(p.s.sum(axis=1), 1.0, rtol=1e-12)
    assert p.gamma.shape == (B, 1) and np.all(p.gamma >= 1)
    if write:
        assert p.erase.shape == (B, M) and np.all((p.erase > 0) & (p.erase < 1))
        assert p.add.shape == (B, M) and np.all((p.add > -1) & (p.add < 1))


@pytest.mark.parametrize("write", [False, True])
@pytest.mark.parametrize("value", [-1000.0, 1000.0])
def test_head_params_extremes_are_finite(write, value):
    M, S = 3, 5
    raw = np.full((2, head_size(M, S, write)), value)
    raw[1, ::2] = -value
    p, cache = head_params_forward(raw, M, S, write)
    for name in _fields(write):
        assert np.all(np.isfinite(getattr(p, name))), name
    # closed ranges (at |x| = 1000 the open ones round to their ends)
    assert np.all(p.beta >= 0) and np.all((p.g >= 0) & (p.g <= 1)) and np.all(p.gamma >= 1)
    np.testing.assert_allclose(p.s.sum(axis=1), 1.0, rtol=1e-12)
    dparams = HeadParams(*[None if getattr(p, n) is None else np.ones_like(getattr(p, n))
                           for n in FIELDS])
    draw = head_params_backward(dparams, cache)[0]
    assert np.all(np.isfinite(draw))


@given(head_inputs())
def test_head_params_backward_gradcheck(case):
    raw, M, S, write, rng = case
    names = _fields(write)
    params, cache = head_params_forward(raw, M, S, write)
    douts = {n: rng.standard_normal(getattr(params, n).shape) for n in names}
    dparams = HeadParams(**douts)  # erase/add default to None for read heads
    grads = head_params_backward(dparams, cache)
    assert isinstance(grads, tuple) and len(grads) == 4
    assert grads[1:] == (None, None, None)
    draw = grads[0]
    assert draw.shape == raw.shape

    def f(x):
        p = head_params_forward(x, M, S, write)[0]
        return np.concatenate([getattr(p, n).ravel() for n in names])

    flat_dout = np.concatenate([douts[n].ravel() for n in names])
    err = rel_error(draw, numerical_gradient(f, raw, flat_dout), FLAT_FLOOR)
    _record("write head" if write else "read head", [err])
    assert err < TOL, err


@given(head_inputs())
def test_each_field_owns_its_raw_slice(case):
    # an upstream gradient in one field only moves that field's columns of draw
    raw, M, S, write, rng = case
    params, cache = head_params_forward(raw, M, S, write)
    names = _fields(write)
    layout = {"key": (0, M), "beta": (M, M + 1), "g": (M + 1, M + 2), "s": (M + 2, M + 2 + S),
              "gamma": (M + 2 + S, M + 3 + S), "erase": (M + 3 + S, 2 * M + 3 + S),
              "add": (2 * M + 3 + S, 3 * M + 3 + S)}
    for name in names:
        douts = {n: np.zeros_like(getattr(params, n)) for n in names}
        douts[name] = rng.standard_normal(douts[name].shape)
        draw = head_params_backward(HeadParams(**douts), cache)[0]
        lo, hi = layout[name]
        outside = np.delete(draw, np.arange(lo, hi), axis=1)
        np.testing.assert_array_equal(outside, 0.0)


@given(head_inputs(), st.data())
def test_erase_add_map(case, data):
    # the model's separate [erase | add] block: sigmoid then tanh, any leading axes
    _, M, _, _, rng = case
    B = data.draw(st.integers(1, 3))
    W = data.draw(st.integers(1, 2))
    block = data.draw(hnp.arrays(np.float64, (B, W, 2 * M), elements=floats(-5.0, 5.0)))
    (erase, add), cache = erase_add_forward(block)
    assert erase.shape == add.shape == (B, W, M)
    for k in range(W):
        # the same columns laid out as a write head's tail, through the reference map
        raw = np.concatenate([np.zeros((B, M + 3 + 1)), block[:, k]], axis=1)
        want = ref.head_params(raw, M, 1, True)
        np.testing.assert_allclose(erase[:, k], want["erase"], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(add[:, k], want["add"], rtol=1e-12, atol=1e-15)
    de, da = rng.standard_normal(erase.shape), rng.standard_normal(add.shape)
    grads = erase_add_backward((de, da), cache)
    assert isinstance(grads, tuple) and len(grads) == 1 and grads[0].shape == block.shape

    def f(x):
        e, a = erase_add_forward(x)[0]
        return np.concatenate([e.ravel(), a.ravel()])

    num = numerical_gradient(f, block, np.concatenate([de.ravel(), da.ravel()]))
    err = rel_error(grads[0], num, FLAT_FLOOR)
    _record("erase/add", [err])
    assert err < TOL, err


# ----------------------------------------------------------------------------------------
# bad input: ValueError naming the argument
# ----------------------------------------------------------------------------------------
def _raises_naming(name):
    # the package's messages start with the argument's name, "name: expected ..."
    return pytest.raises(ValueError, match=rf"^{re.escape(name)}\b")


@pytest.mark.parametrize(
    "name, args",
    [
        ("raw", (np.zeros((2, 10)), 3, 3, False)),  # a read head takes 3 + 3 + 3 = 9
        ("raw", (np.zeros((2, 9)), 3, 3, True)),  # a write head takes 3*3 + 3 + 3 = 15
        ("raw", (np.zeros(9), 3, 3, False)),
        ("memory_width", (np.zeros((2, 9)), 0, 3, False)),
        ("shift_size", (np.zeros((2, 9)), 3, 2, False)),
        ("shift_size", (np.zeros((2, 9)), 3, 0, False)),
    ],
)
def test_head_params_rejects_bad_input(name, args):
    with _raises_naming(name):
        head_params_forward(*args)


@pytest.mark.parametrize("M,S,R,W", [(4, 3, 1, 1), (1, 1, 2, 2), (5, 7, 1, 3), (3, 3, 0, 1)])
def test_head_layout_tiles_the_map(M, S, R, W):
    """The documented layout: K blocks of [key (M) | beta | g | s (S) | gamma], then W
    blocks of [erase (M) | add (M)]; every column belongs to exactly one field."""
    L = head_layout(M, S, R, W)
    K = R + W
    assert (L.K, L.A, L.P) == (K, M + S + 3, K * (M + S + 3) + 2 * W * M)
    owner = np.full(L.P, -1)
    cols = np.arange(L.P)
    fields = [L.key, L.beta, L.g, L.s, L.gamma]
    widths = [M, 1, 1, S, 1]
    for k in range(K):
        block = cols[L.addressing][k * L.A : (k + 1) * L.A]
        start = 0
        for i, (sl, width) in enumerate(zip(fields, widths)):
            got = block[sl]
            np.testing.assert_array_equal(got, block[start : start + width])
            assert np.all(owner[got] == -1)
            owner[got] = i
            start += width
    for j in range(W):
        block = cols[L.erase_add][j * 2 * M : (j + 1) * 2 * M]
        np.testing.assert_array_equal(block[L.erase], block[:M])
        np.testing.assert_array_equal(block[L.add], block[M:])
        assert np.all(owner[block] == -1)
        owner[block] = 9
    assert np.all(owner >= 0)
    # one head's own layout is the same offsets: head_size agrees
    assert head_layout(M, S, 1, 0).P == head_size(M, S, False)
    assert head_layout(M, S, 0, 1).P == head_size(M, S, True)


@pytest.mark.parametrize("args,match", [((4, 2, 1, 1), "shift_size: expected an odd"),
                                        ((0, 3, 1, 1), "memory_width"),
                                        ((4, 3, -1, 1), "read_heads")])
def test_head_layout_rejects_bad_sizes(args, match):
    with pytest.raises(ValueError, match=match):
        head_layout(*args)
