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

    >>> from ntm_numpy.course.exercises import check
    >>> print(check("read", read_backward))
    read_backward: PASS (max relative error 3.1e-10; 3 random trials, 2 edge cases)

A backward that is right only on generic inputs fails and names the edge case. A
gradient must be a real floating-point array (complex, integer or object arrays are
wrong). On a failure the report shows, for each wrong input, the entries that differ
most (analytic against numerical, like ``cmp`` in Karpathy's micrograd lectures) and a
hint when the error has a known shape: the sign flipped, off by a constant factor,
transposed, or rolled by one row. A solution that runs the package's own backward of
the exercise being checked, however it reaches it (a clone, a copy exec'd from its
source, ``DEFAULT_OPS``, ``model.ops``, a closure), or the package's finite differences
(:func:`ntm_numpy.gradcheck.numerical_gradient`), is refused
(:mod:`ntm_numpy.course.refusal`); every other package function is allowed.

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

This module is the checker (:func:`check`, :func:`check_forward`) and the teaching aids
of notebook 04 (:func:`buggy_shift_backward`, :func:`step_sweep`). The table of the
exercises is :mod:`ntm_numpy.course.exercise_table`, the results and the diagnosis of a
wrong answer :mod:`ntm_numpy.course.reports`, the refusal of the package's own function
:mod:`ntm_numpy.course.refusal`; the names a notebook needs from them are imported here.
"""
import traceback

import numpy as np

from .. import addressing
from .._validation import check_positive_number
from ..constants import GRADCHECK_STEP
from ..gradcheck import numerical_gradient, rel_error
from .exercise_table import (
    EXERCISES,
    Exercise,
    checked_cases,
    describe,
    get_exercise,
    hint,
    make_inputs,
    package_function,
)
from .refusal import RefusedSolution, forbid, refusal_message
from .reports import (
    DEFAULT_TOL,
    ExerciseResult,
    ForwardResult,
    comparison_table,
    dtype_problem,
    fmt_err,
    known_shape,
)

__all__ = [
    "EXERCISES", "Exercise", "ExerciseResult", "RefusedSolution", "check", "check_forward",
    "describe", "get_exercise", "hint", "make_inputs", "step_sweep", "buggy_shift_backward",
]

#: Relative error above which a forward output is reported as wrong (``check_forward``).
FORWARD_TOL = 1e-9


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


def _trials(ex, rng, trials, cases):
    """(label, is_edge, inputs, h) for the random trials, then the edge cases (at the
    sizes of the first case)."""
    for t in range(int(trials)):
        sizes = cases[t % len(cases)]
        inputs = tuple(np.asarray(x, dtype=np.float64) for x in ex.make_inputs(rng, **sizes))
        yield _case_text(sizes, t, int(trials)), False, inputs, GRADCHECK_STEP
    for label, make, h in ex.edges:
        inputs = tuple(np.asarray(x, dtype=np.float64) for x in make(rng, **cases[0]))
        yield label, True, inputs, h


def _check_args(student, trials, what):
    if not callable(student):
        raise TypeError(f"{what}: expected a function, got {type(student).__name__}")
    if isinstance(trials, bool) or not isinstance(trials, (int, np.integer)) or trials < 1:
        raise ValueError(f"trials: expected an integer >= 1, got {trials!r}")


def check(name, student_backward, *, seed=0, trials=3, tol=DEFAULT_TOL, upstream="random",
          h=GRADCHECK_STEP, edges=True, sizes=None):
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
    what it returns is judged, NaN included. While it runs, the package's own backward of
    this exercise and :func:`~ntm_numpy.gradcheck.numerical_gradient` are refused
    (:func:`ntm_numpy.course.refusal.forbid`).

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
    sizes : list of dict, optional
        Size cases replacing the exercise's own (``describe(name)``), e.g.
        ``[{"B": 1, "N": 7, "M": 3}]``; the edge cases use the first.

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
    cases = checked_cases(ex.name, sizes)
    refused = [package_function(ex.name, "backward"), numerical_gradient]

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

    for label, is_edge, inputs, step in _trials(ex, rng, trials, cases):
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
            with forbid(refused, student_backward), np.errstate(all="ignore"):
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
                        problem = f"relative error {fmt_err(err)}"
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
def check_forward(name, student_forward, *, seed=0, trials=3, tol=FORWARD_TOL, sizes=None):
    """Grade a student's forward pass of exercise ``name`` (``"shift"``, ...) against
    the package's, on random inputs and the exercise's edge cases.

    ``student_forward(*inputs)`` takes the inputs of ``describe(name)`` and returns the
    output only (a tuple ``(h, c)`` for ``lstm_step``), no cache. A solution that runs
    the package's own forward of this exercise (however it reaches it, or a copy of its
    code) is refused; ``sizes`` replaces the exercise's size cases as in :func:`check`.

    Returns
    -------
    ForwardResult
    """
    ex = get_exercise(name)
    _check_args(student_forward, trials, "student_forward")
    fn = f"{ex.name}_forward"
    cases = checked_cases(ex.name, sizes)
    rng = np.random.default_rng(seed)
    worst = 0.0
    for label, is_edge, inputs, _ in _trials(ex, rng, trials, cases):
        where = f"the edge case: {label}" if is_edge else label
        want, _ = ex.forward(*inputs)
        wants = want if isinstance(want, tuple) else (want,)
        try:
            with forbid([package_function(ex.name, "forward")], student_forward), \
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
                text = (f"{oname} is wrong (relative error {fmt_err(err)}) [with {where}]"
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

    Its ``dw_g`` rotates the upstream gradient the wrong way. With an all-ones upstream
    gradient every rotation of ``dw_s`` is the same vector, so the bug is invisible; a
    random upstream gradient exposes it.

    Returns ``(dw_g (B, N), ds (B, S))``; ``ds`` is right, ``dw_g`` is not.
    """
    gathered, s, back_index = cache
    N, S = back_index.shape
    index = addressing.shift_indices(N, S)[0]
    ds = np.einsum("bn,bns->bs", dw_s, gathered)
    dw_g = np.einsum("bns,bs->bn", dw_s[:, index], s)
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
    grads = package_function(ex.name, "backward")(douts if len(outs) > 1 else douts[0], cache)
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
