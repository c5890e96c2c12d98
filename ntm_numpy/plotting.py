"""Figures of a recorded forward pass: memory, weightings, addressing, sequences, curves.

Every function returns a :class:`matplotlib.figure.Figure` built directly (never through
``pyplot``), so nothing is registered with pyplot's global figure manager: the figures
render headless (``save_figure`` writes PNG with the Agg renderer), no backend is
selected here (``matplotlib.use`` is never called) and a figure is freed as soon as it
is no longer referenced. Every panel has axis labels and a title; every heat map has a
colour bar.

Notation
--------
T time steps, B batch, N memory rows, M row width, K = R + W heads (R read heads, then
W write heads), S = 2k+1 shift offsets, X input width, Y output width.

Most functions take ``trace``, the stacked record of one :meth:`ntm_numpy.model.NTM.forward`
call: ``logits, cache = model.forward(x); trace = cache.trace()`` (a
:class:`ntm_numpy.model.ForwardCache` is accepted as well and traced). Its arrays:

=====================================  ===================================================
``trace.memory``                       (T+1, B, N, M): index 0 before step 0, index t+1
                                       after step t
``trace.content/gated/shifted/weights``  (T, K, B, N): eqs (5), (7), (8), (9)
``trace.key``                          (T, K, B, M)
``trace.beta/g/gamma``                 (T, K, B)
``trace.shift``                        (T, K, B, S), over offsets -k..k
``trace.erase/add``                    (T, W, B, M)
``trace.reads``                        (T, R, B, M)
=====================================  ===================================================

``batch_index`` picks one sequence of the batch (an integer in ``[0, B)``). Time steps
are numbered from 0 on every time axis. Bad arguments raise :class:`ValueError` whose
message starts with the argument's name, then says what was expected and what was
given.

Paper figures mirrored (Graves, Wayne & Danihelka 2014, "Neural Turing Machines"):
:func:`plot_copy_summary` - figure 6 (and 8, 11, 14, 17 for the other tasks);
:func:`plot_weightings` - the weighting panels of those figures; :func:`plot_addressing`
- figure 2 (the addressing pipeline); :func:`plot_sequence` - figures 4 and 5;
:func:`plot_training_curves` - figures 3, 7, 10, 13, 16; :func:`plot_generalisation`
- the length-generalisation comparisons of sections 4.1-4.2.
"""
import functools
import math
import os
import pathlib
from collections.abc import Mapping

import numpy as np
from matplotlib.collections import PatchCollection
from matplotlib.colors import Normalize, PowerNorm
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import LogFormatter, MaxNLocator

from ._validation import check_index, check_positive_number
from .activations import sigmoid

__all__ = [
    "plot_memory",
    "plot_memory_over_time",
    "plot_weightings",
    "plot_addressing",
    "plot_sequence",
    "plot_erase_add",
    "plot_training_curves",
    "plot_generalisation",
    "plot_copy_summary",
    "save_figure",
    "animate_memory",
    "animate_addressing",
    "save_animation",
    "animation_html",
    "plot_addressing_chain",
    "explore_addressing",
    "MEMORY_REDUCTIONS",
    "ANIMATION_FPS",
]

#: ``reduce=`` choices of :func:`plot_memory_over_time`.
MEMORY_REDUCTIONS = ("row_norm", "row_mean", "row_change", "column")

#: Default exponent of the power-law colour scale of the weightings (0.3: a uniform
#: weighting 1/128 maps to 0.23 of the colour range instead of 0.008).
WEIGHTING_GAMMA = 0.3
_WEIGHTING_TICKS = (0.0, 0.01, 0.05, 0.2, 0.5, 1.0)

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
    return Figure(figsize=(float(width), float(height)), layout="constrained")


def _clip(v, lo, hi):
    return float(min(max(v, lo), hi))


def _as_float_array(name, a):
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
    return f"read head {head}" if head < R else f"write head {head - R}"


def _weighting_norm(gamma):
    if gamma == 1:
        return Normalize(vmin=0.0, vmax=1.0)
    return PowerNorm(gamma=gamma, vmin=0.0, vmax=1.0)


def _weighting_label(gamma):
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


def _symmetric_limit(a, floor=0.0):
    lim = float(np.max(np.abs(a))) if a.size else 0.0
    lim = max(lim, floor)
    return lim if lim > 0 else 1.0


def _mark_errors(ax, wrong):
    """Draw a box round every True cell of ``wrong`` (channels, T)."""
    rows, cols = np.nonzero(wrong)
    if rows.size == 0:
        return
    boxes = [Rectangle((c - 0.5, r - 0.5), 1.0, 1.0) for r, c in zip(rows, cols)]
    ax.add_collection(PatchCollection(boxes, facecolor="none", edgecolor=_ERROR_COLOUR,
                                      linewidth=1.5, label="bit error"))


def _set_count_scale(ax, values):
    """Log y if every value is positive, symlog (linear below the smallest positive value)
    if some are zero or negative, linear if none is positive. Returns the scale's name."""
    v = np.concatenate([np.ravel(a) for a in values]) if values else np.zeros(0)
    v = v[np.isfinite(v)]
    pos = v[v > 0]
    if pos.size == 0:
        return "linear"
    if pos.size == v.size:
        ax.set_yscale("log")
        return "log"
    ax.set_yscale("symlog", linthresh=float(pos.min()))
    ax.set_ylim(bottom=min(0.0, float(v.min())))
    return "symlog"


# --------------------------------------------------------------------------- memory
@_quiet_fp
def plot_memory(trace, steps=None, batch_index=0, rows=None):
    """Memory contents (rows x width) at chosen steps, one heat map per step.

    Parameters
    ----------
    trace : Trace from ``ForwardCache.trace()``; uses ``trace.memory`` (T+1, B, N, M)
    steps : int or sequence of ints in ``[0, T]``, optional
        Indices into ``trace.memory``: 0 is the memory before step 0, ``s`` the memory
        after step ``s - 1``. Default: up to 6 evenly spaced indices including 0 and T.
    batch_index : int in ``[0, B)``
    rows : None, ``"used"`` or ``(first, last)``
        None draws all N rows and marks the rows in use (those that differ from the
        initial memory at a shown step) with a bar left of each map; ``"used"`` crops
        to the rows in use (one row of margin each side); ``(first, last)`` crops to
        those rows, inclusive.

    Returns
    -------
    Figure
        A grid of up to 3 columns of (rows x M) heat maps (memory row on y, column on
        x), sharing one diverging colour scale centred at 0 (+-max |value| over the
        shown steps and rows) and one colour bar. Unused grid cells are removed.

    Paper
    -----
    No figure of its own in Graves et al. (2014): this is the memory that the "Adds" and
    "Reads" panels of figure 6 write and read.
    """
    trace, d = _check_trace(trace)
    b = check_index("batch_index", batch_index, d.B, "sequence of the batch")
    if steps is None:
        steps = np.unique(np.round(np.linspace(0, d.T, min(6, d.T + 1))).astype(int))
    else:
        if isinstance(steps, (int, np.integer)) and not isinstance(steps, bool):
            steps = [steps]
        try:
            steps = list(steps)
        except TypeError:
            raise ValueError(f"steps: expected an int or a sequence of ints in [0, {d.T}], "
                             f"got {steps!r}") from None
        if not steps:
            raise ValueError(f"steps: expected at least one index in [0, {d.T}], got {steps!r}")
        steps = [check_index("steps", s, d.T + 1, "memory index, 0 = initial") for s in steps]
    steps = [int(s) for s in steps]
    data = trace.memory[steps, b]  # (n, N, M)
    changed = np.abs(data - trace.memory[0, b]).max(axis=(0, 2))  # (N,) vs the initial memory
    used = np.flatnonzero(changed > 1e-3 * max(float(np.abs(data).max()), 1e-12))
    lo, hi = _row_span(rows, changed, d.N)
    data = data[:, lo : hi + 1]
    lim = _symmetric_limit(data)
    n = len(steps)
    ncols = min(3, n)
    nrows = math.ceil(n / ncols)
    pw = _clip(0.12 * d.M + 1.6, 2.4, 4.5)
    ph = _clip(0.03 * d.N + 1.6, 2.2, 4.5)
    fig = _new_figure(pw * ncols + 1.0, ph * nrows + 0.6)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    shown = []
    extent = (-0.5, d.M - 0.5, hi + 0.5, lo - 0.5)
    for i, ax in enumerate(axes.flat):
        if i >= n:
            ax.remove()
            continue
        s = steps[i]
        im = ax.imshow(data[i], aspect="auto", interpolation="nearest", cmap=_CMAP_SIGNED,
                       vmin=-lim, vmax=lim, origin="upper", extent=extent)
        if rows is None and used.size:  # mark the rows in use, left of the map
            ax.set_xlim(-1.5, d.M - 0.5)
            ax.bar(np.full(used.size, -1.1), 1.0, bottom=used - 0.5, width=0.5,
                   color="#dd8452", linewidth=0,
                   label="rows in use" if i == 0 else None)
            if i == 0:
                ax.legend(loc="lower right", fontsize=7, framealpha=0.85)
        ax.set_title("initial memory (index 0)" if s == 0 else
                     f"after step {s - 1} (index {s})", fontsize=10)
        ax.set_xlabel("memory column")
        ax.set_ylabel("memory row")
        ax.xaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
        shown.append(ax)
    fig.colorbar(im, ax=shown, label="memory value")
    span = "" if (lo, hi) == (0, d.N - 1) else f", rows {lo}-{hi} shown"
    fig.suptitle(f"Memory contents (N={d.N} rows x M={d.M} columns{span}), sequence {b}")
    return fig


