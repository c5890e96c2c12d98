"""Gradient-check exercises: write a backward pass, and let the checker grade it.

Each exercise is one differentiable operation of the NTM. The package supplies its
forward pass; the student writes the matching backward,

.. code-block:: python

    def read_backward(dr, cache):          # dr: upstream gradient, shaped like r
        memory, w = cache                  # the forward's cache (a NamedTuple)
        ...
        return dmemory, dw                 # one gradient per forward input, in order

and :func:`check` compares every returned gradient with a central-difference gradient
of the package's forward (:func:`ntm_numpy.gradcheck.numerical_gradient`), for a
**random** upstream gradient, over a few random inputs and then over the exercise's
**edge cases** (exact zeros in weightings, a one-hot shift, a zero memory row,
``gamma = 1``, ``g`` at 0 and 1, ...)::

    >>> from ntm_numpy.exercises import check
    >>> print(check("read", read_backward))
    read_backward: PASS (max relative error 3.1e-10; 3 random trials, 2 edge cases)

A backward that is right only on generic inputs fails and names the edge case. A
gradient must be a real floating-point array (complex, integer or object arrays are
wrong). On a failure the report shows, for each wrong input, the entries that differ
most (analytic against numerical, like ``cmp`` in Karpathy's micrograd lectures) and a
hint when the error has a known shape: the sign flipped, off by a constant factor,
transposed, or rolled by one row. A solution that calls the package's own backward of
the exercise being checked is refused.

The exercises (``EXERCISES``, easiest first), each with the package forward it uses
and the cache its backward receives (B batch, N memory rows, M row width, S = 2k+1
shift offsets, D input width, H hidden units):

* ``interpolation``: ``addressing.interpolation_forward(w_c, w_prev, g) -> w_g``;
  ``InterpolationCache(w_c, w_prev, g)``
* ``read``: ``memory.read_forward(memory, w) -> r``; ``ReadCache(memory, w)``
* ``write``: ``memory.write_forward(memory, w, e, a) -> new_memory``;
  ``WriteCache(memory, w, e, a, keep)``
* ``cosine_similarity``: ``addressing.cosine_similarity_forward(memory, key) -> K``;
  ``CosineCache(memory, key, mem_norm, key_norm, K)``
* ``content_weighting``: ``addressing.content_weighting_forward(memory, key, beta) -> w_c``;
  ``ContentCache(cosine, beta, w)`` with ``cosine`` a ``CosineCache``
* ``shift``: ``addressing.shift_forward(w_g, s) -> w_s``;
  ``ShiftCache(gathered, s, back_index)``
* ``sharpen``: ``addressing.sharpen_forward(w, gamma) -> out``;
  ``SharpenCache(w, gamma, scale, scaled, powered, total, out)``
* ``lstm_step``: ``controller.lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b) -> (h, c)``
  (so ``dout`` is the tuple ``(dh, dc)``); ``LSTMStepCache(x, h_prev, Wx, Wh, gates)``
  with ``gates`` an ``LSTMGatesCache(c_prev, i, f, o, g, tanh_c)``

:func:`describe` gives the shapes of every input, output and cache field;
:func:`hint` gives tiered hints (level 1: where to look; level 2: the shape of the
answer); :func:`check_forward` grades a student's *forward* pass of the same operations.

Inputs are drawn as the model produces them: weightings and shift distributions through
a softmax, ``beta`` through a softplus, ``g`` through a sigmoid, ``gamma`` as
1 + softplus, all float64 from a seeded generator; ``shift`` includes a case with more
offsets than rows (S > N), where offsets that wrap onto the same row add up.
"""
import contextlib
import inspect
import sys
import traceback
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from . import addressing, controller, memory
from ._validation import check_positive_number
from .activations import sigmoid, softmax_forward, softplus_forward
from .constants import GRADCHECK_STEP
from .gradcheck import numerical_gradient, rel_error

__all__ = [
    "EXERCISES", "Exercise", "ExerciseResult", "RefusedSolution", "check", "check_forward",
    "describe", "get_exercise", "hint", "make_inputs", "step_sweep", "buggy_shift_backward",
]

#: Relative error above which a gradient is reported as wrong (``check``'s default).
DEFAULT_TOL = 1e-6

#: Relative error above which a forward output is reported as wrong (``check_forward``).
FORWARD_TOL = 1e-9

#: Largest number of entries shown in a failure's comparison table.
TABLE_ROWS = 6


# ----------------------------------------------------------------------------------------
# Random valid inputs
# ----------------------------------------------------------------------------------------
def _softmax(rng, *shape):
    return softmax_forward(rng.standard_normal(shape), axis=-1)[0]


def _softplus(rng, *shape):
    return softplus_forward(rng.standard_normal(shape))[0]


def _one_hot(rng, B, N):
    w = np.zeros((B, N))
    w[np.arange(B), rng.integers(0, N, size=B)] = 1.0
    return w


def _with_zeros(rng, B, N):
    """A weighting with exact zeros: mass on two neighbouring rows (a shifted one-hot)."""
    w = np.zeros((B, N))
    first = rng.integers(0, N, size=B)
    w[np.arange(B), first] = 0.5
    w[np.arange(B), (first + 1) % N] += 0.5
    return w


def _inputs_read(rng, B, N, M):
    return rng.standard_normal((B, N, M)), _softmax(rng, B, N)


def _inputs_write(rng, B, N, M):
    return (
        rng.standard_normal((B, N, M)),
        _softmax(rng, B, N),
        sigmoid(rng.standard_normal((B, M))),
        rng.standard_normal((B, M)),
    )


def _inputs_cosine(rng, B, N, M):
    return rng.standard_normal((B, N, M)), rng.standard_normal((B, M))


def _inputs_content(rng, B, N, M):
    return rng.standard_normal((B, N, M)), rng.standard_normal((B, M)), _softplus(rng, B, 1)


def _inputs_interpolation(rng, B, N):
    return _softmax(rng, B, N), _softmax(rng, B, N), sigmoid(rng.standard_normal((B, 1)))


def _inputs_shift(rng, B, N, S):
    return _softmax(rng, B, N), _softmax(rng, B, S)


def _inputs_sharpen(rng, B, N):
    return _softmax(rng, B, N), 1.0 + _softplus(rng, B, 1)


def _inputs_lstm(rng, B, D, H):
    return (
        rng.standard_normal((B, D)),
        np.tanh(rng.standard_normal((B, H))),
        rng.standard_normal((B, H)),
        0.5 * rng.standard_normal((D, 4 * H)),
        0.5 * rng.standard_normal((H, 4 * H)),
        0.1 * rng.standard_normal(4 * H),
    )


