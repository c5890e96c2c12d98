"""The capstone: backpropagate a whole NTM through time with your own code.

Notebook 08 asks a student for the backward pass of **one time step** and for **the
loop over time**, built on their own backward passes of the primitives (six written in
notebook 04 and saved by it to ``my_backward_ops.py``, two new ones). This module holds
what the notebook builds on:

* the names: :data:`OPS` (the eight primitives' backward passes), :data:`CARRIED` and
  :class:`Carried` (the five gradients one step's backward receives from the later
  steps), :data:`CAPSTONE` (the model, the task, the training);
* the primitives' files: :func:`save_backward_ops` (notebook 04's last cell writes the
  student's functions to ``my_backward_ops.py``) and :func:`load_backward_ops`
  (notebook 08 reads them back);
* the checks: :func:`check_op` (one primitive on its own; the six of notebook 04
  through :func:`ntm_numpy.course.exercises.check`, edge cases included) and
  :func:`check_model`: with ``ops`` only, the student's primitives in the package's
  model; with ``step_backward`` and/or ``ntm_backward``, the student's step and loop
  (:func:`ntm_numpy.course.bptt_check.check_bptt`), whose report names on its first line
  the first carried gradient and time step where the student's differ from the
  package's, scanning from t = T-1, and the part (loop, step or primitive) that makes
  them differ.

The interface of the student's step and loop, and the pieces the package supplies
outside the loop, are :mod:`ntm_numpy.course.bptt`; the training of the student's NTM
against the LSTM baseline :mod:`ntm_numpy.course.generalisation`.

Notation: T time steps, B batch, N memory rows, M row width, H controller units,
R read and W write heads, K = R + W (reads first).

The primitives, with the signatures of the package's functions of the same name:

=========================== ==================================================
``lstm_gates_backward``     ``((dh, dc), LSTMGatesCache) -> (dz, dc_prev)``
``head_params_backward``    ``(HeadParams of gradients, HeadParamsCache)``
                            ``-> (draw, None, None, None)``
``content_weighting_backward`` ``(dw_c, ContentCache) -> (dmemory, dkey, dbeta)``
``interpolation_backward``  ``(dw_g, InterpolationCache) -> (dw_c, dw_prev, dg)``
``shift_backward``          ``(dw_s, ShiftCache) -> (dw_g, ds)``
``sharpen_backward``        ``(dout, SharpenCache) -> (dw, dgamma)``
``read_backward``           ``(dr, ReadCache) -> (dmemory, dw)``
``write_backward``          ``(dnew, WriteCache) -> (dmemory, dw, de, da)``
=========================== ==================================================

The reference step calls the addressing ops with the heads stacked along the batch
axis (arrays of K*B rows), so every op must work for any batch size.
"""
import dis
import importlib.util
import inspect
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .. import controller, heads
from ..gradcheck import numerical_gradient, rel_error
from ..tasks import get_task
from . import exercises
from .refusal import RefusedSolution, forbid, refusal_message
from .reports import DEFAULT_TOL, dtype_problem, known_shape

__all__ = [
    "OPS", "NOTEBOOK_04_OPS", "CARRIED", "Carried", "CAPSTONE", "OPS_FILE", "ModelCheck",
    "check_op", "implemented_ops", "check_model", "first_divergence", "tiny_model", "copy_task",
    "save_backward_ops", "load_backward_ops",
]

#: The backward passes of the primitives the student's step calls, in the order of the
#: notebook: six from notebook 04, then the two notebook 08 asks for.
OPS = (
    "interpolation_backward", "read_backward", "write_backward",
    "content_weighting_backward", "shift_backward", "sharpen_backward",
    "lstm_gates_backward", "head_params_backward",
)

#: The six of :data:`OPS` that are exercises of notebook 04 (it saves them to
#: :data:`OPS_FILE`; notebook 08 loads them).
NOTEBOOK_04_OPS = OPS[:6]

#: The carried gradients, in the order they are compared at each step, with what they are.
CARRIED = {
    "memory": "dL/dM_t, the memory after step t's writes (B, N, M)",
    "weighting": "dL/dw_t, each head's final weighting (K, B, N)",
    "read": "dL/dr_t, the read vectors (R, B, M)",
    "controller": "dL/dh_t, the controller output (B, H)",
    "cell": "dL/dc_t, the LSTM cell state (B, H)",
}


