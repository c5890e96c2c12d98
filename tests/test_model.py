"""Tests of ntm_numpy.model.NTM: the unrolled forward pass against the loop reference,
backpropagation through time against central differences, and the model's contracts.

Whole-model gradient checks: every params entry, ntm_numpy.gradcheck.numerical_gradient
(float64, step GRADCHECK_STEP = 1e-6) of sum(logits * dlogits) for a random dlogits,
asserted scale-relative error < 1e-6. Measured worst case over all entries (ci and
HYPOTHESIS_PROFILE=thorough): fixed 6-step, 2-read/2-write configurations 8e-9 from a
random or learned memory, 1e-7 from the constant 1e-6 memory (memory_init checked with
a 1e-8 step there, see below); hypothesis-drawn small configurations 2.5e-7 (Richardson
extrapolated, see that test). Set NTM_REPORT_RELERR=1 and run with -s to print them.
"""
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import reference as ref
from support import FLAT_FLOOR, counting_ops, floats, recorder

_record = recorder(__name__)
from ntm_numpy.constants import (
    GRADCHECK_STEP,
    INIT_WEIGHTING_LOGIT,
    MEMORY_INIT_CONSTANT,
    MEMORY_INIT_RANDOM_STD,
    REL_ERROR_FLOOR,
    WRITE_FORWARD_GAMMA_BIAS,
    WRITE_FORWARD_GATE_BIAS,
    WRITE_FORWARD_SHIFT_BIAS,
)
from ntm_numpy.gradcheck import numerical_gradient, rel_error
from ntm_numpy.heads import head_layout
from ntm_numpy.model import NTM

TOL = 1e-6
CONTROLLERS = ("lstm", "feedforward")
MEMORY_INITS = ("constant", "random", "learned")



def expected_shapes(c):
    """The params layout documented in ntm_numpy/model.py ("Parameters")."""
    X, Y, H, N, M = (c["input_size"], c["output_size"], c["controller_size"],
                     c["memory_rows"], c["memory_width"])
    R, W = c["read_heads"], c["write_heads"]
    S = 2 * c["shift_range"] + 1
    K = R + W
    G = 4 * H if c["controller"] == "lstm" else H
    P = head_layout(M, S, R, W).P  # K blocks of M + S + 3, then W blocks of 2M
    shapes = {"controller_Wx": (X, G), "controller_Wr": (R * M, G)}
    if c["controller"] == "lstm":
        shapes["controller_Wh"] = (H, G)
    shapes.update(controller_b=(G,), heads_W=(H, P), heads_b=(P,), output_W=(H + R * M, Y),
                  output_b=(Y,), read_init=(R, M), weighting_init=(K, N))
    if c["memory_init"] == "learned":
        shapes["memory_init"] = (N, M)
    return shapes


def make_model(perturb=0.3, perturb_seed=0, **config):
    """An NTM whose params are moved off their initial values (non-zero biases, a random
    learned memory), so that no term of the forward pass hides behind a zero.

    With ``perturb > 0`` the initial weighting logits are also redrawn from a standard
    normal: by default they focus every head on row 0 (INIT_WEIGHTING_LOGIT = 8), where
    the softmax is saturated and the whole weighting_init gradient is ~1e-4, so that the
    ~1e-10 round-off of a central difference would read as a 1e-6 relative error.
    """
    model = NTM(**config)
    rng = np.random.default_rng(perturb_seed)
    for value in model.params.values():
        value += perturb * rng.standard_normal(value.shape)  # in place
    if perturb:
        logits = model.params["weighting_init"]
        logits[...] = rng.standard_normal(logits.shape)
    if "memory_init" in model.params:
        model.params["memory_init"][...] = rng.standard_normal(model.params["memory_init"].shape)
    return model


