"""Checking a student's backpropagation through time: the loop, the step, the primitives.

:func:`check_bptt` (what :func:`ntm_numpy.course.capstone.check_model` runs when it is
given ``step_backward`` or ``ntm_backward``) backpropagates one copy sequence of the
capstone's model (:data:`~ntm_numpy.course.capstone.CHECK_LENGTH` vectors, T = 9 steps)
through the student's loop, step and primitives (the package's stand in for those not
given) and compares, with the package's :meth:`ntm_numpy.NTM.backward`:

* what each step's backward **received**, the five carried gradients of
  :class:`~ntm_numpy.course.capstone.Carried`, scanning from t = T-1 down to 0 (the
  order the gradients flow in: the first one that differs is where the error enters);
* every parameter's gradient.

When they differ it finds which part makes them differ, each alone among the package's
other parts: the student's loop with the package's step and primitives, the student's
step with the package's loop and primitives, and each of the student's primitives alone
in the package's model. The report's first line names the first carried gradient and
time step that differ and the part that makes them differ; the tables follow: each part
alone, the student's step fed the package's gradients at every step (what it returns,
against the package's step), what every step received, the parameter gradients and
each primitive's own check.

While the student's code runs, the package's own step and loop are refused
(:mod:`ntm_numpy.course.refusal`): :func:`ntm_numpy.reference_step.step_backward`,
:func:`ntm_numpy.fused_step.step_backward`, :func:`ntm_numpy.recurrence.backward_loop`,
:meth:`ntm_numpy.NTM.backward`, :meth:`ntm_numpy.cell.NTMCell.step_backward` and
:meth:`~ntm_numpy.cell.NTMCell.parameter_gradients`, and the package's functions with the
student's signatures, :func:`ntm_numpy.course.bptt.package_step_backward` and
:func:`~ntm_numpy.course.bptt.package_ntm_backward`.
"""
import linecache
import sysconfig
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import fused_step, recurrence, reference_step
from ..cell import NTMCell
from ..gradcheck import rel_error
from ..model import NTM
from . import bptt
from .capstone import (
    CARRIED,
    MODEL_TOL,
    OPS,
    Carried,
    _sequence,
    check_op,
    first_divergence,
    tiny_model,
)
from .refusal import RefusedSolution, forbid, refusal_message

__all__ = ["BPTTCheck", "check_bptt", "REFUSED", "STEP_REFUSED", "LOOP_REFUSED"]

#: The package's own functions with the student's signatures, held in a dict (not as
#: module attributes, which a refusal replaces while the student's code runs).
_PACKAGE = {"step": bptt.package_step_backward, "loop": bptt.package_ntm_backward}

#: What the student's ``step_backward`` may not run while it is checked: the package's
#: backward of a time step, and its loops over time.
STEP_REFUSED = (reference_step.step_backward, fused_step.step_backward, NTMCell.step_backward,
                bptt.package_step_backward)

#: What the student's ``ntm_backward`` may not run: the package's loops over time and the
#: sums of the weight gradients over the steps (and, when the step it calls is the
#: student's too, :data:`STEP_REFUSED`).
LOOP_REFUSED = (recurrence.backward_loop, NTM.backward, NTMCell.parameter_gradients,
                bptt.package_ntm_backward, bptt._weight_sums)

#: Everything a check refuses (:data:`STEP_REFUSED` and :data:`LOOP_REFUSED`).
REFUSED = STEP_REFUSED + LOOP_REFUSED

#: Where the package, NumPy and the standard library live: frames there are not the
#: student's code.
_LIBRARY_DIRS = tuple(str(p) for p in (Path(__file__).resolve().parents[1],
                                       Path(np.__file__).resolve().parent,
                                       Path(sysconfig.get_paths()["stdlib"]).resolve()))

#: The outputs of a step, as the step table shows them.
_STEP_OUT = tuple(CARRIED) + ("dz", "draw")


class _BadReturn(Exception):
    pass


def _guarded(fn, functions):
    """``fn`` run under ``forbid(functions)``: every call of it refuses the package's
    ``functions`` (however reached) while it runs, and only then."""
    functions = list(functions)

    def guarded(*args, **kwargs):
        with forbid(functions, fn):
            return fn(*args, **kwargs)

    guarded.student = fn
    return guarded


def _library_file(filename):
    """Whether ``filename`` is the package's, NumPy's or the standard library's."""
    return filename.startswith(_LIBRARY_DIRS) or filename.startswith("<frozen")


