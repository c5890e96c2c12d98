"""Checkpoint file format: parameters, optimiser state and a JSON header in one ``.npz``.

Layout (format version 1)
-------------------------
A zip archive written by :func:`numpy.savez_compressed` holding, as ``.npy`` members:

``param/<name>``
    One array per model parameter.
``state/<name>``
    One array per entry of the optional extra state (e.g. an optimiser's
    ``state_dict()``, whose scalars are 0-d arrays).
``__header__``
    A 0-d unicode array holding a JSON object::

        {"format_version": 1,
         "created_by": {"ntm_numpy": "...", "numpy": "..."},
         "config": {...},                  # the model configuration (JSON)
         "meta": {...},                    # free-form: training step, optimiser config ...
         "params": [{"name": ..., "shape": [...], "dtype": "<f4", "sha256": "..."}, ...],
         "state":  [{"name": ..., "shape": [...], "dtype": "<f8", "sha256": "..."}, ...]}

    ``sha256`` is the hex digest of the array's bytes in C order, so corruption that the
    zip CRC does not catch (or a member swapped for another) is still detected.

Nothing is pickled: every member is a plain numeric (or unicode) array and the file is
read with ``allow_pickle=False``. ``config`` and ``meta`` round-trip through JSON, so
tuples come back as lists and dict keys as strings.

Guarantees
----------
* :func:`save_checkpoint` is atomic: the archive is written to a temporary file in the
  destination directory, flushed and fsync'ed, then moved onto ``path`` with
  :func:`os.replace`. If anything fails, the temporary file is removed and whatever
  was at ``path`` before is untouched. The path is used exactly as given (no ``.npz``
  suffix is appended).
* :func:`load_checkpoint` either returns the exact arrays that were saved (same names,
  shapes, dtypes and bytes) or raises :class:`CheckpointError`.
* Loading is bounded in time and memory: only a regular file is read (opened without
  blocking, then checked: a FIFO, a device or a directory is refused), of at most
  :data:`ntm_numpy.constants.MAX_CHECKPOINT_BYTES`; the JSON header is at most
  :data:`~ntm_numpy.constants.MAX_CHECKPOINT_HEADER_CHARS` long and
  :data:`~ntm_numpy.constants.MAX_CHECKPOINT_HEADER_DEPTH` deep; each member's .npy header (shape, dtype) is read and checked
  against the JSON header, and the JSON header against the caller's expectations
  (``expect``), before any array data is decompressed.
* A temporary file left by a writer that was killed during a save (its name holds the
  writer's process id) is removed by the next save to the same path.
* A new checkpoint's permissions are ``0o666`` less the umask, like any file Python
  creates; an existing checkpoint that is replaced keeps its own.
* Parameters holding NaN or infinity are not saved.
"""
import hashlib
import json
import os
import re
import stat
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "FORMAT_VERSION",
    "Checkpoint",
    "CheckpointError",
    "CheckpointNotFoundError",
    "save_checkpoint",
    "load_checkpoint",
]

#: Version of the file layout written by :func:`save_checkpoint`; the only one
#: :func:`load_checkpoint` reads.
FORMAT_VERSION = 1

HEADER_KEY = "__header__"
PARAM_PREFIX = "param/"
STATE_PREFIX = "state/"

def new_file_mode():
    """Permission bits of a newly created checkpoint: ``0o666`` less the process's umask,
    as for any file Python's ``open`` creates (an existing checkpoint keeps its own)."""
    mask = os.umask(0o022)  # reading the umask means setting it: put it straight back
    os.umask(mask)
    return 0o666 & ~mask


class CheckpointError(ValueError):
    """A checkpoint file cannot be read: missing, truncated, corrupted or incompatible."""


class CheckpointNotFoundError(CheckpointError, FileNotFoundError):
    """No file at the given path.

    Both a :class:`CheckpointError` (so ``except CheckpointError`` catches every failure
    to load) and a :class:`FileNotFoundError` (so existing ``except FileNotFoundError``
    code keeps working).
    """


