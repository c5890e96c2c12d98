"""Tests of ntm_numpy.optim: clipping, RMSProp (Graves 2013), Adam, state round trips."""
import json
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ntm_numpy import constants
from ntm_numpy._validation import ShapeError
from ntm_numpy.optim import (
    Adam,
    RMSProp,
    clip_elementwise,
    clip_global_norm,
    global_norm,
    make_optimizer,
)

SHAPES = {"W": (3, 4), "b": (4,), "s": ()}


def make_params(rng, dtype=np.float64):
    return {k: rng.normal(size=s).astype(dtype) for k, s in SHAPES.items()}


def grad_sequence(rng, n_steps, scale=1.0):
    return [{k: rng.normal(scale=scale, size=s) for k, s in SHAPES.items()} for _ in range(n_steps)]


# ------------------------------------------------------------- slow transcriptions


def slow_rmsprop(w0, grads, lr, decay, momentum, eps):
    """Graves (2013) eqs 38-41, one scalar at a time, with plain Python floats."""
    w = [float(v) for v in np.ravel(w0)]
    n = [0.0] * len(w)
    gbar = [0.0] * len(w)
    delta = [0.0] * len(w)
    for g_arr in grads:
        g_flat = [float(v) for v in np.ravel(g_arr)]
        for i, g in enumerate(g_flat):
            n[i] = decay * n[i] + (1 - decay) * g * g
            gbar[i] = decay * gbar[i] + (1 - decay) * g
            delta[i] = momentum * delta[i] - lr * g / math.sqrt(n[i] - gbar[i] ** 2 + eps)
            w[i] = w[i] + delta[i]
    return np.array(w).reshape(np.shape(w0))


def slow_adam(w0, grads, lr, beta1, beta2, eps):
    """Kingma & Ba (2015) Algorithm 1, one scalar at a time."""
    w = [float(v) for v in np.ravel(w0)]
    m = [0.0] * len(w)
    v = [0.0] * len(w)
    for t, g_arr in enumerate(grads, start=1):
        for i, g in enumerate(float(x) for x in np.ravel(g_arr)):
            m[i] = beta1 * m[i] + (1 - beta1) * g
            v[i] = beta2 * v[i] + (1 - beta2) * g * g
            m_hat = m[i] / (1 - beta1**t)
            v_hat = v[i] / (1 - beta2**t)
            w[i] = w[i] - lr * m_hat / (math.sqrt(v_hat) + eps)
    return np.array(w).reshape(np.shape(w0))


# decay >= 0.5: for decay -> 0, n - gbar^2 = g^2 - g^2 cancels catastrophically and two
# correct implementations that round differently disagree in the ~8th digit.
hyper_rmsprop = st.fixed_dictionaries(
    {
        "lr": st.floats(1e-5, 1e-1),
        "decay": st.floats(0.5, 0.99),
        "momentum": st.floats(0.0, 0.99),
        "eps": st.floats(1e-6, 1e-2),
    }
)
hyper_adam = st.fixed_dictionaries(
    {
        "lr": st.floats(1e-5, 1e-1),
        "beta1": st.floats(0.0, 0.99),
        "beta2": st.floats(0.0, 0.9999),
        "eps": st.floats(1e-10, 1e-2),
    }
)


@given(hyper_rmsprop, st.integers(0, 2**32 - 1), st.integers(1, 8))
def test_rmsprop_matches_loop(hp, seed, n_steps):
    rng = np.random.default_rng(seed)
    params = make_params(rng)
    start = {k: v.copy() for k, v in params.items()}
    grads = grad_sequence(rng, n_steps, scale=rng.uniform(0.01, 10))
    opt = RMSProp(**hp)
    for g in grads:
        opt.step(params, g)
    for k in params:
        want = slow_rmsprop(start[k], [g[k] for g in grads], **hp)
        np.testing.assert_allclose(params[k], want, rtol=1e-10, atol=1e-12)
    assert opt.step_count == n_steps


