"""Helpers shared by the modules of :mod:`ntm_numpy.plotting`.

The checks of a trace and of array arguments, the figure factory, the colour maps and
colour scales, and the heat map drawn with time on x that most panels are.
"""
import functools
import os
import pathlib

import numpy as np
from matplotlib.colors import Normalize, PowerNorm
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from .._validation import check_positive_number

#: Default exponent of the power-law colour scale of the weightings (0.3: a uniform
#: weighting 1/128 maps to 0.23 of the colour range instead of 0.008).
WEIGHTING_GAMMA = 0.3
_WEIGHTING_TICKS = (0.0, 0.01, 0.05, 0.2, 0.5, 1.0)

#: A head "uses" a memory row when its weighting on it exceeds this at some step
#: (``rows="used"`` of :func:`~ntm_numpy.plotting.plot_weightings` and
#: :func:`~ntm_numpy.plotting.plot_copy_summary`). A trained head's floor, a weight of
#: about 1/N spread over every row, stays below it.
USED_WEIGHT = 0.05

_CMAP_MEMORY = "viridis"
_CMAP_WEIGHTS = "magma"
_CMAP_SIGNED = "RdBu_r"
_CMAP_BITS = "Greys"
_ERROR_COLOUR = "#e8000b"


# --------------------------------------------------------------------------- helpers
def _quiet_fp(func):
    """Run ``func`` with NumPy floating-point warnings off.

    The test-suite (and careful users) run with ``np.seterr(all="raise")``; matplotlib's
    colour normalisation, tick locators and layout engine may legitimately divide by zero
    or underflow, which must not turn into exceptions while a figure is built or saved.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with np.errstate(all="ignore"):
            return func(*args, **kwargs)

    return wrapper


def _new_figure(width, height):
    """A pyplot-free Figure of ``width`` x ``height`` inches, constrained layout."""
    return Figure(figsize=(float(width), float(height)), layout="constrained")


def _clip(v, lo, hi):
    """``v`` clipped to ``[lo, hi]``, as a float (figure sizes in inches)."""
    return float(min(max(v, lo), hi))


def _as_float_array(name, a):
    """``a`` as a float64 array, or a ValueError naming ``name`` if it holds no numbers."""
    if isinstance(a, np.ndarray):
        arr = a
    else:
        try:
            arr = np.asarray(a)
        except (TypeError, ValueError):
            raise ValueError(f"{name}: expected an array of numbers, got "
                             f"{type(a).__name__}") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number)
                                   or arr.dtype == bool):
        raise ValueError(f"{name}: expected an array of numbers, got dtype {arr.dtype}")
    return arr.astype(np.float64, copy=False)


def _check_shape(name, a, shape):
    """``shape`` may hold None for a free dimension; returns ``a`` as float64."""
    arr = _as_float_array(name, a)
    want = "(" + ", ".join("?" if s is None else str(s) for s in shape) + ")"
    if arr.ndim != len(shape) or any(s is not None and s != g for s, g in zip(shape, arr.shape)):
        raise ValueError(f"{name}: expected shape {want}, got {arr.shape}")
    return arr


class _Dims:
    """Sizes read off a trace."""

    def __init__(self, T, B, N, M, K, R, W, S):
        self.T, self.B, self.N, self.M = T, B, N, M
        self.K, self.R, self.W, self.S = K, R, W, S


_TRACE_FIELDS = ("memory", "content", "gated", "shifted", "weights", "key", "beta", "g",
                 "gamma", "shift", "erase", "add", "reads", "read_heads")


def _check_trace(trace):
    """Accept a Trace (or a ForwardCache, which is traced); check its shapes agree."""
    if not hasattr(trace, "weights") and callable(getattr(trace, "trace", None)):
        trace = trace.trace()
    missing = [f for f in _TRACE_FIELDS if not hasattr(trace, f)]
    if missing:
        raise ValueError(f"trace: expected a Trace from ForwardCache.trace() with fields "
                         f"{list(_TRACE_FIELDS)}, got {type(trace).__name__} missing {missing}")
    w = trace.weights
    if not isinstance(w, np.ndarray) or w.ndim != 4:
        raise ValueError(f"trace.weights: expected a (T, K, B, N) array, got "
                         f"{getattr(w, 'shape', type(w).__name__)}")
    T, K, B, N = w.shape
    R = trace.read_heads
    if isinstance(R, bool) or not isinstance(R, (int, np.integer)) or not 1 <= R < K:
        raise ValueError(f"trace.read_heads: expected an integer in [1, {K}) (K = {K} heads), "
                         f"got {R!r}")
    R = int(R)
    W = K - R
    mem = trace.memory
    if not isinstance(mem, np.ndarray) or mem.ndim != 4:
        raise ValueError(f"trace.memory: expected a (T+1, B, N, M) array, got "
                         f"{getattr(mem, 'shape', type(mem).__name__)}")
    M = mem.shape[3]
    S = getattr(trace.shift, "shape", (0,) * 4)[-1]
    expected = {
        "memory": (T + 1, B, N, M), "content": (T, K, B, N), "gated": (T, K, B, N),
        "shifted": (T, K, B, N), "key": (T, K, B, M), "beta": (T, K, B), "g": (T, K, B),
        "gamma": (T, K, B), "shift": (T, K, B, S), "erase": (T, W, B, M),
        "add": (T, W, B, M), "reads": (T, R, B, M),
    }
    for name, shape in expected.items():
        a = getattr(trace, name)
        if not isinstance(a, np.ndarray) or a.shape != shape:
            raise ValueError(f"trace.{name}: expected shape {shape} (T={T}, K={K}, B={B}, "
                             f"N={N}, M={M}), got {getattr(a, 'shape', type(a).__name__)}")
    if T < 1:
        raise ValueError(f"trace: expected at least one time step, got T = {T}")
    return trace, _Dims(T, B, N, M, K, R, W, S)


def _head_name(head, R):
    """``"read head r"`` or ``"write head w"`` of head ``head`` of K (reads first)."""
    return f"read head {head}" if head < R else f"write head {head - R}"


def _weighting_norm(gamma):
    """The 0..1 colour scale of the weightings: linear for ``gamma`` 1, else a power law."""
    if gamma == 1:
        return Normalize(vmin=0.0, vmax=1.0)
    return PowerNorm(gamma=gamma, vmin=0.0, vmax=1.0)


def _weighting_label(gamma):
    """The colour bar label that goes with :func:`_weighting_norm` of ``gamma``."""
    if gamma == 1:
        return "weighting (linear colour scale, 0 to 1)"
    return f"weighting (power-law colour scale,\ngamma {gamma:g}, 0 to 1)"


def _time_heatmap(ax, a, *, cmap, norm=None, vmin=None, vmax=None, title, ylabel,
                  xlabel="time step t", x0=0):
    """``a``: (rows, T) drawn with rows on y (row 0 at the top) and time on x."""
    im = ax.imshow(a, aspect="auto", interpolation="nearest", cmap=cmap, norm=norm,
                   vmin=vmin, vmax=vmax, origin="upper",
                   extent=(x0 - 0.5, x0 + a.shape[1] - 0.5, a.shape[0] - 0.5, -0.5))
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=8, integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
    return im


def _row_span(rows, in_use, N):
    """(first, last) rows to draw: all N for None; for ``"used"`` the rows flagged in
    ``in_use`` ((N,) booleans) with one row of margin each side (all N if none is); or
    a given ``(first, last)``, inclusive.

    Addressing is circular (eq 8), so the rows a head uses may go round the end of the
    memory (rows 120-127 and 0-20, say): for ``"used"`` the span is then the shorter
    one that goes round, and ``last`` is N or more (row ``last - N``; see
    :func:`_rows_index`). A span that does not go round is cut at rows 0 and N - 1."""
    if rows is None:
        return 0, N - 1
    if isinstance(rows, str) and rows == "used":
        used = np.flatnonzero(in_use)
        if used.size == 0:
            return 0, N - 1
        # the rows not in use between each used row and the next, going round: the
        # largest such gap is left out; when it is the one round the end, no span wraps
        gaps = np.diff(np.append(used, used[0] + N)) - 1
        i = int(np.argmax(gaps))
        if gaps[-1] == gaps[i]:
            return max(int(used[0]) - 1, 0), min(int(used[-1]) + 1, N - 1)
        first, last = int(used[i + 1]), int(used[i]) + N
        if last - first + 3 >= N:  # with the margins, all of the rows
            return 0, N - 1
        return first - 1, last + 1
    try:
        lo, hi = (int(r) for r in rows)
    except (TypeError, ValueError):
        raise ValueError(
            f"rows: expected None, 'used' or (first, last), got {rows!r}") from None
    if not 0 <= lo <= hi < N:
        raise ValueError(f"rows: expected 0 <= first <= last < {N}, got {rows!r}")
    return lo, hi


def _rows_index(lo, hi, N):
    """The memory rows of the span ``lo..hi`` of :func:`_row_span` (going round the end
    when ``hi >= N``), as indices into the N rows."""
    return np.arange(lo, hi + 1) % N


def _span_text(lo, hi, N):
    """The rows of a span in words: ``"10-30"``, or ``"120-127, 0-20"`` round the end."""
    return f"{lo}-{hi}" if hi < N else f"{lo}-{N - 1}, 0-{hi - N}"


def _changed_rows(changed):
    """The rows whose change ``changed`` (N,) is above a small fraction of the largest."""
    return changed > 1e-3 * max(float(changed.max()), 1e-12)


def _crop_rows(ax, im, lo, hi, N):
    """Show rows ``lo..hi`` of a heat map drawn by :func:`_time_heatmap` from its cropped
    data: the y axis keeps the memory rows' own numbers (modulo N round the end)."""
    left, right = im.get_extent()[:2]
    im.set_extent((left, right, hi + 0.5, lo - 0.5))
    ax.set_ylim(hi + 0.5, lo - 0.5)
    _wrap_row_labels(ax, hi, N)


def _wrap_row_labels(ax, hi, N):
    """Label the y axis of a span that goes round the end (``hi >= N``) with the rows'
    own numbers: position N is row 0."""
    if hi >= N:
        ax.yaxis.set_major_formatter(FuncFormatter(lambda y, pos: f"{int(round(y)) % N}"))


def _symmetric_limit(a, floor=0.0):
    """max |a| (at least ``floor``; 1 if that is 0): the limit of a scale centred at 0."""
    lim = float(np.max(np.abs(a))) if a.size else 0.0
    lim = max(lim, floor)
    return lim if lim > 0 else 1.0


def _check_path_dpi(path, dpi):
    """``(pathlib.Path, float)`` of an output path and a resolution, or a ValueError."""
    try:
        path = pathlib.Path(os.fspath(path))
    except TypeError:
        raise ValueError(f"path: expected a str or os.PathLike, got "
                         f"{type(path).__name__}") from None
    return path, check_positive_number("dpi", dpi)