@dataclass
class Checkpoint:
    """Contents of a checkpoint file.

    Attributes
    ----------
    params : dict[str, ndarray]
        Model parameters, in the order they were saved.
    config : dict
        Model configuration (as stored, after a JSON round trip).
    state : dict[str, ndarray]
        Extra arrays, e.g. optimiser state; empty if none was saved.
    meta : dict
        Free-form metadata; empty if none was saved.
    format_version : int
        Version of the file layout.
    """

    params: dict
    config: dict
    state: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    format_version: int = FORMAT_VERSION


# ------------------------------------------------------------------------------ save


def _checksum(a):
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def _check_arrays(argname, arrays):
    """Validate a dict of savable arrays; return a list of header entries."""
    if not isinstance(arrays, Mapping):
        raise ValueError(f"{argname}: expected a dict of numpy arrays, got {type(arrays).__name__}")
    entries = []
    for name, a in arrays.items():
        if not isinstance(name, str) or not name or "\x00" in name:
            raise ValueError(f"{argname}: expected non-empty string names, got the key {name!r}")
        if not isinstance(a, np.ndarray):
            raise ValueError(
                f"{argname}[{name!r}]: expected a numpy.ndarray, got {type(a).__name__}"
            )
        if a.dtype.kind not in "biufc" or a.dtype.fields is not None:
            raise ValueError(
                f"{argname}[{name!r}]: expected a numeric or boolean array (saved without "
                f"pickle), got dtype {a.dtype}"
            )
        entries.append(
            {"name": name, "shape": list(a.shape), "dtype": a.dtype.str, "sha256": _checksum(a)}
        )
    return entries


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def _to_json(argname, value):
    try:
        return json.dumps(value, default=_json_default)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{argname}: expected a JSON-serialisable dict, got {exc}") from None


def _write_npz(fileobj, arrays):
    """Write ``arrays`` as a compressed npz to an open binary file (a seam for tests)."""
    np.savez_compressed(fileobj, **arrays)


