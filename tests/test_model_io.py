"""Tests of model persistence and copies: NTM.save/load, with_memory_rows, copy, astype;
the LSTM baseline (gradients, save/load, input checks); and the BLAS thread guard."""
import os

import numpy as np
import pytest
import threadpoolctl

import ntm_numpy
from ntm_numpy.activations import softmax_forward
from ntm_numpy.baseline import LSTMBaseline
from ntm_numpy.checkpoint import CheckpointError, save_checkpoint
from ntm_numpy.gradcheck import numerical_gradient, rel_error
from ntm_numpy.model import NTM, load
from ntm_numpy.training import threads

SMALL = dict(controller_size=5, memory_rows=6, memory_width=3)


def small_ntm(**kwargs):
    return NTM(3, 2, **{**SMALL, **kwargs})


def x_for(model, T=4, B=2, seed=0):
    X = model.config["input_size"]
    return np.random.default_rng(seed).standard_normal((T, B, X))


def assert_same_params(a, b):
    assert list(a) == list(b)
    for k in a:
        assert a[k].dtype == b[k].dtype, k
        assert a[k].shape == b[k].shape, k
        assert np.array_equal(a[k], b[k]), k


def perturb(model, seed=1):
    """Move every parameter away from its initial value (so a load cannot just re-init)."""
    rng = np.random.default_rng(seed)
    for v in model.params.values():
        v += (0.1 * rng.standard_normal(v.shape)).astype(v.dtype)


# ---------------------------------------------------------------------------- NTM save/load
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("controller", ["lstm", "feedforward"])
@pytest.mark.parametrize("memory_init", ["constant", "random", "learned"])
def test_ntm_save_load_round_trip(tmp_path, dtype, controller, memory_init):
    model = small_ntm(controller=controller, memory_init=memory_init, dtype=dtype, seed=2,
                      read_heads=2)
    perturb(model)
    path = tmp_path / "m.npz"
    model.save(path)
    loaded = load(path)
    assert isinstance(loaded, NTM)
    assert loaded.config == model.config
    assert loaded.dtype == model.dtype == np.dtype(dtype)
    assert_same_params(loaded.params, model.params)
    x = x_for(model)
    out, _ = model.forward(x)
    out_loaded, _ = loaded.forward(x)
    assert out_loaded.dtype == np.dtype(dtype)
    assert np.array_equal(out, out_loaded)
    # the package-level load is the same function
    assert_same_params(ntm_numpy.load(str(path)).params, model.params)


def test_save_load_with_state_and_meta(tmp_path):
    model = small_ntm()
    state = {"adam.step": np.array(3, dtype=np.int64), "adam.m.x": np.ones(4)}
    meta = {"step": 3, "note": "hello"}
    model.save(tmp_path / "m.npz", state=state, meta=meta)
    loaded, ckpt = load(tmp_path / "m.npz", return_checkpoint=True)
    assert ckpt.meta == meta
    assert list(ckpt.state) == list(state)
    assert all(np.array_equal(ckpt.state[k], state[k]) for k in state)
    assert_same_params(loaded.params, model.params)


def test_loaded_params_are_writable_and_independent_of_the_file(tmp_path):
    model = small_ntm()
    model.save(tmp_path / "m.npz")
    a, b = load(tmp_path / "m.npz"), load(tmp_path / "m.npz")
    a.params["output_b"] += 1.0
    assert not np.array_equal(a.params["output_b"], b.params["output_b"])


def test_load_param_shape_mismatch_names_the_parameter(tmp_path):
    model = small_ntm()
    params = dict(model.params)
    params["heads_W"] = np.zeros((model.params["heads_W"].shape[0] + 1,
                                  model.params["heads_W"].shape[1]), dtype=model.dtype)
    path = tmp_path / "bad.npz"
    save_checkpoint(path, params, model.config)
    with pytest.raises(CheckpointError, match="heads_W"):
        load(path)


