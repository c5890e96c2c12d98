"""Animations of a recorded forward pass, one frame per time step.

:func:`animate_memory` (the memory and every head's weighting, step by step) and
:func:`animate_addressing` (the addressing stages of one head) return a
:class:`matplotlib.animation.FuncAnimation` drawn on a figure with an Agg canvas;
:func:`save_animation` writes it as an animated GIF, :func:`animation_html` as
self-contained HTML for a notebook. Notation: see :mod:`ntm_numpy.plotting`.
"""
import weakref

import numpy as np
from matplotlib.ticker import MaxNLocator

from .._validation import check_index, check_positive_number
from ..activations import sigmoid
from ._common import (
    _CMAP_SIGNED,
    _CMAP_WEIGHTS,
    _ERROR_COLOUR,
    _WEIGHTING_TICKS,
    WEIGHTING_GAMMA,
    _as_float_array,
    _check_path_dpi,
    _check_shape,
    _check_trace,
    _clip,
    _head_name,
    _new_figure,
    _quiet_fp,
    _symmetric_limit,
    _time_heatmap,
    _weighting_label,
    _weighting_norm,
)

__all__ = ["animate_memory", "animate_addressing", "save_animation", "animation_html",
           "ANIMATION_FPS"]

#: Frames per second of the animations (``interval`` of 1000 / fps milliseconds).
ANIMATION_FPS = 4

#: The frame rate each animation made here was built with, by animation: the default of
#: :func:`save_animation` (matplotlib keeps the interval only in a private attribute).
#: Weak keys: an entry goes with its animation.
_FPS_OF = weakref.WeakKeyDictionary()


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
    _FPS_OF[anim] = fps
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
    The copy task reads as it runs: the write head walks through the memory while the input
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
        ``T`` frames, drawn on a figure of their own (with an Agg canvas). Save it with
        :func:`save_animation` (GIF), show it in a notebook with :func:`animation_html`.
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
    matplotlib.animation.FuncAnimation with ``T`` frames, on a figure of its own
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
    fps : frames per second (default: the animation's own, the ``fps`` it was made with
        by :func:`animate_memory` or :func:`animate_addressing`; for an animation made
        elsewhere, the rate matplotlib's ``Animation.save`` derives from its interval)

    Returns
    -------
    pathlib.Path, the path written
    """
    from matplotlib.animation import PillowWriter

    anim = _check_animation(anim)
    path, dpi = _check_path_dpi(path, dpi)
    fps = _FPS_OF.get(anim) if fps is None else check_positive_number("fps", fps)
    path.parent.mkdir(parents=True, exist_ok=True)
    # without a known rate, the writer's name lets Animation.save take the animation's own
    writer = "pillow" if fps is None else PillowWriter(fps=fps)
    anim.save(path, writer=writer, dpi=float(dpi))
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
