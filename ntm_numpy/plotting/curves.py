"""Curves of a training run and of its scores: learning curves, length generalisation.

:func:`plot_training_curves` (loss and bit errors against the sequences seen) and
:func:`plot_generalisation` (a score per sequence against sequence length, for one or
several models, with :data:`MEASURE_LABELS` naming the scores it can plot).
"""
from collections.abc import Mapping

import numpy as np
from matplotlib.ticker import LogFormatter

from ._common import _as_float_array, _check_shape, _new_figure, _quiet_fp

__all__ = ["plot_training_curves", "plot_generalisation", "MEASURE_LABELS"]


# --------------------------------------------------------------------------- curves
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
        neither) and ``"val_loss"`` (v,); optional ``"restart_step"`` (r,), the updates
        at which the run started again (``TrainConfig.restart_after``), drawn as dashed
        lines where the run had seen as many sequences (with ``"step"`` (n,), the
        updates of the logged entries).

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
    restarts = np.asarray(history.get("restart_step") or [], dtype=float)
    if restarts.size:
        if "step" not in history:
            raise ValueError("history: expected 'step' with 'restart_step', to place the "
                             "restarts on the sequences axis, got no 'step'")
        restarts = np.interp(restarts, _history_array(history, "step", seq.size), seq)
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
        for i, x in enumerate(restarts):
            ax.axvline(x, color="0.4", linestyle="--", linewidth=1,
                       label="restart" if i == 0 else None)
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
#: :func:`ntm_numpy.training.evaluation.evaluate_scores` it can plot.
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
        (:func:`ntm_numpy.training.evaluation.task_measure`).
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