def _fsync_directory(directory):
    """Make the rename durable (POSIX); silently skipped where directories can't be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def save_checkpoint(path, params, config, *, state=None, meta=None):
    """Write parameters, configuration and optional state/metadata to ``path``, atomically.

    Parameters
    ----------
    path : str or os.PathLike
        Destination, used exactly as given (``"model.ckpt"`` stays ``"model.ckpt"``; the
        ``.npz`` suffix is recommended but not added). Its directory must exist.
    params : dict[str, ndarray]
        Model parameters; numeric or boolean dtypes, any shapes.
    config : dict
        JSON-serialisable model configuration (numpy scalars are converted).
    state : dict[str, ndarray], optional
        Extra arrays, e.g. ``optimizer.state_dict()``.
    meta : dict, optional
        JSON-serialisable metadata (training step, optimiser config, ...).

    Raises
    ------
    ValueError
        Invalid arguments, or parameters holding NaN or infinity (checked before
        anything is written).
    OSError
        The file could not be written; the previous file at ``path``, if any, is intact
        and no temporary file is left behind.
    """
    if isinstance(path, bytes) or not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"path: expected a str or os.PathLike, got {type(path).__name__}")
    path = os.fspath(path)
    if not isinstance(path, str) or not path:
        raise ValueError(f"path: expected a non-empty str path, got {path!r}")
    if not isinstance(config, Mapping):
        raise ValueError(f"config: expected a dict, got {type(config).__name__}")
    if meta is None:
        meta = {}
    if not isinstance(meta, Mapping):
        raise ValueError(f"meta: expected a dict or None, got {type(meta).__name__}")
    if state is None:
        state = {}
    param_entries = _check_arrays("params", params)
    for name, a in params.items():
        if a.dtype.kind in "fc" and not np.all(np.isfinite(a)):
            bad = int(a.size - np.count_nonzero(np.isfinite(a)))
            raise ValueError(f"params[{name!r}]: expected finite values, got {bad} NaN/inf "
                             "entries (a diverged model is not saved)")
    state_entries = _check_arrays("state", state)
    from . import __version__  # late import: no cycle whatever order __init__ imports in

    header = {
        "format_version": FORMAT_VERSION,
        "created_by": {"ntm_numpy": __version__, "numpy": np.__version__},
        "config": json.loads(_to_json("config", dict(config))),
        "meta": json.loads(_to_json("meta", dict(meta))),
        "params": param_entries,
        "state": state_entries,
    }
    arrays = {HEADER_KEY: np.array(json.dumps(header))}
    arrays.update({PARAM_PREFIX + k: v for k, v in params.items()})
    arrays.update({STATE_PREFIX + k: v for k, v in state.items()})

    directory = os.path.dirname(os.path.abspath(path))
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        mode = new_file_mode()  # mkstemp creates 0o600 files whatever the umask
    # the temporary file's name holds this process's id, so that one left by a writer
    # that died (SIGKILL during a save) can be told from one being written right now
    prefix = f".{os.path.basename(path)}.{os.getpid()}."
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            _write_npz(f, arrays)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_directory(directory)
    _remove_stale_temporaries(directory, os.path.basename(path))


def _remove_stale_temporaries(directory, name):
    """Remove the temporary files of saves to ``name`` whose writer process has died."""
    pattern = re.compile(r"\." + re.escape(name) + r"\.(\d+)\.[^/]*\.tmp\Z")
    try:
        entries = os.listdir(directory)
    except OSError:
        return
    for entry in entries:
        match = pattern.match(entry)
        if match is None or _process_alive(int(match.group(1))):
            continue
        try:
            os.unlink(os.path.join(directory, entry))
        except OSError:
            pass


def _process_alive(pid):
    """Whether a process with this id exists (another user's counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


# ------------------------------------------------------------------------------ load


def _read_member(zf, info, key, path, check):
    """Read one ``.npy`` member of the archive, checking its header before its data.

    ``check(shape, dtype, fortran_order)`` is called with the member's .npy header and
    raises if the array is not the one expected; only then is its data decompressed.
    """
    fmt = np.lib.format
    try:
        with zf.open(info) as fp:
            version = fmt.read_magic(fp)
            if version == (1, 0):
                shape, fortran, dtype = fmt.read_array_header_1_0(fp)
            elif version == (2, 0):
                shape, fortran, dtype = fmt.read_array_header_2_0(fp)
            else:
                raise ValueError(f".npy format version {version} is not supported")
            if dtype.hasobject:
                raise CheckpointError(f"{path}: array {key!r} holds Python objects ({dtype}); "
                                      "a checkpoint holds only numbers and text")
            check(shape, dtype, fortran)
            count = int(np.prod(shape, dtype=np.int64))
            nbytes = count * dtype.itemsize
            data = fp.read(nbytes)
            if len(data) != nbytes or fp.read(1):
                raise ValueError(f"expected {nbytes} bytes of data, got a different amount")
    except CheckpointError:
        raise
    except Exception as exc:  # zipfile.BadZipFile (CRC), zlib.error, EOFError, ValueError ...
        raise CheckpointError(
            f"{path}: array {key!r} cannot be read, the file is corrupted "
            f"({type(exc).__name__}: {exc})"
        ) from exc
    a = np.frombuffer(data, dtype=dtype, count=count)
    return a.reshape(shape, order="F" if fortran else "C").copy(order="K")


def _parse_entries(section, entries, path):
    if not isinstance(entries, list):
        raise CheckpointError(f"{path}: header field {section!r} should be a list, got "
                              f"{type(entries).__name__}")
    names = set()
    for e in entries:
        ok = (
            isinstance(e, dict)
            and isinstance(e.get("name"), str)
            and isinstance(e.get("shape"), list)
            and all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in e["shape"])
            and isinstance(e.get("dtype"), str)
            and isinstance(e.get("sha256"), str)
        )
        if not ok:
            raise CheckpointError(f"{path}: malformed {section!r} entry in the header: {e!r}")
        if e["name"] in names:
            raise CheckpointError(f"{path}: header lists {section} array {e['name']!r} twice")
        names.add(e["name"])
    return entries