def _zero_row(memory):
    memory = memory.copy()
    memory[:, 1] = 0.0
    return memory


# Edge cases: (label, make(rng, **sizes) -> inputs, finite-difference step). They use
# the exercise's first size case. Where a weighting has exact zeros, the central
# difference evaluates the forward at -h: every forward here is defined there (sharpen
# only for an integer gamma, which is why its zero-weight cases use gamma = 1 and 2).
_EDGES = {
    "read": (
        ("one-hot w (exact zeros)", lambda r, B, N, M: (r.standard_normal((B, N, M)),
                                                        _one_hot(r, B, N)), GRADCHECK_STEP),
        ("a zero memory row", lambda r, B, N, M: (_zero_row(r.standard_normal((B, N, M))),
                                                  _softmax(r, B, N)), GRADCHECK_STEP),
    ),
    "write": (
        ("one-hot w (exact zeros)", lambda r, B, N, M: (
            r.standard_normal((B, N, M)), _one_hot(r, B, N),
            sigmoid(r.standard_normal((B, M))), r.standard_normal((B, M))), GRADCHECK_STEP),
        ("a zero memory row, e at exactly 0 and 1", lambda r, B, N, M: (
            _zero_row(r.standard_normal((B, N, M))), _softmax(r, B, N),
            (np.arange(B * M).reshape(B, M) % 2).astype(float), r.standard_normal((B, M))),
         GRADCHECK_STEP),
    ),
    "cosine_similarity": (
        ("a zero memory row", lambda r, B, N, M: (_zero_row(r.standard_normal((B, N, M))),
                                                  r.standard_normal((B, M))), 1e-8),
    ),
    "content_weighting": (
        ("a zero memory row", lambda r, B, N, M: (
            _zero_row(r.standard_normal((B, N, M))), r.standard_normal((B, M)),
            _softplus(r, B, 1)), 1e-8),
        ("a large beta (a nearly one-hot w_c)", lambda r, B, N, M: (
            r.standard_normal((B, N, M)), r.standard_normal((B, M)), np.full((B, 1), 30.0)),
         GRADCHECK_STEP),
    ),
    "interpolation": (
        ("g at exactly 0 and 1", lambda r, B, N: (
            _softmax(r, B, N), _softmax(r, B, N), (np.arange(B) % 2).astype(float)[:, None]),
         GRADCHECK_STEP),
        ("one-hot w_c and w_prev (exact zeros)", lambda r, B, N: (
            _one_hot(r, B, N), _one_hot(r, B, N), sigmoid(r.standard_normal((B, 1)))),
         GRADCHECK_STEP),
    ),
    "shift": (
        ("one-hot s (exact zeros)", lambda r, B, N, S: (_softmax(r, B, N), _one_hot(r, B, S)),
         GRADCHECK_STEP),
        ("w_g with exact zeros", lambda r, B, N, S: (_with_zeros(r, B, N), _softmax(r, B, S)),
         GRADCHECK_STEP),
    ),
    "sharpen": (
        ("exact zeros in w, gamma = 2", lambda r, B, N: (
            _with_zeros(r, B, N), np.full((B, 1), 2.0)), GRADCHECK_STEP),
        ("gamma = 1, exact zeros in w", lambda r, B, N: (
            _with_zeros(r, B, N), np.ones((B, 1))), GRADCHECK_STEP),
    ),
    "lstm_step": (
        ("the first step: h_prev = c_prev = 0", lambda r, B, D, H: (
            r.standard_normal((B, D)), np.zeros((B, H)), np.zeros((B, H)),
            0.5 * r.standard_normal((D, 4 * H)), 0.5 * r.standard_normal((H, 4 * H)),
            np.zeros(4 * H)), GRADCHECK_STEP),
        ("saturated gates (large pre-activations)", lambda r, B, D, H: (
            3.0 * r.standard_normal((B, D)), np.tanh(r.standard_normal((B, H))),
            r.standard_normal((B, H)), 2.0 * r.standard_normal((D, 4 * H)),
            0.5 * r.standard_normal((H, 4 * H)), np.zeros(4 * H)), GRADCHECK_STEP),
    ),
}


# ----------------------------------------------------------------------------------------
# The exercises
# ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Exercise:
    """One backward-pass exercise.

    Attributes
    ----------
    name : str
        Exercise name, e.g. ``"read"``; the student's function is ``<name>_backward``.
    forward : callable
        The package forward, ``forward(*inputs) -> (out, cache)``.
    inputs : tuple of (name, shape) pairs
        Forward inputs, in order; the backward returns one gradient per input, in order.
    outputs : tuple of (name, shape) pairs
        Forward outputs; with more than one, the upstream gradient is a tuple.
    cache : str
        The cache's fields with shapes, as the backward receives it.
    cache_type : type
        The cache NamedTuple class.
    equation : str
        The forward as a formula, with the paper's equation number.
    cases : tuple of dict
        Sizes of the random cases; trial t of :func:`check` uses ``cases[t % len(cases)]``.
    make_inputs : callable ``(rng, **sizes) -> tuple of ndarrays``
    edges : tuple of (label, make_inputs, h)
        The edge cases every check also runs (sizes ``cases[0]``), with the step of their
        central difference.
    hints : tuple of str
        Tiered hints: first where to look, then the shape of the answer.
    """

    name: str
    forward: Callable
    inputs: tuple
    outputs: tuple
    cache: str
    cache_type: type
    equation: str
    cases: tuple
    make_inputs: Callable
    edges: tuple = ()
    hints: tuple = ()

    @property
    def input_names(self):
        return tuple(n for n, _ in self.inputs)

    @property
    def output_names(self):
        return tuple(n for n, _ in self.outputs)

    @property
    def function_name(self):
        return f"{self.name}_backward"

    @property
    def edge_labels(self):
        return tuple(label for label, _, _ in self.edges)


_MEM_CASES = ({"B": 2, "N": 5, "M": 4}, {"B": 3, "N": 4, "M": 3}, {"B": 1, "N": 6, "M": 2})
_W_CASES = ({"B": 2, "N": 5}, {"B": 3, "N": 4}, {"B": 1, "N": 7})