@given(hyper_adam, st.integers(0, 2**32 - 1), st.integers(1, 8))
def test_adam_matches_loop(hp, seed, n_steps):
    rng = np.random.default_rng(seed)
    params = make_params(rng)
    start = {k: v.copy() for k, v in params.items()}
    grads = grad_sequence(rng, n_steps, scale=rng.uniform(0.01, 10))
    opt = Adam(**hp)
    for g in grads:
        opt.step(params, g)
    for k in params:
        want = slow_adam(start[k], [g[k] for g in grads], **hp)
        np.testing.assert_allclose(params[k], want, rtol=1e-10, atol=1e-12)


def test_defaults():
    """RMSProp's are Graves (2013)'s; Adam's betas are Kingma & Ba's, its rate and epsilon
    the ones training uses (2e-3 and 1e-4, see ntm_numpy.constants). The same defaults
    reach training: TrainConfig takes them from the same constants."""
    from ntm_numpy.training.config import TrainConfig

    r = RMSProp()
    assert (r.lr, r.decay, r.momentum, r.eps) == (1e-4, 0.95, 0.9, 1e-4)
    a = Adam()
    assert (a.lr, a.beta1, a.beta2, a.eps) == (2e-3, 0.9, 0.999, 1e-4)
    c = TrainConfig()
    assert (c.lr, c.eps) == (a.lr, a.eps)
    assert TrainConfig(optimizer="rmsprop").lr == r.lr


def test_update_is_in_place():
    rng = np.random.default_rng(0)
    for opt in (RMSProp(), Adam()):
        params = make_params(rng)
        ids = {k: id(v) for k, v in params.items()}
        views = {k: v for k, v in params.items()}
        before = {k: v.copy() for k, v in params.items()}
        opt.step(params, grad_sequence(rng, 1)[0])
        for k in params:
            assert id(params[k]) == ids[k]
            assert views[k] is params[k]
            assert not np.array_equal(params[k], before[k])


def quadratic(rng, dtype=np.float64):
    a = {k: rng.uniform(0.5, 2.0, size=s) for k, s in SHAPES.items()}
    target = {k: rng.normal(size=s) for k, s in SHAPES.items()}

    def loss_and_grad(params):
        loss = sum(0.5 * float(np.sum(a[k] * (params[k] - target[k]) ** 2)) for k in params)
        grads = {k: (a[k] * (params[k] - target[k])).astype(dtype) for k in params}
        return loss, grads

    return loss_and_grad


@pytest.mark.parametrize(
    "opt, n_steps",
    [(Adam(lr=0.05), 1000), (RMSProp(lr=1e-2), 500), (RMSProp(), 20000)],
    ids=["adam", "rmsprop", "rmsprop-default"],
)
def test_minimises_quadratic(opt, n_steps):
    rng = np.random.default_rng(1)
    params = make_params(rng)
    f = quadratic(rng)
    loss0, _ = f(params)
    for _ in range(n_steps):
        loss, grads = f(params)
        opt.step(params, grads)
    loss, _ = f(params)
    assert loss < 1e-6 * loss0, (loss0, loss)


@pytest.mark.parametrize("cls", [RMSProp, Adam])
def test_float32_stays_float32(cls):
    rng = np.random.default_rng(2)
    params = make_params(rng, np.float32)
    opt = cls(lr=1e-2)
    f = quadratic(rng, np.float64)  # float64 gradients are cast to the parameter dtype
    for _ in range(5):
        _, grads = f(params)
        opt.step(params, grads)
    assert all(v.dtype == np.float32 for v in params.values())
    sd = opt.state_dict()
    for k, v in sd.items():
        if k.endswith(".step") or f"{opt.name}.t." in k:
            assert v.dtype == np.int64 and v.ndim == 0
        else:
            assert v.dtype == np.float32


# --------------------------------------------------------------------- state dicts