@_quiet_fp
def plot_memory_over_time(trace, batch_index=0, reduce="row_norm", column=None, rows=None):
    """The whole memory history in one heat map: memory rows on y, time on x.

    Parameters
    ----------
    trace : Trace; uses ``trace.memory`` (T+1, B, N, M)
    batch_index : int in ``[0, B)``
    reduce : str, how each (N, M) memory becomes one column of the picture
        ``"row_norm"`` (default): the Euclidean norm of every row, (N, T+1);
        ``"row_mean"``: the mean of every row, (N, T+1);
        ``"column"``: memory column ``column`` (default 0) of every row, (N, T+1);
        ``"row_change"``: ``||M_{t+1}[i] - M_t[i]||``, what step t's writes changed,
        (N, T) - the x axis is then the time step.
        For the first three the x axis is the memory index (0 before step 0, t+1 after
        step t).
    column : int in ``[0, M)``, only with ``reduce="column"``
    rows : None (all N rows), ``"used"`` (the rows that ever differ from the initial
        memory, one row of margin each side) or ``(first, last)``, inclusive

    Returns
    -------
    Figure
        One heat map and its colour bar (signed data use a diverging map centred at 0).

    Paper
    -----
    An animation-free summary of the memory behind figure 6; no panel of its own there.
    """
    trace, d = _check_trace(trace)
    b = check_index("batch_index", batch_index, d.B, "sequence of the batch")
    if reduce not in MEMORY_REDUCTIONS:
        raise ValueError(f"reduce: expected one of {list(MEMORY_REDUCTIONS)}, got {reduce!r}")
    if reduce == "column":
        column = check_index("column", 0 if column is None else column, d.M, "memory column")
    elif column is not None:
        raise ValueError(f"column: expected None unless reduce='column', got {column!r} "
                         f"with reduce={reduce!r}")
    mem = trace.memory[:, b]  # (T+1, N, M)
    snap_label = "memory index (0 = initial, t+1 = after step t)"
    if reduce == "row_norm":
        a = np.sqrt(np.sum(mem * mem, axis=2)).T
        kw = dict(cmap=_CMAP_MEMORY)
        label, title, xlabel = "row norm $\\|M[i]\\|$", "norm of every memory row", snap_label
    elif reduce == "row_mean":
        a = mem.mean(axis=2).T
        lim = _symmetric_limit(a)
        kw = dict(cmap=_CMAP_SIGNED, vmin=-lim, vmax=lim)
        label, title, xlabel = "row mean", "mean of every memory row", snap_label
    elif reduce == "column":
        a = mem[:, :, column].T
        lim = _symmetric_limit(a)
        kw = dict(cmap=_CMAP_SIGNED, vmin=-lim, vmax=lim)
        label, title, xlabel = (f"$M[i, {column}]$", f"memory column {column} of every row",
                                snap_label)
    else:
        diff = mem[1:] - mem[:-1]
        a = np.sqrt(np.sum(diff * diff, axis=2)).T
        kw = dict(cmap=_CMAP_MEMORY, vmin=0.0)
        label, title, xlabel = ("change $\\|M_{t+1}[i] - M_t[i]\\|$",
                                "change of every memory row made by step t", "time step t")
    lo, hi = _row_span(rows, np.abs(mem - mem[0]).max(axis=(0, 2)), d.N)
    a = a[lo : hi + 1]
    fig = _new_figure(_clip(0.1 * a.shape[1] + 3.0, 5.0, 12.0),
                      _clip(0.04 * a.shape[0] + 2.2, 3.0, 7.0))
    ax = fig.subplots()
    im = _time_heatmap(ax, a, title=f"{title}, sequence {b}", ylabel="memory row",
                       xlabel=xlabel, **kw)
    if (lo, hi) != (0, d.N - 1):
        left, right = im.get_extent()[:2]
        im.set_extent((left, right, hi + 0.5, lo - 0.5))
        ax.set_ylim(hi + 0.5, lo - 0.5)
        ax.set_title(f"{title}, sequence {b} (rows {lo}-{hi} of {d.N})", fontsize=10)
    fig.colorbar(im, ax=ax, label=label)
    return fig


def _row_span(rows, changed, N):
    """(first, last) rows to draw: all for None, the rows in use (``changed`` above a
    small fraction of its largest value) with a margin for "used", or a given range."""
    if rows is None:
        return 0, N - 1
    if isinstance(rows, str) and rows == "used":
        used = np.flatnonzero(changed > 1e-3 * max(float(changed.max()), 1e-12))
        if used.size == 0:
            return 0, N - 1
        return max(int(used[0]) - 1, 0), min(int(used[-1]) + 1, N - 1)
    try:
        lo, hi = (int(r) for r in rows)
    except (TypeError, ValueError):
        raise ValueError(
            f"rows: expected None, 'used' or (first, last), got {rows!r}") from None
    if not 0 <= lo <= hi < N:
        raise ValueError(f"rows: expected 0 <= first <= last < {N}, got {rows!r}")
    return lo, hi


# --------------------------------------------------------------------------- weightings
@_quiet_fp
def plot_weightings(trace, batch_index=0, colour_gamma=WEIGHTING_GAMMA):
    """Read and write weightings over time, one heat map per head.

    Parameters
    ----------
    trace : Trace; uses ``trace.weights`` (T, K, B, N), heads ordered reads then writes
    batch_index : int in ``[0, B)``
    colour_gamma : float > 0, the exponent of the colour scale (default 0.3; 1 = linear)

    Returns
    -------
    Figure
        K axes, titled ``"read head 0"``, ..., ``"write head 0"``, ... (reads first, up to
        4 per row), each with memory rows on y (row 0 at the top) and time steps on x,
        plus one shared colour bar.

        The colour scale is anchored at 0 and 1 (``vmin=0, vmax=1``) whatever the data,
        so panels and models compare. It is a power law,
        ``matplotlib.colors.PowerNorm(gamma=0.3, vmin=0, vmax=1)``: colour ~ w**0.3, so a
        uniform weighting 1/N (1/128 = 0.008) shows at 23% of the colour range instead of
        looking empty, while a sharp weighting still saturates at 1. The colour bar label
        says so.

    Paper
    -----
    The "Write Weightings" and "Read Weightings" panels of figures 6, 8, 11, 14 and 17
    (location on y, time on x).
    """
    trace, d = _check_trace(trace)
    b = check_index("batch_index", batch_index, d.B, "sequence of the batch")
    gamma = check_positive_number("colour_gamma", colour_gamma)
    ncols = min(4, d.K)
    nrows = math.ceil(d.K / ncols)
    pw = _clip(0.08 * d.T + 2.0, 2.8, 6.0)
    ph = _clip(0.03 * d.N + 2.0, 2.6, 5.5)
    fig = _new_figure(pw * ncols + 1.2, ph * nrows + 0.6)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    norm = _weighting_norm(gamma)
    used = []
    for k, ax in enumerate(axes.flat):
        if k >= d.K:
            ax.remove()
            continue
        im = _time_heatmap(ax, trace.weights[:, k, b].T, cmap=_CMAP_WEIGHTS, norm=norm,
                           title=_head_name(k, d.R), ylabel="memory row")
        used.append(ax)
    cb = fig.colorbar(im, ax=used, label=_weighting_label(gamma))
    if gamma != 1:
        cb.set_ticks(list(_WEIGHTING_TICKS))
    fig.suptitle(f"Head weightings over time, sequence {b}")
    return fig


