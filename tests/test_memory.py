"""Tests of ntm_numpy.memory: the read (eq 2) and the erase/add write (eqs 3-4).

Gradient checks compare the analytic backward with float64 central differences
(ntm_numpy.gradcheck, step GRADCHECK_STEP) for a random upstream gradient and assert a
scale-relative error below 1e-6. Measured worst case over the examples (ci profile and
three HYPOTHESIS_PROFILE=thorough runs): read 1e-9, write 2e-8 (one-hot w included);
both maps are at most bilinear, so only round-off is left. Set NTM_REPORT_RELERR=1 and
run with -s to print them.
"""
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import reference as ref
from support import arrays, gradcheck, recorder

_record = recorder(__name__)
from ntm_numpy.activations import sigmoid_forward, softmax_forward
from ntm_numpy.memory import read_backward, read_forward, write_backward, write_forward

TOL = 1e-6
# rel_error divides by max(gradient scale, floor). A gradient can be exactly 0 (e.g. dw of
# a write with memory = a and e = 1) while the central difference carries ~1e-11 of
# round-off, so the default 1e-8 floor would report 1e-3. With a 1e-2 floor the check is
# the plain relative error on generic inputs (gradients O(0.1-10)) and an absolute 1e-8
# bound on flat ones (round-off reaches ~5e-9 there).

# ----------------------------------------------------------------------------------------
# worst relative errors, printed at module teardown when NTM_REPORT_RELERR is set
# ----------------------------------------------------------------------------------------


# ----------------------------------------------------------------------------------------
# strategies: small shapes, bounded finite floats, distributions through the model's
# own activations (softmax for weightings, sigmoid for the erase vector)
# ----------------------------------------------------------------------------------------
@st.composite
def memory_inputs(draw):
    B = draw(st.integers(1, 3))
    N = draw(st.integers(1, 6))
    M = draw(st.integers(1, 5))
    memory = draw(arrays((B, N, M)))
    w = softmax_forward(draw(arrays((B, N))), axis=1)[0]
    e = sigmoid_forward(draw(arrays((B, M), -5.0, 5.0)))[0]
    a = draw(arrays((B, M), -1.0, 1.0))
    seed = draw(st.integers(0, 2**32 - 1))
    return memory, w, e, a, np.random.default_rng(seed)


# ----------------------------------------------------------------------------------------
# forward against the loop reference
# ----------------------------------------------------------------------------------------
@given(memory_inputs())
def test_read_matches_reference(case):
    memory, w, _, _, _ = case
    r, _ = read_forward(memory, w)
    assert r.shape == (memory.shape[0], memory.shape[2])
    np.testing.assert_allclose(r, ref.read(memory, w), rtol=1e-12, atol=1e-12)


@given(memory_inputs())
def test_write_matches_reference(case):
    memory, w, e, a, _ = case
    new, _ = write_forward(memory, w, e, a)
    assert new.shape == memory.shape
    np.testing.assert_allclose(new, ref.write(memory, w, e, a), rtol=1e-12, atol=1e-12)


@given(memory_inputs())
def test_write_does_not_modify_its_inputs(case):
    memory, w, e, a, _ = case
    copies = [x.copy() for x in (memory, w, e, a)]
    write_forward(memory, w, e, a)
    for x, c in zip((memory, w, e, a), copies):
        np.testing.assert_array_equal(x, c)


# ----------------------------------------------------------------------------------------
# backward against central differences, every input
# ----------------------------------------------------------------------------------------
@given(memory_inputs())
def test_read_backward_gradcheck(case):
    memory, w, _, _, rng = case
    errors = gradcheck(read_forward, read_backward, [memory, w], rng)
    _record("read", errors)
    assert len(errors) == 2
    assert max(errors) < TOL, errors


@given(memory_inputs())
def test_write_backward_gradcheck(case):
    memory, w, e, a, rng = case
    errors = gradcheck(write_forward, write_backward, [memory, w, e, a], rng)
    _record("write", errors)
    assert len(errors) == 4
    assert max(errors) < TOL, errors


@given(memory_inputs())
def test_backward_shapes(case):
    memory, w, e, a, rng = case
    r, cache = read_forward(memory, w)
    grads = read_backward(rng.standard_normal(r.shape), cache)
    assert [g.shape for g in grads] == [memory.shape, w.shape]
    new, cache = write_forward(memory, w, e, a)
    grads = write_backward(rng.standard_normal(new.shape), cache)
    assert [g.shape for g in grads] == [memory.shape, w.shape, e.shape, a.shape]