def _where(exc, names):
    """Where in the student's code ``exc`` was raised: ``" (in name, line n: code)"``."""
    frames = traceback.extract_tb(exc.__traceback__)
    mine = [f for f in frames if not _library_file(f.filename)]
    if not mine:
        return ""
    f = mine[-1]
    line = (f.line or linecache.getline(f.filename, f.lineno)).strip()
    who = names.get(f.name, f.name)
    return f" (in {who}, line {f.lineno}: {line})" if line else f" (in {who})"


def _who(exc, names):
    """The student's function (a value of ``names``) innermost in ``exc``'s traceback."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.name in names]
    return names[frames[-1].name] if frames else " and ".join(dict.fromkeys(names.values()))


def _as_dict(carried):
    """A student's carried gradients as a dict of copies (None where missing)."""
    if isinstance(carried, dict):
        items = carried
    elif isinstance(carried, tuple) and len(carried) == len(CARRIED):
        items = dict(zip(CARRIED, carried))
    else:
        raise _BadReturn(f"{type(carried).__name__}, expected a Carried(memory, weighting, "
                         "read, controller, cell)")
    out = {}
    for k in CARRIED:
        v = items.get(k)
        out[k] = None if v is None else np.array(v, dtype=float, copy=True)
    return out


def _errors(mine, ref):
    """Relative error of each array of ``ref`` (dict) against ``mine`` (dict)."""
    out = {}
    for name, g in ref.items():
        if g is None:
            continue
        m = mine.get(name) if isinstance(mine, dict) else None
        try:
            m = None if m is None else np.asarray(m, dtype=float)
        except (TypeError, ValueError):
            m = None
        ok = m is not None and m.shape == np.shape(g) and bool(np.all(np.isfinite(m)))
        out[name] = rel_error(m, g) if ok else float("inf")
    return out


@dataclass
class _Run:
    """One backward pass of the check: the gradients and what each step received."""

    status: str  # "ok", "not implemented", "refused", "error"
    grads: dict = field(default_factory=dict)
    received: list = field(default_factory=list)  # T dicts (empty where a step never ran)
    calls: list = field(default_factory=list)  # the steps' time indices, in call order
    message: str = ""

    def divergence(self, ref):
        """First divergence of what the steps received against ``ref`` (list of dicts)."""
        return first_divergence(self.received, ref)

    def wrong(self, ref_carried, ref_grads):
        """(first divergence, parameter errors, wrong?) against the package's."""
        div = self.divergence(ref_carried)
        errs = _errors(self.grads, ref_grads)
        return div, errs, div is not None or any(not e <= MODEL_TOL for e in errs.values())


def _run(x, dlogits, seed, loop, step, ops, students):
    """Backpropagate ``x`` through ``loop`` and ``step`` with the primitives ``ops``; the
    functions in ``students`` (name -> function) are the student's (refused the package's
    own while they run; named in the messages)."""
    model = tiny_model(ops, seed=seed)
    _, cache = model.forward(x)
    T = len(cache.steps)
    index = {id(s): t for t, s in enumerate(cache.steps)}
    run = _Run("ok", received=[{} for _ in range(T)])
    step_is_students = any(step is fn for fn in students.values())
    loop_is_students = any(loop is fn for fn in students.values())
    if step_is_students:
        step = _guarded(step, STEP_REFUSED + LOOP_REFUSED)
    if loop_is_students:
        loop = _guarded(loop, LOOP_REFUSED + (STEP_REFUSED if step_is_students else ()))

    def recording_step(s, carried, m):
        t = index.get(id(s))
        run.calls.append(t)
        if t is not None and not run.received[t]:
            try:
                run.received[t] = _as_dict(carried)
            except _BadReturn as exc:
                raise _BadReturn(f"ntm_backward gave step_backward {exc}") from None
        out = step(s, carried, m)
        if step_is_students:
            if not (isinstance(out, tuple) and len(out) == 3):
                raise _BadReturn(f"step_backward returned {type(out).__name__}; expected a "
                                 "tuple (back, dz, draw)")
            try:
                _as_dict(out[0])
            except _BadReturn as exc:
                raise _BadReturn(f"step_backward returned as back: {exc}") from None
        return out

    names = {getattr(fn, "__name__", k): k for k, fn in students.items()}
    try:
        with np.errstate(all="ignore"):
            grads = loop(dlogits.copy(), cache, model, recording_step)
    except NotImplementedError as exc:
        return _Run("not implemented", message=f"raises NotImplementedError{_where(exc, names)}")
    except RefusedSolution as exc:
        return _Run("refused", message=refusal_message(exc.qualname, _who(exc, names)))
    except _BadReturn as exc:
        return _Run("error", message=str(exc))
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        text = str(exc).splitlines()[0].strip() if str(exc).strip() else ""
        return _Run("error", message=f"raised {type(exc).__name__}: {text}{_where(exc, names)}")
    if not isinstance(grads, dict):
        return _Run("error", message=f"ntm_backward returned {type(grads).__name__}; expected "
                                     "a dict name -> gradient, the keys of model.params")
    run.grads = grads
    return run