@_quiet_fp
def plot_addressing(trace, head=0, step=0, batch_index=0):
    """The four addressing stages of one head at one step, side by side.

    Parameters
    ----------
    trace : Trace; uses ``content, gated, shifted, weights`` (T, K, B, N),
        ``beta, g, gamma`` (T, K, B), ``shift`` (T, K, B, S)
    head : int in ``[0, K)``, over all heads, reads first (``R`` is the first write head)
    step : int in ``[0, T)``
    batch_index : int in ``[0, B)``

    Returns
    -------
    Figure
        Five axes. Four bar charts over the N memory rows, sharing the y range:
        content weighting w_c (eq 5, title gives beta), gated w_g (eq 7, title gives g;
        the previous weighting w_{t-1} is drawn dashed when ``step > 0``), shifted w_s
        (eq 8) and sharpened w (eq 9, title gives gamma); then the shift distribution s
        as bars over the offsets -k..k (eq 8). The figure title repeats beta, g, gamma.

    Paper
    -----
    Figure 2 (flow diagram of the addressing mechanism), eqs (5)-(9).
    """
    trace, d = _check_trace(trace)
    k = check_index("head", head, d.K, f"{d.R} read heads then {d.W} write heads")
    t = check_index("step", step, d.T, "time step")
    b = check_index("batch_index", batch_index, d.B, "sequence of the batch")
    stages = [trace.content[t, k, b], trace.gated[t, k, b], trace.shifted[t, k, b],
              trace.weights[t, k, b]]
    beta, g, gamma = (float(trace.beta[t, k, b]), float(trace.g[t, k, b]),
                      float(trace.gamma[t, k, b]))
    s = trace.shift[t, k, b]
    prev = trace.weights[t - 1, k, b] if t > 0 else None
    top = max(float(max(a.max() for a in stages)), float(prev.max()) if prev is not None else 0)
    top = 1.08 * top if top > 0 else 1.0
    fig = _new_figure(_clip(0.04 * d.N + 13.0, 14.0, 19.0), 3.8)
    axes = fig.subplots(1, 5, gridspec_kw=dict(width_ratios=[1, 1, 1, 1, 0.55]))
    titles = [f"content $w^c$ (eq 5)\n$\\beta$ = {beta:.3g}",
              f"gated $w^g$ (eq 7)\n$g$ = {g:.3g}",
              "shifted $\\tilde{w}$ (eq 8)\nshift s (right panel)",
              f"sharpened $w$ (eq 9)\n$\\gamma$ = {gamma:.3g}"]
    colours = ["#4c72b0", "#55a868", "#c44e52", "#8172b2"]
    rows = np.arange(d.N)
    for i, (ax, a) in enumerate(zip(axes[:4], stages)):
        ax.bar(rows, a, width=0.85 if d.N <= 40 else 1.0, linewidth=0, color=colours[i])
        ax.set_ylim(0, top)
        ax.set_xlim(-0.5, d.N - 0.5)
        ax.set_title(titles[i], fontsize=10)
        ax.set_xlabel("memory row")
        ax.set_ylabel("weighting" if i == 0 else "")
        ax.xaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
    if prev is not None:
        axes[1].step(rows, prev, where="mid", color="0.3", linestyle="--", linewidth=1.0,
                     label="$w_{t-1}$")
        axes[1].legend(loc="best", fontsize=8, framealpha=0.85)
    ks = (d.S - 1) // 2
    offsets = np.arange(-ks, d.S - ks)
    ax = axes[4]
    ax.bar(offsets, s, width=0.7, color="0.45")
    ax.set_ylim(0, 1.05)
    ax.set_xticks(offsets)
    ax.set_xlabel("shift offset")
    ax.set_ylabel("probability")
    ax.set_title("shift s (eq 8)", fontsize=10)
    fig.suptitle(f"Addressing of {_head_name(k, d.R)} at step {t}, sequence {b}:  "
                 f"$\\beta$ = {beta:.3g},  $g$ = {g:.3g},  $\\gamma$ = {gamma:.3g}")
    return fig


@_quiet_fp
def plot_erase_add(trace, head=0, batch_index=0):
    """Erase and add vectors of one write head over time.

    Parameters
    ----------
    trace : Trace; uses ``trace.erase, trace.add`` (T, W, B, M)
    head : int in ``[0, W)``, the write head (counted among the write heads only)
    batch_index : int in ``[0, B)``

    Returns
    -------
    Figure
        Two heat maps, memory column on y and time on x, each with a colour bar: the
        erase vectors e_t (sigmoid, scale 0..1, eq 3) and the add vectors a_t (tanh,
        diverging scale -1..1 centred at 0, eq 4).

    Paper
    -----
    The "Adds" panel of figure 6 (and of figures 8, 11, 14, 17).
    """
    trace, d = _check_trace(trace)
    w = check_index("head", head, d.W, "write head")
    b = check_index("batch_index", batch_index, d.B, "sequence of the batch")
    erase = trace.erase[:, w, b].T  # (M, T)
    add = trace.add[:, w, b].T
    lim = _symmetric_limit(add, floor=1.0)
    ph = _clip(0.12 * d.M + 1.4, 2.0, 4.0)
    fig = _new_figure(_clip(0.1 * d.T + 3.5, 6.0, 13.0), 2 * ph + 0.6)
    ax_e, ax_a = fig.subplots(2, 1)
    im = _time_heatmap(ax_e, erase, cmap=_CMAP_MEMORY, vmin=0.0, vmax=1.0,
                       title="erase vectors $e_t$ (eq 3)", ylabel="memory column")
    fig.colorbar(im, ax=ax_e, label="erase (0 to 1)")
    im = _time_heatmap(ax_a, add, cmap=_CMAP_SIGNED, vmin=-lim, vmax=lim,
                       title="add vectors $a_t$ (eq 4)", ylabel="memory column")
    fig.colorbar(im, ax=ax_a, label=f"add ({-lim:g} to {lim:g})")
    fig.suptitle(f"Write head {w}: erase and add, sequence {b}")
    return fig


# --------------------------------------------------------------------------- sequences
def _check_sequence_arrays(x, y, logits, mask, batch_index):
    x = _check_shape("x", x, (None, None, None))
    T, B = x.shape[:2]
    y = _check_shape("y", y, (T, B, None))
    if logits is not None:
        logits = _check_shape("logits", logits, y.shape)
    if mask is not None:
        mask = _check_shape("mask", mask, (T, B))
    if T < 1 or B < 1:
        raise ValueError(f"x: expected at least one step and one sequence, got {x.shape}")
    b = check_index("batch_index", batch_index, B, "sequence of the batch")
    return x, y, logits, mask, b


def _errors(logits, y, mask):
    """(Y, T) True where the thresholded output is wrong on a counted step."""
    wrong = (logits > 0) != (y > 0.5)
    if mask is not None:
        wrong &= (mask != 0)[:, None]
    return wrong.T