@pytest.mark.parametrize("cls", [RMSProp, Adam])
def test_state_dict_round_trip_gives_identical_trajectory(cls):
    rng = np.random.default_rng(3)
    params = make_params(rng)
    grads = grad_sequence(rng, 10)
    opt = cls(lr=1e-2)
    for g in grads[:4]:
        opt.step(params, g)
    sd = opt.state_dict()
    saved_params = {k: v.copy() for k, v in params.items()}
    # Continue with the original optimiser.
    for g in grads[4:]:
        opt.step(params, g)
    # The returned state is a copy: later steps did not change it.
    fresh = make_optimizer(**opt.config())
    fresh.load_state_dict(sd)
    assert fresh.step_count == 4
    for g in grads[4:]:
        fresh.step(saved_params, g)
    for k in params:
        np.testing.assert_array_equal(saved_params[k], params[k])
    sd_a, sd_b = opt.state_dict(), fresh.state_dict()
    assert sd_a.keys() == sd_b.keys()
    for k in sd_a:
        np.testing.assert_array_equal(sd_a[k], sd_b[k])
        assert sd_a[k].dtype == sd_b[k].dtype


def test_state_dict_names():
    params = {"ctrl_W": np.zeros((2, 3)), "b": np.zeros(3)}
    grads = {"ctrl_W": np.ones((2, 3)), "b": np.ones(3)}
    adam = Adam()
    assert set(adam.state_dict()) == {"adam.step"}
    adam.step(params, grads)
    assert set(adam.state_dict()) == {
        "adam.step", "adam.m.ctrl_W", "adam.v.ctrl_W", "adam.t.ctrl_W", "adam.m.b", "adam.v.b", "adam.t.b",
    }
    assert adam.state_dict()["adam.step"].shape == ()
    rms = RMSProp()
    rms.step(params, grads)
    assert set(rms.state_dict()) == {
        "rmsprop.step", "rmsprop.n.ctrl_W", "rmsprop.g.ctrl_W", "rmsprop.delta.ctrl_W",
        "rmsprop.n.b", "rmsprop.g.b", "rmsprop.delta.b",
    }


def test_param_names_with_dots():
    params = {"ctrl.W.x": np.zeros(2)}
    opt = Adam()
    opt.step(params, {"ctrl.W.x": np.ones(2)})
    other = Adam()
    other.load_state_dict(opt.state_dict())
    assert "adam.m.ctrl.W.x" in other.state_dict()


def _valid_adam_state():
    opt = Adam()
    opt.step({"W": np.zeros((2, 3))}, {"W": np.ones((2, 3))})
    return opt.state_dict()


@pytest.mark.parametrize(
    "mutate, words",
    [
        (lambda d: d.pop("adam.step"), ["adam.step", "missing"]),
        (lambda d: d.pop("adam.v.W"), ["adam.v.W", "missing"]),
        (lambda d: d.update({"rmsprop.n.W": np.zeros((2, 3))}), ["rmsprop.n.W"]),
        (lambda d: d.update({"adam.q.W": np.zeros((2, 3))}), ["adam.q.W"]),
        (lambda d: d.update({"adam.m.W": np.zeros((3, 2))}), ["W", "shape"]),
        (lambda d: d.update({"adam.m.W": [[0.0] * 3] * 2}), ["adam.m.W", "ndarray"]),
        (lambda d: d.update({"adam.t.W": np.array(-1)}), ["adam.t.W", "non-negative"]),
        (lambda d: d.update({"adam.step": np.array([1])}), ["adam.step", "0-d"]),
        (lambda d: d.update({"adam.m.W": np.zeros((2, 3), dtype=int)}), ["adam.m.W", "float"]),
        (lambda d: d["adam.v.W"].__setitem__((1, 2), np.nan), ["adam.v.W", "1 NaN"]),
        (lambda d: d["adam.m.W"].__setitem__((0, 0), -np.inf), ["adam.m.W", "infinite"]),
    ],
)
def test_load_state_dict_rejects_bad_state(mutate, words):
    d = _valid_adam_state()
    mutate(d)
    opt = Adam()
    opt.step({"W": np.zeros((2, 3))}, {"W": np.ones((2, 3))})
    before = opt.state_dict()
    with pytest.raises(ValueError) as info:
        opt.load_state_dict(d)
    for w in words:
        assert w in str(info.value)
    after = opt.state_dict()  # unchanged
    assert before.keys() == after.keys()
    for k in before:
        np.testing.assert_array_equal(before[k], after[k])


