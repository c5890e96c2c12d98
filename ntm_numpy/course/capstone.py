"""The capstone: backpropagate a whole NTM through time with your own backward passes.

A student writes the backward passes of the primitives the model's reference step calls
(``model.ops``, see :class:`ntm_numpy.NTM`) and plugs them into a tiny NTM. This module

* checks each of them on its own (:func:`check_op`; the six that are exercises of
  notebook 04 through :func:`ntm_numpy.course.exercises.check`, edge cases included);
* checks the whole model's gradient (:func:`check_model`): the student's model against
  the package's, parameter by parameter, and, when they differ, **where** the error
  enters: the first carried gradient (``memory`` dL/dM_t, ``weighting`` dL/dw_t,
  ``read`` dL/dr_t, ``controller`` dL/dh_t, ``cell`` dL/dc_t) that differs, scanning
  the steps from the last, t = T-1, down to 0, and which op does it (each student op
  swapped alone into the package's model);
* trains the copy task on the student's gradients (:func:`train_copy`) and draws the
  memory and dL/dM_t over time (:func:`plot_memory_and_gradient`).

Notation: T time steps, B batch, N memory rows, M row width, H controller units,
R read and W write heads, K = R + W (reads first).

The ops, with the signatures of the package's functions of the same name:

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
import time
from dataclasses import dataclass, field

import numpy as np

from .. import controller, heads
from ..gradcheck import numerical_gradient, rel_error
from ..losses import sigmoid_cross_entropy_backward, sigmoid_cross_entropy_forward
from ..optim import make_optimizer
from ..tasks import get_task
from ..training.step import train_step
from . import exercises
from .refusal import RefusedSolution, forbid, refusal_message
from .reports import DEFAULT_TOL, dtype_problem, known_shape

__all__ = [
    "OPS", "CARRIED", "CAPSTONE", "ModelCheck", "check_op", "check_model", "first_divergence",
    "tiny_model", "copy_task", "train_copy", "evaluate_copy", "plot_memory_and_gradient",
]

#: The backward passes a student writes, in the order of the notebook.
OPS = (
    "interpolation_backward", "read_backward", "write_backward",
    "content_weighting_backward", "shift_backward", "sharpen_backward",
    "lstm_gates_backward", "head_params_backward",
)

#: The carried gradients, in the order they are compared at each step, with what they are.
CARRIED = {
    "memory": "dL/dM_t, the memory after step t's writes (B, N, M)",
    "weighting": "dL/dw_t, each head's final weighting (K, B, N)",
    "read": "dL/dr_t, the read vectors (R, B, M)",
    "controller": "dL/dh_t, the controller output (B, H)",
    "cell": "dL/dc_t, the LSTM cell state (B, H)",
}

#: The capstone's model and task: small enough to train in well under a minute.
CAPSTONE = dict(
    model=dict(controller_size=32, memory_rows=12, memory_width=6, read_heads=1,
               write_heads=1, shift_range=1, controller="lstm"),
    task=dict(bits=4, min_length=1, max_length=4),
    train=dict(steps=2500, batch_size=8, lr=1e-2, seed=0),
)

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
    x, y, mask = task.batch(rng, 2, length=CAPSTONE["task"]["max_length"])
    return x, rng.standard_normal((x.shape[0], x.shape[1], task.output_size))


def check_model(ops, *, seed=0):
    """Check the student's ``ops`` (dict name -> function; names of :data:`OPS`) one by
    one and in the whole model. Never raises because of the student's code.

    Returns
    -------
    ModelCheck (prints as a report)
    """
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
# Training on the student's gradients
# ----------------------------------------------------------------------------------------
def evaluate_copy(model, lengths=None, sequences=64, seed=1234):
    """Bit errors per sequence of ``model`` on the capstone's copy task, per length
    (:func:`ntm_numpy.training.evaluation.evaluate`, all ``sequences`` of a length in one batch)."""
    from ..training.evaluation import evaluate

    lengths = range(1, CAPSTONE["task"]["max_length"] + 1) if lengths is None else lengths
    return evaluate(model, copy_task(), lengths, sequences=sequences, batch_size=sequences,
                    seed=seed)


def train_copy(ops=None, *, steps=None, seed=None, log_every=250, stream=None):
    """Train the capstone's NTM on the copy task with ``ops`` in its backward.

    Adam with element-wise clipping, float64, :data:`CAPSTONE`'s sizes (10-20 s for the
    default 2,500 updates; lengths 1-4 are then copied without error for the seeds 0-4).
    Returns ``(model, history)``; ``history`` has ``step``, ``loss`` and ``bit_errors``
    (per sequence, averaged since the last entry).
    """
    cfg = CAPSTONE["train"]
    steps = cfg["steps"] if steps is None else int(steps)
    seed = cfg["seed"] if seed is None else int(seed)
    model = tiny_model(ops, seed=seed)
    task = copy_task()
    rng = np.random.default_rng([seed, 1])
    opt = make_optimizer("adam", lr=cfg["lr"])
    history = {"step": [], "loss": [], "bit_errors": [], "time": []}
    start = time.perf_counter()
    loss_sum = bits_sum = 0.0
    n = 0
    for step in range(1, steps + 1):
        # one update: forward, loss, backward through ``ops``, clipping, Adam's step
        result = train_step(model, opt, task.batch(rng, cfg["batch_size"]))
        loss_sum += result.loss
        bits_sum += result.bit_errors
        n += 1
        if step % log_every == 0 or step == steps:
            history["step"].append(step)
            history["loss"].append(loss_sum / n)
            history["bit_errors"].append(bits_sum / n)
            history["time"].append(time.perf_counter() - start)
            if stream is not None:
                stream.write(f"step {step:5d}  loss {loss_sum / n:.4f}  "
                             f"bit errors/seq {bits_sum / n:.3f}\n")
            loss_sum = bits_sum = 0.0
            n = 0
    return model, history


def plot_memory_and_gradient(model, length=None, seed=5):
    """Memory and dL/dM_t over time on one copy sequence: two heat maps of the row norms
    (rows x time), the write head's focus marked on both, the output steps shaded.

    Returns a matplotlib Figure.
    """
    from matplotlib.colors import LogNorm
    from matplotlib.figure import Figure

    task = copy_task()
    L = CAPSTONE["task"]["max_length"] if length is None else int(length)
    x, y, mask = task.batch(np.random.default_rng(seed), 1, length=L, dtype=model.dtype)
    logits, cache = model.forward(x)
    _, lcache = sigmoid_cross_entropy_forward(logits, y, mask)
    dlogits = sigmoid_cross_entropy_backward(1.0, lcache)[0]
    _, carried = model.backward(dlogits, cache, return_carried=True)
    trace = cache.trace()
    mem = np.linalg.norm(trace.memory[1:, 0], axis=-1).T  # (N, T): M_t after step t
    grad = np.stack([np.linalg.norm(c["memory"][0], axis=-1) for c in carried], axis=1)
    rows = trace.write_weights[:, 0, 0].argmax(axis=-1)
    T = x.shape[0]
    fig = Figure(figsize=(9, 3.4), layout="constrained")
    axes = fig.subplots(1, 2)
    top = float(grad.max()) if grad.max() > 0 else 1.0
    norms = (None, LogNorm(vmin=top * 1e-6, vmax=top))
    for ax, data, title, cmap, norm in (
            (axes[0], mem, "memory: |M_t(i)|", "viridis", norms[0]),
            (axes[1], np.maximum(grad, top * 1e-6), "gradient: |dL/dM_t(i)| (log scale)",
             "magma", norms[1])):
        im = ax.imshow(data, aspect="auto", cmap=cmap, origin="upper", norm=norm,
                       interpolation="nearest")
        ax.plot(np.arange(T), rows, "w.", ms=4, label="write head's row")
        ax.axvspan(L + 0.5, T - 0.5, color="white", alpha=0.12, lw=0)
        ax.set(title=title, xlabel="step t (output steps shaded)", ylabel="row i")
        fig.colorbar(im, ax=ax, shrink=0.85)
    axes[0].legend(loc="lower left", fontsize=7)
    fig.suptitle(f"A copy sequence of length {L}: what is stored, and where the loss "
                 "pulls on it")
    return fig