class Carried(NamedTuple):
    """The five gradients step t's backward receives: the gradients of the loss with
    respect to the state step t hands on (:data:`CARRIED`, in the same order).

    ``Carried(**carried[t])`` of ``NTM.backward(..., return_carried=True)`` is exactly
    what the package's step t receives. ``read`` and ``controller`` hold the output
    layer's gradient at step t plus what comes back through step t+1's controller; the
    other three come from step t+1 only (and are zero at t = T-1).
    """

    memory: np.ndarray  # (B, N, M) dL/dM_t, through step t+1's addressing, reads and writes
    weighting: np.ndarray  # (K, B, N) dL/dw_t, through step t+1's interpolation, eq (7)
    read: np.ndarray  # (R, B, M) dL/dr_t, the output layer at t and step t+1's controller
    controller: np.ndarray  # (B, H) dL/dh_t, the output layer at t and step t+1's controller
    cell: np.ndarray  # (B, H) dL/dc_t, through step t+1's LSTM cell


#: The capstone's model, task, training and comparison with the LSTM baseline
#: (:mod:`ntm_numpy.course.generalisation`). The memory has 4 L + 1 rows for the longest
#: training length L, so that the evaluation at 4 L fits in it. Measured with the
#: reference solutions on 2 cores (one thread): an NTM trains in about 20 s, an LSTM
#: in about 2 s, about 90 s for the four seeds of both; seeds 0, 2 and 3 copy lengths
#: 20 and 40 without a wrong bit, seed 1 learns lengths 5-10 only (not 20 or 40).
CAPSTONE = dict(
    model=dict(controller_size=16, memory_rows=41, memory_width=6, read_heads=1,
               write_heads=1, shift_range=1, controller="lstm"),
    task=dict(bits=4, min_length=5, max_length=10),
    train=dict(steps=2000, batch_size=32, lr=1e-2, seed=0),
    compare=dict(seeds=(0, 1, 2, 3), sequences=64),
)

#: The copy length of the sequence the checks backpropagate through (T = 2 L + 1 steps).
CHECK_LENGTH = 4

#: The file notebook 04 writes the student's backward passes to, beside the notebooks.
OPS_FILE = "my_backward_ops.py"

#: Relative error above which two analytic gradients of the model are said to differ.
MODEL_TOL = 1e-7


def tiny_model(ops=None, seed=0, dtype=np.float64):
    """The capstone's NTM (:data:`CAPSTONE`), with ``ops`` swapped in."""
    from ..model import NTM

    task = copy_task()
    kwargs = {} if ops is None else {"ops": dict(ops)}
    return NTM(task.input_size, task.output_size, seed=seed, dtype=dtype,
               **CAPSTONE["model"], **kwargs)


def copy_task():
    """The capstone's copy task: short sequences of few bits (:data:`CAPSTONE`)."""
    return get_task("copy", **CAPSTONE["task"])


def _package_op(name):
    """The package's own function ``name``, as the model's reference step calls it."""
    from ..reference_step import DEFAULT_OPS

    if name not in OPS:
        raise ValueError(f"name: expected one of {', '.join(OPS)}, got {name!r}")
    return DEFAULT_OPS[name]


# ----------------------------------------------------------------------------------------
# One op at a time
# ----------------------------------------------------------------------------------------
def _sample_lstm(rng, B=3, H=4):
    z = 1.5 * rng.standard_normal((B, 4 * H))
    c_prev = rng.standard_normal((B, H))
    (h, c), cache = controller.lstm_gates_forward(z, c_prev)
    forward = lambda z_, c_: controller.lstm_gates_forward(z_, c_)[0]  # noqa: E731
    return (z, c_prev), forward, cache, (rng.standard_normal(h.shape),
                                         rng.standard_normal(c.shape))


def _sample_head(rng, write, B=3, M=4, S=3):
    P = heads.head_size(M, S, write)
    raw = rng.standard_normal((B, P))
    params, cache = heads.head_params_forward(raw, M, S, write)
    dparams = heads.HeadParams(*(None if p is None else rng.standard_normal(p.shape)
                                 for p in params))
    forward = lambda r: heads.head_params_forward(r, M, S, write)[0]  # noqa: E731
    return raw, forward, cache, dparams


def _flat(out):
    return np.concatenate([np.ravel(o) for o in out if o is not None])