_HINTS = {
    "interpolation": (
        "Where to look: eq (7) and the cache (w_c, w_prev, g). The output is linear in each "
        "of w_c and w_prev; g is one number per batch entry, shared by the N rows.",
        "Shape of the answer: dw_c and dw_prev are dw_g scaled entry by entry (no sums); "
        "dg is a sum over the N rows of dw_g times something from the cache, kept (B, 1).",
    ),
    "read": (
        "Where to look: eq (2). r is a weighted sum of rows: write one entry r(m) with its "
        "indices and differentiate it with respect to one M(i, m') and one w(i).",
        "Shape of the answer: dmemory is an outer product (one factor per row, one per "
        "column); dw is a product of the memory with the upstream gradient, summed over M.",
    ),
    "write": (
        "Where to look: eqs (3)-(4) and the cached keep. Name the gradient reaching keep "
        "first; w appears in two terms, the erase and the add.",
        "Shape of the answer: dmemory has the shape of the memory and needs no sum; dw sums "
        "over M two contributions (erase and add); de and da sum over the N rows.",
    ),
    "cosine_similarity": (
        "Where to look: eq (6), the cached norms. Differentiate a smoothed norm "
        "sqrt(x.x + eps) first, then use the quotient rule.",
        "Shape of the answer: each row's gradient is a combination of two vectors, the key "
        "and the row itself; the key's gradient sums the rows' contributions (two terms).",
    ),
    "content_weighting": (
        "Where to look: eq (5): a softmax of z = beta K over the rows, then your cosine "
        "backward (you may call your own).",
        "Shape of the answer: a softmax's backward is a Jacobian-vector product that never "
        "forms the N x N Jacobian; dbeta sums over rows, kept (B, 1).",
    ),
    "shift": (
        "Where to look: eq (8) and the cache's two index tables. Each column of the index "
        "table is a rotation of the rows; what undoes a rotation?",
        "Shape of the answer: ds is one product of dw_s with `gathered`; dw_g is dw_s "
        "rotated back (use back_index or a loop over offsets) and weighted by s. With "
        "S > N, offsets landing on the same row must add up.",
    ),
    "sharpen": (
        "Where to look: eq (9) and the cache: three stages, scaling, power, normalisation. "
        "Think about entries of w that are exactly 0.",
        "Shape of the answer: the normalisation gives the same kind of product as a "
        "softmax's backward; the power has two derivatives, one for u and one for gamma "
        "(that one contains a log: what is its value at u = 0?); the scale acts as a constant.",
    ),
    "lstm_step": (
        "Where to look: the step's equations in describe('lstm_step'). The cell state "
        "receives gradient from two places: the next step and h.",
        "Shape of the answer: go backward through h = o tanh(c), then c = f c_prev + i g, "
        "then the four gate non-linearities (stacked i, f, o, g), then an affine map whose "
        "weight gradients are products with the inputs and whose bias sums over the batch.",
    ),
}

_SPECS = (
    dict(
        name="interpolation",
        forward=addressing.interpolation_forward,
        inputs=(("w_c", "(B, N)"), ("w_prev", "(B, N)"), ("g", "(B, 1)")),
        outputs=(("w_g", "(B, N)"),),
        cache="InterpolationCache(w_c (B, N), w_prev (B, N), g (B, 1))",
        cache_type=addressing.InterpolationCache,
        equation="eq (7): w_g = g w_c + (1 - g) w_prev",
        cases=_W_CASES,
        make_inputs=_inputs_interpolation,
    ),
    dict(
        name="read",
        forward=memory.read_forward,
        inputs=(("memory", "(B, N, M)"), ("w", "(B, N)")),
        outputs=(("r", "(B, M)"),),
        cache="ReadCache(memory (B, N, M), w (B, N))",
        cache_type=memory.ReadCache,
        equation="eq (2): r = sum_i w(i) M(i)",
        cases=_MEM_CASES,
        make_inputs=_inputs_read,
    ),
    dict(
        name="write",
        forward=memory.write_forward,
        inputs=(("memory", "(B, N, M)"), ("w", "(B, N)"), ("e", "(B, M)"), ("a", "(B, M)")),
        outputs=(("new_memory", "(B, N, M)"),),
        cache="WriteCache(memory (B, N, M) before the write, w (B, N), e (B, M), a (B, M),"
        " keep (B, N, M) = 1 - w(i) e)",
        cache_type=memory.WriteCache,
        equation="eqs (3)-(4): M'(i) = M(i) * (1 - w(i) e) + w(i) a",
        cases=_MEM_CASES,
        make_inputs=_inputs_write,
    ),
    dict(
        name="cosine_similarity",
        forward=addressing.cosine_similarity_forward,
        inputs=(("memory", "(B, N, M)"), ("key", "(B, M)")),
        outputs=(("K", "(B, N)"),),
        cache="CosineCache(memory (B, N, M), key (B, M), mem_norm (B, N), key_norm (B, 1),"
        " K (B, N)); norms are sqrt(x.x + NORM_EPS)",
        cache_type=addressing.CosineCache,
        equation="eq (6): K(i) = M(i).k / (|M(i)| |k|)",
        cases=_MEM_CASES,
        make_inputs=_inputs_cosine,
    ),
    dict(
        name="content_weighting",
        forward=addressing.content_weighting_forward,
        inputs=(("memory", "(B, N, M)"), ("key", "(B, M)"), ("beta", "(B, 1)")),
        outputs=(("w_c", "(B, N)"),),
        cache="ContentCache(cosine: CosineCache(memory, key, mem_norm, key_norm, K),"
        " beta (B, 1), w (B, N) the output)",
        cache_type=addressing.ContentCache,
        equation="eq (5): w_c(i) = exp(beta K(i)) / sum_j exp(beta K(j))",
        cases=_MEM_CASES,
        make_inputs=_inputs_content,
    ),
    dict(
        name="shift",
        forward=addressing.shift_forward,
        inputs=(("w_g", "(B, N)"), ("s", "(B, S)")),
        outputs=(("w_s", "(B, N)"),),
        cache="ShiftCache(gathered (B, N, S) with gathered[b, i, j] = w_g[b, (i - o_j) mod N],"
        " s (B, S), back_index (N, S) = (i + o_j) mod N); offset o_j = j - S//2",
        cache_type=addressing.ShiftCache,
        equation="eq (8): w_s(i) = sum_j s_j w_g((i - o_j) mod N), o_j = j - S//2",
        cases=({"B": 2, "N": 5, "S": 3}, {"B": 2, "N": 3, "S": 5}, {"B": 3, "N": 6, "S": 3}),
        make_inputs=_inputs_shift,
    ),
    dict(
        name="sharpen",
        forward=addressing.sharpen_forward,
        inputs=(("w", "(B, N)"), ("gamma", "(B, 1)")),
        outputs=(("out", "(B, N)"),),
        cache="SharpenCache(w (B, N), gamma (B, 1), scale (B, 1) = max_i w(i),"
        " scaled (B, N) = w / scale, powered (B, N) = scaled**gamma,"
        " total (B, 1) = sum(powered) + SHARPEN_EPS, out (B, N))",
        cache_type=addressing.SharpenCache,
        equation="eq (9): out(i) = w(i)**gamma / sum_j w(j)**gamma",
        cases=_W_CASES,
        make_inputs=_inputs_sharpen,
    ),
    dict(
        name="lstm_step",
        forward=controller.lstm_step_forward,
        inputs=(
            ("x", "(B, D)"), ("h_prev", "(B, H)"), ("c_prev", "(B, H)"),
            ("Wx", "(D, 4H)"), ("Wh", "(H, 4H)"), ("b", "(4H,)"),
        ),
        outputs=(("h", "(B, H)"), ("c", "(B, H)")),
        cache="LSTMStepCache(x (B, D), h_prev (B, H), Wx (D, 4H), Wh (H, 4H),"
        " gates: LSTMGatesCache(c_prev, i, f, o, g, tanh_c), each (B, H));"
        " gate order in z and Wx/Wh/b columns: i, f, o, g",
        cache_type=controller.LSTMStepCache,
        equation="z = x Wx + h_prev Wh + b; i, f, o = sigmoid, g = tanh;"
        " c = f c_prev + i g; h = o tanh(c)",
        cases=({"B": 2, "D": 3, "H": 4}, {"B": 3, "D": 2, "H": 3}, {"B": 1, "D": 4, "H": 2}),
        make_inputs=_inputs_lstm,
    ),
)

