"""Files and numbers a user can trust: bounded loading, umask, size limits, finiteness,
numerical gradients of functions returning views (issue: never lose a run)."""
import os
import tracemalloc

import numpy as np
import pytest

import ntm_numpy
from ntm_numpy import constants
from ntm_numpy.baseline import LSTMBaseline
from ntm_numpy.checkpoint import CheckpointError, _checksum, load_checkpoint
from ntm_numpy.gradcheck import check_backward, numerical_gradient
from ntm_numpy.model import NTM

from support import rewrite_checkpoint

BIG = 20_000_000  # float32 zeros: 80 MB decompressed, about 80 KB compressed


def small_model(dtype=np.float32):
    return NTM(9, 8, controller_size=8, memory_rows=8, memory_width=4, dtype=dtype)


def _peak_mb(fn):
    tracemalloc.start()
    try:
        fn()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak / 1e6


def _refused_with_peak(fn, *words):
    def run():
        with pytest.raises(CheckpointError) as info:
            fn()
        for w in words:
            assert w in str(info.value)

    return _peak_mb(run)


# ------------------------------------------------------------------ bounded loading
def test_a_swapped_oversized_member_is_refused_before_it_is_decompressed(tmp_path):
    path = tmp_path / "crafted.npz"
    small_model().save(path)
    rewrite_checkpoint(path, arrays_fn=lambda a: a.update({"param/output_b": np.zeros(BIG, np.float32)}))
    assert path.stat().st_size < 1_000_000
    peak = _refused_with_peak(lambda: load_checkpoint(path), "param/output_b", "shape",
                              str(BIG))
    assert peak < 20, f"{peak:.0f} MB allocated to refuse the file"


def test_a_consistently_lying_header_is_refused_against_the_model_config(tmp_path):
    """Header and member agree on a huge array; the model's configuration does not."""
    path = tmp_path / "crafted.npz"
    small_model().save(path)
    big = np.zeros(BIG, np.float32)

    def lie(header, arrays):
        arrays["param/output_b"] = big
        for e in header["params"]:
            if e["name"] == "output_b":
                e["shape"] = [BIG]
                e["sha256"] = "0" * 64

    rewrite_checkpoint(path, header_fn=lie)
    peak = _refused_with_peak(lambda: ntm_numpy.load(path), "output_b", "expected shape (8,)")
    assert peak < 20, f"{peak:.0f} MB allocated to refuse the file"


def test_oversized_optimiser_state_is_refused_before_reading(tmp_path):
    path = tmp_path / "state.npz"
    model = small_model()
    model.save(path, state={"adam.m.x": np.zeros(BIG, np.float32)})
    peak = _refused_with_peak(lambda: ntm_numpy.load(path), "extra state")
    assert peak < 20, f"{peak:.0f} MB allocated to refuse the file"


def test_oversized_json_header_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "meta.npz"
    small_model().save(path, meta={"note": "x" * 5000})
    monkeypatch.setattr(constants, "MAX_CHECKPOINT_HEADER_CHARS", 1000)
    with pytest.raises(CheckpointError, match="header of .* characters"):
        load_checkpoint(path)


def test_huge_sizes_in_a_checkpoint_config_are_a_message(tmp_path):
    path = tmp_path / "huge.npz"
    small_model().save(path)

    def huge(header, arrays):
        header["config"]["memory_rows"] = 10**12

    rewrite_checkpoint(path, header_fn=huge)
    with pytest.raises(CheckpointError, match="memory_rows=1000000000000"):
        ntm_numpy.load(path)


@pytest.mark.parametrize("make", [
    lambda: NTM(9, 8, memory_rows=10**12),
    lambda: NTM(9, 8, controller_size=10**6),
    lambda: LSTMBaseline(9, 8, hidden_size=10**6),
])
def test_model_sizes_are_bounded_before_anything_is_allocated(make):
    with pytest.raises(ValueError, match="at most 268,435,456 values"):
        make()


def test_the_default_models_are_well_inside_the_bound():
    model = NTM(9, 8)
    assert sum(v.size for v in model.params.values()) < constants.MAX_MODEL_VALUES / 1000


# ------------------------------------------------------------------------- umask
@pytest.mark.parametrize("umask, mode", [(0o027, 0o640), (0o002, 0o664), (0o077, 0o600)])
def test_new_checkpoints_honour_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        small_model().save(tmp_path / "ck.npz")
        with open(tmp_path / "plain.txt", "w"):
            pass
    finally:
        os.umask(old)
    assert os.stat(tmp_path / "ck.npz").st_mode & 0o777 == mode
    assert os.stat(tmp_path / "plain.txt").st_mode & 0o777 == mode  # as for any file


# -------------------------------------------------------------------- finiteness
def test_inputs_are_checked_finite_after_the_cast():
    x = np.full((3, 2, 9), 1e300)  # finite in float64, inf in float32
    with pytest.raises(ValueError, match="x.*float32.*finite"):
        small_model(np.float32).predict(x)
    with pytest.raises(ValueError, match="x.*float32.*finite"):
        small_model(np.float32).forward(x)
    with pytest.raises(ValueError, match="x.*float32.*finite"):
        LSTMBaseline(9, 8, hidden_size=4, dtype=np.float32).forward(x)
    assert np.all(np.isfinite(small_model(np.float64).predict(x)))


def test_non_finite_parameters_are_not_saved(tmp_path):
    model = small_model()
    path = tmp_path / "ck.npz"
    model.save(path)
    before = path.read_bytes()
    model.params["heads_W"][0, 0] = np.inf
    with pytest.raises(ValueError, match="heads_W.*finite"):
        model.save(path)
    assert path.read_bytes() == before  # the previous checkpoint is untouched


def test_non_finite_parameters_are_refused_on_load(tmp_path):
    """A file with NaN parameters (written by other means than ``save``) is refused."""
    path = tmp_path / "ck.npz"
    small_model().save(path)

    def poison(header, arrays):
        a = arrays["param/output_W"].copy()
        a[0, 0] = np.nan
        arrays["param/output_W"] = a
        for e in header["params"]:
            if e["name"] == "output_W":
                e["sha256"] = _checksum(a)

    rewrite_checkpoint(path, header_fn=poison)
    with pytest.raises(CheckpointError, match="output_W.*NaN or infinite"):
        ntm_numpy.load(path)


# --------------------------------------------------------------------- gradcheck
def test_numerical_gradient_of_a_function_returning_a_view():
    x = np.arange(5.0)
    np.testing.assert_allclose(numerical_gradient(lambda a: a[::2], x),
                               [1.0, 0.0, 1.0, 0.0, 1.0], atol=1e-8)
    np.testing.assert_allclose(numerical_gradient(lambda a: a, x), np.ones(5))


@pytest.mark.parametrize("h", [0.0, -1e-6, float("nan"), float("inf")])
def test_numerical_gradient_rejects_a_bad_step(h):
    with pytest.raises(ValueError, match="^h"):
        numerical_gradient(lambda a: a, np.zeros(2), h=h)
    with pytest.raises(ValueError, match="^h"):
        check_backward(lambda a: (a, None), lambda d, c: (d,), [np.zeros(2)], h=h)


@pytest.mark.parametrize("kwargs, name", [({"tol": float("nan")}, "tol"),
                                          ({"tol": -1.0}, "tol"), ({"h": 0.0}, "h")])
def test_exercise_check_rejects_bad_tolerances(kwargs, name):
    from ntm_numpy.course import exercises

    with pytest.raises(ValueError, match=f"^{name}"):
        exercises.check("read", lambda dout, cache: None, **kwargs)