def _open_regular_file(path):
    """Open ``path`` for reading if it is a regular file of at most
    :data:`ntm_numpy.constants.MAX_CHECKPOINT_BYTES`, in bounded time.

    The file is opened without blocking (a FIFO or a device does not make ``open``
    wait) and the open file, not the path, is checked, so nothing can be swapped in
    between (a symbolic link is followed to what it names).
    """
    from .constants import MAX_CHECKPOINT_BYTES

    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
                     | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError as exc:
        raise CheckpointNotFoundError(f"{path}: no checkpoint file at this path") from exc
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot open the checkpoint ({exc})") from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = ("directory" if stat.S_ISDIR(info.st_mode) else
                    "FIFO" if stat.S_ISFIFO(info.st_mode) else
                    "device" if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode) else
                    "socket" if stat.S_ISSOCK(info.st_mode) else "special file")
            raise CheckpointError(f"{path}: cannot open the checkpoint: expected a regular "
                                  f"file, got a {kind}")
        if info.st_size > MAX_CHECKPOINT_BYTES:
            raise CheckpointError(
                f"{path}: a file of {info.st_size:,} bytes, more than the "
                f"{MAX_CHECKPOINT_BYTES:,} a checkpoint may have")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _json_depth(value):
    """How deeply ``value`` (parsed JSON) nests: 0 for a number or a string."""
    depth, level = 0, [(value, 1)]
    while level:
        item, d = level.pop()
        if isinstance(item, (dict, list)):
            depth = max(depth, d)
            level.extend((v, d + 1) for v in (item.values() if isinstance(item, dict)
                                              else item))
    return depth