def _check_extra_op(name, fn, seed=0):
    """Check ``lstm_gates_backward`` or ``head_params_backward`` against central
    differences. Returns (status, text)."""
    rng = np.random.default_rng(seed)
    target = _package_op(name)
    cases = []
    if name == "lstm_gates_backward":
        for _ in range(2):
            (z, c_prev), forward, cache, dout = _sample_lstm(rng)
            cases.append(("dz", z, lambda v, c_prev=c_prev, f=forward: _flat(f(v, c_prev)),
                          cache, dout, 0))
            cases.append(("dc_prev", c_prev, lambda v, z=z, f=forward: _flat(f(z, v)),
                          cache, dout, 1))
    else:  # the model calls it for the addressing values of the K heads (write=False)
        for _ in range(2):
            raw, forward, cache, dparams = _sample_head(rng, False)
            cases.append(("draw", raw, lambda v, f=forward: _flat(f(v)), cache, dparams, 0))
    for gname, x, f, cache, dout, k in cases:
        try:
            with forbid(target, fn), np.errstate(all="ignore"):
                got = fn(dout, cache)
        except NotImplementedError:
            return "not implemented", f"{name}: not implemented yet"
        except RefusedSolution as exc:
            return "refused", f"{name}: FAIL — " + refusal_message(exc.qualname, name)
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            return "error", f"{name}: FAIL — raised {type(exc).__name__}: {exc}"
        if not isinstance(got, (tuple, list)) or len(got) <= k:
            return "error", f"{name}: FAIL — returned {type(got).__name__}; expected a tuple " \
                            "like the package's (see the table above)"
        arr = np.asarray(got[k]) if got[k] is not None else None
        if arr is None or dtype_problem(arr) or arr.shape != x.shape:
            what = "None" if arr is None else (dtype_problem(arr)
                                               or f"shape {arr.shape}, expected {x.shape}")
            return "fail", f"{name}: FAIL — gradient {gname} is wrong: {what}"
        d = _flat(dout) if isinstance(dout, tuple) else _flat(tuple(dout))
        num = numerical_gradient(f, x, d)
        err = rel_error(arr, num) if np.all(np.isfinite(arr)) else float("inf")
        if not err <= DEFAULT_TOL:
            hint = known_shape(arr, num)
            return "fail", (f"{name}: FAIL — gradient {gname} is wrong (relative error "
                            f"{err:.2g})" + (f"; {hint}" if hint else ""))
    return "pass", f"{name}: PASS"


def check_op(name, fn, seed=0):
    """Check one op on its own. Returns ``(status, text)``; status is "pass", "fail",
    "not implemented", "refused" or "error"."""
    if name not in OPS:
        raise ValueError(f"name: expected one of {', '.join(OPS)}, got {name!r}")
    if name in ("lstm_gates_backward", "head_params_backward"):
        return _check_extra_op(name, fn, seed)
    res = exercises.check(name[: -len("_backward")], fn, seed=seed)
    return res.status, res.summary()


def implemented_ops(ops):
    """The ops of ``ops`` (name -> function) that are not blank (whose :func:`check_op`
    does not say "not implemented"): what a model can run, the package's standing in
    for the others."""
    return {name: fn for name, fn in (ops or {}).items()
            if check_op(name, fn)[0] != "not implemented"}


# ----------------------------------------------------------------------------------------
# The whole model
# ----------------------------------------------------------------------------------------
def first_divergence(carried, reference, tol=MODEL_TOL):
    """The first carried gradient that differs, scanning t = T-1 down to 0 and, at each
    step, the keys of :data:`CARRIED` in order.

    Parameters
    ----------
    carried, reference : lists of length T of dicts (``model.backward(...,
        return_carried=True)[1]``)

    Returns
    -------
    (t, key, error) or None when every one agrees.
    """
    if len(carried) != len(reference):
        raise ValueError(f"carried: expected {len(reference)} steps, got {len(carried)}")
    for t in range(len(reference) - 1, -1, -1):
        for key in CARRIED:
            if key not in reference[t]:
                continue
            mine = carried[t].get(key)
            if mine is None or np.shape(mine) != np.shape(reference[t][key]):
                return t, key, float("inf")
            with np.errstate(all="ignore"):
                err = rel_error(mine, reference[t][key]) if np.all(np.isfinite(mine)) \
                    else float("inf")
            if not err <= tol:
                return t, key, err
    return None


