"""The table of the gradient-check exercises: what each one is and how its inputs are drawn.

Each exercise (:class:`Exercise`) is one differentiable operation of the NTM: the
package forward it uses, its inputs and outputs with their shapes, the cache its
backward receives, the equation, the sizes of its random cases, how to draw valid
inputs, its edge cases and its tiered hints. :data:`EXERCISES` lists them, easiest
first (the order of notebook 04); :func:`get_exercise`, :func:`make_inputs`,
:func:`hint` and :func:`describe` read the table.

The checker that grades a student's backward or forward against this table is
:mod:`ntm_numpy.course.exercises`, the module students import; the names of this one
that a notebook uses are imported there too.
"""
import inspect
import sys
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .. import addressing, controller, memory
from ..activations import sigmoid, softmax_forward, softplus_forward
from ..constants import GRADCHECK_STEP

__all__ = [
    "EXERCISES", "Exercise", "get_exercise", "make_inputs", "hint", "describe",
    "package_function", "checked_cases", "other_cases",
]


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
        Sizes of the random cases; trial t of :func:`~ntm_numpy.course.exercises.check`
        uses ``cases[t % len(cases)]``.
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
        """The names of the forward's inputs, in order."""
        return tuple(n for n, _ in self.inputs)

    @property
    def output_names(self):
        """The names of the forward's outputs, in order."""
        return tuple(n for n, _ in self.outputs)

    @property
    def function_name(self):
        """The name of the student's function, ``<name>_backward``."""
        return f"{self.name}_backward"

    @property
    def edge_labels(self):
        """The labels of the edge cases, in order."""
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


def package_function(name, kind):
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
# Other sizes: the checks a student has not seen
# ----------------------------------------------------------------------------------------
#: The range of each size :func:`other_cases` draws from (S odd).
_SIZE_RANGES = {"B": (1, 4), "N": (2, 9), "M": (1, 6), "S": (1, 7), "D": (1, 5), "H": (1, 5)}


def checked_cases(name, sizes=None):
    """The size cases a check of exercise ``name`` runs: its own (``sizes=None``) or
    ``sizes``, a list of dicts with the keys of its cases (e.g. ``{"B": 1, "N": 7,
    "M": 3}``; N >= 2, S odd). Returns a tuple of dicts; ValueError for a bad one."""
    ex = get_exercise(name)
    if sizes is None:
        return ex.cases
    if isinstance(sizes, dict):
        sizes = [sizes]
    keys = sorted(ex.cases[0])
    try:
        sizes = list(sizes)
    except TypeError:
        raise ValueError(f"sizes: expected a list of dicts with the keys {keys}, "
                         f"got {type(sizes).__name__}") from None
    if not sizes:
        raise ValueError(f"sizes: expected at least one dict with the keys {keys}")
    cases = []
    for case in sizes:
        if not isinstance(case, dict) or sorted(case) != keys:
            raise ValueError(f"sizes: expected dicts with the keys {keys}, got {case!r}")
        for key, value in case.items():
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"sizes: {key} must be an integer >= 1, got {value!r}")
        if case.get("N", 2) < 2:
            raise ValueError(f"sizes: N must be at least 2 (an edge case zeroes row 1), got "
                             f"{case['N']}")
        if case.get("S", 1) % 2 == 0:
            raise ValueError(f"sizes: S must be odd (S = 2k+1 offsets), got {case['S']}")
        cases.append({k: int(case[k]) for k in ex.cases[0]})
    return tuple(cases)


def other_cases(name, seed, n=3):
    """``n`` size cases of exercise ``name`` unlike its own: random sizes first (the edge
    cases run at the first), with S > N for the shift, then the smallest sizes (B = 1,
    N = 2, M = 2 for the cosine and the content weighting, every other size 1). For the
    checks the instructor edition hides."""
    ex = get_exercise(name)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"n: expected an integer >= 2, got {n!r}")
    rng = np.random.default_rng(seed)
    # a cosine of rows of one entry is a sign: its gradient is round-off, so M >= 2
    lows = {"N": 2, "M": 2 if name in ("cosine_similarity", "content_weighting") else 1}
    smallest = {k: lows.get(k, 1) for k in ex.cases[0]}
    cases = []
    while len(cases) < n - 1:
        case = {}
        for key in ex.cases[0]:
            lo, hi = _SIZE_RANGES[key]
            case[key] = int(rng.integers(max(lo, lows.get(key, 1)), hi + 1))
        if "S" in case:
            case["S"] = int(rng.choice([3, 5, 7]))
            if len(cases) == 0:  # offsets wrapping onto the same row
                case["N"] = int(rng.integers(2, case["S"]))
        if case not in cases and case not in ex.cases and case != smallest:
            cases.append(case)
    return tuple(cases) + (smallest,)