@st.composite
def model_cases(draw, max_T=3):
    config = dict(
        input_size=draw(st.integers(1, 3)),
        output_size=draw(st.integers(1, 3)),
        controller_size=draw(st.integers(1, 4)),
        memory_rows=draw(st.integers(1, 5)),
        memory_width=draw(st.integers(1, 4)),
        read_heads=draw(st.integers(1, 2)),
        write_heads=draw(st.integers(1, 2)),
        shift_range=draw(st.integers(0, 3)),  # S up to 7, often > N
        controller=draw(st.sampled_from(CONTROLLERS)),
        memory_init=draw(st.sampled_from(MEMORY_INITS)),
        seed=draw(st.integers(0, 2**16)),
    )
    perturb = draw(st.sampled_from([0.0, 0.3]))
    model = make_model(perturb, draw(st.integers(0, 2**16)), **config)
    T = draw(st.integers(1, max_T))
    B = draw(st.integers(1, 2))
    x = draw(hnp.arrays(np.float64, (T, B, config["input_size"]), elements=floats(-2.0, 2.0)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return model, x, rng


def model_gradient_errors(model, x, rng, steps=None, floor=REL_ERROR_FLOOR,
                          richardson=False):
    """rel_error of model.backward against central differences, per params entry.

    ``steps``: optional dict name -> central-difference step (default GRADCHECK_STEP).
    ``richardson``: combine the steps h and h/2 as (4 D(h/2) - D(h)) / 3, which cancels
    the h**2 truncation term of the central difference (see the small-config test).
    """
    steps = steps or {}
    logits, cache = model.forward(x)
    dlogits = rng.standard_normal(logits.shape)
    grads = model.backward(dlogits, cache)
    errors = {}
    for name in list(model.params):
        original = model.params[name]

        def f(value, name=name):
            model.params[name] = value
            return model.forward(x)[0]

        try:
            h = steps.get(name, GRADCHECK_STEP)
            num = numerical_gradient(f, original, dlogits, h=h)
            if richardson:
                num = (4.0 * numerical_gradient(f, original, dlogits, h=h / 2) - num) / 3.0
        finally:
            model.params[name] = original
        errors[name] = rel_error(grads[name], num, floor)
    return errors


# ----------------------------------------------------------------------------------------
# forward against the loop reference
# ----------------------------------------------------------------------------------------
@given(model_cases())
def test_forward_matches_reference(case):
    model, x, _ = case
    logits, cache = model.forward(x)
    want, record = ref.ntm_forward(model.params, model.config, x, model.memory_buffer)
    assert logits.shape == want.shape
    np.testing.assert_allclose(logits, want, rtol=1e-9, atol=1e-11)
    tr = cache.trace()
    np.testing.assert_allclose(tr.weights, record["weights"], rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(tr.memory, record["memory"], rtol=1e-9, atol=1e-11)


def test_initial_state():
    c = dict(input_size=2, output_size=2, controller_size=3, memory_rows=4, memory_width=3)
    const = NTM(**c, memory_init="constant")
    np.testing.assert_array_equal(const.initial_memory(2), MEMORY_INIT_CONSTANT)
    assert "memory_init" not in const.params
    rand = NTM(**{**c, "memory_rows": 200, "memory_width": 20}, memory_init="random")
    buf = rand.memory_buffer
    assert buf.shape == (200, 20) and "memory_init" not in rand.params
    assert abs(buf.std() - MEMORY_INIT_RANDOM_STD) < 0.05 and abs(buf.mean()) < 0.05
    # every head starts focused on row 0: logits INIT_WEIGHTING_LOGIT there, 0 elsewhere
    want = np.zeros((2, 4))
    want[:, 0] = INIT_WEIGHTING_LOGIT
    np.testing.assert_array_equal(const.params["weighting_init"], want)
    learned = NTM(**c, memory_init="learned")
    np.testing.assert_array_equal(learned.params["memory_init"], MEMORY_INIT_CONSTANT)
    learned.params["memory_init"][1, 2] = 5.0
    assert learned.initial_memory(3).shape == (3, 4, 3)
    np.testing.assert_array_equal(learned.initial_memory(3)[:, 1, 2], 5.0)


# ----------------------------------------------------------------------------------------
# backpropagation through time against central differences
# ----------------------------------------------------------------------------------------
GRAD_CONFIG = dict(input_size=3, output_size=2, controller_size=3, memory_rows=5,
                   memory_width=3, read_heads=2, write_heads=2, shift_range=1)


@pytest.mark.parametrize("controller", CONTROLLERS)
@pytest.mark.parametrize("memory_init", ["random", "learned"])
def test_whole_model_gradient(controller, memory_init):
    # memory_init="random", or "learned" with random normal values (make_model): away from
    # the 1e-6 constant where the smoothed cosine norm is strongly curved (see below)
    model = make_model(0.3, 7, controller=controller, memory_init=memory_init, seed=3,
                       **GRAD_CONFIG)
    rng = np.random.default_rng(11)
    x = rng.standard_normal((6, 2, 3))  # T = 6 steps, B = 2
    errors = model_gradient_errors(model, x, rng)
    assert set(errors) == set(model.params)
    _record(f"whole model {controller}/{memory_init}", list(errors.values()))
    bad = {k: v for k, v in errors.items() if not v < TOL}
    assert not bad, bad


# The constant start. Every cell is 1e-6, so |M(i)|**2 = M * 1e-12 is far below
# NORM_EPS = 1e-8: the smoothed norm sqrt(u.u + NORM_EPS) is in its curved region, where
# its third derivative is ~ NORM_EPS**-1.5 = 1e12. Perturbing the *initial memory itself*
# by h = 1e-6 (a learned memory_init sitting at MEMORY_INIT_CONSTANT) then gives a
# central difference off by ~h**2 * 1e11 (measured relative error 4e-5 to 1e-4). With
# h = 1e-8 the truncation drops 1e4-fold while the round-off, ~1e-16 * |f| / h ~ 1e-7, is
# still small against memory_init gradients of order 1-300 (measured ~1e-8). So the
# memory_init entry alone is checked with CONSTANT_STEP = 1e-8, under the same 1e-6
# bound. The other params move the memory only through the writes (w a ~ 1e-2 or more,
# out of the curved region), and h = 1e-6 is accurate for them (measured ~6e-8), as it
# is for every param of a memory_init="constant" model (whose start is not a param).
CONSTANT_STEP = 1e-8


@pytest.mark.parametrize("controller", CONTROLLERS)
@pytest.mark.parametrize("memory_init", ["constant", "learned"])
def test_whole_model_gradient_from_the_constant_memory(controller, memory_init):
    model = make_model(0.3, 5, controller=controller, memory_init=memory_init, seed=4,
                       **GRAD_CONFIG)
    if memory_init == "learned":
        model.params["memory_init"][...] = MEMORY_INIT_CONSTANT
    np.testing.assert_array_equal(model.initial_memory(1), MEMORY_INIT_CONSTANT)
    rng = np.random.default_rng(12)
    x = rng.standard_normal((6, 2, 3))
    errors = model_gradient_errors(model, x, rng, steps={"memory_init": CONSTANT_STEP})
    assert set(errors) == set(model.params)
    _record(f"whole model {controller}/{memory_init} at 1e-6", list(errors.values()))
    bad = {k: v for k, v in errors.items() if not v < TOL}
    assert not bad, bad


# Tiny configurations make some gradients exactly 0 where the central difference still
# sees one-ulp changes of the output: with N = 1 every weighting is the constant 1 and
# the shift weights s only enter through sum(s) = 1 (up to round-off), so d/ds is exactly
# 0 while the central difference reads 2e-16 / 2h ~ 1e-10; with M = 1 cosine similarity is
# a constant sign. rel_error's default floor (1e-8) would turn that into "errors" of 1e-2.
# These checks divide by max(gradient scale, FLAT_FLOOR = 1e-2) instead: the plain
# relative error for gradients of ordinary size, an absolute 1e-8 bound for flat ones.
#
# Tiny configurations also produce keys k = tanh(raw) close to 0 (x = 0, zero biases,
# H = 1, or M = 1 where k is a single scalar). The smoothed norm makes cosine similarity
# curve on the scale max(|k|, sqrt(NORM_EPS) = 1e-4), and a central difference with
# h = 1e-6 is off by ~(h / |k|)**2 relative: measured 1.2e-6 and 1.3e-6 on two such draws,
# falling exactly as h**2 with smaller steps (truncation, not a backward error). So this
# test uses Richardson extrapolation of the steps h and h/2, accurate to ~(h / |k|)**4.


@given(model_cases(max_T=3))
def test_whole_model_gradient_small_configs(case):
    model, x, rng = case
    errors = model_gradient_errors(model, x, rng, floor=FLAT_FLOOR, richardson=True)
    _record("whole model, hypothesis configs", list(errors.values()))
    bad = {k: v for k, v in errors.items() if not v < TOL}
    assert not bad, (model.config, bad)


# ----------------------------------------------------------------------------------------
# contracts
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("controller", CONTROLLERS)
@pytest.mark.parametrize("memory_init", MEMORY_INITS)
def test_backward_returns_exactly_the_params(controller, memory_init):
    model = NTM(**GRAD_CONFIG, controller=controller, memory_init=memory_init)
    assert {k: v.shape for k, v in model.params.items()} == expected_shapes(model.config)
    x = np.random.default_rng(0).standard_normal((3, 2, 3))
    logits, cache = model.forward(x)
    assert logits.shape == (3, 2, 2)
    grads = model.backward(np.random.default_rng(1).standard_normal(logits.shape), cache)
    assert list(grads) == list(model.params)
    for k in model.params:
        assert grads[k].shape == model.params[k].shape, k
        assert grads[k].dtype == model.params[k].dtype, k
        assert np.all(np.isfinite(grads[k])), k


@given(model_cases())
def test_forward_has_no_hidden_state(case):
    model, x, rng = case
    first, cache = model.forward(x)
    other = rng.standard_normal(x.shape)
    model.forward(other)
    second, _ = model.forward(x)
    np.testing.assert_array_equal(first, second)
    # backward does not change anything either
    d = rng.standard_normal(first.shape)
    g1 = model.backward(d, cache)
    g2 = model.backward(d, cache)
    for k in g1:
        np.testing.assert_array_equal(g1[k], g2[k])
    np.testing.assert_array_equal(model.forward(x)[0], first)


def test_forward_does_not_modify_its_input():
    model = make_model(0.3, 0, **GRAD_CONFIG)
    x = np.random.default_rng(0).standard_normal((4, 2, 3))
    x0 = x.copy()
    params0 = {k: v.copy() for k, v in model.params.items()}
    logits, cache = model.forward(x)
    model.backward(np.ones_like(logits), cache)
    np.testing.assert_array_equal(x, x0)
    for k in params0:
        np.testing.assert_array_equal(model.params[k], params0[k])


@pytest.mark.parametrize("name", ["output_b", "heads_W", "controller_Wr", "weighting_init",
                                  "read_init", "memory_init"])
def test_in_place_param_change_affects_the_next_forward(name):
    model = make_model(0.3, 1, memory_init="learned", **GRAD_CONFIG)
    x = np.random.default_rng(2).standard_normal((3, 2, 3))
    before, _ = model.forward(x)
    value = model.params[name]
    value *= 1.5  # in place: the same array object (a plain shift would leave the
    value += 0.5  # softmax of weighting_init unchanged)
    after, _ = model.forward(x)
    assert np.abs(after - before).max() > 1e-6
    want, _ = ref.ntm_forward(model.params, model.config, x, model.memory_buffer)
    np.testing.assert_allclose(after, want, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("controller", CONTROLLERS)
@pytest.mark.parametrize("memory_init", MEMORY_INITS)
def test_float32_model_is_close_to_float64(controller, memory_init):
    kw = dict(GRAD_CONFIG, controller=controller, memory_init=memory_init, seed=5)
    m64 = NTM(**kw)
    m32 = NTM(**kw, dtype=np.float32)
    for k, v in m32.params.items():
        assert v.dtype == np.float32, k
        np.testing.assert_allclose(v, m64.params[k], rtol=1e-6, atol=1e-7)
    x = np.random.default_rng(3).standard_normal((6, 2, 3))
    y64, c64 = m64.forward(x)
    y32, c32 = m32.forward(x.astype(np.float32))
    assert y32.dtype == np.float32
    np.testing.assert_allclose(y32, y64, rtol=1e-4, atol=1e-4)
    d = np.random.default_rng(4).standard_normal(y64.shape)
    g64 = m64.backward(d, c64)
    g32 = m32.backward(d.astype(np.float32), c32)
    for k in g64:
        assert g32[k].dtype == np.float32, k
        scale = max(np.abs(g64[k]).max(), 1e-3)
        assert np.abs(g32[k] - g64[k]).max() / scale < 1e-3, k


@given(model_cases())
def test_trace_shapes_and_distributions(case):
    model, x, _ = case
    c = model.config
    T, B, _ = x.shape
    N, M, R, W = c["memory_rows"], c["memory_width"], c["read_heads"], c["write_heads"]
    K, S = R + W, 2 * c["shift_range"] + 1
    logits, cache = model.forward(x)
    tr = cache.trace()
    assert tr.memory.shape == (T + 1, B, N, M)
    for stage in (tr.content, tr.gated, tr.shifted, tr.weights):
        assert stage.shape == (T, K, B, N)
        assert np.all(stage >= 0)
        np.testing.assert_allclose(stage.sum(axis=-1), 1.0, atol=1e-8)
    assert tr.key.shape == (T, K, B, M)
    for a in (tr.beta, tr.g, tr.gamma):
        assert a.shape == (T, K, B)
    assert np.all(tr.beta >= 0) and np.all((tr.g >= 0) & (tr.g <= 1)) and np.all(tr.gamma >= 1)
    assert tr.shift.shape == (T, K, B, S)
    np.testing.assert_allclose(tr.shift.sum(axis=-1), 1.0, atol=1e-12)
    assert tr.erase.shape == tr.add.shape == (T, W, B, M)
    assert np.all((tr.erase >= 0) & (tr.erase <= 1)) and np.all(np.abs(tr.add) <= 1)
    assert tr.reads.shape == (T, R, B, M)
    assert tr.read_heads == R
    assert tr.read_weights.shape == (T, R, B, N) and tr.write_weights.shape == (T, W, B, N)
    # the recorded quantities are consistent with each other: eq (2) on the memory before
    # the step, and the first memory is the initial one
    np.testing.assert_array_equal(tr.memory[0], model.initial_memory(B))
    for t in range(T):
        for r in range(R):
            np.testing.assert_allclose(tr.reads[t, r], ref.read(tr.memory[t], tr.weights[t, r]),
                                       rtol=1e-10, atol=1e-12)
    assert cache.trace() is tr


# ----------------------------------------------------------------------------------------
# bad input: ValueError naming the argument
# ----------------------------------------------------------------------------------------
def _raises_naming(name):
    # the package's messages start with the argument's name, "name: expected ..."
    return pytest.raises(ValueError, match=rf"^{re.escape(name)}\b")


@pytest.mark.parametrize(
    "x",
    [
        np.zeros((3, 2, 4)),  # wrong width
        np.zeros((3, 2)),  # wrong ndim
        np.zeros((1, 3, 2, 3)),
        np.array([[[0.0, np.nan, 0.0]]]),
        np.array([[[0.0, np.inf, 0.0]]]),
        np.zeros((0, 2, 3)),  # no time step
        [[[0.0, 0.0, 0.0]]],  # not an array
    ],
)
def test_forward_rejects_bad_x(x):
    model = NTM(**GRAD_CONFIG)
    with _raises_naming("x"):
        model.forward(x)


@pytest.mark.parametrize("shape", [(3, 2, 3), (2, 2, 2), (3, 2), (3, 1, 2)])
def test_backward_rejects_bad_dlogits(shape):
    model = NTM(**GRAD_CONFIG)
    _, cache = model.forward(np.zeros((3, 2, 3)))
    with _raises_naming("dlogits"):
        model.backward(np.zeros(shape), cache)


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("input_size", dict(input_size=0)),
        ("input_size", dict(input_size=2.0)),
        ("output_size", dict(output_size=0)),
        ("controller_size", dict(controller_size=-1)),
        ("memory_rows", dict(memory_rows=0)),
        ("memory_width", dict(memory_width=0)),
        ("read_heads", dict(read_heads=0)),
        ("write_heads", dict(write_heads=0)),
        ("shift_range", dict(shift_range=-1)),
        ("shift_range", dict(shift_range=True)),
        ("controller", dict(controller="gru")),
        ("memory_init", dict(memory_init="zeros")),
        ("head_init", dict(head_init="forward")),
        ("seed", dict(seed=-1)),
        ("dtype", dict(dtype=int)),
        ("dtype", dict(dtype=np.int32)),
        ("dtype", dict(dtype=np.float16)),
        ("dtype", dict(dtype="not a dtype")),
    ],
)
def test_constructor_rejects_bad_arguments(name, kwargs):
    args = dict(input_size=2, output_size=2, controller_size=3, memory_rows=4, memory_width=3)
    args.update(kwargs)
    with _raises_naming(name):
        NTM(**args)


# ----------------------------------------------------------------------------------------
# the two steps: reference (the primitives, through model.ops) and fused
# ----------------------------------------------------------------------------------------
#: relative agreement of the two steps in float64 (they differ by rounding only)
SAME = 1e-10


def _rel_to(a, b, scale):
    """Largest difference over max(scale, largest entry of a or b)."""
    scale = max(np.abs(a).max(initial=0.0), np.abs(b).max(initial=0.0), scale)
    return float(np.abs(a - b).max(initial=0.0) / scale)


def _run(model, x, dlogits, implementation):
    model.implementation = implementation
    logits, cache = model.forward(x)
    grads, carried = model.backward(dlogits, cache, return_carried=True)
    return logits, grads, carried, cache.trace()


@given(model_cases(max_T=4))
def test_reference_and_fused_steps_agree(case):
    """Same logits, every parameter gradient, every carried gradient and every trace
    field, to 1e-10 relative, over drawn configurations (LSTM and feed-forward, 1-2 read
    and write heads, shift ranges with more offsets than rows, each memory init)."""
    model, x, rng = case
    dlogits = rng.standard_normal((x.shape[0], x.shape[1], model.config["output_size"]))
    ref_run = _run(model, x, dlogits, "reference")
    fused_run = _run(model, x, dlogits, "fused")
    logits_r, grads_r, carried_r, trace_r = ref_run
    logits_f, grads_f, carried_f, trace_f = fused_run
    assert _rel_to(logits_f, logits_r, 1.0) < SAME
    assert set(grads_f) == set(grads_r) == set(model.params)
    # a gradient that is 0 in truth (N = 1) may be round-off in one step: relative to the
    # largest gradient of the model, every entry agrees to 1e-10
    scale = max(np.abs(g).max() for g in grads_r.values())
    for name in grads_r:
        assert _rel_to(grads_f[name], grads_r[name], scale) < SAME, name
    for t, (cr, cf) in enumerate(zip(carried_r, carried_f)):
        assert set(cr) == set(cf)
        for key in cr:
            assert _rel_to(cf[key], cr[key], scale) < SAME, (t, key)
    for name in ("memory", "content", "gated", "shifted", "weights", "key", "beta", "g",
                 "gamma", "shift", "erase", "add", "reads"):
        a, b = getattr(trace_r, name), getattr(trace_f, name)
        assert a.shape == b.shape, name
        assert _rel_to(b, a, 1.0) < SAME, name


def test_default_step_is_the_reference_step():
    model = NTM(2, 2, controller_size=3, memory_rows=4, memory_width=3)
    assert model.implementation == "reference"
    # checkpoints do not depend on the implementation
    assert "step" not in model.config and "implementation" not in model.config


def _small_model(**kw):
    return make_model(0.3, 5, input_size=3, output_size=2, controller_size=3, memory_rows=5,
                      memory_width=3, read_heads=1, write_heads=2, seed=2, **kw)


def test_replacing_a_primitive_changes_the_gradient_accordingly():
    """A sharpen_backward that drops dgamma: the gamma columns of the head map get exactly
    no gradient, every other parameter still gets one, and restoring the package's own
    function restores the gradient."""
    from ntm_numpy.addressing import sharpen_backward
    from ntm_numpy.reference_step import DEFAULT_OPS

    model = _small_model()
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 2, 3))
    dlogits = rng.standard_normal((5, 2, 2))
    want = model.backward(dlogits, model.forward(x)[1])
    assert model.ops["sharpen_backward"] is sharpen_backward

    def no_dgamma(dout, cache):
        dw, dgamma = sharpen_backward(dout, cache)
        return dw, np.zeros_like(dgamma)

    model.ops["sharpen_backward"] = no_dgamma
    got = model.backward(dlogits, model.forward(x)[1])
    L = model.layout
    gamma_cols = np.arange(L.P).reshape(1, -1)[:, L.addressing].reshape(L.K, L.A)[:, L.gamma]
    gamma_cols = gamma_cols.ravel()
    assert np.all(want["heads_b"][gamma_cols] != 0)
    np.testing.assert_array_equal(got["heads_b"][gamma_cols], 0.0)
    np.testing.assert_array_equal(got["heads_W"][:, gamma_cols], 0.0)
    assert not np.allclose(got["controller_Wx"], want["controller_Wx"])
    # the same replacement given to the constructor
    other = NTM(**model.config, ops={"sharpen_backward": no_dgamma})
    other.params = model.params
    again = other.backward(dlogits, other.forward(x)[1])
    for name in got:
        np.testing.assert_array_equal(again[name], got[name])
    model.ops["sharpen_backward"] = DEFAULT_OPS["sharpen_backward"]
    restored = model.backward(dlogits, model.forward(x)[1])
    for name in want:
        np.testing.assert_array_equal(restored[name], want[name])


