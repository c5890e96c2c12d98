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
**random** upstream gradient, over a few random inputs::

    >>> from ntm_numpy.exercises import check
    >>> print(check("read", read_backward))
    read_backward: PASS (max relative error 3.1e-10)

The exercises (``EXERCISES``), each with the package forward it uses and the cache its
backward receives (B batch, N memory rows, M row width, S = 2k+1 shift offsets,
D input width, H hidden units):

* ``read``: ``memory.read_forward(memory, w) -> r``; ``ReadCache(memory, w)``
* ``write``: ``memory.write_forward(memory, w, e, a) -> new_memory``;
  ``WriteCache(memory, w, e, a, keep)``
* ``cosine_similarity``: ``addressing.cosine_similarity_forward(memory, key) -> K``;
  ``CosineCache(memory, key, mem_norm, key_norm, K)``
* ``content_weighting``: ``addressing.content_weighting_forward(memory, key, beta) -> w_c``;
  ``ContentCache(cosine, beta, w)`` with ``cosine`` a ``CosineCache``
* ``interpolation``: ``addressing.interpolation_forward(w_c, w_prev, g) -> w_g``;
  ``InterpolationCache(w_c, w_prev, g)``
* ``shift``: ``addressing.shift_forward(w_g, s) -> w_s``;
  ``ShiftCache(gathered, s, back_index)``
* ``sharpen``: ``addressing.sharpen_forward(w, gamma) -> out``;
  ``SharpenCache(w, gamma, scale, scaled, powered, total, out)``
* ``lstm_step``: ``controller.lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b) -> (h, c)``
  (so ``dout`` is the tuple ``(dh, dc)``); ``LSTMStepCache(x, h_prev, Wx, Wh, gates)``
  with ``gates`` an ``LSTMGatesCache(c_prev, i, f, o, g, tanh_c)``

:func:`describe` gives the shapes of every input, output and cache field.

Inputs are drawn as the model produces them: weightings and shift distributions through
a softmax, ``beta`` through a softplus, ``g`` through a sigmoid, ``gamma`` as
1 + softplus, all float64 from a seeded generator; ``shift`` includes a case with more
offsets than rows (S > N), where offsets that wrap onto the same row add up.
"""
import inspect
import traceback
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from . import addressing, controller, memory
from .activations import sigmoid, softmax_forward, softplus_forward
from .constants import GRADCHECK_STEP
from .gradcheck import numerical_gradient, rel_error

__all__ = [
    "EXERCISES", "Exercise", "ExerciseResult", "check", "describe", "get_exercise",
    "make_inputs", "step_sweep", "buggy_shift_backward",
]

#: Relative error above which a gradient is reported as wrong (``check``'s default).
DEFAULT_TOL = 1e-6


# ----------------------------------------------------------------------------------------
# Random valid inputs
# ----------------------------------------------------------------------------------------
def _softmax(rng, *shape):
    return softmax_forward(rng.standard_normal(shape), axis=-1)[0]


def _softplus(rng, *shape):
    return softplus_forward(rng.standard_normal(shape))[0]


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
    reference : callable
        The package backward (used only by :func:`step_sweep`, never by :func:`check`).
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
    """

    name: str
    forward: Callable
    reference: Callable
    inputs: tuple
    outputs: tuple
    cache: str
    cache_type: type
    equation: str
    cases: tuple
    make_inputs: Callable

    @property
    def input_names(self):
        return tuple(n for n, _ in self.inputs)

    @property
    def output_names(self):
        return tuple(n for n, _ in self.outputs)

    @property
    def function_name(self):
        return f"{self.name}_backward"


_MEM_CASES = ({"B": 2, "N": 5, "M": 4}, {"B": 3, "N": 4, "M": 3}, {"B": 1, "N": 6, "M": 2})
_W_CASES = ({"B": 2, "N": 5}, {"B": 3, "N": 4}, {"B": 1, "N": 7})

