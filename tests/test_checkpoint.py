"""Tests of ntm_numpy.checkpoint: round trips, corruption detection, atomic saves."""
import os
import pathlib
import zipfile

import numpy as np
import pytest

from ntm_numpy import checkpoint
from ntm_numpy.checkpoint import (
    FORMAT_VERSION,
    Checkpoint,
    CheckpointError,
    CheckpointNotFoundError,
    load_checkpoint,
    save_checkpoint,
)
from ntm_numpy.optim import Adam

from support import rewrite_checkpoint


def make_params(dtype, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "ctrl_W": rng.normal(size=(12, 20)).astype(dtype),
        "ctrl_b": rng.normal(size=20).astype(dtype),
        "memory_init": np.full((8, 4), 1e-6, dtype=dtype),
        "scalar": np.array(0.5, dtype=dtype),
    }


CONFIG = {"input_size": 10, "output_size": 8, "memory": [128, 20], "controller": "lstm"}


def listing(directory):
    return sorted(os.listdir(directory))


def assert_same_arrays(a, b):
    assert list(a) == list(b)
    for k in a:
        assert a[k].dtype == b[k].dtype, k
        assert a[k].shape == b[k].shape, k
        np.testing.assert_array_equal(a[k], b[k])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_round_trip(tmp_path, dtype):
    params = make_params(dtype)
    opt = Adam()
    opt.step(params, {k: np.ones_like(v) for k, v in params.items()})
    state = opt.state_dict()
    meta = {"step": 1234, "optimizer": opt.config(), "loss": 0.25, "note": "héllo ✓"}
    path = tmp_path / "model.npz"
    save_checkpoint(path, params, CONFIG, state=state, meta=meta)
    ck = load_checkpoint(path)
    assert isinstance(ck, Checkpoint)
    assert ck.format_version == FORMAT_VERSION == 1
    assert ck.config == CONFIG
    assert ck.meta == meta
    assert_same_arrays(ck.params, params)
    assert_same_arrays(ck.state, state)
    # The optimiser state restores exactly.
    opt2 = Adam(**{k: v for k, v in ck.meta["optimizer"].items() if k != "name"})
    opt2.load_state_dict(ck.state)
    assert_same_arrays(opt2.state_dict(), state)
    assert listing(tmp_path) == ["model.npz"]


def test_round_trip_without_state_or_meta_and_str_path(tmp_path):
    params = make_params(np.float32)
    path = str(tmp_path / "m.npz")
    save_checkpoint(path, params, {})
    ck = load_checkpoint(path)
    assert ck.state == {} and ck.meta == {} and ck.config == {}
    assert_same_arrays(ck.params, params)


def test_various_dtypes_and_fortran_order(tmp_path):
    params = {
        "f16": np.arange(6, dtype=np.float16).reshape(2, 3),
        "i64": np.arange(5, dtype=np.int64),
        "bool": np.array([True, False]),
        "fortran": np.asfortranarray(np.arange(12.0).reshape(3, 4)),
        "empty": np.zeros((0, 3)),
        "name/with.dots": np.ones(2),
    }
    path = tmp_path / "d.npz"
    save_checkpoint(path, params, {"t": (1, 2)}, meta={"n": np.int64(3), "x": np.float32(0.5)})
    ck = load_checkpoint(path)
    assert_same_arrays(ck.params, params)
    assert ck.config == {"t": [1, 2]}  # JSON round trip: tuples become lists
    assert ck.meta == {"n": 3, "x": 0.5}


def test_path_without_suffix_is_kept(tmp_path):
    path = tmp_path / "model.ckpt"
    save_checkpoint(path, make_params(np.float32), CONFIG)
    assert listing(tmp_path) == ["model.ckpt"]
    assert load_checkpoint(path).config == CONFIG
    bare = tmp_path / "bare"
    save_checkpoint(str(bare), make_params(np.float32), CONFIG)
    assert listing(tmp_path) == ["bare", "model.ckpt"]


def test_overwrite_replaces(tmp_path):
    path = tmp_path / "m.npz"
    save_checkpoint(path, make_params(np.float32, seed=1), CONFIG, meta={"step": 1})
    save_checkpoint(path, make_params(np.float32, seed=2), CONFIG, meta={"step": 2})
    ck = load_checkpoint(path)
    assert ck.meta["step"] == 2
    assert_same_arrays(ck.params, make_params(np.float32, seed=2))
    assert listing(tmp_path) == ["m.npz"]