def test_load_param_dtype_mismatch_names_the_parameter(tmp_path):
    model = small_ntm(dtype="float64")
    params = dict(model.params)
    params["output_b"] = params["output_b"].astype(np.float32)
    save_checkpoint(tmp_path / "bad.npz", params, model.config)
    with pytest.raises(CheckpointError, match="output_b"):
        load(tmp_path / "bad.npz")


def test_load_missing_or_extra_parameter(tmp_path):
    model = small_ntm()
    params = {k: v for k, v in model.params.items() if k != "read_init"}
    save_checkpoint(tmp_path / "missing.npz", params, model.config)
    with pytest.raises(CheckpointError, match="read_init"):
        load(tmp_path / "missing.npz")
    params = {**model.params, "extra": np.zeros(2)}
    save_checkpoint(tmp_path / "extra.npz", params, model.config)
    with pytest.raises(CheckpointError, match="extra"):
        load(tmp_path / "extra.npz")


def test_load_unknown_kind(tmp_path):
    model = small_ntm()
    save_checkpoint(tmp_path / "k.npz", model.params, {**model.config, "kind": "gru"})
    with pytest.raises(CheckpointError, match="gru"):
        load(tmp_path / "k.npz")


def test_load_invalid_config(tmp_path):
    model = small_ntm()
    save_checkpoint(tmp_path / "c.npz", model.params, {**model.config, "memory_rows": 0})
    with pytest.raises(CheckpointError, match="memory_rows"):
        load(tmp_path / "c.npz")
    save_checkpoint(tmp_path / "u.npz", model.params, {**model.config, "bogus": 1})
    with pytest.raises(CheckpointError):
        load(tmp_path / "u.npz")


def test_load_missing_file_is_a_checkpoint_error(tmp_path):
    with pytest.raises(CheckpointError):
        load(tmp_path / "nope.npz")
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "nope.npz")


def test_failed_save_leaves_the_previous_file_untouched(tmp_path, monkeypatch):
    model = small_ntm()
    path = tmp_path / "m.npz"
    model.save(path)
    before = path.read_bytes()
    perturb(model)

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.npz"]  # no temporary file left behind


# ---------------------------------------------------------------------------- with_memory_rows
def initial_weighting(model):
    return softmax_forward(model.params["weighting_init"], axis=1)[0]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_with_memory_rows_larger(dtype):
    model = small_ntm(dtype=dtype, read_heads=2, write_heads=1)
    perturb(model)
    big = model.with_memory_rows(16)
    assert big.config["memory_rows"] == 16 and model.config["memory_rows"] == 6
    assert big.dtype == model.dtype
    assert big.params["weighting_init"].shape == (3, 16)
    assert big.initial_memory(2).shape == (2, 16, 3)
    w_old, w_new = initial_weighting(model), initial_weighting(big)
    assert np.all(w_new[:, 6:] < 1e-15)
    np.testing.assert_allclose(w_new[:, :6], w_old, rtol=1e-6, atol=0)
    for k in model.params:
        if k != "weighting_init":
            assert np.array_equal(big.params[k], model.params[k]), k
    logits, cache = big.forward(x_for(big))
    assert logits.shape == (4, 2, 2) and np.all(np.isfinite(logits))
    assert cache.trace().memory.shape[-2:] == (16, 3)


def test_with_memory_rows_smaller_and_same():
    model = small_ntm()
    perturb(model)
    small = model.with_memory_rows(3)
    assert small.params["weighting_init"].shape == (2, 3)
    assert np.array_equal(small.params["weighting_init"], model.params["weighting_init"][:, :3])
    logits, _ = small.forward(x_for(small))
    assert np.all(np.isfinite(logits))
    same = model.with_memory_rows(6)
    assert np.array_equal(same.forward(x_for(model))[0], model.forward(x_for(model))[0])