def test_loaded_state_must_fit_the_params():
    opt = Adam()
    opt.load_state_dict(_valid_adam_state())
    with pytest.raises(ShapeError, match="W"):
        opt.step({"W": np.zeros((3, 2))}, {"W": np.ones((3, 2))})


def test_config_and_make_optimizer():
    for name, cls in (("rmsprop", RMSProp), ("adam", Adam)):
        opt = make_optimizer(name, lr=0.5)
        assert isinstance(opt, cls)
        cfg = opt.config()
        assert cfg["name"] == name and cfg["lr"] == 0.5
        assert json.loads(json.dumps(cfg)) == cfg
        again = make_optimizer(**cfg)
        assert again.config() == cfg
        assert repr(opt).startswith(cls.__name__)
    with pytest.raises(ValueError) as info:
        make_optimizer("sgd")
    assert "adam" in str(info.value) and "rmsprop" in str(info.value) and "sgd" in str(info.value)
    with pytest.raises(ValueError, match="beta1"):
        make_optimizer("rmsprop", beta1=0.9)


@pytest.mark.parametrize(
    "cls, kwargs, name",
    [
        (RMSProp, {"lr": 0.0}, "lr"),
        (RMSProp, {"lr": -1e-3}, "lr"),
        (RMSProp, {"lr": float("nan")}, "lr"),
        (RMSProp, {"lr": "0.1"}, "lr"),
        (RMSProp, {"lr": True}, "lr"),
        (RMSProp, {"decay": 1.0}, "decay"),
        (RMSProp, {"decay": -0.1}, "decay"),
        (RMSProp, {"momentum": 1.0}, "momentum"),
        (RMSProp, {"eps": 0.0}, "eps"),
        (Adam, {"lr": float("inf")}, "lr"),
        (Adam, {"beta1": 1.0}, "beta1"),
        (Adam, {"beta2": -0.5}, "beta2"),
        (Adam, {"eps": -1e-8}, "eps"),
    ],
)
def test_bad_hyper_parameters(cls, kwargs, name):
    with pytest.raises(ValueError) as info:
        cls(**kwargs)
    assert str(info.value).startswith(name + ":")


@pytest.mark.parametrize(
    "params, grads, exc, words",
    [
        ({"W": np.zeros(2)}, {"V": np.zeros(2)}, ValueError, ["grads", "missing ['W']", "extra ['V']"]),
        ({"W": np.zeros(2)}, {"W": np.zeros(3)}, ShapeError, ["grads['W']", "(2,)", "(3,)"]),
        ({"W": np.zeros(2)}, {"W": np.array([0.0, np.nan])}, ValueError, ["grads['W']", "finite"]),
        ({"W": np.zeros(2, dtype=int)}, {"W": np.zeros(2)}, ValueError, ["params['W']", "float"]),
        ({"W": [0.0, 0.0]}, {"W": np.zeros(2)}, ValueError, ["params['W']", "ndarray"]),
        ({"W": np.zeros(2)}, {"W": [0.0, 0.0]}, ValueError, ["grads['W']", "ndarray"]),
        ([np.zeros(2)], {"W": np.zeros(2)}, ValueError, ["params", "dict"]),
    ],
)
def test_bad_step_arguments(params, grads, exc, words):
    for opt in (RMSProp(), Adam()):
        with pytest.raises(exc) as info:
            opt.step(params, grads)
        for w in words:
            assert w in str(info.value)
        assert opt.step_count == 0