_LIST = tuple(
    Exercise(**spec, edges=_EDGES[spec["name"]], hints=_HINTS[spec["name"]]) for spec in _SPECS
)

_BY_NAME = {ex.name: ex for ex in _LIST}

#: Names of the exercises, easiest first (the order of notebook 04).
EXERCISES = tuple(ex.name for ex in _LIST)


def _package_function(name, kind):
    """The package's own ``<name>_<kind>`` (kind "forward" or "backward")."""
    fwd = _BY_NAME[name].forward
    return getattr(sys.modules[fwd.__module__], f"{name}_{kind}")


def get_exercise(name):
    """The :class:`Exercise` called ``name`` (also accepts ``"<name>_backward"``)."""
    if isinstance(name, str):
        for suffix in ("_backward", "_forward"):
            if name.endswith(suffix):
                name = name[: -len(suffix)]
    try:
        return _BY_NAME[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"name: expected one of {', '.join(repr(n) for n in EXERCISES)}, got {name!r}"
        ) from None


def make_inputs(name, seed=0, case=0):
    """Random valid inputs of exercise ``name``: a tuple of float64 arrays.

    ``case`` indexes the exercise's size cases (modulo their number).
    """
    ex = get_exercise(name)
    sizes = ex.cases[case % len(ex.cases)]
    return tuple(
        np.asarray(x, dtype=np.float64)
        for x in ex.make_inputs(np.random.default_rng(seed), **sizes)
    )


def hint(name, level=1):
    """Tiered hint for exercise ``name``: level 1 says where to look, level 2 describes
    the shape of the answer (never the formula). Returns a str."""
    ex = get_exercise(name)
    if isinstance(level, bool) or level not in (1, 2):
        raise ValueError(f"level: expected 1 (where to look) or 2 (shape of the answer), "
                         f"got {level!r}")
    return f"{ex.function_name}, hint {level}: {ex.hints[level - 1]}"


def describe(name):
    """A summary of exercise ``name`` for the notebook: what the forward computes, its
    signature and shapes, what the backward receives and must return.

    Returns
    -------
    str (multi-line)
    """
    ex = get_exercise(name)
    fwd = ex.forward
    summary = (inspect.getdoc(fwd) or "").split("\n\n")[0].replace("\n", " ").replace("``", "")
    ins = ", ".join(n for n, _ in ex.inputs)
    outs = ", ".join(n for n, _ in ex.outputs)
    outs_p = f"({outs})" if len(ex.outputs) > 1 else outs
    d_outs = ", ".join("d" + n for n, _ in ex.outputs)
    dout = f"({d_outs})" if len(ex.outputs) > 1 else d_outs
    grads = ", ".join("d" + n for n, _ in ex.inputs)
    lines = [
        f"{ex.name}: {outs_p}, cache = {fwd.__module__}.{fwd.__name__}({ins})",
        f"  {summary}",
        f"  {ex.equation}",
        "  inputs:   " + ", ".join(f"{n} {s}" for n, s in ex.inputs),
        "  outputs:  " + ", ".join(f"{n} {s}" for n, s in ex.outputs),
        f"  cache:    {ex.cache}",
        f"  backward: {ex.function_name}({dout}, cache) -> ({grads})"
        + ("  [dout is a tuple]" if len(ex.outputs) > 1 else ""),
        "  edge cases checked: " + "; ".join(ex.edge_labels),
    ]
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------
# Refusing the package's own answer
# ----------------------------------------------------------------------------------------
class RefusedSolution(Exception):
    """Raised inside a check when the solution calls the package's own function."""

    def __init__(self, qualname):
        super().__init__(qualname)
        self.qualname = qualname


def _functions_of(func, depth=3):
    """``func`` and the Python functions it reaches through its globals and closure
    (helpers defined alongside it, e.g. in the same notebook), ``depth`` levels deep."""
    seen = [func]
    frontier = [func]
    for _ in range(depth):
        nxt = []
        for f in frontier:
            code = getattr(f, "__code__", None)
            if code is None:
                continue
            glb = getattr(f, "__globals__", {})
            names = set(code.co_names)
            for const in code.co_consts:
                if inspect.iscode(const):
                    names |= set(const.co_names)
            found = [glb.get(n) for n in names]
            for cell in getattr(f, "__closure__", None) or ():
                try:
                    found.append(cell.cell_contents)
                except ValueError:  # an empty cell
                    pass
            for g in found:
                if inspect.isfunction(g) and g not in seen:
                    seen.append(g)
                    nxt.append(g)
        frontier = nxt
    return seen