@pytest.mark.parametrize("controller", CONTROLLERS)
def test_backward_calls_every_primitive_backward_of_the_step(controller):
    """On the default step, the model's forward and backward call each of the step's
    primitives once per time step (write_* once per write head)."""
    from ntm_numpy.reference_step import DEFAULT_OPS

    ops, calls = counting_ops()
    model = _small_model(controller=controller, ops=ops)
    T = 4
    x = np.random.default_rng(0).standard_normal((T, 2, 3))
    logits, cache = model.forward(x)
    model.backward(np.ones_like(logits), cache)
    unused = "tanh" if controller == "lstm" else "lstm_gates"
    W = model.config["write_heads"]
    for name in DEFAULT_OPS:
        prim = name.rsplit("_", 1)[0]
        expected = 0 if prim == unused else T * (W if prim == "write" else 1)
        assert calls.get(name, 0) == expected, (name, calls.get(name, 0), expected)


def test_ops_errors_name_the_valid_choices():
    from ntm_numpy.reference_step import DEFAULT_OPS

    c = dict(input_size=2, output_size=2, controller_size=3, memory_rows=4, memory_width=3)
    with pytest.raises(ValueError, match="unknown primitive 'write_bakward'.*write_backward"):
        NTM(**c, ops={"write_bakward": lambda *a: a})
    model = NTM(**c)
    with pytest.raises(ValueError, match="ops: unknown primitive 'softmax'"):
        model.ops["softmax"] = DEFAULT_OPS["shift_forward"]
    with pytest.raises(ValueError, match="expected a callable"):
        model.ops["shift_forward"] = 3
    with pytest.raises(ValueError, match="expected implementation='reference', got "
                       "implementation='fused'"):
        NTM(**c, implementation="fused", ops={"write_backward": DEFAULT_OPS["write_backward"]})
    with pytest.raises(ValueError, match="^implementation: expected one of"):
        NTM(**c, implementation="fast")
    # a replacement made after construction, then a switch to the fused step
    model.ops["write_backward"] = lambda *a: DEFAULT_OPS["write_backward"](*a)
    model.implementation = "fused"
    with pytest.raises(ValueError, match=r"ops: \['write_backward'\] replaced"):
        model.forward(np.zeros((1, 1, 2)))


