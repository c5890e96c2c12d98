"""Figures and animations of a recorded forward pass: memory, weightings, addressing, curves.

Submodules, by job:

=========================================  ===============================================
:mod:`ntm_numpy.plotting.figures`          still figures of the memory and the weightings:
                                           :func:`plot_memory`,
                                           :func:`plot_memory_over_time`,
                                           :func:`plot_weightings`,
                                           :func:`plot_erase_add`; :func:`save_figure`
:mod:`ntm_numpy.plotting.sequences`        one sequence's input, target and output:
                                           :func:`plot_sequence`,
                                           :func:`plot_copy_summary` (figure 6's layout)
:mod:`ntm_numpy.plotting.addressing`       the addressing stages, eqs (5)-(9):
                                           :func:`plot_addressing`,
                                           :func:`plot_addressing_chain`,
                                           :func:`explore_addressing` (sliders)
:mod:`ntm_numpy.plotting.animation`        one frame per time step: :func:`animate_memory`,
                                           :func:`animate_addressing`,
                                           :func:`save_animation` (GIF),
                                           :func:`animation_html` (notebook)
:mod:`ntm_numpy.plotting.curves`           training history and scores:
                                           :func:`plot_training_curves`,
                                           :func:`plot_generalisation`
``ntm_numpy.plotting._common``             helpers shared by the others (checks of a trace,
                                           colour maps, the time x rows heat map)
=========================================  ===============================================

Every public name of the submodules is importable from the package itself
(``from ntm_numpy.plotting import plot_memory``).

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
# Names the single-file ``ntm_numpy/plotting.py`` held as a side effect of its imports,
# kept reachable as ``ntm_numpy.plotting.<name>`` for code that used them (the tests
# check ``isinstance(fig, plotting.Figure)``). Not part of ``__all__``.
import functools as functools
import math as math
import os as os
import pathlib as pathlib
from collections.abc import Mapping as Mapping

import numpy as np  # noqa: F401  (re-exported as ntm_numpy.plotting.np)
from matplotlib.collections import PatchCollection as PatchCollection
from matplotlib.colors import Normalize as Normalize
from matplotlib.colors import PowerNorm as PowerNorm
from matplotlib.figure import Figure as Figure
from matplotlib.patches import Rectangle as Rectangle
from matplotlib.ticker import LogFormatter as LogFormatter
from matplotlib.ticker import MaxNLocator as MaxNLocator

from .._validation import check_index as check_index
from .._validation import check_positive_number as check_positive_number
from ..activations import sigmoid as sigmoid
from ._common import USED_WEIGHT, WEIGHTING_GAMMA
from .addressing import (
    ADDRESSING_LOG_FLOOR,
    ADDRESSING_SETTINGS,
    explore_addressing,
    plot_addressing,
    plot_addressing_chain,
)
from .animation import (
    ANIMATION_FPS,
    animate_addressing,
    animate_memory,
    animation_html,
    save_animation,
)
from .curves import MEASURE_LABELS, plot_generalisation, plot_training_curves
from .figures import (
    MEMORY_REDUCTIONS,
    plot_erase_add,
    plot_memory,
    plot_memory_over_time,
    plot_weightings,
    save_figure,
)
from .sequences import plot_copy_summary, plot_sequence

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
    "WEIGHTING_GAMMA",
    "USED_WEIGHT",
    "MEASURE_LABELS",
    "ADDRESSING_SETTINGS",
    "ADDRESSING_LOG_FLOOR",
]
