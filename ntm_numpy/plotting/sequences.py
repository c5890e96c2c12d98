"""Figures of one sequence: its input, target and output, alone or beside the memory.

:func:`plot_sequence` (input, target and output as channel x time strips, wrong bits
outlined) and :func:`plot_copy_summary` (the six panels of the paper's figure 6: inputs,
outputs, adds, reads, write and read weightings). Notation: see :mod:`ntm_numpy.plotting`.
"""
import numpy as np
from matplotlib.collections import PatchCollection
from matplotlib.patches import Rectangle

from .._validation import check_index, check_positive_number
from ..activations import sigmoid
from ._common import (
    _CMAP_BITS,
    _CMAP_SIGNED,
    _CMAP_WEIGHTS,
    _ERROR_COLOUR,
    _WEIGHTING_TICKS,
    USED_WEIGHT,
    WEIGHTING_GAMMA,
    _check_shape,
    _check_trace,
    _clip,
    _crop_rows,
    _new_figure,
    _quiet_fp,
    _row_span,
    _rows_index,
    _span_text,
    _symmetric_limit,
    _time_heatmap,
    _weighting_label,
    _weighting_norm,
)

__all__ = ["plot_sequence", "plot_copy_summary"]


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


def _mark_errors(ax, wrong):
    """Draw a box round every True cell of ``wrong`` (channels, T)."""
    rows, cols = np.nonzero(wrong)
    if rows.size == 0:
        return
    boxes = [Rectangle((c - 0.5, r - 0.5), 1.0, 1.0) for r, c in zip(rows, cols)]
    ax.add_collection(PatchCollection(boxes, facecolor="none", edgecolor=_ERROR_COLOUR,
                                      linewidth=1.5, label="bit error"))


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
                      write_head=0, colour_gamma=WEIGHTING_GAMMA, task="copy", rows=None):
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
    rows : the memory rows of the two weighting panels: None (all N, the default),
        ``"used"`` (the rows on which one of the two heads' weighting exceeds
        :data:`~ntm_numpy.plotting.USED_WEIGHT` at some step, one row of margin each
        side; all N if there is none) or ``(first, last)``, inclusive; their titles say
        which

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
    shown = trace.weights[:, [d.R + w, r], b]  # (T, 2, N) the write head, the read head
    lo, hi = _row_span(rows, (shown > USED_WEIGHT).any(axis=(0, 1)), d.N)
    pw = _clip(0.09 * d.T + 2.2, 3.5, 7.5)
    heights = [max(x.shape[2], y.shape[2], 4), max(d.M, 4), max(hi - lo + 1, 6) * 0.6]
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
    span = "" if (lo, hi) == (0, d.N - 1) else f", rows {_span_text(lo, hi, d.N)} of {d.N}"
    for ax, k, title in ((ax_ww, 0, f"Write weightings (write head {w}{span})"),
                         (ax_rw, 1, f"Read weightings (read head {r}{span})")):
        im = _time_heatmap(ax, shown[:, k, _rows_index(lo, hi, d.N)].T, cmap=_CMAP_WEIGHTS,
                           norm=norm, title=title, ylabel="memory row")
        if (lo, hi) != (0, d.N - 1):
            _crop_rows(ax, im, lo, hi, d.N)
    cb = fig.colorbar(im, ax=[ax_ww, ax_rw], label=_weighting_label(gamma))
    if gamma != 1:
        cb.set_ticks(list(_WEIGHTING_TICKS))
    name = str(task).replace("_", " ")
    fig.suptitle(f"{name[:1].upper() + name[1:]}, sequence {b} (layout of Graves et al. 2014, "
                 "figure 6)")
    return fig