def _step_table(x, seed, step, ref_received, ref_model):
    """The student's ``step`` fed the package's gradients at every t, with the package's
    primitives: rows (t, errors of what it returns against the package's step)."""
    model = tiny_model(seed=seed)
    _, cache = model.forward(x)
    _, ref_cache = ref_model.forward(x)
    rows = []
    for t in reversed(range(len(cache.steps))):
        carried = Carried(*(np.array(ref_received[t][k], copy=True) for k in CARRIED))
        back, dz, draw = _PACKAGE["step"](ref_cache.steps[t], carried, ref_model)
        ref = dict(zip(CARRIED, back), dz=dz, draw=draw)
        try:
            with np.errstate(all="ignore"):
                fresh = Carried(*(np.array(c, copy=True) for c in carried))
                mine = _guarded(step, REFUSED)(cache.steps[t], fresh, model)
            mine_back = _as_dict(mine[0])
            mine = dict(mine_back, dz=mine[1], draw=mine[2])
        except Exception:  # noqa: BLE001 - the whole run reports the error
            return rows
        rows.append((t, _errors(mine, ref)))
    return rows


@dataclass
class BPTTCheck:
    """What :func:`check_bptt` found; prints as its report.

    Attributes
    ----------
    status : "pass", "fail", "not implemented" or "error"
    checked : what was the student's: a list among "ntm_backward", "step_backward" and
        the primitives' names
    verdict : the report's first line
    T : time steps of the checked sequence
    divergence : (t, key, error) of the first carried gradient that differs, or None
    param_errors : parameter name -> relative error against the package's
    culprits : the parts that, alone among the package's, make the gradients differ
    parts : (name, text) of each part run alone
    step_rows : (t, dict output -> relative error), the student's step fed the package's
        gradients (see :func:`check_bptt`)
    received : T dicts key -> relative error of what each step received
    ops : op name -> (status, text) of :func:`ntm_numpy.course.capstone.check_op`
    notes : further lines (stand-ins, calls)
    """

    status: str
    checked: list
    verdict: str
    T: int = 0
    divergence: tuple = None
    param_errors: dict = field(default_factory=dict)
    culprits: list = field(default_factory=list)
    parts: list = field(default_factory=list)
    step_rows: list = field(default_factory=list)
    received: list = field(default_factory=list)
    ops: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)

    @property
    def passed(self):
        """True when the student's gradients agree with the package's."""
        return self.status == "pass"

    def __bool__(self):
        return self.passed

    def report(self):
        """The report: the verdict first, then the tables."""
        lines = [self.verdict]
        lines += [f"  {n}" for n in self.notes]
        if self.parts:
            lines.append("Each of your parts alone, the package's everywhere else:")
            lines += [f"  {name}: {text}" for name, text in self.parts]
        if self.step_rows:
            lines.append("Your step_backward fed the package's gradients at each step (the "
                         "package's primitives), what it returns against the package's step "
                         "(relative error; 'back' is what it sends to step t-1):")
            lines.append("     t " + "".join(f"{k:>12}" for k in _STEP_OUT))
            for t, errs in self.step_rows:
                lines.append(f"  {t:4d} " + "".join(f"{_fmt(errs.get(k)):>12}" for k in _STEP_OUT))
        if self.received:
            lines.append("What each step's backward received (Carried), yours against the "
                         "package's (relative error), from t = T-1 down:")
            lines.append("     t " + "".join(f"{k:>12}" for k in CARRIED))
            for t in reversed(range(len(self.received))):
                errs = self.received[t]
                lines.append(f"  {t:4d} " + "".join(f"{_fmt(errs.get(k)):>12}" for k in CARRIED))
        if self.param_errors:
            wrong = {k: e for k, e in self.param_errors.items() if not e <= MODEL_TOL}
            if wrong:
                lines.append("Parameter gradients that differ (relative error): " + ", ".join(
                    f"{k} ({_fmt(e)})" for k, e in wrong.items()))
            else:
                lines.append("Every parameter gradient agrees (largest relative error "
                             f"{max(self.param_errors.values()):.1e}).")
        if self.ops:
            lines.append("Each primitive on its own:")
            lines += ["  " + text.replace("\n", "\n  ") for _, text in self.ops.values()]
        verdict = {"pass": "PASS", "fail": "FAIL", "error": "FAIL",
                   "not implemented": "not implemented yet"}[self.status]
        lines.append(f"Model gradient: {verdict}")
        return "\n".join(lines)

    __str__ = report


