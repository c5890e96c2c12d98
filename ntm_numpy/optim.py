"""Hand-written optimisers and gradient clipping, operating on dicts of arrays.

A model keeps its parameters in a ``dict[str, ndarray]`` and its backward pass returns a
dict of gradients with the same keys and shapes. An optimiser's ``step(params, grads)``
updates the parameter arrays **in place** (the model reads the same arrays on its next
forward pass), one vectorised update per key.

Notation
--------
w : one parameter array.     g : its gradient (the same shape).
All operations below are element-wise; ``t`` counts the updates a parameter received.

Equations
---------
Element-wise clipping (NTM paper, section 4: every gradient component clipped to
``[-10, 10]``)::

    g <- min(max(g, -c), c)

Global-norm clipping, over all arrays together::

    N = sqrt(sum_k sum_i g_k[i]^2);   g_k <- g_k * min(1, max_norm / N)

RMSProp in the form of Graves (2013), "Generating Sequences With Recurrent Neural
Networks", eqs 38-41, with his constants aleph = ``decay`` = 0.95, beth = ``momentum``
= 0.9, gimel = ``lr`` = 1e-4, daleth = ``eps`` = 1e-4 (the NTM paper trains with RMSProp,
momentum 0.9 and learning rate 1e-4)::

    n     <- decay * n + (1 - decay) * g^2                       (38)
    gbar  <- decay * gbar + (1 - decay) * g                      (39)
    delta <- momentum * delta - lr * g / sqrt(n - gbar^2 + eps)  (40)
    w     <- w + delta                                           (41)

``n - gbar^2`` is an (exponentially weighted) variance estimate, which is never negative
in exact arithmetic; it is floored at 0 before ``eps`` is added so that round-off cannot
push the square root's argument below ``eps``.

Adam (Kingma & Ba 2015, Algorithm 1), with bias correction::

    t <- t + 1
    m <- beta1 * m + (1 - beta1) * g
    v <- beta2 * v + (1 - beta2) * g^2
    w <- w - lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)

State
-----
State arrays are created lazily, on the first ``step`` that sees a parameter, as zeros
with that parameter's dtype (float32 parameters keep float32 state and stay float32);
gradients are cast to the parameter's dtype. ``state_dict()`` returns flat copies named
``"<optimizer>.<slot>.<param name>"`` (e.g. ``"adam.m.ctrl_W"``) plus
``"<optimizer>.step"``, the number of ``step`` calls, as a 0-d int64 array; Adam also
keeps each parameter's own update count ``"adam.t.<name>"`` (0-d int64), so a parameter
that first appears later is still bias-corrected correctly. ``load_state_dict`` restores
them exactly, so training resumed from a checkpoint follows the same trajectory.
"""
import inspect
import math
from collections.abc import Mapping

import numpy as np

from ._validation import ShapeError, check_finite
from .constants import (
    ADAM_BETA1,
    ADAM_BETA2,
    ADAM_EPS,
    ADAM_LR,
    CLIP_VALUE,
    RMSPROP_DECAY,
    RMSPROP_EPS,
    RMSPROP_LR,
    RMSPROP_MOMENTUM,
)

__all__ = [
    "clip_elementwise",
    "clip_global_norm",
    "global_norm",
    "Optimizer",
    "RMSProp",
    "Adam",
    "OPTIMIZERS",
    "make_optimizer",
]


# --------------------------------------------------------------------------- checks