def load_checkpoint(path, *, expect=None):
    """Read a checkpoint written by :func:`save_checkpoint`.

    Nothing is decompressed before it is known to be expected: the JSON header's size is
    checked (:data:`ntm_numpy.constants.MAX_CHECKPOINT_HEADER_CHARS`) from its member's
    .npy header, then ``expect`` (if given) sees the header's configuration and array
    list, then each array's .npy header (shape, dtype) must match the JSON header before
    its data is read. A crafted file with an oversized member is refused without
    allocating it.

    Parameters
    ----------
    path : str or os.PathLike
    expect : callable, optional
        ``expect(config, params, state)``, with the header's ``config`` dict and its
        ``params`` and ``state`` lists of ``{"name", "shape", "dtype"}`` entries; raises
        :class:`CheckpointError` (or ValueError) to refuse the file before any array is
        read. :func:`ntm_numpy.model.load` checks them against the model's configuration.

    Returns
    -------
    Checkpoint

    Raises
    ------
    CheckpointNotFoundError
        (a :class:`CheckpointError` and a :class:`FileNotFoundError`) no file at ``path``.
    CheckpointError
        The file cannot be read, is not an npz archive (e.g. truncated or overwritten),
        has no or a malformed header, was written in another format version (the message
        names the version found and the one supported), lacks an array the header lists
        or holds one it does not, has an array of the wrong shape or dtype, or an array
        whose checksum does not match; or ``expect`` refused it.
    """
    if isinstance(path, bytes) or not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"path: expected a str or os.PathLike, got {type(path).__name__}")
    path = os.fspath(path)
    with _open_regular_file(path) as f:
        if f.read(6) == b"\x93NUMPY":
            raise CheckpointError(f"{path}: expected an .npz archive, got a single .npy array")
        f.seek(0)
        try:
            zf = zipfile.ZipFile(f)
        except Exception as exc:
            raise CheckpointError(
                f"{path}: not a readable .npz checkpoint (truncated or corrupted?): "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        with zf:
            return _load_zip(zf, path, expect)


def _load_zip(zf, path, expect):
    from .constants import MAX_CHECKPOINT_HEADER_CHARS, MAX_CHECKPOINT_HEADER_DEPTH

    members = {}
    for info in zf.infolist():
        key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
        if key in members:
            raise CheckpointError(f"{path}: the archive holds {info.filename!r} twice")
        members[key] = info
    files = set(members)
    if HEADER_KEY not in files:
        raise CheckpointError(f"{path}: no {HEADER_KEY!r} entry; not an ntm_numpy checkpoint")

    def check_header(shape, dtype, fortran):
        if shape != () or dtype.kind != "U":
            raise CheckpointError(
                f"{path}: header should be a 0-d unicode array, got dtype {dtype}, shape {shape}"
            )
        if dtype.itemsize // 4 > MAX_CHECKPOINT_HEADER_CHARS:
            raise CheckpointError(
                f"{path}: header of {dtype.itemsize // 4} characters, more than the "
                f"{MAX_CHECKPOINT_HEADER_CHARS} a checkpoint may have")

    raw = _read_member(zf, members[HEADER_KEY], HEADER_KEY, path, check_header)
    try:
        header = json.loads(str(raw[()]))
        deep = _json_depth(header) > MAX_CHECKPOINT_HEADER_DEPTH
    except ValueError as exc:
        raise CheckpointError(f"{path}: header is not valid JSON ({exc})") from exc
    except RecursionError:  # nested too deeply for the parser itself
        deep = True
    if deep:
        raise CheckpointError(f"{path}: header nests more than {MAX_CHECKPOINT_HEADER_DEPTH} "
                              "levels deep; not an ntm_numpy checkpoint")
    if not isinstance(header, dict):
        raise CheckpointError(
            f"{path}: header should be a JSON object, got {type(header).__name__}")

    version = header.get("format_version")
    if type(version) is not int or version != FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format version {version!r} found, but only format version "
            f"{FORMAT_VERSION} is supported"
        )
    for key, typ in (("config", dict), ("meta", dict)):
        if not isinstance(header.get(key), typ):
            raise CheckpointError(f"{path}: header field {key!r} missing or not a JSON object")
    sections = {
        PARAM_PREFIX: _parse_entries("params", header.get("params"), path),
        STATE_PREFIX: _parse_entries("state", header.get("state"), path),
    }

    expected = {HEADER_KEY} | {p + e["name"] for p, es in sections.items() for e in es}
    missing = sorted(expected - files)
    if missing:
        raise CheckpointError(f"{path}: arrays listed in the header are missing: {missing}")
    extra = sorted(files - expected)
    if extra:
        raise CheckpointError(f"{path}: arrays not listed in the header: {extra}")
    if expect is not None:
        try:
            expect(header["config"], sections[PARAM_PREFIX], sections[STATE_PREFIX])
        except CheckpointError:
            raise
        except ValueError as exc:
            raise CheckpointError(f"{path}: {exc}") from None

    out = {}
    for prefix, entries in sections.items():
        arrays = {}
        for e in entries:
            key = prefix + e["name"]

            def check(shape, dtype, fortran, e=e, key=key):
                if dtype.str != e["dtype"] or list(shape) != e["shape"]:
                    raise CheckpointError(
                        f"{path}: array {key!r} should have dtype {e['dtype']} and shape "
                        f"{tuple(e['shape'])} according to the header, got dtype {dtype.str} "
                        f"and shape {shape}"
                    )

            a = _read_member(zf, members[key], key, path, check)
            if _checksum(a) != e["sha256"]:
                raise CheckpointError(
                    f"{path}: checksum mismatch for array {key!r}; the file is corrupted")
            arrays[e["name"]] = a
        out[prefix] = arrays
    return Checkpoint(
        params=out[PARAM_PREFIX],
        config=header["config"],
        state=out[STATE_PREFIX],
        meta=header["meta"],
        format_version=version,
    )