def test_failed_step_changes_nothing():
    params = {"A": np.zeros(2), "B": np.zeros(2)}
    opt = Adam()
    with pytest.raises(ValueError):
        opt.step(params, {"A": np.ones(2), "B": np.array([1.0, np.inf])})
    np.testing.assert_array_equal(params["A"], 0.0)
    sd = opt.state_dict()
    assert list(sd) == ["adam.step"] and int(sd["adam.step"]) == 0


def test_read_only_param_rejected():
    w = np.zeros(2)
    w.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        Adam().step({"W": w}, {"W": np.ones(2)})


# ------------------------------------------------------------------------ clipping


@given(st.integers(0, 2**32 - 1), st.floats(0.1, 20.0))
def test_clip_elementwise(seed, value):
    rng = np.random.default_rng(seed)
    grads = {k: rng.normal(scale=10.0, size=s) for k, s in SHAPES.items()}
    grads["f32"] = rng.normal(scale=10.0, size=5).astype(np.float32)
    originals = {k: v.copy() for k, v in grads.items()}
    clipped = clip_elementwise(grads, value)
    assert clipped.keys() == grads.keys()
    for k, g in grads.items():
        np.testing.assert_array_equal(g, originals[k])  # input untouched
        c = clipped[k]
        assert c.dtype == g.dtype and c.shape == g.shape
        assert np.all(np.abs(c) <= np.asarray(value, dtype=g.dtype))
        inside = np.abs(g) <= value
        np.testing.assert_array_equal(c[inside], g[inside])
        np.testing.assert_array_equal(c[~inside], np.sign(g[~inside]) * np.asarray(value, dtype=g.dtype))


def test_clip_elementwise_default_is_paper_value():
    assert constants.CLIP_VALUE == 10.0
    out = clip_elementwise({"g": np.array([-30.0, -5.0, 0.0, 5.0, 30.0])})
    np.testing.assert_array_equal(out["g"], [-10.0, -5.0, 0.0, 5.0, 10.0])


@given(st.integers(0, 2**32 - 1), st.floats(0.1, 50.0), st.floats(1e-3, 1e3))
def test_clip_global_norm(seed, max_norm, scale):
    rng = np.random.default_rng(seed)
    grads = {k: rng.normal(scale=scale, size=s) for k, s in SHAPES.items()}
    clipped, norm = clip_global_norm(grads, max_norm)
    want = math.sqrt(sum(float(np.sum(g**2)) for g in grads.values()))
    assert norm == pytest.approx(want, rel=1e-12)
    new_norm = global_norm(clipped)
    if want > max_norm:
        assert new_norm == pytest.approx(max_norm, rel=1e-12)
        for k in grads:  # direction kept
            np.testing.assert_allclose(clipped[k], grads[k] * (max_norm / want), rtol=1e-12)
    else:
        for k in grads:
            np.testing.assert_array_equal(clipped[k], grads[k])
            assert clipped[k] is not grads[k]


def test_global_norm_no_overflow():
    grads = {"a": np.full(4, 1e200), "b": np.array([1e-300]), "z": np.zeros(0)}
    clipped, norm = clip_global_norm(grads, 1.0)
    assert norm == pytest.approx(2e200)
    assert global_norm(clipped) == pytest.approx(1.0)
    assert clip_global_norm({}, 1.0) == ({}, 0.0)
    assert global_norm({"a": np.zeros(3)}) == 0.0


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: clip_elementwise({"g": np.ones(2)}, 0.0), "value"),
        (lambda: clip_elementwise({"g": np.ones(2)}, -1.0), "value"),
        (lambda: clip_elementwise({"g": np.array([np.nan])}), "grads['g']"),
        (lambda: clip_elementwise([np.ones(2)]), "grads"),
        (lambda: clip_global_norm({"g": np.ones(2)}, 0.0), "max_norm"),
        (lambda: clip_global_norm({"g": np.array([np.inf])}, 1.0), "grads['g']"),
        (lambda: clip_global_norm({"g": [1.0]}, 1.0), "grads['g']"),
    ],
)
def test_bad_clip_arguments(call, name):
    with pytest.raises(ValueError) as info:
        call()
    assert str(info.value).startswith(name + ":")