def test_with_memory_rows_is_independent_of_the_original():
    model = small_ntm()
    big = model.with_memory_rows(10)
    big.params["output_W"] += 1.0
    big.params["weighting_init"] += 1.0
    assert not np.array_equal(big.params["output_W"], model.params["output_W"])
    assert model.params["weighting_init"].shape == (2, 6)


@pytest.mark.parametrize("memory_init", ["random", "learned"])
def test_with_memory_rows_rejects_non_constant_memory(memory_init):
    model = small_ntm(memory_init=memory_init)
    with pytest.raises(ValueError, match="^memory_rows"):
        model.with_memory_rows(12)


@pytest.mark.parametrize("rows", [0, -3, 2.5, True])
def test_with_memory_rows_rejects_bad_rows(rows):
    with pytest.raises(ValueError, match="^memory_rows"):
        small_ntm().with_memory_rows(rows)


# ---------------------------------------------------------------------------- copy / astype
@pytest.mark.parametrize("memory_init", ["constant", "random", "learned"])
def test_copy_is_independent(memory_init):
    model = small_ntm(memory_init=memory_init, dtype="float32")
    perturb(model)
    x = x_for(model)
    other = model.copy()
    assert other.config == model.config and other.dtype == model.dtype
    assert_same_params(other.params, model.params)
    assert np.array_equal(other.forward(x)[0], model.forward(x)[0])
    before = {k: v.copy() for k, v in model.params.items()}
    for v in other.params.values():
        v += 1.0
    assert_same_params(model.params, before)
    for v in model.params.values():
        v -= 1.0
    assert all(not np.array_equal(other.params[k], model.params[k]) for k in model.params)


def test_astype_converts_and_is_independent():
    model = small_ntm(dtype="float64", memory_init="learned")
    perturb(model)
    x = x_for(model)
    m32 = model.astype("float32")
    assert m32.dtype == np.float32 and m32.config["dtype"] == "float32"
    assert model.dtype == np.float64
    for k, v in m32.params.items():
        assert v.dtype == np.float32, k
        np.testing.assert_allclose(v, model.params[k], rtol=1e-6)
    out64, out32 = model.forward(x)[0], m32.forward(x)[0]
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32, out64, rtol=1e-3, atol=1e-4)
    before = {k: v.copy() for k, v in model.params.items()}
    for v in m32.params.values():
        v += 1.0
    assert_same_params(model.params, before)
    # same dtype: still a separate copy
    m64 = model.astype(np.float64)
    m64.params["output_b"] += 1.0
    assert np.array_equal(model.params["output_b"], before["output_b"])


# ---------------------------------------------------------------------------- LSTM baseline
@pytest.mark.parametrize("name", ["lstm_Wx", "lstm_Wh", "lstm_b", "output_W", "output_b"])
def test_lstm_baseline_gradient(name):
    model = LSTMBaseline(3, 2, hidden_size=4, seed=1, dtype=np.float64)
    rng = np.random.default_rng(5)
    for v in model.params.values():
        v += 0.3 * rng.standard_normal(v.shape)
    x = rng.standard_normal((4, 2, 3))
    logits, cache = model.forward(x)
    dlogits = rng.standard_normal(logits.shape)
    grads = model.backward(dlogits, cache)
    assert list(grads) == list(model.params)
    for k, g in grads.items():
        assert g.shape == model.params[k].shape and g.dtype == np.float64, k

    original = model.params[name].copy()

    def f(p):
        model.params[name] = p
        try:
            return model.forward(x)[0]
        finally:
            model.params[name] = original

    num = numerical_gradient(f, original, dlogits)
    err = rel_error(grads[name], num)
    assert err < 1e-6, (name, err)