def _fmt(err):
    if err is None:
        return "-"
    if not np.isfinite(err):
        return "missing" if err == float("inf") else "nan"
    return "ok" if err <= MODEL_TOL else f"{err:.1e}"


def _div_text(div, T, received):
    t, key, err = div
    also = [k for k in CARRIED if k != key and not (received[t].get(k, 0.0) <= MODEL_TOL)]
    with_ = f"; so do {', '.join(repr(k) for k in also)} at that step" if also else ""
    return (f"'{key}' ({CARRIED[key]}) is the first carried gradient that differs, at "
            f"t = {t} (scanning from t = {T - 1} down to 0; relative error {_fmt(err)}"
            f"{with_})")


def _yours(loop, step, ops):
    """"your ntm_backward, your step_backward and your 8 primitives give"."""
    parts = [label for fn, label in ((loop, "your ntm_backward"), (step, "your step_backward"))
             if fn is not None]
    if ops:
        parts.append(f"your {len(ops)} primitive{'s' if len(ops) > 1 else ''}")
    if not parts:
        return "the package's functions give"
    plural = len(parts) > 1 or len(ops) > 1
    return (", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]
            + (" give" if plural else " gives"))


def _what_runs(loop, step, usable, ops):
    """The note that says what the check ran: whose loop, step and primitives."""
    text = ("checked: " + ("your ntm_backward" if loop is not None else "the package's loop")
            + (" with your step_backward" if step is not None else " with the package's step"))
    if usable:
        text += f", your primitives ({len(usable)} of {len(OPS)})"
        standing = [n for n in OPS if n not in usable]
        if standing:
            text += "; the package's stand in for " + ", ".join(standing) + (
                " (not given or still blank)" if ops else "")
    else:
        text += ", the package's primitives"
    return text


def _part_label(name):
    return {"ntm_backward": "your ntm_backward (the loop)",
            "step_backward": "your step_backward"}.get(name, f"your {name}")