def _loss_with_nudge(model, x, dlogits, name, call, where, delta):
    """sum(logits * dlogits) with ``delta`` added, at the ``call``-th call of primitive
    ``name``, to its output memory (``where="out"``) or to its argument ``where``."""
    from ntm_numpy.reference_step import DEFAULT_OPS

    count = [0]

    def fn(*args):
        args = list(args)
        hit = count[0] == call
        count[0] += 1
        if hit and where != "out":
            args[where] = args[where] + delta
        out, cache = DEFAULT_OPS[name](*args)
        if hit and where == "out":
            out = out + delta
        return out, cache

    nudged = model.copy()
    nudged.ops[name] = fn
    return float(np.sum(nudged.forward(x)[0] * dlogits))


# carried key -> (primitive to nudge, its call number for step t, argument or output):
# M_t is write_forward's output at step t (one write head); r_t read_forward's; w_t is
# interpolation_forward's w_prev at step t+1, c_t lstm_gates_forward's c_prev at t+1
_CARRIED = {"memory": ("write_forward", 0, "out"), "read": ("read_forward", 0, "out"),
            "weighting": ("interpolation_forward", 1, 1), "cell": ("lstm_gates_forward", 1, 1)}


@pytest.mark.parametrize("key", sorted(_CARRIED))
def test_carried_gradients_against_central_differences(key):
    """carried[t][key] is the gradient step t's backward receives: nudge that value
    where the forward hands it on (through a wrapped primitive) and difference the loss."""
    model = make_model(0.3, 1, input_size=2, output_size=2, controller_size=3,
                       memory_rows=4, memory_width=3, read_heads=1, write_heads=1,
                       memory_init="random", seed=4)
    rng = np.random.default_rng(5)
    T, B, t = 5, 2, 2
    x = rng.standard_normal((T, B, 2))
    dlogits = rng.standard_normal((T, B, 2))
    logits, cache = model.forward(x)
    grads, carried = model.backward(dlogits, cache, return_carried=True)
    assert len(carried) == T
    for k in ("memory", "weighting", "cell"):  # nothing comes back from after the last step
        np.testing.assert_array_equal(carried[-1][k], 0.0)
    name, offset, where = _CARRIED[key]
    want = carried[t][key]
    want = want.reshape(-1, *want.shape[-1:]) if key in ("read", "weighting") else want
    num = np.zeros_like(want)
    h = GRADCHECK_STEP
    for idx in np.ndindex(want.shape):
        delta = np.zeros_like(want)
        delta[idx] = h
        plus = _loss_with_nudge(model, x, dlogits, name, t + offset, where, delta)
        minus = _loss_with_nudge(model, x, dlogits, name, t + offset, where, -delta)
        num[idx] = (plus - minus) / (2 * h)
    assert np.abs(want).max() > 1e-3
    assert rel_error(want, num, REL_ERROR_FLOOR) < TOL