def test_file_size_is_compact(tmp_path):
    # ~65k float32 parameters (an NTM of the paper's copy-task size) stay a few hundred KB.
    rng = np.random.default_rng(0)
    params = {"W": rng.normal(size=(256, 256)).astype(np.float32)}
    path = tmp_path / "m.npz"
    save_checkpoint(path, params, CONFIG)
    assert os.path.getsize(path) < 300_000


# ---------------------------------------------------------------------- corruption


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "model.npz"
    save_checkpoint(path, make_params(np.float64), CONFIG, state={"adam.step": np.array(3)}, meta={"step": 3})
    return path


def test_missing_file(tmp_path):
    path = tmp_path / "nope.npz"
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    assert isinstance(info.value, CheckpointNotFoundError)
    assert isinstance(info.value, FileNotFoundError)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.5, 0.9, 0.999])
def test_truncated_file(saved, fraction):
    data = saved.read_bytes()
    saved.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(CheckpointError, match=str(saved).replace("\\", "\\\\")):
        load_checkpoint(saved)


def test_not_an_npz(tmp_path):
    p = tmp_path / "text.npz"
    p.write_text("hello, I am not a checkpoint\n")
    with pytest.raises(CheckpointError):
        load_checkpoint(p)
    p = tmp_path / "single.npy"
    np.save(p, np.zeros(3))
    with pytest.raises(CheckpointError, match="single .npy"):
        load_checkpoint(p)
    with pytest.raises(CheckpointError, match="cannot open"):
        load_checkpoint(tmp_path)  # a directory


def _member_ranges(path):
    """Byte ranges of each member's stored (compressed) data inside the zip."""
    ranges = {}
    with zipfile.ZipFile(path) as zf:
        raw = path.read_bytes()
        for info in zf.infolist():
            off = info.header_offset
            name_len = int.from_bytes(raw[off + 26: off + 28], "little")
            extra_len = int.from_bytes(raw[off + 28: off + 30], "little")
            start = off + 30 + name_len + extra_len
            ranges[info.filename] = (start, start + info.compress_size)
    return ranges


@pytest.mark.parametrize("member", ["param/ctrl_W.npy", "param/scalar.npy", "__header__.npy"])
@pytest.mark.parametrize("seed", range(4))
def test_flipped_bytes_detected(saved, member, seed):
    rng = np.random.default_rng(seed)
    start, stop = _member_ranges(saved)[member]
    data = bytearray(saved.read_bytes())
    for i in rng.choice(np.arange(start, stop), size=min(3, stop - start), replace=False):
        data[i] ^= int(rng.integers(1, 256))
    saved.write_bytes(bytes(data))
    with pytest.raises(CheckpointError):
        load_checkpoint(saved)


def test_checksum_mismatch(saved):
    def change(arrays):
        a = arrays["param/ctrl_W"].copy()
        a[3, 4] += 1e-12
        arrays["param/ctrl_W"] = a

    rewrite_checkpoint(saved, arrays_fn=change)
    with pytest.raises(CheckpointError, match="checksum.*param/ctrl_W"):
        load_checkpoint(saved)


@pytest.mark.parametrize("found", [0, 2, 99, "1", None])
def test_wrong_format_version(saved, found):
    def set_version(h, _arrays):
        h["format_version"] = found

    rewrite_checkpoint(saved, header_fn=set_version)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(saved)
    msg = str(info.value)
    assert repr(found) in msg and f"only format version {FORMAT_VERSION}" in msg


@pytest.mark.parametrize(
    "header_fn, arrays_fn, words",
    [
        (None, lambda a: a.pop("param/ctrl_b"), ["missing", "param/ctrl_b"]),
        (None, lambda a: a.update({"param/extra": np.zeros(2)}), ["not listed", "param/extra"]),
        (None, lambda a: a.update({"param/ctrl_b": np.zeros(21)}), ["param/ctrl_b", "shape", "(20,)", "(21,)"]),
        (None, lambda a: a.update({"param/ctrl_b": a["param/ctrl_b"].astype(np.float32)}),
         ["param/ctrl_b", "dtype", "<f8", "<f4"]),
        (None, lambda a: a.pop("__header__"), ["__header__"]),
        (None, lambda a: a.update({"__header__": np.frombuffer(b"{}", dtype=np.uint8)}), ["header", "unicode"]),
        (None, lambda a: a.update({"__header__": np.array("not json")}), ["JSON"]),
        (None, lambda a: a.update({"__header__": np.array("[1]")}), ["JSON object"]),
        (lambda h, _: h.pop("config"), None, ["config"]),
        (lambda h, _: h.update({"params": {"a": 1}}), None, ["params", "list"]),
        (lambda h, _: h["params"][0].pop("sha256"), None, ["malformed", "params"]),
        (lambda h, _: h["params"].append(dict(h["params"][0])), None, ["twice", "ctrl_W"]),
    ],
)
def test_header_array_mismatch(saved, header_fn, arrays_fn, words):
    rewrite_checkpoint(saved, header_fn=header_fn, arrays_fn=arrays_fn)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(saved)
    for w in words:
        assert w in str(info.value)