@_quiet_fp
def plot_sequence(x, y, logits=None, mask=None, batch_index=0, show_errors=True):
    """Input, target and output of one sequence as channel x time strips.

    Parameters
    ----------
    x : (T, B, X) inputs
    y : (T, B, Y) targets
    logits : (T, B, Y), optional; drawn as probabilities sigmoid(logits)
    mask : (T, B), optional; 1 on the steps that are scored (drawn as its own strip)
    batch_index : int in ``[0, B)``
    show_errors : bool; with ``logits``, outline in red every wrong thresholded bit
        (``logits > 0`` vs ``y > 0.5``) on a scored step (every step if ``mask`` is None)

    Returns
    -------
    Figure
        Stacked panels sharing the time axis: "input x" (X rows), "target y" (Y rows),
        "output sigmoid(logits)" (Y rows, title gives the bit-error count) when
        ``logits`` is given, "mask" (1 row) when ``mask`` is given; one colour bar
        (scale from min(0, data) to max(1, data), so 0/1 bits and probabilities share it).

    Paper
    -----
    Figures 4 and 5 (targets and outputs of the copy task, channels x time).
    """
    x, y, logits, mask, b = _check_sequence_arrays(x, y, logits, mask, batch_index)
    T = x.shape[0]
    panels = [("input x", x[:, b].T, "input channel"),
              ("target y", y[:, b].T, "output channel")]
    wrong = None
    if logits is not None:
        wrong = _errors(logits[:, b], y[:, b], None if mask is None else mask[:, b])
        where = "scored steps" if mask is not None else "all steps"
        title = f"output $\\sigma$(logits): {int(wrong.sum())} bit errors on {where}"
        if show_errors:
            title += " (red boxes)"
        panels.append((title, sigmoid(logits[:, b]).T, "output channel"))
    if mask is not None:
        panels.append(("mask (1 = scored step)", mask[:, b][None, :], ""))
    data = np.concatenate([p[1].ravel() for p in panels])
    vmin, vmax = min(0.0, float(data.min())), max(1.0, float(data.max()))
    heights = [max(p[1].shape[0], 1) for p in panels]
    heights = [max(h, 1.6) for h in heights]
    total = sum(heights)
    fig = _new_figure(_clip(0.12 * T + 3.0, 6.0, 14.0),
                      _clip(0.2 * total + 0.9 * len(panels) + 0.6, 3.5, 11.0))
    axes = fig.subplots(len(panels), 1, sharex=True,
                        gridspec_kw=dict(height_ratios=heights))
    axes = np.atleast_1d(axes)
    for i, (ax, (title, a, ylabel)) in enumerate(zip(axes, panels)):
        last = i == len(panels) - 1
        im = _time_heatmap(ax, a, cmap=_CMAP_BITS, vmin=vmin, vmax=vmax, title=title,
                           ylabel=ylabel, xlabel="time step t" if last else "")
        if title.startswith("mask"):
            ax.set_yticks([])
        if not last:
            ax.tick_params(labelbottom=False)
    if wrong is not None and show_errors:
        _mark_errors(axes[2], wrong)
    if mask is not None:  # shade the steps that carry no target on the target and output
        free = np.asarray(mask[:, b]) == 0
        edges = np.flatnonzero(np.diff(np.concatenate([[0], free.astype(int), [0]])))
        for ax in axes[1 : 3 if logits is not None else 2]:
            for start, stop in zip(edges[::2], edges[1::2]):
                ax.axvspan(start - 0.5, stop - 0.5, facecolor="0.55", alpha=0.55,
                           hatch="//", edgecolor="0.35", linewidth=0, zorder=3)
        if free.any():
            axes[1].set_title(axes[1].get_title() + " (hatched: steps with no target)")
    fig.colorbar(im, ax=list(axes), label="bit value / probability")
    fig.suptitle(f"Sequence {b}: input, target and output")
    return fig


@_quiet_fp
def plot_copy_summary(x, y, logits, trace, batch_index=0, mask=None, read_head=0,
                      write_head=0, colour_gamma=WEIGHTING_GAMMA, task="copy"):
    """One sequence of the copy task (or another) in the layout of the paper's figure 6.

    Parameters
    ----------
    x : (T, B, X) inputs; y : (T, B, Y) targets; logits : (T, B, Y)
    trace : Trace of the same forward pass (its T and B must match ``x``)
    batch_index : int in ``[0, B)``
    mask : (T, B), optional; the output panel outlines in red the wrong thresholded bits
        (``logits > 0`` vs ``y > 0.5``) on the scored steps (every step if None)
    read_head : int in ``[0, R)``; write_head : int in ``[0, W)``, the heads shown
    colour_gamma : float > 0, exponent of the weightings' colour scale (see
        :func:`plot_weightings`; 0.3 by default, 1 = linear)
    task : str, the task's name for the title (default ``"copy"``)

    Returns
    -------
    Figure
        Six heat maps, time on x, in three rows of two, as in figure 6:
        "Inputs" (X channels) and "Outputs" sigmoid(logits) (Y channels), one 0..1 colour
        bar; "Adds" a_t of the write head (M columns) and "Reads" r_t of the read head
        (M columns), each with its diverging colour bar; "Write weightings" and "Read
        weightings" (N rows, power-law scale anchored at 0 and 1), one colour bar.

    Paper
    -----
    Figure 6 (NTM memory use during the copy task); the same layout serves figures 8
    (repeat copy), 11 (associative recall) and 17 (priority sort).
    """
    trace, d = _check_trace(trace)
    x, y, logits, mask, b = _check_sequence_arrays(x, y, logits, mask, batch_index)
    if logits is None:
        raise ValueError("logits: expected a (T, B, Y) array, got None")
    if x.shape[:2] != (d.T, d.B):
        raise ValueError(f"x: expected shape ({d.T}, {d.B}, ?) to match the trace "
                         f"(T={d.T}, B={d.B}), got {x.shape}")
    r = check_index("read_head", read_head, d.R, "read head")
    w = check_index("write_head", write_head, d.W, "write head")
    gamma = check_positive_number("colour_gamma", colour_gamma)
    wrong = _errors(logits[:, b], y[:, b], None if mask is None else mask[:, b])
    adds = trace.add[:, w, b].T
    reads = trace.reads[:, r, b].T
    pw = _clip(0.09 * d.T + 2.2, 3.5, 7.5)
    heights = [max(x.shape[2], y.shape[2], 4), max(d.M, 4), max(d.N, 6) * 0.6]
    heights = [_clip(0.14 * h + 1.2, 1.8, 4.2) for h in heights]
    fig = _new_figure(2 * pw + 2.4, sum(heights) + 0.9)
    axes = fig.subplots(3, 2, gridspec_kw=dict(height_ratios=heights))
    (ax_in, ax_out), (ax_add, ax_read), (ax_ww, ax_rw) = axes
    bits_max = max(1.0, float(x[:, b].max()))
    im = _time_heatmap(ax_in, x[:, b].T, cmap=_CMAP_BITS, vmin=0.0, vmax=bits_max,
                       title="Inputs", ylabel="input channel")
    _time_heatmap(ax_out, sigmoid(logits[:, b]).T, cmap=_CMAP_BITS, vmin=0.0, vmax=bits_max,
                  title=f"Outputs $\\sigma$(logits): {int(wrong.sum())} bit errors "
                        f"(red boxes)", ylabel="output channel")
    _mark_errors(ax_out, wrong)
    fig.colorbar(im, ax=[ax_in, ax_out], label="bit / probability")
    lim = _symmetric_limit(adds, floor=1.0)
    im = _time_heatmap(ax_add, adds, cmap=_CMAP_SIGNED, vmin=-lim, vmax=lim,
                       title=f"Adds $a_t$ (write head {w})", ylabel="memory column")
    fig.colorbar(im, ax=ax_add, label="add value")
    lim = _symmetric_limit(reads)
    im = _time_heatmap(ax_read, reads, cmap=_CMAP_SIGNED, vmin=-lim, vmax=lim,
                       title=f"Reads $r_t$ (read head {r})", ylabel="memory column")
    fig.colorbar(im, ax=ax_read, label="read value")
    norm = _weighting_norm(gamma)
    im = _time_heatmap(ax_ww, trace.weights[:, d.R + w, b].T, cmap=_CMAP_WEIGHTS, norm=norm,
                       title=f"Write weightings (write head {w})", ylabel="memory row")
    _time_heatmap(ax_rw, trace.weights[:, r, b].T, cmap=_CMAP_WEIGHTS, norm=norm,
                  title=f"Read weightings (read head {r})", ylabel="memory row")
    cb = fig.colorbar(im, ax=[ax_ww, ax_rw], label=_weighting_label(gamma))
    if gamma != 1:
        cb.set_ticks(list(_WEIGHTING_TICKS))
    name = str(task).replace("_", " ")
    fig.suptitle(f"{name[:1].upper() + name[1:]}, sequence {b} (layout of Graves et al. 2014, "
                 "figure 6)")
    return fig