@contextlib.contextmanager
def _forbid(target, student_func):
    """Replace ``target`` (a package function) by a sentinel that raises
    :class:`RefusedSolution`, wherever the student's code could reach it: the module
    that defines it, the package namespaces, and the globals and closures of the
    student's function and of the helpers it calls."""
    qualname = f"{target.__module__.replace('ntm_numpy.', '')}.{target.__name__}"
    if student_func is target or getattr(student_func, "__wrapped__", None) is target:
        raise RefusedSolution(qualname)

    def sentinel(*args, **kwargs):
        raise RefusedSolution(qualname)

    patched = []  # (dict-like or cell, key, old)
    for mod in list(sys.modules.values()):
        name = getattr(mod, "__name__", "") or ""
        if name == "ntm_numpy" or name.startswith("ntm_numpy."):
            for attr, value in list(vars(mod).items()):
                if value is target:
                    patched.append((vars(mod), attr, value))
    for f in _functions_of(student_func):
        glb = getattr(f, "__globals__", None)
        if glb is not None:
            for attr, value in list(glb.items()):
                if value is target:
                    patched.append((glb, attr, value))
        for cell in getattr(f, "__closure__", None) or ():
            try:
                if cell.cell_contents is target:
                    patched.append((cell, None, target))
            except ValueError:  # an empty cell
                pass
    try:
        for where, key, _ in patched:
            if key is None:
                where.cell_contents = sentinel
            else:
                where[key] = sentinel
        yield qualname
    finally:
        for where, key, old in patched:
            if key is None:
                where.cell_contents = old
            else:
                where[key] = old


def refusal_message(qualname, fn):
    return (f"refused — {fn} calls the package's own {qualname}; the exercise is to "
            "write it yourself")


# ----------------------------------------------------------------------------------------
# The result
# ----------------------------------------------------------------------------------------
def _fmt_err(x):
    return "nan" if not np.isfinite(x) else f"{x:.2g}"


def _names(names):
    return ", ".join(f"'{n}'" for n in names)


@dataclass
class ExerciseResult:
    """What :func:`check` found.

    Attributes
    ----------
    name : str
        The exercise.
    passed : bool
        Every gradient agreed with the numerical one (relative error <= ``tol``) in
        every trial and every edge case.
    rel_errors : dict str -> float
        Largest relative error of each input's gradient over the trials (``nan`` where
        it could not be computed: missing, wrong shape or dtype, NaN, or the backward
        failed).
    wrong_inputs : list of str
        Inputs whose gradient is wrong (too large an error, wrong shape or dtype, None,
        NaN), in input order. Empty when the backward as a whole failed (see ``message``).
    problems : dict str -> str
        For each wrong input, what is wrong with its gradient.
    message : str
        A problem with the backward as a whole (not implemented, raised an exception,
        returned the wrong number of gradients, refused); empty otherwise.
    status : str
        ``"pass"``, ``"fail"`` (some gradient is wrong), ``"not implemented"``,
        ``"refused"`` (it calls the package's own backward) or ``"error"`` (the backward
        as a whole failed).
    tol : float
    trials : int
        Random trials (the edge cases come on top).
    case : str
        The trial or edge case where the first wrong gradient appeared ("" if none did,
        or if it was the first random trial).
    edge : str
        The edge case, when the gradients were right on every random trial and went
        wrong only there ("" otherwise).
    hints : dict str -> str
        For wrong inputs whose error has a known shape (sign, factor, transposed,
        rolled by one), what it looks like.
    tables : dict str -> str
        For each input wrong by its values, the entries that differ most: analytic and
        numerical side by side.
    edges : int
        Number of edge cases run.
    """

    name: str
    passed: bool
    rel_errors: dict
    wrong_inputs: list
    problems: dict = field(default_factory=dict)
    message: str = ""
    status: str = "pass"
    tol: float = DEFAULT_TOL
    trials: int = 0
    case: str = ""
    edge: str = ""
    hints: dict = field(default_factory=dict)
    tables: dict = field(default_factory=dict)
    edges: int = 0

    @property
    def max_error(self):
        """Largest relative error over all inputs (nan if any could not be computed)."""
        vals = list(self.rel_errors.values())
        if not vals:
            return float("nan")
        return float("nan") if any(not np.isfinite(v) for v in vals) else max(vals)

    @property
    def right_inputs(self):
        """Inputs whose gradient agreed in every trial."""
        if self.status in ("not implemented", "error", "refused"):
            return []
        return [n for n in self.rel_errors if n not in self.wrong_inputs]

    def __bool__(self):
        return self.passed

    def summary(self):
        """The verdict in one line (two when the failure showed up only in a later
        trial or an edge case)."""
        fn = f"{self.name}_backward"
        if self.status == "pass":
            return (f"{fn}: PASS (max relative error {_fmt_err(self.max_error)}; "
                    f"{self.trials} random trials, {self.edges} edge cases)")
        if self.status == "not implemented":
            return f"{fn}: not implemented yet ({self.message})"
        if self.status in ("error", "refused"):
            return f"{fn}: FAIL — {self.message}"
        parts = []
        relerr = [n for n in self.wrong_inputs if self.problems[n].startswith("relative error")]
        if relerr:
            noun = "gradient" if len(relerr) == 1 else "gradients"
            verb = "is" if len(relerr) == 1 else "are"
            errs = ", ".join(_fmt_err(self.rel_errors[n]) for n in relerr)
            label = "relative error" if len(relerr) == 1 else "relative errors"
            parts.append(f"{noun} of {_names(relerr)} {verb} wrong ({label} {errs})")
        for n in self.wrong_inputs:
            if n not in relerr:
                parts.append(f"gradient of '{n}' {self.problems[n]}")
        right = self.right_inputs
        if right:
            parts.append(f"{_names(right)} {'is' if len(right) == 1 else 'are'} right")
        line = f"{fn}: FAIL — " + "; ".join(parts)
        if self.edge:
            line += f"\n  (right on generic inputs, wrong on the edge case: {self.edge})"
        elif self.case:
            line += f"\n  (first wrong with {self.case})"
        return line

    def report(self):
        """The summary, then for each wrong input a hint (when the error has a known
        shape) and the comparison table."""
        lines = [self.summary()]
        for n in self.wrong_inputs:
            if n in self.hints:
                lines.append(f"  hint for d{n}: {self.hints[n]}")
            if n in self.tables:
                lines.append(f"  d{n}, the entries that differ most:")
                lines.extend("    " + row for row in self.tables[n].splitlines())
        return "\n".join(lines)

    __str__ = report


# ----------------------------------------------------------------------------------------
# Diagnosis of a wrong gradient
# ----------------------------------------------------------------------------------------
def _close(a, b, tol):
    return a.shape == b.shape and rel_error(a, b) <= tol


