"""The reports of the exercises' checks: the results, and the diagnosis of a wrong answer.

:class:`ExerciseResult` is what :func:`ntm_numpy.course.exercises.check` returns for a
backward pass, :class:`ForwardResult` what
:func:`ntm_numpy.course.exercises.check_forward` returns for a forward pass; both print
as a readable report. The diagnosis names the known shapes of a wrong gradient
(:func:`known_shape`: the sign flipped, a constant factor, transposed, rolled by one),
shows the entries that differ most (:func:`comparison_table`) and says what is wrong
with a dtype (:func:`dtype_problem`).
"""
from dataclasses import dataclass, field

import numpy as np

from ..gradcheck import rel_error

__all__ = [
    "DEFAULT_TOL", "TABLE_ROWS", "ExerciseResult", "ForwardResult", "known_shape",
    "comparison_table", "dtype_problem", "fmt_err",
]

#: Relative error above which a gradient is reported as wrong (``check``'s default).
DEFAULT_TOL = 1e-6

#: Largest number of entries shown in a failure's comparison table.
TABLE_ROWS = 6


# ----------------------------------------------------------------------------------------
# The result
# ----------------------------------------------------------------------------------------
def fmt_err(x):
    """A relative error as the reports print it: two significant digits, or "nan"."""
    return "nan" if not np.isfinite(x) else f"{x:.2g}"


def _names(names):
    return ", ".join(f"'{n}'" for n in names)


@dataclass
class ExerciseResult:
    """What :func:`ntm_numpy.course.exercises.check` found.

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
            return (f"{fn}: PASS (max relative error {fmt_err(self.max_error)}; "
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
            errs = ", ".join(fmt_err(self.rel_errors[n]) for n in relerr)
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
# The result of a forward exercise
# ----------------------------------------------------------------------------------------
@dataclass
class ForwardResult:
    """What :func:`ntm_numpy.course.exercises.check_forward` found: ``status`` is
    "pass", "fail", "not implemented", "refused" or "error"; ``message`` says what and
    where."""

    name: str
    status: str
    message: str = ""
    max_error: float = float("nan")

    @property
    def passed(self):
        """True when the forward agreed with the package's everywhere."""
        return self.status == "pass"

    def __bool__(self):
        return self.passed

    def __str__(self):
        fn = f"{self.name}_forward"
        if self.status == "pass":
            return f"{fn}: PASS (max relative error {fmt_err(self.max_error)})"
        if self.status == "not implemented":
            return f"{fn}: not implemented yet ({self.message})"
        return f"{fn}: FAIL — {self.message}"
