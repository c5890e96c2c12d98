"""Still figures of a recorded forward pass: the memory and the heads' weightings.

:func:`plot_memory` (memory at chosen steps), :func:`plot_memory_over_time` (the whole
memory history in one heat map), :func:`plot_weightings` (every head's weighting over
time), :func:`plot_erase_add` (a write head's erase and add vectors), and
:func:`save_figure`, which writes any figure of :mod:`ntm_numpy.plotting` as PNG.
Notation and the fields of ``trace``: see :mod:`ntm_numpy.plotting`.
"""
import math

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .._validation import check_index, check_positive_number
from ._common import (
    _CMAP_MEMORY,
    _CMAP_SIGNED,
    _CMAP_WEIGHTS,
    _WEIGHTING_TICKS,
    USED_WEIGHT,
    WEIGHTING_GAMMA,
    _changed_rows,
    _check_path_dpi,
    _check_trace,
    _clip,
    _crop_rows,
    _head_name,
    _new_figure,
    _quiet_fp,
    _row_span,
    _rows_index,
    _span_text,
    _symmetric_limit,
    _time_heatmap,
    _weighting_label,
    _weighting_norm,
    _wrap_row_labels,
)

__all__ = ["plot_memory", "plot_memory_over_time", "plot_weightings", "plot_erase_add",
           "save_figure", "MEMORY_REDUCTIONS"]

#: ``reduce=`` choices of :func:`plot_memory_over_time`.
MEMORY_REDUCTIONS = ("row_norm", "row_mean", "row_change", "column")


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
    lo, hi = _row_span(rows, _changed_rows(changed), d.N)
    data = data[:, _rows_index(lo, hi, d.N)]
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
        _wrap_row_labels(ax, hi, d.N)
        shown.append(ax)
    fig.colorbar(im, ax=shown, label="memory value")
    span = "" if (lo, hi) == (0, d.N - 1) else f", rows {_span_text(lo, hi, d.N)} shown"
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
    lo, hi = _row_span(rows, _changed_rows(np.abs(mem - mem[0]).max(axis=(0, 2))), d.N)
    a = a[_rows_index(lo, hi, d.N)]
    fig = _new_figure(_clip(0.1 * a.shape[1] + 3.0, 5.0, 12.0),
                      _clip(0.04 * a.shape[0] + 2.2, 3.0, 7.0))
    ax = fig.subplots()
    im = _time_heatmap(ax, a, title=f"{title}, sequence {b}", ylabel="memory row",
                       xlabel=xlabel, **kw)
    if (lo, hi) != (0, d.N - 1):
        _crop_rows(ax, im, lo, hi, d.N)
        ax.set_title(f"{title}, sequence {b}\n(rows {_span_text(lo, hi, d.N)} of {d.N})",
                     fontsize=10)
    fig.colorbar(im, ax=ax, label=label)
    return fig


# --------------------------------------------------------------------------- weightings
@_quiet_fp
def plot_weightings(trace, batch_index=0, colour_gamma=WEIGHTING_GAMMA, rows=None):
    """Read and write weightings over time, one heat map per head.

    Parameters
    ----------
    trace : Trace; uses ``trace.weights`` (T, K, B, N), heads ordered reads then writes
    batch_index : int in ``[0, B)``
    colour_gamma : float > 0, the exponent of the colour scale (default 0.3; 1 = linear)
    rows : None (all N rows, the default), ``"used"`` (the rows on which some head's
        weighting exceeds :data:`USED_WEIGHT` at some step, one row of margin each
        side; all N if there is none) or ``(first, last)``, inclusive; every panel shows
        the same rows, and the figure's title says which

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
    lo, hi = _row_span(rows, (trace.weights[:, :, b] > USED_WEIGHT).any(axis=(0, 1)), d.N)
    ncols = min(4, d.K)
    nrows = math.ceil(d.K / ncols)
    pw = _clip(0.08 * d.T + 2.0, 2.8, 6.0)
    ph = _clip(0.03 * (hi - lo + 1) + 2.0, 2.6, 5.5)
    fig = _new_figure(pw * ncols + 1.2, ph * nrows + 0.6)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    norm = _weighting_norm(gamma)
    used = []
    for k, ax in enumerate(axes.flat):
        if k >= d.K:
            ax.remove()
            continue
        im = _time_heatmap(ax, trace.weights[:, k, b, _rows_index(lo, hi, d.N)].T,
                           cmap=_CMAP_WEIGHTS,
                           norm=norm, title=_head_name(k, d.R), ylabel="memory row")
        if (lo, hi) != (0, d.N - 1):
            _crop_rows(ax, im, lo, hi, d.N)
        used.append(ax)
    cb = fig.colorbar(im, ax=used, label=_weighting_label(gamma))
    if gamma != 1:
        cb.set_ticks(list(_WEIGHTING_TICKS))
    span = "" if (lo, hi) == (0, d.N - 1) else f", rows {_span_text(lo, hi, d.N)} of {d.N}"
    fig.suptitle(f"Head weightings over time, sequence {b}{span}")
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


# --------------------------------------------------------------------------- saving
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