def known_shape(analytic, numerical, tol=1e-4):
    """A hint when ``analytic`` is ``numerical`` with a known mistake: the sign flipped,
    a constant factor, transposed (the last two axes) or rolled by one along an axis.

    Returns a str, or "" when none fits.
    """
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(numerical, dtype=np.float64)
    if a.shape != n.shape:
        if a.ndim >= 2 and a.shape == n.shape[:-2] + n.shape[-2:][::-1] \
                and _close(np.swapaxes(a, -1, -2), n, tol):
            return "it is the right gradient transposed (its last two axes swapped)"
        return ""
    if not np.any(n):
        return ""
    if _close(a, -n, tol):
        return "the sign is flipped (it equals minus the right gradient)"
    c = float(np.vdot(a, n) / np.vdot(n, n))
    if abs(c) > 1e-12 and not np.isclose(c, 1.0, rtol=1e-3) and _close(a, c * n, tol):
        return f"it is off by a constant factor: about {c:.4g} times the right gradient"
    if a.ndim >= 2 and a.shape[-1] == a.shape[-2] and _close(np.swapaxes(a, -1, -2), n, tol):
        return "it is the right gradient transposed (its last two axes swapped)"
    for axis in range(a.ndim):
        if a.shape[axis] < 3:
            continue
        for k in (1, -1):
            if _close(a, np.roll(n, k, axis=axis), tol):
                return (f"it is the right gradient rolled by {k:+d} along axis {axis} "
                        "(an off-by-one offset or the wrong direction)")
    return ""


def comparison_table(analytic, numerical, rows=TABLE_ROWS, labels=("analytic", "numerical")):
    """The entries of two same-shaped arrays that differ most, one per line:
    index, analytic, numerical, difference."""
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(numerical, dtype=np.float64)
    diff = np.abs(a - n)
    order = np.argsort(-diff.ravel(), kind="stable")[:rows]
    lines = [f"{'index':<14}{labels[0]:>13}{labels[1]:>13}{'difference':>13}"]
    for k in order:
        idx = np.unravel_index(k, a.shape)
        lines.append(f"{str(tuple(int(i) for i in idx)):<14}{a.flat[k]:>13.5g}"
                     f"{n.flat[k]:>13.5g}{a.flat[k] - n.flat[k]:>13.3g}")
    bad = int(np.count_nonzero(diff > 1e-6 * max(np.max(np.abs(n)), 1e-8)))
    lines.append(f"({bad} of {a.size} entries differ)")
    return "\n".join(lines)


def dtype_problem(arr):
    """What is wrong with a gradient's dtype ("" if it is a real floating type)."""
    kind = arr.dtype.kind
    if kind == "f":
        return ""
    if kind == "c":
        return (f"is complex ({arr.dtype}); the gradient of a real input is real "
                "(a square root or log of a negative number?)")
    if kind in "iub":
        return (f"has the integer dtype {arr.dtype}; a gradient is floating point "
                "(built with np.zeros_like of an integer array?)")
    return f"has dtype {arr.dtype}, not a floating-point array"


# ----------------------------------------------------------------------------------------
# The checker
# ----------------------------------------------------------------------------------------
def _case_text(sizes, trial, trials):
    text = ", ".join(f"{k}={v}" for k, v in sizes.items())
    if "S" in sizes and "N" in sizes and sizes["S"] > sizes["N"]:
        text += " (S > N: offsets wrap onto the same row)"
    return f"{text}, trial {trial + 1} of {trials}"


def _where(exc, func):
    """'line N: <source>' of the deepest frame of the student's function, or ''."""
    code = getattr(func, "__code__", None)
    frames = traceback.extract_tb(exc.__traceback__)
    mine = [fr for fr in frames if code is not None and fr.filename == code.co_filename]
    if not mine:
        return ""
    fr = mine[-1]
    src = (fr.line or "").strip()
    return f" (line {fr.lineno - code.co_firstlineno + 1} of the function" + (
        f": {src})" if src else ")"
    )


def _flat(out):
    outs = out if isinstance(out, tuple) else (out,)
    return np.concatenate([np.ravel(o) for o in outs])


def _numerical(ex, inputs, douts, h):
    """Central-difference gradient of each input, as a list."""
    flat_dout = np.concatenate([np.ravel(d) for d in douts])
    grads = []
    for k, x in enumerate(inputs):

        def f(xk, k=k):
            args = list(inputs)
            args[k] = xk
            return _flat(ex.forward(*args)[0])

        grads.append(numerical_gradient(f, x, flat_dout, h=h))
    return grads


def _trials(ex, rng, trials):
    """(label, is_edge, inputs, h) for the random trials, then the edge cases."""
    for t in range(int(trials)):
        sizes = ex.cases[t % len(ex.cases)]
        inputs = tuple(np.asarray(x, dtype=np.float64) for x in ex.make_inputs(rng, **sizes))
        yield _case_text(sizes, t, int(trials)), False, inputs, GRADCHECK_STEP
    for label, make, h in ex.edges:
        inputs = tuple(np.asarray(x, dtype=np.float64) for x in make(rng, **ex.cases[0]))
        yield label, True, inputs, h


def _check_args(student, trials, what):
    if not callable(student):
        raise TypeError(f"{what}: expected a function, got {type(student).__name__}")
    if isinstance(trials, bool) or not isinstance(trials, (int, np.integer)) or trials < 1:
        raise ValueError(f"trials: expected an integer >= 1, got {trials!r}")