@dataclass
class ModelCheck:
    """What :func:`check_model` found.

    Attributes
    ----------
    status : "pass", "fail", "not implemented" (some ops still blank; the others were
        checked with the package's in place of the blanks) or "error"
    ops : dict op name -> (status, text) of :func:`check_op`
    param_errors : dict parameter name -> relative error against the package's model
    divergence : (t, key, error) of :func:`first_divergence`, or None
    culprits : list of op names that, swapped alone into the package's model, make its
        gradient differ
    T : int, time steps of the checked sequence
    """

    status: str
    ops: dict
    param_errors: dict = field(default_factory=dict)
    divergence: tuple = None
    culprits: list = field(default_factory=list)
    T: int = 0
    message: str = ""

    @property
    def passed(self):
        """True when the whole model's gradient agrees with the package's."""
        return self.status == "pass"

    def __bool__(self):
        return self.passed

    @property
    def blank(self):
        """The ops still blank (their check said "not implemented")."""
        return [n for n, (s, _) in self.ops.items() if s == "not implemented"]

    def report(self):
        """The report: each op's verdict, then the whole model's (what ``print`` shows)."""
        lines = ["Each op on its own:"]
        lines += ["  " + text.replace("\n", "\n  ") for _, text in self.ops.values()]
        lines.append("The whole model (your ops against the package's, one copy-task "
                     f"sequence of T = {self.T} steps):")
        if self.message:
            lines.append("  " + self.message)
        if self.blank and len(self.blank) < len(self.ops):
            lines.append(f"  not implemented yet: {', '.join(self.blank)} (the package's "
                         "ops stand in for them here)")
        if self.param_errors:
            worst = max(self.param_errors.values())
            if self.status == "pass" or (not self.divergence and worst <= MODEL_TOL):
                lines.append(f"  every parameter gradient agrees (max relative error "
                             f"{worst:.1e})")
            else:
                wrong = [n for n, e in self.param_errors.items() if not e <= MODEL_TOL]
                lines.append("  wrong parameter gradients: " + ", ".join(
                    f"{n} ({self.param_errors[n]:.2g})" for n in wrong))
        if self.divergence:
            t, key, err = self.divergence
            lines.append(f"  the first carried gradient that goes wrong: '{key}', "
                         f"{CARRIED[key]}, at t = {t} (of 0..{self.T - 1}; relative error "
                         f"{err:.2g})")
        if self.culprits:
            lines.append("  the op that makes it wrong: " + ", ".join(self.culprits)
                         + " (swapped alone into the package's model, it reproduces the "
                         "error)")
        verdict = {"pass": "PASS", "fail": "FAIL", "error": "FAIL",
                   "not implemented": "not implemented yet"}[self.status]
        lines.append(f"Model gradient: {verdict}")
        return "\n".join(lines)

    __str__ = report