# ----------------------------------------------------------------------------------------
# invariants
# ----------------------------------------------------------------------------------------
@given(memory_inputs())
def test_one_hot_read_returns_the_row(case):
    memory, _, _, _, _ = case
    B, N, _ = memory.shape
    for i in range(N):
        w = np.zeros((B, N))
        w[:, i] = 1.0
        r, _ = read_forward(memory, w)
        np.testing.assert_array_equal(r, memory[:, i, :])


@given(memory_inputs())
def test_write_with_zero_erase_and_zero_add_leaves_memory_unchanged(case):
    memory, w, e, a, _ = case
    new, _ = write_forward(memory, w, np.zeros_like(e), np.zeros_like(a))
    np.testing.assert_array_equal(new, memory)


@given(memory_inputs())
def test_one_hot_full_erase_write_replaces_exactly_that_row(case):
    memory, _, e, a, _ = case
    B, N, _ = memory.shape
    for i in range(N):
        w = np.zeros((B, N))
        w[:, i] = 1.0
        new, _ = write_forward(memory, w, np.ones_like(e), a)
        np.testing.assert_array_equal(new[:, i, :], a)
        others = [j for j in range(N) if j != i]
        np.testing.assert_array_equal(new[:, others, :], memory[:, others, :])


@given(memory_inputs())
def test_unattended_rows_are_not_erased(case):
    # eq (3) scales the erase by w(i): a row with w(i) = 0 keeps its content even with e = 1
    memory, w, _, a, _ = case
    B, N, M = memory.shape
    w = w.copy()
    w[:, 0] = 0.0
    new, _ = write_forward(memory, w, np.ones((B, M)), a)
    np.testing.assert_array_equal(new[:, 0, :], memory[:, 0, :])


@given(memory_inputs())
def test_one_hot_weights_backward_is_finite(case):
    memory, _, e, a, rng = case
    B, N, _ = memory.shape
    w = np.zeros((B, N))
    w[:, -1] = 1.0
    errors = gradcheck(write_forward, write_backward, [memory, w, np.ones_like(e), a],
                       rng)
    _record("write one-hot", errors)
    assert max(errors) < TOL
    errors = gradcheck(read_forward, read_backward, [memory, w], rng)
    _record("read one-hot", errors)
    assert max(errors) < TOL


# ----------------------------------------------------------------------------------------
# bad input: ValueError naming the argument
# ----------------------------------------------------------------------------------------
def _ok(B=2, N=4, M=3):
    rng = np.random.default_rng(0)
    return (rng.standard_normal((B, N, M)), np.full((B, N), 1.0 / N), np.full((B, M), 0.5),
            rng.standard_normal((B, M)))


def _raises_naming(name):
    # the package's messages start with the argument's name, "name: expected ..."
    return pytest.raises(ValueError, match=rf"^{re.escape(name)}\b")


@pytest.mark.parametrize(
    "name, args",
    [
        ("memory", lambda m, w, e, a: (m[0], w)),  # 2-D memory
        ("memory", lambda m, w, e, a: (m.tolist(), w)),  # not an array
        ("w", lambda m, w, e, a: (m, w[0])),  # 1-D w
        ("w", lambda m, w, e, a: (m, w[:, :-1])),  # N mismatch
        ("w", lambda m, w, e, a: (m, np.concatenate([w, w]))),  # batch mismatch
    ],
)
def test_read_rejects_bad_input(name, args):
    m, w, e, a = _ok()
    with _raises_naming(name):
        read_forward(*args(m, w, e, a))


@pytest.mark.parametrize(
    "name, args",
    [
        ("memory", lambda m, w, e, a: (m[None], w, e, a)),
        ("w", lambda m, w, e, a: (m, w[:, :-1], e, a)),
        ("w", lambda m, w, e, a: (m, w[:1], e, a)),  # batch mismatch
        ("e", lambda m, w, e, a: (m, w, e[:, :-1], a)),  # M mismatch
        ("e", lambda m, w, e, a: (m, w, e[0], a)),  # 1-D
        ("e", lambda m, w, e, a: (m, w, e[:1], a)),  # batch mismatch
        ("a", lambda m, w, e, a: (m, w, e, np.concatenate([a, a], axis=1))),
        ("a", lambda m, w, e, a: (m, w, e, a[:1])),  # batch mismatch
    ],
)
def test_write_rejects_bad_input(name, args):
    m, w, e, a = _ok()
    with _raises_naming(name):
        write_forward(*args(m, w, e, a))