_LIST = (
    Exercise(
        name="read",
        forward=memory.read_forward,
        reference=memory.read_backward,
        inputs=(("memory", "(B, N, M)"), ("w", "(B, N)")),
        outputs=(("r", "(B, M)"),),
        cache="ReadCache(memory (B, N, M), w (B, N))",
        cache_type=memory.ReadCache,
        equation="eq (2): r = sum_i w(i) M(i)",
        cases=_MEM_CASES,
        make_inputs=_inputs_read,
    ),
    Exercise(
        name="write",
        forward=memory.write_forward,
        reference=memory.write_backward,
        inputs=(("memory", "(B, N, M)"), ("w", "(B, N)"), ("e", "(B, M)"), ("a", "(B, M)")),
        outputs=(("new_memory", "(B, N, M)"),),
        cache="WriteCache(memory (B, N, M) before the write, w (B, N), e (B, M), a (B, M),"
        " keep (B, N, M) = 1 - w(i) e)",
        cache_type=memory.WriteCache,
        equation="eqs (3)-(4): M'(i) = M(i) * (1 - w(i) e) + w(i) a",
        cases=_MEM_CASES,
        make_inputs=_inputs_write,
    ),
    Exercise(
        name="cosine_similarity",
        forward=addressing.cosine_similarity_forward,
        reference=addressing.cosine_similarity_backward,
        inputs=(("memory", "(B, N, M)"), ("key", "(B, M)")),
        outputs=(("K", "(B, N)"),),
        cache="CosineCache(memory (B, N, M), key (B, M), mem_norm (B, N), key_norm (B, 1),"
        " K (B, N)); norms are sqrt(x.x + NORM_EPS)",
        cache_type=addressing.CosineCache,
        equation="eq (6): K(i) = M(i).k / (|M(i)| |k|)",
        cases=_MEM_CASES,
        make_inputs=_inputs_cosine,
    ),
    Exercise(
        name="content_weighting",
        forward=addressing.content_weighting_forward,
        reference=addressing.content_weighting_backward,
        inputs=(("memory", "(B, N, M)"), ("key", "(B, M)"), ("beta", "(B, 1)")),
        outputs=(("w_c", "(B, N)"),),
        cache="ContentCache(cosine: CosineCache(memory, key, mem_norm, key_norm, K),"
        " beta (B, 1), w (B, N) the output)",
        cache_type=addressing.ContentCache,
        equation="eq (5): w_c(i) = exp(beta K(i)) / sum_j exp(beta K(j))",
        cases=_MEM_CASES,
        make_inputs=_inputs_content,
    ),
    Exercise(
        name="interpolation",
        forward=addressing.interpolation_forward,
        reference=addressing.interpolation_backward,
        inputs=(("w_c", "(B, N)"), ("w_prev", "(B, N)"), ("g", "(B, 1)")),
        outputs=(("w_g", "(B, N)"),),
        cache="InterpolationCache(w_c (B, N), w_prev (B, N), g (B, 1))",
        cache_type=addressing.InterpolationCache,
        equation="eq (7): w_g = g w_c + (1 - g) w_prev",
        cases=_W_CASES,
        make_inputs=_inputs_interpolation,
    ),
    Exercise(
        name="shift",
        forward=addressing.shift_forward,
        reference=addressing.shift_backward,
        inputs=(("w_g", "(B, N)"), ("s", "(B, S)")),
        outputs=(("w_s", "(B, N)"),),
        cache="ShiftCache(gathered (B, N, S) with gathered[b, i, j] = w_g[b, (i - o_j) mod N],"
        " s (B, S), back_index (N, S) = (i + o_j) mod N); offset o_j = j - S//2",
        cache_type=addressing.ShiftCache,
        equation="eq (8): w_s(i) = sum_j s_j w_g((i - o_j) mod N), o_j = j - S//2",
        cases=({"B": 2, "N": 5, "S": 3}, {"B": 2, "N": 3, "S": 5}, {"B": 3, "N": 6, "S": 3}),
        make_inputs=_inputs_shift,
    ),
    Exercise(
        name="sharpen",
        forward=addressing.sharpen_forward,
        reference=addressing.sharpen_backward,
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
    Exercise(
        name="lstm_step",
        forward=controller.lstm_step_forward,
        reference=controller.lstm_step_backward,
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

_BY_NAME = {ex.name: ex for ex in _LIST}

#: Names of the exercises, in the order of the notebook.
EXERCISES = tuple(ex.name for ex in _LIST)


def get_exercise(name):
    """The :class:`Exercise` called ``name`` (also accepts ``"<name>_backward"``)."""
    if isinstance(name, str) and name.endswith("_backward"):
        name = name[: -len("_backward")]
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
    ]
    return "\n".join(lines)


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
        every trial.
    rel_errors : dict str -> float
        Largest relative error of each input's gradient over the trials (``nan`` where
        it could not be computed: missing, wrong shape, NaN, or the backward failed).
    wrong_inputs : list of str
        Inputs whose gradient is wrong (too large an error, wrong shape, None, NaN), in
        input order. Empty when the backward as a whole failed (see ``message``).
    problems : dict str -> str
        For each wrong input, what is wrong with its gradient.
    message : str
        A problem with the backward as a whole (not implemented, raised an exception,
        returned the wrong number of gradients); empty otherwise.
    status : str
        ``"pass"``, ``"fail"`` (some gradient is wrong), ``"not implemented"`` or
        ``"error"`` (the backward as a whole failed).
    tol : float
    trials : int
    case : str
        The input sizes of the first trial that went wrong ("" if none did).
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
        if self.status in ("not implemented", "error"):
            return []
        return [n for n in self.rel_errors if n not in self.wrong_inputs]

    def __bool__(self):
        return self.passed

    def report(self):
        """One readable line (two when the failure showed up only in a later trial)."""
        fn = f"{self.name}_backward"
        if self.status == "pass":
            return f"{fn}: PASS (max relative error {_fmt_err(self.max_error)})"
        if self.status == "not implemented":
            return f"{fn}: not implemented yet ({self.message})"
        if self.status == "error":
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
        if self.case:
            line += f"\n  (first wrong with {self.case})"
        return line

    __str__ = report


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


def _as_float_array(g):
    try:
        arr = np.asarray(g, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return arr


def check(name, student_backward, *, seed=0, trials=3, tol=DEFAULT_TOL, upstream="random",
          h=GRADCHECK_STEP):
    """Grade a student's backward pass of exercise ``name`` against central differences.

    For each trial: draw random valid inputs (sizes ``cases[trial % len(cases)]``), run
    the package forward, call ``student_backward(dout, cache)`` with a random standard
    normal upstream gradient ``dout`` (a tuple ``(dh, dc)`` for ``lstm_step``), and
    compare each returned gradient with :func:`~ntm_numpy.gradcheck.numerical_gradient`
    of ``sum(forward(...) * dout)`` by :func:`~ntm_numpy.gradcheck.rel_error`.

    Never raises because of the student's code: a backward that raises
    ``NotImplementedError`` is reported as "not implemented yet"; any other exception,
    a wrong number of gradients, a wrong shape, None or NaN are reported in the result.

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
        Step of the central difference.

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
    if isinstance(trials, bool) or not isinstance(trials, (int, np.integer)) or trials < 1:
        raise ValueError(f"trials: expected an integer >= 1, got {trials!r}")
    if upstream not in ("random", "ones"):
        raise ValueError(f"upstream: expected 'random' or 'ones', got {upstream!r}")
    if isinstance(tol, bool) or not isinstance(tol, (int, float, np.number)) or not tol >= 0:
        raise ValueError(f"tol: expected a number >= 0, got {tol!r}")
    if isinstance(h, bool) or not isinstance(h, (int, float, np.number)) or not (
            np.isfinite(h) and h > 0):
        raise ValueError(f"h: expected a finite number > 0, got {h!r}")

    names = ex.input_names
    fn = ex.function_name
    rng = np.random.default_rng(seed)
    rel_errors = {n: 0.0 for n in names}
    problems = {}
    first_case = ""

    def result(status, message=""):
        wrong = [n for n in names if n in problems]
        errs = rel_errors
        if status in ("not implemented", "error"):
            errs = {n: float("nan") for n in names}
        return ExerciseResult(
            name=ex.name, passed=status == "pass", rel_errors=dict(errs), wrong_inputs=wrong,
            problems=dict(problems), message=message, status=status, tol=tol,
            trials=int(trials), case=first_case if status == "fail" else "",
        )

    for t in range(int(trials)):
        sizes = ex.cases[t % len(ex.cases)]
        inputs = tuple(
            np.asarray(x, dtype=np.float64) for x in ex.make_inputs(rng, **sizes)
        )
        out, _ = ex.forward(*inputs)
        outs = out if isinstance(out, tuple) else (out,)
        if upstream == "random":
            douts = tuple(rng.standard_normal(np.shape(o)) for o in outs)
        else:
            douts = tuple(np.ones(np.shape(o)) for o in outs)
        case = _case_text(sizes, t, int(trials))

        # the student gets fresh copies: nothing they modify in place can leak back
        _, cache = ex.forward(*(x.copy() for x in inputs))
        dout_arg = tuple(d.copy() for d in douts)
        dout_arg = dout_arg if len(outs) > 1 else dout_arg[0]
        try:
            grads = student_backward(dout_arg, cache)
        except NotImplementedError:
            return result(
                "not implemented",
                f"replace `raise NotImplementedError` in {fn} with your code",
            )
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            msg = str(exc).splitlines()[0] if str(exc) else ""
            first_case = case
            return result(
                "error",
                f"raised {type(exc).__name__}"
                + (f": {msg}" if msg else "")
                + _where(exc, student_backward)
                + f" [with {case}]",
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

        numeric = _numerical(ex, inputs, douts, h)
        for n, x, g, num in zip(names, inputs, grads, numeric):
            if n in problems:
                continue  # report each input's first problem only
            problem = None
            if g is None:
                problem = "is None (every input needs a gradient)"
            else:
                arr = _as_float_array(g)
                if arr is None:
                    problem = f"is not a numeric array (got {type(g).__name__})"
                elif arr.shape != x.shape:
                    problem = f"has shape {arr.shape}, expected {x.shape} (the shape of {n})"
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
            if problem is not None:
                rel_errors[n] = float("nan") if not problem.startswith("relative") else rel_errors[n]
                problems[n] = problem
                if not first_case:
                    first_case = case

    if problems:
        # only worth saying which case when the first trial was fine
        if first_case.endswith(f"trial 1 of {int(trials)}"):
            first_case = ""
        return result("fail")
    return result("pass")


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
    grads = ex.reference(douts if len(outs) > 1 else douts[0], cache)
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