def check_bptt(ops=None, *, step_backward=None, ntm_backward=None, seed=0):
    """Check a student's backpropagation through time against the package's.

    Parameters
    ----------
    ops : optional dict op name -> function (names of
        :data:`ntm_numpy.course.capstone.OPS`): the student's primitives; the package's
        stand in for those missing and for those still blank
    step_backward : optional, the student's ``step_backward(step, carried, model)``
        (default: the package's)
    ntm_backward : optional, the student's ``ntm_backward(dlogits, cache, model,
        step_backward)`` (default: the package's)
    seed : the model's and the sequence's seed

    Returns
    -------
    BPTTCheck (prints as a report). Never raises because of the student's code.
    """
    ops = {} if ops is None else ops
    if not isinstance(ops, dict):
        raise TypeError(f"ops: expected a dict op name -> function, got {type(ops).__name__}")
    unknown = sorted(set(ops) - set(OPS))
    if unknown:
        raise ValueError(f"ops: unknown op names {unknown}; expected names among {list(OPS)}")
    for name, fn in (("step_backward", step_backward), ("ntm_backward", ntm_backward)):
        if fn is not None and not callable(fn):
            raise TypeError(f"{name}: expected a function, got {type(fn).__name__}")
    results = {name: check_op(name, fn, seed=seed) for name, fn in ops.items()}
    students = {k: fn for k, fn in (("ntm_backward", ntm_backward),
                                    ("step_backward", step_backward)) if fn is not None}
    checked = list(students) + [n for n in ops if results[n][0] not in ("not implemented",)]
    x, dlogits = _sequence(seed)
    T = x.shape[0]
    notes = []
    refused = [n for n, (s, _) in results.items() if s == "refused"]
    if refused:
        return BPTTCheck("fail", checked, "FAIL: refused — " + "; ".join(
            results[n][1] for n in refused), T, ops=results)
    usable = {n: fn for n, fn in ops.items() if results[n][0] != "not implemented"}
    notes.append(_what_runs(ntm_backward, step_backward, usable, ops))
    loop = ntm_backward if ntm_backward is not None else _PACKAGE["loop"]
    step = step_backward if step_backward is not None else _PACKAGE["step"]

    # the package's: what each step receives, and the gradients
    ref_model = tiny_model(seed=seed)
    _, ref_cache = ref_model.forward(x)
    ref_grads, ref_carried = ref_model.backward(dlogits, ref_cache, return_carried=True)

    run = _run(x, dlogits, seed, loop, step, usable, students)
    if run.status != "ok":
        status = {"not implemented": "not implemented", "refused": "fail"}.get(run.status,
                                                                               "error")
        what = " and ".join(students) or "the model"
        verdict = {"not implemented": f"not implemented yet: {what}: {run.message}",
                   "refused": f"FAIL: {run.message}"}.get(run.status,
                                                          f"FAIL: {what}: {run.message}")
        return BPTTCheck(status, checked, verdict, T, ops=results, notes=notes)
    div, param_errors, wrong = run.wrong(ref_carried, ref_grads)
    received = [_errors(r, ref_carried[t]) if r else {} for t, r in enumerate(run.received)]
    if sorted(c for c in run.calls if c is not None) != list(range(T)) or None in run.calls:
        seen = sorted({c for c in run.calls if c is not None})
        notes.append(f"ntm_backward called step_backward {len(run.calls)} times for T = {T} "
                     f"steps (steps {seen}); it must call it once for each t = {T - 1}..0")
    if not wrong:
        worst = max(param_errors.values())
        verdict = (f"PASS: {_yours(ntm_backward, step_backward, usable)} the package's "
                   "gradients: every carried gradient at every step and every parameter "
                   f"(largest relative error {worst:.1e}).")
        return BPTTCheck("pass", checked, verdict, T, None, param_errors, ops=results,
                         received=received, notes=notes)

    # which part makes it differ: each alone among the package's other parts
    parts, culprits, same = [], [], []

    def judge(name, r):
        if r.status != "ok":
            parts.append((_part_label(name), f"{r.status}: {r.message}"))
            culprits.append(name)
            return
        d, errs, bad = r.wrong(ref_carried, ref_grads)
        if not bad:
            parts.append((_part_label(name), "agrees with the package's"))
            return
        culprits.append(name)
        if d is not None:
            parts.append((_part_label(name), f"differs: first '{d[1]}' at t = {d[0]}"))
        else:
            names = [k for k, e in errs.items() if not e <= MODEL_TOL]
            parts.append((_part_label(name), "every carried gradient agrees, but not the "
                          "gradients of " + ", ".join(names)))
        if (d is None and div is None) or (d is not None and div is not None
                                           and d[:2] == div[:2]):
            same.append(name)

    if ntm_backward is not None:
        alone = _run(x, dlogits, seed, ntm_backward, _PACKAGE["step"], {},
                     {"ntm_backward": ntm_backward})
        judge("ntm_backward", alone)
        if alone.status == "ok" and not alone.calls:
            notes.append("your ntm_backward never called the step_backward it was given: it "
                         "must call its argument (the check passes the package's step there)")
    if step_backward is not None:
        judge("step_backward", _run(x, dlogits, seed, _PACKAGE["loop"], step_backward, {},
                                    {"step_backward": step_backward}))
    for name, fn in usable.items():
        judge(name, _run(x, dlogits, seed, _PACKAGE["loop"], _PACKAGE["step"], {name: fn}, {}))
    rows = (_step_table(x, seed, step_backward, ref_carried, ref_model)
            if step_backward is not None else [])
    for t, errs in rows:  # from t = T-1 down: the first step that returns a wrong value
        bad = [("back." + k if k in CARRIED else k) for k in _STEP_OUT
               if not errs.get(k, 0.0) <= MODEL_TOL]
        if bad:
            notes.append(f"fed the package's gradients, your step_backward first goes wrong "
                         f"at t = {t}: it returns a wrong {', '.join(bad)} (the table below)")
            break

    named = same or culprits
    who = (" and ".join(_part_label(n) for n in named) if named else
           "none of your parts alone (only together: see each part's line below)")
    if div is not None:
        verdict = f"FAIL: {_div_text(div, T, received)}; made by {who}."
    else:
        names = [k for k, e in param_errors.items() if not e <= MODEL_TOL]
        verdict = (f"FAIL: every carried gradient agrees with the package's, but the gradients "
                   f"of {', '.join(names)} differ; made by {who}.")
    return BPTTCheck("fail", checked, verdict, T, div, param_errors, culprits, parts, rows,
                     received, results, notes)