def check(name, student_backward, *, seed=0, trials=3, tol=DEFAULT_TOL, upstream="random",
          h=GRADCHECK_STEP, edges=True):
    """Grade a student's backward pass of exercise ``name`` against central differences.

    For each trial: draw random valid inputs (sizes ``cases[trial % len(cases)]``), run
    the package forward, call ``student_backward(dout, cache)`` with a random standard
    normal upstream gradient ``dout`` (a tuple ``(dh, dc)`` for ``lstm_step``), and
    compare each returned gradient with :func:`~ntm_numpy.gradcheck.numerical_gradient`
    of ``sum(forward(...) * dout)`` by :func:`~ntm_numpy.gradcheck.rel_error`. Then the
    same for each of the exercise's edge cases (``describe(name)`` lists them).

    Never raises because of the student's code: a backward that raises
    ``NotImplementedError`` is reported as "not implemented yet"; any other exception,
    a call to the package's own backward of this exercise, a wrong number of gradients,
    a wrong shape or dtype (complex, integer, object), None or NaN are reported in the
    result. The student's function runs with NumPy's floating-point warnings silenced:
    what it returns is judged, NaN included.

    Parameters
    ----------
    name : str
        One of :data:`EXERCISES` (``"read"``, ...), or ``"<name>_backward"``.
    student_backward : callable ``(dout, cache) -> tuple of gradients``
        One gradient per forward input, in the order of ``describe(name)``, each with
        the shape of its input.
    seed : int
        Seeds the inputs and upstream gradients.
    trials : int >= 1
        Number of random cases.
    tol : float
        Largest relative error accepted.
    upstream : ``"random"`` or ``"ones"``
        The upstream gradient. ``"ones"`` exists only to show why it is a bad idea:
        some wrong backwards pass with it.
    h : float
        Step of the central difference of the random trials.
    edges : bool
        Run the edge cases too (default True).

    Returns
    -------
    ExerciseResult (prints as a readable report)
    """
    ex = get_exercise(name)
    if not callable(student_backward):
        raise TypeError(
            f"student_backward: expected a function (dout, cache) -> gradients, got "
            f"{type(student_backward).__name__}"
        )
    _check_args(student_backward, trials, "student_backward")
    if upstream not in ("random", "ones"):
        raise ValueError(f"upstream: expected 'random' or 'ones', got {upstream!r}")
    if isinstance(tol, bool) or not isinstance(tol, (int, float, np.number)) or not tol >= 0:
        raise ValueError(f"tol: expected a number >= 0, got {tol!r}")
    check_positive_number("h", h)

    names = ex.input_names
    fn = ex.function_name
    rng = np.random.default_rng(seed)
    rel_errors = {n: 0.0 for n in names}
    problems, hints, tables = {}, {}, {}
    first = {"case": "", "edge": "", "random_failed": False}
    n_edges = len(ex.edges) if edges else 0

    def result(status, message=""):
        wrong = [n for n in names if n in problems]
        errs = rel_errors
        if status in ("not implemented", "error", "refused"):
            errs = {n: float("nan") for n in names}
        return ExerciseResult(
            name=ex.name, passed=status == "pass", rel_errors=dict(errs), wrong_inputs=wrong,
            problems=dict(problems), message=message, status=status, tol=tol,
            trials=int(trials), case=first["case"] if status == "fail" else "",
            edge=first["edge"] if status == "fail" else "", hints=dict(hints),
            tables=dict(tables), edges=n_edges,
        )

    for label, is_edge, inputs, step in _trials(ex, rng, trials):
        if is_edge and not edges:
            break
        step = step if is_edge else h
        with np.errstate(all="ignore"):
            out, _ = ex.forward(*inputs)
        outs = out if isinstance(out, tuple) else (out,)
        if upstream == "random":
            douts = tuple(rng.standard_normal(np.shape(o)) for o in outs)
        else:
            douts = tuple(np.ones(np.shape(o)) for o in outs)
        where = f"the edge case: {label}" if is_edge else label

        # the student gets fresh copies: nothing they modify in place can leak back
        _, cache = ex.forward(*(x.copy() for x in inputs))
        dout_arg = tuple(d.copy() for d in douts)
        dout_arg = dout_arg if len(outs) > 1 else dout_arg[0]
        try:
            with _forbid(_package_function(ex.name, "backward"), student_backward), \
                    np.errstate(all="ignore"):
                grads = student_backward(dout_arg, cache)
        except NotImplementedError:
            return result(
                "not implemented",
                f"replace `raise NotImplementedError` in {fn} with your code",
            )
        except RefusedSolution as exc:
            return result("refused", refusal_message(exc.qualname, fn))
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            msg = str(exc).splitlines()[0] if str(exc) else ""
            return result(
                "error",
                f"raised {type(exc).__name__}"
                + (f": {msg}" if msg else "")
                + _where(exc, student_backward)
                + f" [with {where}]",
            )

        want = f"a tuple of {len(names)} gradients ({', '.join('d' + n for n in names)})"
        if grads is None:
            return result("error", f"returned None — expected {want}; is the `return` missing?")
        if not isinstance(grads, (tuple, list)):
            if isinstance(grads, np.ndarray):
                got = f"a single array of shape {grads.shape}"
            else:
                got = f"a {type(grads).__name__}"
            return result("error", f"returned {got} — expected {want}")
        if len(grads) != len(names):
            return result(
                "error",
                f"returned {len(grads)} gradient{'s' if len(grads) != 1 else ''} — "
                f"expected {want}",
            )

        with np.errstate(all="ignore"):
            numeric = _numerical(ex, inputs, douts, step)
        for n, x, g, num in zip(names, inputs, grads, numeric):
            if n in problems:
                continue  # report each input's first problem only
            problem = None
            if g is None:
                problem = "is None (every input needs a gradient)"
            else:
                arr = np.asarray(g) if isinstance(g, (np.ndarray, np.generic, list, tuple,
                                                      float, int, complex)) else None
                if arr is None:
                    problem = f"is not a numeric array (got {type(g).__name__})"
                elif dtype_problem(arr):
                    problem = dtype_problem(arr)
                elif arr.shape != x.shape:
                    problem = f"has shape {arr.shape}, expected {x.shape} (the shape of {n})"
                    shape_hint = known_shape(arr, num)
                    if shape_hint:
                        hints[n] = shape_hint
                elif not np.all(np.isfinite(arr)):
                    bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
                    problem = f"contains NaN or inf ({bad} of {arr.size} entries)"
                else:
                    with np.errstate(all="ignore"):
                        err = rel_error(arr, num)
                    if not np.isfinite(err):
                        err = float("inf")
                    rel_errors[n] = max(rel_errors[n], err)
                    if not err <= tol:
                        problem = f"relative error {_fmt_err(err)}"
                        tables[n] = comparison_table(arr, num)
                        shape_hint = known_shape(arr, num)
                        if shape_hint:
                            hints[n] = shape_hint
            if problem is not None:
                if not problem.startswith("relative"):
                    rel_errors[n] = float("nan")
                problems[n] = problem
                if not is_edge:
                    first["random_failed"] = True
                if not first["case"]:
                    first["case"] = where
                    if is_edge and not first["random_failed"]:
                        first["edge"] = label

    if problems:
        # only worth saying which case when the first trial was fine
        if first["case"].endswith(f"trial 1 of {int(trials)}"):
            first["case"] = ""
        return result("fail")
    return result("pass")


# ----------------------------------------------------------------------------------------
# Forward exercises
# ----------------------------------------------------------------------------------------
@dataclass
class ForwardResult:
    """What :func:`check_forward` found: ``status`` is "pass", "fail",
    "not implemented", "refused" or "error"; ``message`` says what and where."""

    name: str
    status: str
    message: str = ""
    max_error: float = float("nan")

    @property
    def passed(self):
        return self.status == "pass"

    def __bool__(self):
        return self.passed

    def __str__(self):
        fn = f"{self.name}_forward"
        if self.status == "pass":
            return f"{fn}: PASS (max relative error {_fmt_err(self.max_error)})"
        if self.status == "not implemented":
            return f"{fn}: not implemented yet ({self.message})"
        return f"{fn}: FAIL — {self.message}"