def test_no_pickle_needed(saved):
    with np.load(saved, allow_pickle=False) as npz:
        for k in npz.files:
            assert npz[k].dtype != object


# -------------------------------------------------------------------- atomic saves


def test_failed_replace_leaves_previous_untouched(saved, monkeypatch):
    before = saved.read_bytes()

    def boom(src, dst):
        raise OSError("disk on fire")

    monkeypatch.setattr(checkpoint.os, "replace", boom)
    with pytest.raises(OSError, match="disk on fire"):
        save_checkpoint(saved, make_params(np.float32, seed=9), {"other": True})
    monkeypatch.undo()
    assert saved.read_bytes() == before
    assert listing(saved.parent) == [saved.name]
    assert load_checkpoint(saved).meta == {"step": 3}


def test_failure_mid_write_leaves_previous_untouched(saved, monkeypatch):
    before = saved.read_bytes()

    def half_write(f, arrays):
        f.write(b"PK\x03\x04 partial")
        raise KeyboardInterrupt  # even a non-Exception interruption cleans up

    monkeypatch.setattr(checkpoint, "_write_npz", half_write)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(saved, make_params(np.float32), CONFIG)
    assert saved.read_bytes() == before
    assert listing(saved.parent) == [saved.name]


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"params": {"W": np.array([object()], dtype=object)}}, ["params['W']", "dtype object"]),
        ({"params": {"W": [1.0, 2.0]}}, ["params['W']", "ndarray", "list"]),
        ({"params": {"": np.zeros(2)}}, ["params", "name"]),
        ({"params": [np.zeros(2)]}, ["params", "dict"]),
        ({"state": {"s": np.array(["a"])}}, ["state['s']", "dtype"]),
        ({"config": {"f": lambda x: x}}, ["config", "JSON"]),
        ({"config": [1, 2]}, ["config", "dict", "list"]),
        ({"meta": {"a": object()}}, ["meta", "JSON"]),
        ({"meta": "step 3"}, ["meta", "dict", "str"]),
    ],
)
def test_invalid_save_arguments_leave_previous_untouched(saved, kwargs, words):
    before = saved.read_bytes()
    args = {"params": make_params(np.float32), "config": CONFIG}
    args.update(kwargs)
    with pytest.raises(ValueError) as info:
        save_checkpoint(saved, args.pop("params"), args.pop("config"), **args)
    for w in words:
        assert w in str(info.value)
    assert saved.read_bytes() == before
    assert listing(saved.parent) == [saved.name]


def test_bad_path_type(tmp_path):
    with pytest.raises(ValueError, match="path"):
        save_checkpoint(123, make_params(np.float32), CONFIG)
    with pytest.raises(ValueError, match="path"):
        load_checkpoint(None)


def test_missing_directory_fails_cleanly(tmp_path):
    with pytest.raises(FileNotFoundError):
        save_checkpoint(tmp_path / "no" / "m.npz", make_params(np.float32), CONFIG)
    assert listing(tmp_path) == []


def test_existing_file_mode_is_kept(saved):
    os.chmod(saved, 0o600)
    save_checkpoint(saved, make_params(np.float32), CONFIG)
    assert os.stat(saved).st_mode & 0o777 == 0o600


def test_pathlib_and_str_paths_equivalent(tmp_path):
    params = make_params(np.float64)
    save_checkpoint(tmp_path / "a.npz", params, CONFIG)
    save_checkpoint(str(tmp_path / "b.npz"), params, CONFIG)
    a = load_checkpoint(str(tmp_path / "a.npz"))
    b = load_checkpoint(pathlib.Path(tmp_path / "b.npz"))
    assert_same_arrays(a.params, b.params)
