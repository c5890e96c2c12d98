"""Figures of the addressing mechanism, eqs (5)-(9): content, gate, shift, sharpening.

:func:`plot_addressing` (the stages of one head at one step of a recorded forward
pass), :func:`plot_addressing_chain` (the stages for given head parameters, one row per
setting) and :func:`explore_addressing` (sliders that redraw that chain in a notebook, or
a still figure of :data:`ADDRESSING_SETTINGS` without widgets). The animated version is
:func:`ntm_numpy.plotting.animation.animate_addressing`. Notation: see
:mod:`ntm_numpy.plotting`.
"""
import os

import numpy as np
from matplotlib.ticker import MaxNLocator

from .._validation import check_index
from ._common import (
    _check_shape,
    _check_trace,
    _clip,
    _head_name,
    _new_figure,
    _quiet_fp,
    _row_span,
)

__all__ = ["plot_addressing", "plot_addressing_chain", "explore_addressing",
           "ADDRESSING_SETTINGS", "ADDRESSING_LOG_FLOOR"]

#: The bottom of the y axis of :func:`plot_addressing` with ``scale="log"``: smaller
#: weights (a sharpened weighting's off-peak rows) are drawn as nothing.
ADDRESSING_LOG_FLOOR = 1e-4


# --------------------------------------------------------------------------- trace
@_quiet_fp
def plot_addressing(trace, head=0, step=0, batch_index=0, *, rows=None, scale="linear"):
    """The four addressing stages of one head at one step, side by side.

    Parameters
    ----------
    trace : Trace; uses ``content, gated, shifted, weights`` (T, K, B, N),
        ``beta, g, gamma`` (T, K, B), ``shift`` (T, K, B, S)
    head : int in ``[0, K)``, over all heads, reads first (``R`` is the first write head)
    step : int in ``[0, T)``
    batch_index : int in ``[0, B)``
    rows : None (all N rows, the default) or ``(first, last)``, inclusive: the memory
        rows drawn
    scale : ``"linear"`` (the default: 0 up to a little above the largest weight) or
        ``"log"`` (from :data:`ADDRESSING_LOG_FLOOR` to 1.5), for weightings whose mass
        is spread thin: a floor of about 1/N over many rows is invisible on a linear
        axis beside a peak near 1

    Returns
    -------
    Figure
        Five axes. Four bar charts over the memory rows, sharing the y range:
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
    if isinstance(rows, str):
        raise ValueError(f"rows: expected None or (first, last), got {rows!r}")
    lo, hi = _row_span(rows, None, d.N)
    if scale not in ("linear", "log"):
        raise ValueError(f"scale: expected 'linear' or 'log', got {scale!r}")
    part = slice(lo, hi + 1)
    stages = [trace.content[t, k, b, part], trace.gated[t, k, b, part],
              trace.shifted[t, k, b, part], trace.weights[t, k, b, part]]
    beta, g, gamma = (float(trace.beta[t, k, b]), float(trace.g[t, k, b]),
                      float(trace.gamma[t, k, b]))
    s = trace.shift[t, k, b]
    prev = trace.weights[t - 1, k, b, part] if t > 0 else None
    top = max(float(max(a.max() for a in stages)), float(prev.max()) if prev is not None else 0)
    top = 1.08 * top if top > 0 else 1.0
    ylim = (ADDRESSING_LOG_FLOOR, 1.5) if scale == "log" else (0, top)
    n = hi - lo + 1
    fig = _new_figure(_clip(0.04 * n + 13.0, 14.0, 19.0), 3.8)
    axes = fig.subplots(1, 5, gridspec_kw=dict(width_ratios=[1, 1, 1, 1, 0.55]))
    titles = [f"content $w^c$ (eq 5)\n$\\beta$ = {beta:.3g}",
              f"gated $w^g$ (eq 7)\n$g$ = {g:.3g}",
              "shifted $\\tilde{w}$ (eq 8)\nshift s (right panel)",
              f"sharpened $w$ (eq 9)\n$\\gamma$ = {gamma:.3g}"]
    colours = ["#4c72b0", "#55a868", "#c44e52", "#8172b2"]
    shown = np.arange(lo, hi + 1)
    for i, (ax, a) in enumerate(zip(axes[:4], stages)):
        ax.bar(shown, a, width=0.85 if n <= 40 else 1.0, linewidth=0, color=colours[i])
        if scale == "log":
            ax.set_yscale("log")
        ax.set_ylim(*ylim)
        ax.set_xlim(lo - 0.5, hi + 0.5)
        ax.set_title(titles[i], fontsize=10)
        ax.set_xlabel("memory row")
        ax.set_ylabel(("weighting (log scale)" if scale == "log" else "weighting")
                      if i == 0 else "")
        ax.xaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
    if prev is not None:
        axes[1].step(shown, prev, where="mid", color="0.3", linestyle="--", linewidth=1.0,
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
    span = "" if (lo, hi) == (0, d.N - 1) else f", rows {lo}-{hi} of {d.N}"
    fig.suptitle(f"Addressing of {_head_name(k, d.R)} at step {t}, sequence {b}{span}:  "
                 f"$\\beta$ = {beta:.3g},  $g$ = {g:.3g},  $\\gamma$ = {gamma:.3g}")
    return fig


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
    from ..addressing import address_forward

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