def _wrap(name, fn):
    """The student's op, raising a tagged error when it is still blank."""

    def op(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except NotImplementedError:
            raise _Blank(name) from None

    op.__wrapped_student__ = fn
    return op


class _Blank(Exception):
    def __init__(self, name):
        super().__init__(name)
        self.name = name


def _gradients(model, x, dlogits):
    logits, cache = model.forward(x)
    grads, carried = model.backward(dlogits, cache, return_carried=True)
    return grads, carried


def _sequence(seed):
    rng = np.random.default_rng([seed, 3])
    task = copy_task()
    x, y, mask = task.batch(rng, 2, length=CHECK_LENGTH)
    return x, rng.standard_normal((x.shape[0], x.shape[1], task.output_size))


def check_model(ops=None, *, step_backward=None, ntm_backward=None, seed=0):
    """Check the student's backward passes against the package's. Never raises because
    of the student's code.

    With primitives only (``ops``, a dict name -> function; names of :data:`OPS`): each
    on its own, then all of them in the package's model (the package's step and loop);
    returns a :class:`ModelCheck`. With the student's one time step and/or loop
    (:mod:`ntm_numpy.course.bptt`), given as ``step_backward`` and ``ntm_backward`` or
    under those keys in ``ops`` (``check_model(dict(my_ops, step_backward=...))``): the
    student's backpropagation through time, the package's parts standing in for those
    not given (:func:`ntm_numpy.course.bptt_check.check_bptt`); returns a
    :class:`~ntm_numpy.course.bptt_check.BPTTCheck`, whose report's first line names the
    first carried gradient and time step that differ and the part that makes them
    differ.

    Returns
    -------
    ModelCheck or BPTTCheck (each prints as a report; ``.passed``)
    """
    if isinstance(ops, dict) and ({"step_backward", "ntm_backward"} & set(ops)):
        ops = dict(ops)
        step_backward = ops.pop("step_backward", step_backward)
        ntm_backward = ops.pop("ntm_backward", ntm_backward)
    if step_backward is not None or ntm_backward is not None:
        from .bptt_check import check_bptt

        return check_bptt(ops, step_backward=step_backward, ntm_backward=ntm_backward,
                          seed=seed)
    if not isinstance(ops, dict):
        raise TypeError(f"ops: expected a dict op name -> function, got {type(ops).__name__}")
    unknown = sorted(set(ops) - set(OPS))
    if unknown:
        raise ValueError(f"ops: unknown op names {unknown}; expected names among {list(OPS)}")
    results = {name: check_op(name, fn, seed=seed) for name, fn in ops.items()}
    x, dlogits = _sequence(seed)
    T = x.shape[0]
    refused = [n for n, (s, _) in results.items() if s == "refused"]
    if refused:
        return ModelCheck("fail", results, T=T, message="not run: refused ops "
                          + ", ".join(refused))
    usable = {n: fn for n, fn in ops.items() if results[n][0] != "not implemented"}
    blank = [n for n in ops if n not in usable]
    if not usable:
        return ModelCheck("not implemented", results, T=T,
                          message="not run: no op implemented yet")
    reference = tiny_model(seed=seed)
    ref_grads, ref_carried = _gradients(reference, x, dlogits)
    try:
        with np.errstate(all="ignore"):
            grads, carried = _gradients(
                tiny_model({n: _wrap(n, fn) for n, fn in usable.items()}, seed=seed),
                x, dlogits)
    except _Blank as exc:  # blank only on some inputs: treat it as blank
        return ModelCheck("not implemented", results, T=T,
                          message=f"not run: {exc.name} raised NotImplementedError")
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        return ModelCheck("error", results, T=T, message=f"the model's backward raised "
                          f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    errors = {}
    for name, g in ref_grads.items():
        mine = grads.get(name)
        ok = mine is not None and np.shape(mine) == np.shape(g) and np.all(np.isfinite(mine))
        errors[name] = rel_error(mine, g) if ok else float("inf")
    divergence = first_divergence(carried, ref_carried)
    wrong = divergence is not None or any(not e <= MODEL_TOL for e in errors.values())
    culprits = []
    if wrong:
        for name, fn in usable.items():
            try:
                with np.errstate(all="ignore"):
                    g1, c1 = _gradients(tiny_model({name: fn}, seed=seed), x, dlogits)
            except Exception:  # noqa: BLE001 - an op that raises is a culprit too
                culprits.append(name)
                continue
            if first_divergence(c1, ref_carried) is not None or any(
                    not (np.all(np.isfinite(g1[k])) and rel_error(g1[k], v) <= MODEL_TOL)
                    for k, v in ref_grads.items()):
                culprits.append(name)
    status = "fail" if wrong else ("not implemented" if blank else "pass")
    return ModelCheck(status, results, errors, divergence, culprits, T)


# ----------------------------------------------------------------------------------------
# The primitives' file: notebook 04 writes it, notebook 08 reads it
# ----------------------------------------------------------------------------------------
def _global_names(code):
    """The global names ``code`` (and the code nested in it) loads."""
    names = set()
    for ins in dis.get_instructions(code):
        if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME"):
            names.add(ins.argval)
    for const in code.co_consts:
        if inspect.iscode(const):
            names |= _global_names(const)
    return names


def _is_blank_source(src):
    lines = [ln.strip() for ln in src.strip().splitlines() if ln.strip()]
    return bool(lines) and lines[-1] == "raise NotImplementedError"


def save_backward_ops(namespace, path=None):
    """Write the student's backward passes of notebook 04 to a file notebook 08 imports.

    Parameters
    ----------
    namespace : the notebook's ``globals()``: its functions named after notebook 04's
        exercises (``read_backward``, ... one per :data:`ntm_numpy.course.exercises.EXERCISES`)
        are saved with their source, with the functions defined beside them that they
        call (helpers, e.g. ``cosine_similarity_backward``); the modules and package
        functions they use are imported at the top of the file, and simple constants
        (numbers, strings) copied
    path : the file (default :data:`OPS_FILE` in the current folder, which for a notebook
        is the folder of the notebooks)

    Returns
    -------
    str, what was saved (and what was not)
    """
    path = Path(OPS_FILE if path is None else path)
    wanted = [f"{name}_backward" for name in exercises.EXERCISES]
    sources, imports, constants, missing, unsaved = {}, {}, {}, [], []
    queue = [(name, namespace.get(name)) for name in wanted]
    while queue:
        name, fn = queue.pop(0)
        if name in sources:
            continue
        if not inspect.isfunction(fn):
            missing.append(name)
            continue
        try:
            src = textwrap.dedent(inspect.getsource(fn))
        except (OSError, TypeError):
            unsaved.append(f"{name} (its source cannot be found)")
            continue
        if fn.__name__ != name:
            src += f"\n\n{name} = {fn.__name__}\n"
        sources[name] = src
        for g in sorted(_global_names(fn.__code__)):
            value = fn.__globals__.get(g, _MISSING)
            if value is _MISSING or g in sources or g in imports or g in constants:
                continue
            if inspect.ismodule(value):
                imports[g] = (f"import {value.__name__}" if value.__name__ == g
                              else f"import {value.__name__} as {g}")
            elif inspect.isfunction(value) and value.__globals__ is fn.__globals__:
                queue.append((g, value))  # a helper defined beside it: saved too
            elif callable(value) and getattr(value, "__module__", None) not in (None, "__main__") \
                    and "." not in getattr(value, "__qualname__", "."):
                alias = "" if value.__qualname__ == g else f" as {g}"
                imports[g] = f"from {value.__module__} import {value.__qualname__}{alias}"
            elif isinstance(value, (bool, int, float, complex, str)):
                constants[g] = f"{g} = {value!r}"
            else:
                unsaved.append(f"{g} (used by {name}: a {type(value).__name__}, not saved)")
    header = [f"# {path.name}: your backward passes of notebook 04 (04_gradient_checking.ipynb),",
              f"# written by its last cell on {time.strftime('%Y-%m-%d %H:%M')}. Notebook 08 (the "
              "capstone)", "# loads them. Edits made here are lost when that cell runs again.",
              "import numpy as np"]
    header += [line for g, line in sorted(imports.items()) if line != "import numpy as np"]
    body = "\n".join(header + sorted(constants.values())) + "\n\n\n" + "\n\n\n".join(
        src.rstrip() for src in sources.values()) + "\n"
    path.write_text(body, encoding="utf-8")
    saved = [n for n in wanted if n in sources]
    blank = [n for n in saved if _is_blank_source(sources[n])]
    helpers = [n for n in sources if n not in wanted]
    lines = [f"Saved {len(saved)} of {len(wanted)} backward passes to {path.resolve()}"
             + (f", with your helpers {', '.join(helpers)}" if helpers else "") + "."]
    if blank:
        lines.append("Still blank (notebook 08 uses the package's in their place): "
                     + ", ".join(blank))
    if missing:
        lines.append("Not defined in this notebook: " + ", ".join(missing))
    if unsaved:
        lines.append("Not saved: " + "; ".join(unsaved))
    return "\n".join(lines)


_MISSING = object()


def load_backward_ops(path=None):
    """The six primitives notebook 04 saved (:func:`save_backward_ops`), each checked.

    Parameters
    ----------
    path : the file (default :data:`OPS_FILE` in the current folder)

    Returns
    -------
    (ops, report): ``ops`` a dict op name -> function of the :data:`NOTEBOOK_04_OPS`
    found in the file and not blank (the package's stand in for the others in the
    checks and the training); ``report`` a str: each function's check
    (:func:`check_op`), or, when the file is missing or broken, what to do.
    """
    path = Path(OPS_FILE if path is None else path)
    if not path.is_file():
        return {}, (
            f"{path.name} is not in this folder ({path.resolve().parent}). Notebook 04 "
            "(04_gradient_checking.ipynb) writes it from your backward passes, in its last "
            "cell: run notebook 04 to its end, then run this cell again. Until then the "
            f"package's {', '.join(NOTEBOOK_04_OPS)} stand in for yours in the checks and "
            "the training below (the checks say so).")
    global _LOADS
    _LOADS += 1
    spec = importlib.util.spec_from_file_location(f"_my_backward_ops_{_LOADS}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        return {}, (f"{path.name} could not be imported ({type(exc).__name__}: {exc}). Run "
                    "the last cell of notebook 04 again to rewrite it; until then the "
                    "package's primitives stand in for yours.")
    ops, lines = {}, [f"From {path.resolve()}:"]
    for name in NOTEBOOK_04_OPS:
        fn = getattr(module, name, None)
        if not callable(fn):
            lines.append(f"  {name}: not in the file (the package's stands in for it)")
            continue
        status, text = check_op(name, fn)
        if status == "not implemented":
            lines.append(f"  {name}: still blank in notebook 04 (the package's stands in "
                         "for it)")
            continue
        ops[name] = fn
        lines.append("  " + text.replace("\n", "\n  "))
    return ops, "\n".join(lines)


_LOADS = 0