def test_step_is_a_deprecated_alias_of_implementation():
    c = dict(input_size=2, output_size=2, controller_size=3, memory_rows=4, memory_width=3)
    with pytest.warns(DeprecationWarning, match=r"NTM\(step=\.\.\.\)"):
        model = NTM(**c, step="fused")
    assert model.implementation == "fused"
    with pytest.warns(DeprecationWarning, match=r"NTM\.step .*NTM\.implementation"):
        assert model.step == "fused"
    with pytest.warns(DeprecationWarning, match=r"NTM\.step"):
        model.step = "reference"
    assert model.implementation == "reference"
    _, cache = model.forward(np.zeros((2, 1, 2)))
    assert cache.implementation == "reference"
    with pytest.warns(DeprecationWarning, match=r"ForwardCache\.step"):
        assert cache.step == "reference"
    assert "implementation='reference'" in repr(model)


# ----------------------------------------------------------------------------------------
# the heads' initial biases
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("R, W", [(1, 1), (2, 3)])
def test_write_forward_sets_only_the_write_heads_gate_shift_and_gamma(R, W):
    zero = NTM(5, 4, controller_size=6, memory_rows=9, memory_width=4, read_heads=R,
               write_heads=W, seed=3)
    walk = NTM(5, 4, controller_size=6, memory_rows=9, memory_width=4, read_heads=R,
               write_heads=W, seed=3, head_init="write_forward")
    assert not zero.params["heads_b"].any()
    for name in zero.params:  # the same draw for everything else
        if name != "heads_b":
            np.testing.assert_array_equal(zero.params[name], walk.params[name])
    L = walk.layout
    blocks = walk.params["heads_b"][L.addressing].reshape(L.K, L.A)
    assert not blocks[:R].any() and not walk.params["heads_b"][L.erase_add].any()
    for block in blocks[R:]:
        assert block[L.g] == WRITE_FORWARD_GATE_BIAS
        assert block[L.gamma] == WRITE_FORWARD_GAMMA_BIAS
        assert list(block[L.s]) == [0.0] * (L.S - 1) + [WRITE_FORWARD_SHIFT_BIAS]
        assert not block[L.key].any() and not block[L.beta].any()
    assert walk.config["head_init"] == "write_forward"


def test_write_forward_heads_walk_one_row_per_step():
    """With the head map's weights at 0 the write head follows its biases alone: from
    its initial row 0 it moves to row t + 1 at step t, where the zero biases leave it
    spread out."""
    T, N = 6, 16
    x = np.random.default_rng(0).standard_normal((T, 2, 5))
    peaks = {}
    for head_init in ("zero", "write_forward"):
        model = NTM(5, 4, controller_size=6, memory_rows=N, memory_width=4, seed=1,
                    head_init=head_init)
        model.params["heads_W"][:] = 0
        w = model.trace(x).write_weights[:, 0]  # (T, B, N)
        peaks[head_init] = (w.argmax(-1), w.max(-1))
    rows, weight = peaks["write_forward"]
    np.testing.assert_array_equal(rows, np.arange(1, T + 1)[:, None].repeat(2, 1))
    assert weight.min() > 0.5
    assert peaks["zero"][1][-1].max() < 0.5