# --------------------------------------------------------------------------- curves
def _history_array(history, key, n=None):
    name = f"history[{key!r}]"
    a = _as_float_array(name, history[key])
    if a.ndim != 1 or a.size == 0 or (n is not None and a.size != n):
        want = "(n,) with n >= 1" if n is None else f"({n},)"
        raise ValueError(f"{name}: expected a 1-D array of shape {want}, got shape {a.shape}")
    return a


@_quiet_fp
def plot_training_curves(history):
    """Loss and bit errors against the number of training sequences seen.

    Parameters
    ----------
    history : dict of 1-D lists/arrays
        ``"sequences"`` (n,) sequences seen (x axis); ``"loss"`` (n,) training loss per
        sequence (nats); ``"bit_errors"`` (n,) training bit errors per sequence;
        optional ``"val_sequences"`` (v,) with ``"val_bit_errors"`` (v,) (both or
        neither) and ``"val_loss"`` (v,).

    Returns
    -------
    Figure
        Two axes: "loss" (linear y) and "bit errors per sequence". The bit-error y axis is
        logarithmic when every value is positive; when some are 0 it is ``symlog``
        (linear below the smallest positive value, logarithmic above, so the zeros of a
        solved task still show); linear when none is positive.

    Paper
    -----
    The learning curves of figures 3, 7, 10, 13 and 16 ("cost per sequence (bits)"
    against "sequence number").
    """
    if not isinstance(history, Mapping):
        raise ValueError(f"history: expected a dict of lists/arrays, got "
                         f"{type(history).__name__}")
    required = ("sequences", "loss", "bit_errors")
    missing = [k for k in required if k not in history]
    if missing:
        raise ValueError(f"history: expected the keys {list(required)}, got "
                         f"{sorted(map(str, history))} (missing {missing})")
    seq = _history_array(history, "sequences")
    loss = _history_array(history, "loss", seq.size)
    errs = _history_array(history, "bit_errors", seq.size)
    has_val = ("val_sequences" in history, "val_bit_errors" in history)
    if has_val[0] != has_val[1]:
        only = "val_sequences" if has_val[0] else "val_bit_errors"
        raise ValueError("history: expected both 'val_sequences' and 'val_bit_errors' or "
                         f"neither, got only {only!r}")
    if "val_loss" in history and not has_val[0]:
        raise ValueError("history: expected 'val_loss' only with 'val_sequences' and "
                         "'val_bit_errors', got 'val_loss' without them")
    val_seq = val_errs = val_loss = None
    if has_val[0]:
        val_seq = _history_array(history, "val_sequences")
        val_errs = _history_array(history, "val_bit_errors", val_seq.size)
        if "val_loss" in history:
            val_loss = _history_array(history, "val_loss", val_seq.size)
    fig = _new_figure(11.0, 4.0)
    ax_loss, ax_err = fig.subplots(1, 2)
    ax_loss.plot(seq, loss, color="#4c72b0", label="training")
    if val_loss is not None:
        ax_loss.plot(val_seq, val_loss, "o-", color="#dd8452", markersize=3,
                     label="validation")
    ax_loss.set_xlabel("sequences seen")
    ax_loss.set_ylabel("loss per sequence (nats)")
    ax_loss.set_title("Loss")
    ax_err.plot(seq, errs, color="#4c72b0", label="training")
    plotted = [errs]
    if val_errs is not None:
        ax_err.plot(val_seq, val_errs, "o-", color="#dd8452", markersize=3,
                    label="validation")
        plotted.append(val_errs)
    scale = _set_count_scale(ax_err, plotted)
    ax_err.set_xlabel("sequences seen")
    ax_err.set_ylabel("bit errors per sequence")
    ax_err.set_title(f"Bit errors ({scale} scale)")
    for ax in (ax_loss, ax_err):
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("Training curves")
    return fig


class _PlainLogFormatter(LogFormatter):
    """Labels of a log axis as plain numbers (0.2, 6, 100), on the ticks matplotlib's
    LogFormatter would label (the minor ones too when the axis spans few decades)."""

    def __call__(self, x, pos=None):
        return f"{x:g}" if super().__call__(x, pos) else ""


#: The y label of :func:`plot_generalisation` for each score of
#: :func:`ntm_numpy.train.evaluate_scores` it can plot.
MEASURE_LABELS = {
    "bit_errors": "bit errors per sequence",
    "cost_bits": "cost per sequence (bits)",
    "optimal_cost_bits": "Bayes-optimal cost per sequence (bits)",
    "cost_above_optimum_bits": "cost above the Bayes-optimal estimator\n(bits per sequence)",
}


@_quiet_fp
def plot_generalisation(lengths, errors, labels=None, train_max_length=None,
                        measure="bit_errors", xlabel="sequence length"):
    """Bit errors (or another score) per sequence against sequence length, for one or
    several models.

    Parameters
    ----------
    lengths : (L,) sequence lengths tested
    errors : (L,) array (one curve), (C, L) array (C curves) or dict label -> (L,) array
        (one curve per model, e.g. ``{"NTM": ..., "LSTM": ...}``), in the unit of
        ``measure``
    labels : str or sequence of C str, optional; the curves' names (a dict's keys are
        used if None; a bare array gets no legend entry unless named)
    train_max_length : number, optional; a dashed vertical line marks the longest
        training length and the lengths beyond it are shaded
    measure : a key of :data:`MEASURE_LABELS` (default ``"bit_errors"``): what the values
        are, which names the y axis. ``ntm-numpy evaluate`` plots
        ``"cost_above_optimum_bits"`` for the N-gram task and ``"cost_bits"`` for
        priority sort, the measures of the paper's sections 4.4 and 4.5
        (:func:`ntm_numpy.train.task_measure`).
    xlabel : str, what the lengths count (default ``"sequence length"``; ``ntm-numpy
        evaluate`` names the items of associative recall, the bits of an N-gram stream
        and the inputs of priority sort)

    Returns
    -------
    Figure
        One axes, lengths on x, the measure on y (log scale when every value is
        positive, symlog when some are 0 or negative, see :func:`plot_training_curves`).

    Paper
    -----
    The generalisation comparisons of sections 4.1 and 4.2 (NTM against the LSTM
    baseline on sequences longer than those seen in training; figures 4 and 5 show
    the corresponding outputs).
    """
    if not isinstance(measure, str) or measure not in MEASURE_LABELS:
        raise ValueError(f"measure: expected one of {sorted(MEASURE_LABELS)}, got "
                         f"{measure!r}")
    if not isinstance(xlabel, str):
        raise ValueError(f"xlabel: expected a str, got {type(xlabel).__name__}")
    lengths = _as_float_array("lengths", lengths)
    if lengths.ndim != 1 or lengths.size == 0:
        raise ValueError(f"lengths: expected a 1-D array of shape (L,) with L >= 1, got "
                         f"shape {lengths.shape}")
    L = lengths.size
    if isinstance(errors, Mapping):
        if not errors:
            raise ValueError("errors: expected at least one curve, got an empty dict")
        names = [str(k) for k in errors]
        curves = [_check_shape(f"errors[{k!r}]", v, (L,)) for k, v in errors.items()]
    else:
        arr = _as_float_array("errors", errors)
        if arr.ndim == 1 and arr.shape == (L,):
            curves = [arr]
        elif arr.ndim == 2 and arr.shape[1] == L and arr.shape[0] >= 1:
            curves = list(arr)
        else:
            raise ValueError(f"errors: expected shape ({L},) or (C, {L}) to match lengths, "
                             f"or a dict of ({L},) arrays, got {arr.shape}")
        names = [None] * len(curves)
    if labels is not None:
        if isinstance(labels, str):
            labels = [labels]
        labels = list(labels)
        if len(labels) != len(curves):
            raise ValueError(f"labels: expected {len(curves)} names (one per curve), got "
                             f"{len(labels)}")
        names = [str(s) for s in labels]
    if train_max_length is not None:
        if (isinstance(train_max_length, bool) or not isinstance(
                train_max_length, (int, float, np.integer, np.floating))
                or not np.isfinite(train_max_length) or train_max_length <= 0):
            raise ValueError(f"train_max_length: expected a positive number, got "
                             f"{train_max_length!r}")
    fig = _new_figure(7.5, 4.5)
    ax = fig.subplots()
    for c, name in zip(curves, names):
        ax.plot(lengths, c, "o-", markersize=4, label=name if name is not None else "_nolegend_")
    scale = _set_count_scale(ax, curves)
    if scale == "log":
        ax.yaxis.set_major_formatter(_PlainLogFormatter(labelOnlyBase=False))
        ax.yaxis.set_minor_formatter(_PlainLogFormatter(labelOnlyBase=False))
    if train_max_length is not None:
        ax.axvline(train_max_length, color="0.3", linestyle="--", linewidth=1.2,
                   label=f"longest training length ({train_max_length:g})")
        hi = max(float(lengths.max()), float(train_max_length))
        if hi > train_max_length:
            ax.axvspan(train_max_length, hi, color="0.94", zorder=0,
                       label="longer than training")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(MEASURE_LABELS[measure])
    ax.set_title(f"Generalisation to other lengths ({scale} scale)")
    ax.grid(True, alpha=0.3)
    if any(n is not None for n in names) or train_max_length is not None:
        ax.legend(fontsize=8)
    return fig