def check_forward(name, student_forward, *, seed=0, trials=3, tol=FORWARD_TOL):
    """Grade a student's forward pass of exercise ``name`` (``"shift"``, ...) against
    the package's, on random inputs and the exercise's edge cases.

    ``student_forward(*inputs)`` takes the inputs of ``describe(name)`` and returns the
    output only (a tuple ``(h, c)`` for ``lstm_step``), no cache. A solution that calls
    the package's own forward is refused.

    Returns
    -------
    ForwardResult
    """
    ex = get_exercise(name)
    _check_args(student_forward, trials, "student_forward")
    fn = f"{ex.name}_forward"
    rng = np.random.default_rng(seed)
    worst = 0.0
    for label, is_edge, inputs, _ in _trials(ex, rng, trials):
        where = f"the edge case: {label}" if is_edge else label
        want, _ = ex.forward(*inputs)
        wants = want if isinstance(want, tuple) else (want,)
        try:
            with _forbid(_package_function(ex.name, "forward"), student_forward), \
                    np.errstate(all="ignore"):
                got = student_forward(*(x.copy() for x in inputs))
        except NotImplementedError:
            return ForwardResult(ex.name, "not implemented",
                                 f"replace `raise NotImplementedError` in {fn} with your code")
        except RefusedSolution as exc:
            return ForwardResult(ex.name, "refused", refusal_message(exc.qualname, fn))
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            msg = str(exc).splitlines()[0] if str(exc) else ""
            return ForwardResult(ex.name, "error", f"raised {type(exc).__name__}"
                                 + (f": {msg}" if msg else "") + _where(exc, student_forward)
                                 + f" [with {where}]")
        gots = got if isinstance(got, tuple) else (got,)
        if len(gots) != len(wants) or (len(wants) == 1 and isinstance(got, tuple)):
            outs = ", ".join(ex.output_names)
            return ForwardResult(ex.name, "error", f"returned {len(gots)} value(s); expected "
                                 f"{'the tuple ' if len(wants) > 1 else ''}({outs}) only, "
                                 "no cache")
        for oname, g, w in zip(ex.output_names, gots, wants):
            arr = np.asarray(g) if g is not None else None
            if arr is None or arr.dtype.kind == "O":
                return ForwardResult(ex.name, "error", f"{oname} is not a numeric array")
            if dtype_problem(arr):
                return ForwardResult(ex.name, "fail", f"{oname} " + dtype_problem(arr)
                                     .replace("gradient of a real input", "output")
                                     .replace("a gradient", "an output"))
            if arr.shape != w.shape:
                return ForwardResult(ex.name, "fail", f"{oname} has shape {arr.shape}, "
                                     f"expected {w.shape} [with {where}]")
            if not np.all(np.isfinite(arr)):
                return ForwardResult(ex.name, "fail", f"{oname} contains NaN or inf "
                                     f"[with {where}]")
            err = rel_error(arr, w)
            worst = max(worst, err)
            if err > tol:
                shape_hint = known_shape(arr, w)
                text = (f"{oname} is wrong (relative error {_fmt_err(err)}) [with {where}]"
                        + (f"; {shape_hint}" if shape_hint else "")
                        + "\n" + "\n".join("  " + row for row in comparison_table(
                            arr, w, labels=("yours", "package")).splitlines()))
                if is_edge and label:
                    text = text.replace(f"[with {where}]",
                                        f"[right on generic inputs, wrong on {where}]", 1)
                return ForwardResult(ex.name, "fail", text)
    return ForwardResult(ex.name, "pass", max_error=worst)


# ----------------------------------------------------------------------------------------
# Teaching aids for the notebook
# ----------------------------------------------------------------------------------------
def buggy_shift_backward(dw_s, cache):
    """A WRONG backward of :func:`ntm_numpy.addressing.shift_forward`, for teaching.

    It sends the gradient back through the *forward* offsets instead of the opposite
    ones (it rotates ``dw_s`` the same way the forward rotated ``w_g``). With an all-ones
    upstream gradient every rotation of ``dw_s`` is the same vector, so the bug is
    invisible; a random upstream gradient exposes it.

    Returns ``(dw_g (B, N), ds (B, S))``; ``ds`` is right, ``dw_g`` is not.
    """
    gathered, s, back_index = cache
    N, S = back_index.shape
    forward_index = addressing.shift_indices(N, S)[0]  # the bug: should be back_index
    ds = np.einsum("bn,bns->bs", dw_s, gathered)
    dw_g = np.einsum("bns,bs->bn", dw_s[:, forward_index], s)
    return dw_g, ds


def _forward_difference(f, x, dout, h):
    x = np.array(x, dtype=np.float64, copy=True)
    base = f(x)
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        gflat[i] = ((f(x) - base) * dout).sum() / h
        flat[i] = old
    return grad


def step_sweep(name, steps, *, seed=0, scheme="central"):
    """Relative error of finite differences against the package's backward, per step h.

    Shows the trade-off behind the default step: the truncation error of a central
    difference shrinks like h**2 (a forward difference like h), while round-off grows
    like 1e-16 / h, so the error against h is V-shaped on log-log axes.

    Parameters
    ----------
    name : str, one of :data:`EXERCISES`
    steps : sequence of float
    seed : int
    scheme : ``"central"`` or ``"forward"``

    Returns
    -------
    dict input name -> ndarray (len(steps),) of relative errors
    """
    ex = get_exercise(name)
    if scheme not in ("central", "forward"):
        raise ValueError(f"scheme: expected 'central' or 'forward', got {scheme!r}")
    rng = np.random.default_rng(seed)
    inputs = tuple(np.asarray(x, np.float64) for x in ex.make_inputs(rng, **ex.cases[0]))
    out, cache = ex.forward(*inputs)
    outs = out if isinstance(out, tuple) else (out,)
    douts = tuple(rng.standard_normal(np.shape(o)) for o in outs)
    grads = _package_function(ex.name, "backward")(douts if len(outs) > 1 else douts[0], cache)
    flat_dout = np.concatenate([np.ravel(d) for d in douts])
    curves = {}
    for k, (n, x, g) in enumerate(zip(ex.input_names, inputs, grads)):

        def f(xk, k=k):
            args = list(inputs)
            args[k] = xk
            return _flat(ex.forward(*args)[0])

        errs = []
        for h in steps:
            if scheme == "central":
                num = numerical_gradient(f, x, flat_dout, h=float(h))
            else:
                num = _forward_difference(f, x, flat_dout, float(h))
            errs.append(rel_error(g, num))
        curves[n] = np.array(errs)
    return curves