def test_lstm_baseline_save_load_round_trip(tmp_path):
    model = LSTMBaseline(3, 2, hidden_size=5, seed=2, dtype="float32")
    perturb(model)
    model.save(tmp_path / "b.npz", meta={"step": 7})
    loaded, ckpt = load(tmp_path / "b.npz", return_checkpoint=True)
    assert isinstance(loaded, LSTMBaseline)
    assert loaded.config == model.config and loaded.config["kind"] == "lstm"
    assert loaded.dtype == np.float32
    assert ckpt.meta == {"step": 7}
    assert_same_params(loaded.params, model.params)
    x = x_for(model, T=5)
    assert np.array_equal(loaded.forward(x)[0], model.forward(x)[0])


def test_lstm_baseline_load_shape_mismatch(tmp_path):
    model = LSTMBaseline(3, 2, hidden_size=5)
    params = {**model.params, "lstm_Wh": np.zeros((5, 5))}
    save_checkpoint(tmp_path / "b.npz", params, model.config)
    with pytest.raises(CheckpointError, match="lstm_Wh"):
        load(tmp_path / "b.npz")


@pytest.mark.parametrize("x, name", [
    (np.zeros((4, 3)), "x"),
    (np.zeros((4, 2, 5)), "x"),
    ([[[0.0, 0.0, 0.0]]], "x"),
    (np.full((2, 1, 3), np.nan), "x"),
])
def test_lstm_baseline_rejects_bad_x(x, name):
    with pytest.raises(ValueError, match=f"^{name}"):
        LSTMBaseline(3, 2, hidden_size=4).forward(x)


def test_lstm_baseline_rejects_bad_dlogits():
    model = LSTMBaseline(3, 2, hidden_size=4)
    _, cache = model.forward(np.zeros((4, 2, 3)))
    with pytest.raises(ValueError, match="^dlogits"):
        model.backward(np.zeros((4, 2, 3)), cache)
    with pytest.raises(ValueError, match="^dlogits"):
        model.backward(np.zeros((4, 2)), cache)


@pytest.mark.parametrize("kwargs, name", [
    (dict(input_size=0), "input_size"),
    (dict(output_size=-1), "output_size"),
    (dict(hidden_size=0), "hidden_size"),
    (dict(hidden_size=2.0), "hidden_size"),
    (dict(seed=-1), "seed"),
    (dict(seed=True), "seed"),
    (dict(dtype="float16"), "dtype"),
    (dict(dtype=np.int32), "dtype"),
])
def test_lstm_baseline_rejects_bad_arguments(kwargs, name):
    args = {"input_size": 3, "output_size": 2, **kwargs}
    with pytest.raises(ValueError, match=f"^{name}"):
        LSTMBaseline(args.pop("input_size"), args.pop("output_size"), **args)


def test_lstm_baseline_rejects_unparseable_dtype_with_value_error():
    with pytest.raises(ValueError, match="^dtype"):
        LSTMBaseline(3, 2, dtype="nonsense")


def test_ntm_rejects_unparseable_dtype_with_value_error():
    with pytest.raises(ValueError, match="^dtype"):
        NTM(3, 2, dtype="nonsense")


# ---------------------------------------------------------------------------- BLAS threads
def _blas_threads():
    return [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]


def test_single_blas_thread_restores_the_thread_count():
    if not _blas_threads():
        with threads.single_blas_thread():  # no BLAS threadpoolctl knows: a no-op
            pass
        return
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        before = _blas_threads()
        with threads.single_blas_thread():
            assert set(_blas_threads()) == {1}
            with threads.single_blas_thread():  # nesting
                assert set(_blas_threads()) == {1}
            assert set(_blas_threads()) == {1}
        assert _blas_threads() == before
        with pytest.raises(RuntimeError):
            with threads.single_blas_thread():
                assert set(_blas_threads()) == {1}
                raise RuntimeError("boom")
        assert _blas_threads() == before


def test_single_blas_thread_is_a_context_manager_that_passes_values_through():
    with threads.single_blas_thread() as value:
        result = np.ones((3, 3)) @ np.ones((3, 3))
    assert value is None
    assert np.array_equal(result, np.full((3, 3), 3.0))