# --------------------------------------------------------------------------- saving
def _check_path_dpi(path, dpi):
    """``(pathlib.Path, float)`` of an output path and a resolution, or a ValueError."""
    try:
        path = pathlib.Path(os.fspath(path))
    except TypeError:
        raise ValueError(f"path: expected a str or os.PathLike, got "
                         f"{type(path).__name__}") from None
    return path, check_positive_number("dpi", dpi)


@_quiet_fp
def save_figure(fig, path, dpi=100):
    """Write ``fig`` to ``path`` as PNG (whatever the suffix), creating parent folders.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : str or os.PathLike
    dpi : positive number (default 100)

    Returns
    -------
    pathlib.Path, the path written
    """
    if not isinstance(fig, Figure):
        raise ValueError(f"fig: expected a matplotlib.figure.Figure, got {type(fig).__name__}")
    path, dpi = _check_path_dpi(path, dpi)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=float(dpi), format="png")
    return path


# --------------------------------------------------------------------------- animations
#: Frames per second of the animations (``interval`` of 1000 / fps milliseconds).
ANIMATION_FPS = 4


def _animated_figure(width, height):
    """A Figure with an Agg canvas, so that animation writers can grab its pixels."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = _new_figure(width, height)
    FigureCanvasAgg(fig)
    return fig


def _make_animation(fig, update, frames, fps):
    from matplotlib.animation import FuncAnimation

    # blit=False: every frame is drawn whole, so titles and text change with it
    anim = FuncAnimation(fig, _quiet_fp(update), frames=frames, interval=1000.0 / fps,
                         blit=False, repeat=True)
    update(0)  # the figure as first shown is frame 0
    return anim


def _revealed(a, t):
    """(rows, T) array with the columns after ``t`` masked (not drawn yet)."""
    out = np.ma.masked_array(a, mask=np.zeros(a.shape, dtype=bool))
    out.mask[:, t + 1:] = True
    return out


@_quiet_fp
def animate_memory(trace, batch_index=0, x=None, logits=None, mask=None, rows=None,
                   colour_gamma=WEIGHTING_GAMMA, fps=ANIMATION_FPS):
    """Memory and the read and write weightings, one frame per time step.

    Frame ``t`` shows the memory after step ``t`` (rows x width), and the weightings of
    every head from step 0 up to ``t`` (rows x time, later steps blank), with a cursor
    at ``t``; with ``x`` (and ``logits``), the input and the output so far above them.
    The copy task reads as it runs: the write head walks down the memory while the input
    comes in, then the read head walks the same rows while the output comes out.

    Parameters
    ----------
    trace : Trace; uses ``memory`` (T+1, B, N, M) and ``weights`` (T, K, B, N)
    batch_index : int in ``[0, B)``
    x : optional (T, B, X) input of the forward pass that made ``trace``
    logits : optional (T, B, Y) output logits; drawn as sigmoid probabilities
    mask : optional (T, B) or (T, B, Y) loss mask: the output is drawn only at the steps
        that carry a target
    rows : optional ``(start, stop)``, the memory rows to draw (default: all N); a trained
        model often uses a few of many rows
    colour_gamma : float > 0, the exponent of the weightings' colour scale (default 0.3,
        as in :func:`plot_weightings`)
    fps : frames per second (default :data:`ANIMATION_FPS`)

    Returns
    -------
    matplotlib.animation.FuncAnimation
        ``T`` frames; its figure is ``anim._fig``. Save it with :func:`save_animation`
        (GIF), show it in a notebook with :func:`animation_html`.
    """
    trace, d = _check_trace(trace)
    b = check_index("batch_index", batch_index, d.B, "sequence of the batch")
    gamma = check_positive_number("colour_gamma", colour_gamma)
    fps = check_positive_number("fps", fps)
    seqs = []
    if x is not None:
        seqs.append(("input x", _check_shape("x", x, (d.T, d.B, None))[:, b].T, "Greys"))
    if logits is not None:
        out = sigmoid(_check_shape("logits", logits, (d.T, d.B, None))[:, b].T)
        if mask is not None:
            m = _as_float_array("mask", mask)
            if m.shape[:2] != (d.T, d.B) or m.ndim not in (2, 3):
                raise ValueError(f"mask: expected shape ({d.T}, {d.B}) or ({d.T}, {d.B}, Y), "
                                 f"got {m.shape}")
            keep = (m[:, b] if m.ndim == 2 else m[:, b].max(axis=-1)) > 0
            out = np.where(keep[None, :], out, np.nan)
        seqs.append(("output sigmoid(logits)", out, "Greys"))
    if rows is None:
        r0, r1 = 0, d.N
    else:
        try:
            r0, r1 = (int(v) for v in rows)
        except (TypeError, ValueError):
            raise ValueError(f"rows: expected a (start, stop) pair of integers, "
                             f"got {rows!r}") from None
        if not 0 <= r0 < r1 <= d.N:
            raise ValueError(f"rows: expected 0 <= start < stop <= N = {d.N}, got {rows!r}")
    memory = trace.memory[1:, b, r0:r1]                # (T, n, M): after each step
    mlim = _symmetric_limit(memory)
    ncols = 1 + d.K
    pw = _clip(0.08 * d.T + 1.8, 2.6, 5.0)
    ph = _clip(0.03 * (r1 - r0) + 2.0, 2.6, 5.0)
    fig = _animated_figure(pw * ncols + 1.5, ph + (1.9 if seqs else 0.6))
    grid = fig.add_gridspec(2 if seqs else 1, ncols,
                            height_ratios=[0.45, 1.0] if seqs else [1.0])
    row = 1 if seqs else 0
    norm = _weighting_norm(gamma)
    cursors, images, masked = [], [], []
    for i, (title, a, cmap) in enumerate(seqs):
        ax = fig.add_subplot(grid[0, i * ncols // len(seqs):(i + 1) * ncols // len(seqs)])
        im = _time_heatmap(ax, _revealed(a, 0), cmap=cmap, vmin=0.0, vmax=1.0,
                           title=title, ylabel="channel")
        images.append(im)
        masked.append(a)
        cursors.append(ax.axvline(0, color=_ERROR_COLOUR, linewidth=1.2))
    ax = fig.add_subplot(grid[row, 0])
    mem_im = ax.imshow(memory[0], aspect="auto", interpolation="nearest", cmap=_CMAP_SIGNED,
                       vmin=-mlim, vmax=mlim, extent=(-0.5, d.M - 0.5, r1 - 0.5, r0 - 0.5))
    ax.set_xlabel("column (width M)")
    ax.set_ylabel("memory row")
    mem_ax = ax
    fig.colorbar(mem_im, ax=ax, label="memory value")
    w_axes = []
    for k in range(d.K):
        ax = fig.add_subplot(grid[row, 1 + k])
        a = trace.weights[:, k, b, r0:r1].T
        im = _time_heatmap(ax, _revealed(a, 0), cmap=_CMAP_WEIGHTS, norm=norm,
                           title=f"{_head_name(k, d.R)} weighting", ylabel="memory row")
        im.set_extent((-0.5, d.T - 0.5, r1 - 0.5, r0 - 0.5))
        images.append(im)
        masked.append(a)
        cursors.append(ax.axvline(0, color="#2ca02c", linewidth=1.2))
        w_axes.append(ax)
    cb = fig.colorbar(images[-1], ax=w_axes, label=_weighting_label(gamma))
    if gamma != 1:
        cb.set_ticks(list(_WEIGHTING_TICKS))

    def update(t):
        mem_im.set_data(memory[t])
        mem_ax.set_title(f"memory after step {t}", fontsize=10)
        for im, a in zip(images, masked):
            im.set_data(_revealed(a, t))
        for line in cursors:
            line.set_xdata([t, t])
        fig.suptitle(f"Step {t} of {d.T - 1}, sequence {b}")
        return [mem_im, *images, *cursors]

    return _make_animation(fig, update, d.T, fps)


@_quiet_fp
def animate_addressing(trace, head=0, batch_index=0, fps=ANIMATION_FPS):
    """The addressing stages of one head, eqs (5)-(9), one frame per time step.

    Each frame is :func:`plot_addressing` at that step: the content weighting w_c, the
    gated w_g (with the previous weighting dashed), the shifted and the sharpened
    weighting as bars over the memory rows, and the shift distribution s; the titles give
    beta, g and gamma of the step.

    Parameters
    ----------
    trace : Trace; uses ``content, gated, shifted, weights`` (T, K, B, N),
        ``beta, g, gamma`` (T, K, B), ``shift`` (T, K, B, S)
    head : int in ``[0, K)``, over all heads, reads first
    batch_index : int in ``[0, B)``
    fps : frames per second (default :data:`ANIMATION_FPS`)

    Returns
    -------
    matplotlib.animation.FuncAnimation with ``T`` frames (figure: ``anim._fig``)
    """
    trace, d = _check_trace(trace)
    k = check_index("head", head, d.K, f"{d.R} read heads then {d.W} write heads")
    b = check_index("batch_index", batch_index, d.B, "sequence of the batch")
    fps = check_positive_number("fps", fps)
    stages = np.stack([trace.content[:, k, b], trace.gated[:, k, b], trace.shifted[:, k, b],
                       trace.weights[:, k, b]])          # (4, T, N)
    prev = np.concatenate([trace.weights[:1, k, b], trace.weights[:-1, k, b]])  # (T, N)
    shift = trace.shift[:, k, b]
    top = max(float(stages.max()), float(prev.max()))
    top = 1.08 * top if top > 0 else 1.0
    fig = _animated_figure(_clip(0.04 * d.N + 13.0, 14.0, 19.0), 3.8)
    axes = fig.subplots(1, 5, gridspec_kw=dict(width_ratios=[1, 1, 1, 1, 0.55]))
    colours = ["#4c72b0", "#55a868", "#c44e52", "#8172b2"]
    rows = np.arange(d.N)
    bars = []
    for i, ax in enumerate(axes[:4]):
        bars.append(ax.bar(rows, stages[i, 0], width=0.85 if d.N <= 40 else 1.0,
                           linewidth=0, color=colours[i]))
        ax.set_ylim(0, top)
        ax.set_xlim(-0.5, d.N - 0.5)
        ax.set_xlabel("memory row")
        ax.set_ylabel("weighting" if i == 0 else "")
        ax.xaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
    (prev_line,) = axes[1].step(rows, prev[0], where="mid", color="0.3", linestyle="--",
                                linewidth=1.0, label="$w_{t-1}$")
    axes[1].legend(loc="upper right", fontsize=8, framealpha=0.85)
    ks = (d.S - 1) // 2
    offsets = np.arange(-ks, d.S - ks)
    shift_bars = axes[4].bar(offsets, shift[0], width=0.7, color="0.45")
    axes[4].set_ylim(0, 1.05)
    axes[4].set_xticks(offsets)
    axes[4].set_xlabel("shift offset")
    axes[4].set_ylabel("probability")
    axes[4].set_title("shift s (eq 8)", fontsize=10)

    def update(t):
        beta, g, gamma = (float(trace.beta[t, k, b]), float(trace.g[t, k, b]),
                          float(trace.gamma[t, k, b]))
        for i, container in enumerate(bars):
            for rect, h in zip(container, stages[i, t]):
                rect.set_height(h)
        for rect, h in zip(shift_bars, shift[t]):
            rect.set_height(h)
        prev_line.set_ydata(prev[t])
        prev_line.set_visible(t > 0)
        axes[0].set_title(f"content $w^c$ (eq 5)\n$\\beta$ = {beta:.3g}", fontsize=10)
        axes[1].set_title(f"gated $w^g$ (eq 7)\n$g$ = {g:.3g}", fontsize=10)
        axes[2].set_title("shifted $\\tilde{w}$ (eq 8)\nshift s (right panel)", fontsize=10)
        axes[3].set_title(f"sharpened $w$ (eq 9)\n$\\gamma$ = {gamma:.3g}", fontsize=10)
        fig.suptitle(f"Addressing of {_head_name(k, d.R)}, step {t} of {d.T - 1}, "
                     f"sequence {b}")
        return [*(r for c in bars for r in c), *shift_bars, prev_line]

    return _make_animation(fig, update, d.T, fps)


def _check_animation(anim):
    from matplotlib.animation import Animation

    if not isinstance(anim, Animation):
        raise ValueError(f"anim: expected a matplotlib.animation.Animation, got "
                         f"{type(anim).__name__}")
    return anim


@_quiet_fp
def save_animation(anim, path, dpi=80, fps=None):
    """Write ``anim`` to ``path`` as an animated GIF (Pillow), creating parent folders.

    Parameters
    ----------
    anim : matplotlib.animation.Animation, e.g. from :func:`animate_memory`
    path : str or os.PathLike
    dpi : positive number (default 80)
    fps : frames per second (default: the animation's own)

    Returns
    -------
    pathlib.Path, the path written
    """
    from matplotlib.animation import PillowWriter

    anim = _check_animation(anim)
    path, dpi = _check_path_dpi(path, dpi)
    fps = 1000.0 / anim._interval if fps is None else check_positive_number("fps", fps)
    path.parent.mkdir(parents=True, exist_ok=True)
    anim.save(path, writer=PillowWriter(fps=fps), dpi=float(dpi))
    return path


_FA_ICONS = {"fa-minus": "&minus;", "fa-fast-backward": "|&#x25C0;&#x25C0;",
             "fa-step-backward": "|&#x25C0;", "fa-play fa-flip-horizontal": "&#x25C0;",
             "fa-pause": "||", "fa-play": "&#x25B6;", "fa-step-forward": "&#x25B6;|",
             "fa-fast-forward": "&#x25B6;&#x25B6;|", "fa-plus": "+"}


@_quiet_fp
def animation_html(anim, dpi=80):
    """``anim`` as self-contained HTML for a notebook: ``display(HTML(animation_html(a)))``.

    This is ``anim.to_jshtml()`` (every frame embedded as a PNG, with play, step and
    speed buttons), except that the buttons' icons are drawn as text: ``to_jshtml`` links
    the Font Awesome style sheet from a CDN for them, which an offline page (or the
    course site read without a network) cannot load.

    Parameters
    ----------
    anim : matplotlib.animation.Animation
    dpi : positive number (default 80), the resolution of the embedded frames

    Returns
    -------
    str, HTML
    """
    import re

    import matplotlib

    anim = _check_animation(anim)
    with matplotlib.rc_context({"savefig.dpi": float(dpi)}):
        html = anim.to_jshtml()
    html = re.sub(r"<link[^>]*font-awesome[^>]*>", "", html)
    for name, text in _FA_ICONS.items():
        html = html.replace(f'<i class="fa {name}"></i>', f"<span>{text}</span>")
    return html


# --------------------------------------------------------------------------- interactive
#: The settings drawn by :func:`explore_addressing` when widgets are unavailable:
#: (label, beta, g, shift over offsets -1, 0, +1, gamma).
ADDRESSING_SETTINGS = (
    ("jump by content", 20.0, 1.0, (0.0, 1.0, 0.0), 1.0),
    ("move by location", 20.0, 0.0, (0.0, 0.0, 1.0), 1.0),
    ("blurry shift, sharpened", 5.0, 0.3, (0.1, 0.2, 0.7), 3.0),
)


@_quiet_fp
def plot_addressing_chain(memory, w_prev, key, beta, g, s, gamma, labels=None):
    """The stages of eqs (5)-(9) for given head parameters, one row of panels per setting.

    Runs :func:`ntm_numpy.addressing.address_forward` and draws, for each of the ``B``
    settings: the content weighting w_c (eq 5), the gated w_g (eq 7, with ``w_prev``
    dashed), the shifted (eq 8) and the sharpened (eq 9) weighting over the memory rows,
    and the shift distribution s over its offsets.

    Parameters
    ----------
    memory : (B, N, M); w_prev : (B, N); key : (B, M)
    beta : (B, 1) > 0; g : (B, 1) in [0, 1]; s : (B, S); gamma : (B, 1) >= 1
    labels : optional list of B strings, one per row

    Returns
    -------
    Figure with ``B`` rows of 5 axes
    """
    from .addressing import address_forward

    w, cache = address_forward(memory, w_prev, key, beta, g, s, gamma)
    B, N = w.shape
    S = np.shape(s)[-1]
    if labels is not None and len(labels) != B:
        raise ValueError(f"labels: expected {B} labels (one per setting), got {len(labels)}")
    stages = [cache.w_c, cache.w_g, cache.w_s, w]
    fig = _new_figure(_clip(0.04 * N + 13.0, 14.0, 19.0), 2.9 * B + 0.4)
    axes = fig.subplots(B, 5, squeeze=False, gridspec_kw=dict(width_ratios=[1, 1, 1, 1, 0.55]))
    colours = ["#4c72b0", "#55a868", "#c44e52", "#8172b2"]
    rows = np.arange(N)
    offsets = np.arange(-((S - 1) // 2), S - (S - 1) // 2)
    for b in range(B):
        bb, gg, ga = float(beta[b, 0]), float(g[b, 0]), float(gamma[b, 0])
        titles = [f"content $w^c$ (eq 5), $\\beta$ = {bb:.3g}",
                  f"gated $w^g$ (eq 7), $g$ = {gg:.3g}",
                  "shifted $\\tilde{w}$ (eq 8)",
                  f"sharpened $w$ (eq 9), $\\gamma$ = {ga:.3g}"]
        for i in range(4):
            ax = axes[b, i]
            ax.bar(rows, stages[i][b], width=0.85, linewidth=0, color=colours[i])
            ax.set_ylim(0, 1.05)
            ax.set_xlim(-0.5, N - 0.5)
            ax.set_title(titles[i], fontsize=9)
            ax.set_xlabel("memory row")
            ax.xaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
        axes[b, 0].set_ylabel((labels[b] + "\n" if labels else "") + "weighting")
        axes[b, 1].step(rows, w_prev[b], where="mid", color="0.3", linestyle="--",
                        linewidth=1.0, label="$w_{t-1}$")
        axes[b, 1].legend(loc="upper right", fontsize=7, framealpha=0.85)
        ax = axes[b, 4]
        ax.bar(offsets, s[b], width=0.7, color="0.45")
        ax.set_ylim(0, 1.05)
        ax.set_xticks(offsets)
        ax.set_xlabel("shift offset")
        ax.set_ylabel("probability")
        ax.set_title("shift s (eq 8)", fontsize=9)
    fig.suptitle("Addressing, eqs (5)-(9): content, interpolation, shift, sharpening")
    return fig


def _widgets_available():
    if os.environ.get("NTM_NOTEBOOK_STATIC", "") not in ("", "0"):
        return False
    try:
        import ipywidgets  # noqa: F401  (the notebook extra)
    except ImportError:
        return False
    return True


def explore_addressing(memory, key, w_prev, *, interactive=None):
    """Sliders for beta, g, the shift distribution and gamma that redraw eqs (5)-(9).

    For a notebook: the return value is displayed. With ipywidgets (``pip install -e
    ".[notebook]"``) it is a widget: sliders for the key strength beta (log scale), the
    gate g, the weights of the offsets -1, 0, +1 of the shift s (normalised to sum to
    1) and the sharpening gamma, above :func:`plot_addressing_chain` for their values.
    Without widgets, it is a static figure of :data:`ADDRESSING_SETTINGS` instead: this
    fallback is used when ipywidgets is not installed or ``NTM_NOTEBOOK_STATIC=1`` is
    set (as on the course site and in the tests, where nothing could move the sliders).

    Parameters
    ----------
    memory : (N, M) one memory
    key : (M,) the head's key
    w_prev : (N,) the head's previous weighting
    interactive : bool or None (default: widgets when available)

    Returns
    -------
    ipywidgets.VBox or matplotlib.figure.Figure
    """
    memory = _check_shape("memory", memory, (None, None))
    N, M = memory.shape
    key = _check_shape("key", key, (M,))
    w_prev = _check_shape("w_prev", w_prev, (N,))
    if interactive is None:
        interactive = _widgets_available()

    def chain(settings):
        B = len(settings)
        return plot_addressing_chain(
            np.repeat(memory[None], B, axis=0), np.repeat(w_prev[None], B, axis=0),
            np.repeat(key[None], B, axis=0),
            np.array([[st[1]] for st in settings]), np.array([[st[2]] for st in settings]),
            np.array([st[3] for st in settings], dtype=float),
            np.array([[st[4]] for st in settings]), labels=[st[0] for st in settings])

    if not interactive:
        return chain(ADDRESSING_SETTINGS)

    import ipywidgets as widgets
    from IPython.display import display

    _, beta, g, s, gamma = ADDRESSING_SETTINGS[2]
    sliders = dict(
        beta=widgets.FloatLogSlider(value=beta, base=10, min=-1, max=2, step=0.05,
                                    description="beta"),
        g=widgets.FloatSlider(value=g, min=0.0, max=1.0, step=0.01, description="g"),
        s_minus=widgets.FloatSlider(value=s[0], min=0.0, max=1.0, step=0.01,
                                    description="s(-1)"),
        s_zero=widgets.FloatSlider(value=s[1], min=0.0, max=1.0, step=0.01,
                                   description="s(0)"),
        s_plus=widgets.FloatSlider(value=s[2], min=0.0, max=1.0, step=0.01,
                                   description="s(+1)"),
        gamma=widgets.FloatSlider(value=gamma, min=1.0, max=20.0, step=0.1,
                                  description="gamma"),
    )
    out = widgets.Output()

    def redraw(beta, g, s_minus, s_zero, s_plus, gamma):
        s = np.array([s_minus, s_zero, s_plus])
        s = s / s.sum() if s.sum() > 0 else np.full(3, 1.0 / 3.0)
        fig = chain([("your setting", beta, g, tuple(s), gamma)])
        out.clear_output(wait=True)
        with out:
            display(fig)

    widgets.interactive_output(redraw, sliders)  # draws once now, then on every change
    return widgets.VBox([widgets.HBox(list(sliders.values())[:3]),
                         widgets.HBox(list(sliders.values())[3:]), out])