def _check_real_number(name, value, low=None, high=None, low_open=False, high_open=False):
    """Check that ``value`` is a finite real number within the given bounds; return a float."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name}: expected a real number, got {value!r}")
    v = float(value)
    lo = "(" if low_open else "["
    hi = ")" if high_open else "]"
    interval = f"{lo}{'-inf' if low is None else low}, {'inf' if high is None else high}{hi}"
    ok = math.isfinite(v)
    if ok and low is not None:
        ok = v > low if low_open else v >= low
    if ok and high is not None:
        ok = v < high if high_open else v <= high
    if not ok:
        raise ValueError(f"{name}: expected a finite number in {interval}, got {value!r}")
    return v


def _check_grad_dict(name, grads):
    if not isinstance(grads, Mapping):
        raise ValueError(f"{name}: expected a dict of numpy arrays, got {type(grads).__name__}")
    for key, g in grads.items():
        label = f"{name}[{key!r}]"
        if not isinstance(g, (np.ndarray, np.generic)):
            raise ValueError(f"{label}: expected a numpy.ndarray, got {type(g).__name__}")
        if g.dtype.kind not in "iuf":
            raise ValueError(f"{label}: expected a real numeric array, got dtype {g.dtype}")
        check_finite(label, g)


# ------------------------------------------------------------------------- clipping


def clip_elementwise(grads, value=CLIP_VALUE):
    """Clip every gradient component to ``[-value, value]``.

    Parameters
    ----------
    grads : dict[str, ndarray]
        Gradients, any shapes (numpy scalars accepted); must be finite (a NaN or infinite gradient means the
        backward pass broke, and clipping would hide it).
    value : float > 0
        Bound; defaults to :data:`~ntm_numpy.constants.CLIP_VALUE` (10, as in the paper).

    Returns
    -------
    dict[str, ndarray]
        New arrays (the input is not modified), same keys, shapes and dtypes.
    """
    value = _check_real_number("value", value, low=0.0, low_open=True)
    _check_grad_dict("grads", grads)
    return {k: np.asarray(np.clip(g, -value, value), dtype=g.dtype) for k, g in grads.items()}


def global_norm(grads):
    """Euclidean norm of all arrays of ``grads`` taken together, computed without overflow.

    The squares are summed in float64; only if that sum overflows is every array divided
    by the largest absolute entry ``s`` before squaring, ``N = s * sqrt(sum (g / s)^2)``.
    Returns a float (0.0 for no or all-zero gradients).
    """
    _check_grad_dict("grads", grads)
    arrays = [np.asarray(g, dtype=np.float64).ravel() for g in grads.values() if g.size]
    with np.errstate(over="ignore"):
        total = sum(float(a @ a) for a in arrays)
    if math.isfinite(total):
        return math.sqrt(total)
    if not arrays:
        return 0.0
    s = max(float(np.max(np.abs(a))) for a in arrays)
    if s == 0.0:
        return 0.0
    total = sum(float(np.sum(np.square(a / s))) for a in arrays)
    return s * math.sqrt(total)


def clip_global_norm(grads, max_norm):
    """Rescale all gradients together so that their joint Euclidean norm is at most ``max_norm``.

    Parameters
    ----------
    grads : dict[str, ndarray]
        Gradients, any shapes (numpy scalars accepted); must be finite.
    max_norm : float > 0

    Returns
    -------
    clipped : dict[str, ndarray]
        New arrays (same keys, shapes and dtypes), multiplied by ``max_norm / N`` when the
        norm ``N`` exceeds ``max_norm``, unchanged copies otherwise.
    norm : float
        ``N``, the norm before clipping.
    """
    max_norm = _check_real_number("max_norm", max_norm, low=0.0, low_open=True)
    norm = global_norm(grads)
    if norm > max_norm:
        factor = max_norm / norm
        clipped = {k: np.asarray(g * factor, dtype=g.dtype) for k, g in grads.items()}
    else:
        clipped = {k: np.array(g, copy=True) for k, g in grads.items()}
    return clipped, norm


# ----------------------------------------------------------------------- optimisers


class Optimizer:
    """Base class: validation, lazy state, ``state_dict``/``load_state_dict``.

    Subclasses set ``name`` (the prefix of state names and the key for
    :func:`make_optimizer`), ``array_slots`` (per-parameter state arrays shaped like the
    parameter), ``count_slots`` (per-parameter 0-d int64 counters) and implement
    ``_update(w, g, state, scratch)`` (``scratch``: two arrays shaped like the
    parameter, for temporaries) and ``config()``.
    """

    name = "optimizer"
    array_slots = ()
    count_slots = ()

    def __init__(self):
        self._state = {}
        self._steps = 0
        # two scratch arrays per parameter for the temporaries of an update, so that an
        # update allocates nothing; not state (they never carry a value between steps)
        self._scratch = {}

    # -- public interface ------------------------------------------------------------

    @property
    def step_count(self):
        """Number of :meth:`step` calls so far (restored by :meth:`load_state_dict`)."""
        return self._steps

    def step(self, params, grads):
        """Update every array of ``params`` in place from the gradient of the same name.

        Parameters
        ----------
        params : dict[str, ndarray]
            Writeable floating-point arrays; modified in place.
        grads : dict[str, ndarray]
            Exactly the keys of ``params``; each finite, real, shaped like its parameter
            (cast to the parameter's dtype). A numpy scalar is accepted for a 0-d
            parameter (0-d arithmetic in numpy returns scalars, not arrays).

        Everything is validated before anything is modified, so a ValueError leaves the
        parameters and the optimiser state unchanged.
        """
        self._validate_step(params, grads)
        for key, w in params.items():
            st = self._state.get(key)
            if st is None:
                st = {s: np.zeros_like(w) for s in self.array_slots}
                st.update({s: np.zeros((), dtype=np.int64) for s in self.count_slots})
                self._state[key] = st
            g = np.asarray(grads[key], dtype=w.dtype)
            scratch = self._scratch.get(key)
            if scratch is None or scratch[0].shape != w.shape or scratch[0].dtype != w.dtype:
                scratch = self._scratch[key] = (np.empty_like(w), np.empty_like(w))
            self._update(w, g, st, scratch)
        self._steps += 1

    def state_dict(self):
        """Copies of the state as a flat ``dict[str, ndarray]`` (see the module docstring)."""
        d = {f"{self.name}.step": np.array(self._steps, dtype=np.int64)}
        for key, st in self._state.items():
            for slot in self.array_slots + self.count_slots:
                d[f"{self.name}.{slot}.{key}"] = st[slot].copy()
        return d

    def load_state_dict(self, state):
        """Replace the state by a copy of ``state`` (as returned by :meth:`state_dict`).

        Raises ValueError (nothing is changed) for a non-dict, a key that does not belong
        to this optimiser, a missing ``"<name>.step"``, a parameter whose slots are
        incomplete or of different shapes, a non-float slot array or one holding NaN or
        infinity, or a counter that is not a non-negative 0-d integer.
        """
        if not isinstance(state, Mapping):
            raise ValueError(f"state: expected a dict of numpy arrays, got {type(state).__name__}")
        prefix = self.name + "."
        step_key = prefix + "step"
        slots = self.array_slots + self.count_slots
        parsed = {}
        steps = None
        for k, v in state.items():
            if not isinstance(k, str) or not k.startswith(prefix):
                raise ValueError(
                    f"state: expected keys '{step_key}' or '{self.name}.<slot>.<param>' with slot in "
                    f"{list(slots)}, got key {k!r}"
                )
            if not isinstance(v, np.ndarray):
                raise ValueError(f"state[{k!r}]: expected a numpy.ndarray, got {type(v).__name__}")
            if k == step_key:
                steps = self._check_count(k, v)
                continue
            slot, sep, pname = k[len(prefix):].partition(".")
            if not sep or not pname or slot not in slots:
                raise ValueError(
                    f"state: expected keys '{step_key}' or '{self.name}.<slot>.<param>' with slot in "
                    f"{list(slots)}, got key {k!r}"
                )
            if slot in self.count_slots:
                self._check_count(k, v)
            elif v.dtype.kind != "f":
                raise ValueError(f"state[{k!r}]: expected a floating-point array, got dtype {v.dtype}")
            elif not np.all(np.isfinite(v)):
                bad = int(v.size - np.count_nonzero(np.isfinite(v)))
                raise ValueError(f"state[{k!r}]: expected finite values, got {bad} NaN or "
                                 "infinite entries")
            parsed.setdefault(pname, {})[slot] = v
        if steps is None:
            raise ValueError(f"state: expected the key {step_key!r}, which is missing")
        for pname, st in parsed.items():
            missing = [s for s in slots if s not in st]
            if missing:
                raise ValueError(
                    f"state: expected slots {list(slots)} for parameter {pname!r}, "
                    f"missing {[f'{self.name}.{s}.{pname}' for s in missing]}"
                )
            shapes = {s: st[s].shape for s in self.array_slots}
            if len(set(shapes.values())) > 1:
                raise ShapeError(
                    f"state: expected the slots of parameter {pname!r} to share one shape, got {shapes}"
                )
        self._state = {
            pname: {s: np.array(st[s], copy=True) for s in slots} for pname, st in parsed.items()
        }
        self._steps = steps

    def config(self):
        """JSON-serialisable ``{"name": ..., <hyper-parameter>: value, ...}``.

        ``make_optimizer(**opt.config())`` builds an equivalent (fresh) optimiser.
        """
        raise NotImplementedError

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "name")
        return f"{type(self).__name__}({args})"

    # -- helpers ---------------------------------------------------------------------

    def _update(self, w, g, state, scratch):
        raise NotImplementedError

    @staticmethod
    def _check_count(key, v):
        if v.ndim != 0 or v.dtype.kind not in "iu" or int(v) < 0:
            raise ValueError(
                f"state[{key!r}]: expected a non-negative 0-d integer array, "
                f"got dtype {v.dtype}, shape {v.shape}"
                + (f", value {v[()]!r}" if v.ndim == 0 else "")
            )
        return int(v)

    def _validate_step(self, params, grads):
        if not isinstance(params, Mapping):
            raise ValueError(f"params: expected a dict of numpy arrays, got {type(params).__name__}")
        if not isinstance(grads, Mapping):
            raise ValueError(f"grads: expected a dict of numpy arrays, got {type(grads).__name__}")
        if set(params) != set(grads):
            missing = sorted(map(str, set(params) - set(grads)))
            extra = sorted(map(str, set(grads) - set(params)))
            raise ValueError(
                f"grads: expected exactly the keys of params, got missing {missing}, extra {extra}"
            )
        for key, w in params.items():
            if not isinstance(w, np.ndarray):
                raise ValueError(f"params[{key!r}]: expected a numpy.ndarray, got {type(w).__name__}")
            if w.dtype.kind != "f":
                raise ValueError(f"params[{key!r}]: expected a floating-point array, got dtype {w.dtype}")
            if not w.flags.writeable:
                raise ValueError(f"params[{key!r}]: expected a writeable array, got a read-only one")
            g = grads[key]
            if not isinstance(g, (np.ndarray, np.generic)):
                raise ValueError(f"grads[{key!r}]: expected a numpy.ndarray, got {type(g).__name__}")
            if g.shape != w.shape:
                raise ShapeError(f"grads[{key!r}]: expected shape {w.shape}, got {g.shape}")
            if g.dtype.kind not in "iuf":
                raise ValueError(f"grads[{key!r}]: expected a real numeric array, got dtype {g.dtype}")
            check_finite(f"grads[{key!r}]", g)
            st = self._state.get(key)
            if st is not None:
                for s in self.array_slots:
                    if st[s].shape != w.shape:
                        raise ShapeError(
                            f"params[{key!r}]: expected shape {st[s].shape} (the shape of its "
                            f"optimiser state {self.name}.{s}.{key}), got {w.shape}"
                        )


class RMSProp(Optimizer):
    """RMSProp with momentum, in the form of Graves (2013), eqs 38-41.

    Parameters
    ----------
    lr : float > 0
        Learning rate (gimel); default 1e-4.
    decay : float in [0, 1)
        Decay of the running averages of ``g^2`` and ``g`` (aleph); default 0.95.
    momentum : float in [0, 1)
        Momentum of the update (beth); default 0.9.
    eps : float > 0
        Added inside the square root (daleth); default 1e-4.

    State per parameter: ``n`` (mean of ``g^2``), ``g`` (mean of ``g``, "gbar"),
    ``delta`` (the previous update), all shaped like the parameter.
    """

    name = "rmsprop"
    array_slots = ("n", "g", "delta")

    def __init__(self, lr=RMSPROP_LR, decay=RMSPROP_DECAY, momentum=RMSPROP_MOMENTUM, eps=RMSPROP_EPS):
        super().__init__()
        self.lr = _check_real_number("lr", lr, low=0.0, low_open=True)
        self.decay = _check_real_number("decay", decay, low=0.0, high=1.0, high_open=True)
        self.momentum = _check_real_number("momentum", momentum, low=0.0, high=1.0, high_open=True)
        self.eps = _check_real_number("eps", eps, low=0.0, low_open=True)

    def config(self):
        """The constructor's arguments, as :func:`make_optimizer` takes them."""
        return {"name": self.name, "lr": self.lr, "decay": self.decay,
                "momentum": self.momentum, "eps": self.eps}

    def _update(self, w, g, state, scratch):
        n, gbar, delta = state["n"], state["g"], state["delta"]
        t, u = scratch
        a = self.decay
        # in place, the temporaries in the two scratch arrays
        n *= a
        np.multiply(g, g, out=t)
        t *= 1.0 - a
        n += t  # (38) n = a n + (1 - a) g^2
        gbar *= a
        np.multiply(1.0 - a, g, out=t)
        gbar += t  # (39) gbar = a gbar + (1 - a) g
        np.multiply(gbar, gbar, out=t)
        np.subtract(n, t, out=t)
        np.maximum(t, 0.0, out=t)
        t += self.eps
        np.sqrt(t, out=t)  # sqrt(n - gbar^2 + eps)
        delta *= self.momentum
        np.multiply(self.lr, g, out=u)
        u /= t
        delta -= u  # (40) delta = m delta - lr g / sqrt(n - gbar^2 + eps)
        w += delta  # (41)


class Adam(Optimizer):
    """Adam with bias correction (Kingma & Ba 2015).

    Parameters
    ----------
    lr : float > 0
        Step size; default ``ADAM_LR`` (2e-3, see ntm_numpy.constants).
    beta1 : float in [0, 1)
        Decay of the first-moment estimate ``m``; default 0.9.
    beta2 : float in [0, 1)
        Decay of the second-moment estimate ``v``; default 0.999.
    eps : float > 0
        Added to ``sqrt(v_hat)``; default ``ADAM_EPS`` (1e-4, see ntm_numpy.constants).

    State per parameter: ``m``, ``v`` (shaped like the parameter) and ``t``, its update
    count (0-d int64), used in the bias correction.
    """

    name = "adam"
    array_slots = ("m", "v")
    count_slots = ("t",)

    def __init__(self, lr=ADAM_LR, beta1=ADAM_BETA1, beta2=ADAM_BETA2, eps=ADAM_EPS):
        super().__init__()
        self.lr = _check_real_number("lr", lr, low=0.0, low_open=True)
        self.beta1 = _check_real_number("beta1", beta1, low=0.0, high=1.0, high_open=True)
        self.beta2 = _check_real_number("beta2", beta2, low=0.0, high=1.0, high_open=True)
        self.eps = _check_real_number("eps", eps, low=0.0, low_open=True)

    def config(self):
        """The constructor's arguments, as :func:`make_optimizer` takes them."""
        return {"name": self.name, "lr": self.lr, "beta1": self.beta1,
                "beta2": self.beta2, "eps": self.eps}

    def _update(self, w, g, state, scratch):
        m, v, t = state["m"], state["v"], state["t"]
        t[...] = t + 1
        step = int(t)
        b1, b2 = self.beta1, self.beta2
        tmp, denom = scratch
        # in place, the temporaries in the two scratch arrays: this runs once per
        # parameter per update
        m *= b1
        np.multiply(1.0 - b1, g, out=tmp)
        m += tmp  # m = b1 m + (1 - b1) g
        v *= b2
        np.multiply(g, g, out=tmp)
        tmp *= 1.0 - b2
        v += tmp  # v = b2 v + (1 - b2) g^2
        # w -= lr * m_hat / (sqrt(v_hat) + eps), with m_hat = m / (1 - b1^t) and
        # v_hat = v / (1 - b2^t)
        np.sqrt(v, out=denom)
        denom *= 1.0 / np.sqrt(1.0 - b2**step)
        denom += self.eps
        np.multiply(self.lr / (1.0 - b1**step), m, out=tmp)
        tmp /= denom
        w -= tmp


#: Optimisers by name, for :func:`make_optimizer`.
OPTIMIZERS = {"rmsprop": RMSProp, "adam": Adam}


def make_optimizer(name, **kwargs):
    """Build an optimiser from its name and hyper-parameters.

    Parameters
    ----------
    name : str
        ``"rmsprop"`` or ``"adam"``.
    **kwargs
        Hyper-parameters of that optimiser (see :class:`RMSProp`, :class:`Adam`).

    ``make_optimizer(**opt.config())`` rebuilds ``opt`` (without its state).
    Raises ValueError for an unknown name or hyper-parameter, or an invalid value.
    """
    if not isinstance(name, str) or name not in OPTIMIZERS:
        raise ValueError(f"name: expected one of {sorted(OPTIMIZERS)}, got {name!r}")
    cls = OPTIMIZERS[name]
    valid = list(inspect.signature(cls).parameters)
    unknown = sorted(k for k in kwargs if k not in valid)
    if unknown:
        raise ValueError(
            f"kwargs: expected hyper-parameters of {name!r} among {valid}, got unknown {unknown}"
        )
    return cls(**kwargs)
