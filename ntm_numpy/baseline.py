"""A baseline without memory: the NTM's LSTM controller alone, with a linear output layer.

Trained with the same loop as the NTM (:mod:`ntm_numpy.training`), it shows the point of
the paper's section 4.1: an LSTM trained on short copies fails on longer ones, where
the NTM goes on working.

Notation: T time, B batch, X input width, Y output width, H hidden units.
Equations: the LSTM of :mod:`ntm_numpy.controller`, then :math:`y_t = W_y h_t + b_y`.
"""
import numpy as np

from ._validation import (
    check_array,
    check_finite,
    check_float_dtype,
    check_model_size,
    check_positive_int,
    check_seed,
)
from .constants import FORGET_BIAS
from .controller import lstm_gates_backward, lstm_gates_forward
from .recurrence import Unrolled, backward_loop, forward_loop


class LSTMCell:
    """One time step of the baseline, bound to its parameters for one pass: the cell
    :func:`ntm_numpy.recurrence.forward_loop` and
    :func:`~ntm_numpy.recurrence.backward_loop` run (see :mod:`ntm_numpy.recurrence` for
    the contract). Its features are the hidden state h_t (B, H); its carry the cell
    state c_t (B, H).

    Parameters
    ----------
    params : dict name -> ndarray, the baseline's parameters (read, never written)
    """

    def __init__(self, params):
        self.params = params

    def initial_state(self, batch_size):
        """``(h_{-1}, c_{-1}, None)``: zeros (B, H) both."""
        H = self.params["lstm_Wh"].shape[0]
        dt = self.params["lstm_Wh"].dtype
        return np.zeros((batch_size, H), dt), np.zeros((batch_size, H), dt), None

    def input_map(self, x):
        """``x W_x + b``: (..., B, X) -> (..., B, 4H)."""
        return x @ self.params["lstm_Wx"] + self.params["lstm_b"]

    def step(self, xz, prev, carry, out):
        """h_t, c_t from xz (B, 4H), h_{t-1} (B, H) and c_{t-1}; writes h_t into out."""
        z = prev @ self.params["lstm_Wh"]
        z += xz
        (h, c), cache = lstm_gates_forward(z, carry)
        out[...] = h
        return c, cache

    def record(self, cache, out):
        """The hidden state h_t (B, H), a copy."""
        return out.copy()

    def output(self, features):
        """``y_t = W_y h_t + b_y``: (..., B, H) -> (..., B, Y)."""
        return features @ self.params["output_W"] + self.params["output_b"]

    def output_backward(self, dlogits, features):
        """dlogits (T, B, Y), features (T+1, B, H) -> (dh (T, B, H), output gradients)."""
        H, Y = features.shape[2], dlogits.shape[2]
        grads = {"output_W": features[1:].reshape(-1, H).T @ dlogits.reshape(-1, Y),
                 "output_b": dlogits.sum(axis=(0, 1))}
        return dlogits @ self.params["output_W"].T, grads

    def backward_start(self, T, B):
        """Zero gradients of h_{T-1} and c_{T-1}, and dz (T, B, 4H) to fill."""
        H = self.params["lstm_Wh"].shape[0]
        dt = self.params["lstm_Wh"].dtype
        return np.zeros((B, H), dt), np.zeros((B, H), dt), np.empty((T, B, 4 * H), dt)

    def step_backward(self, t, dfeat, dcarry, cache, work):
        """Back through the gates of step t: ``(dh_{t-1}, dc_{t-1})``; fills ``work[t]``."""
        dz, dc = lstm_gates_backward((dfeat, dcarry), cache)
        work[t] = dz
        return dz @ self.params["lstm_Wh"].T, dc

    def parameter_gradients(self, unrolled, dnext, dcarry, work):
        """Gradients of W_x, W_h and b, every step at once."""
        x, features = unrolled.x, unrolled.features
        H = features.shape[2]
        dz2 = work.reshape(-1, 4 * H)
        return {"lstm_Wx": x.reshape(-1, x.shape[2]).T @ dz2,
                "lstm_Wh": features[:-1].reshape(-1, H).T @ dz2,
                "lstm_b": dz2.sum(axis=0)}


class LSTMBaseline:
    """An LSTM network with the NTM's interface: ``params``, ``forward``, ``backward``,
    ``save``, ``config``.

    Parameters
    ----------
    input_size, output_size : int
    hidden_size : int, H (default 256)
    seed : int
    dtype : float32 or float64
    """

    def __init__(self, input_size, output_size, *, hidden_size=256, seed=0, dtype=np.float64):
        X = check_positive_int("input_size", input_size)
        Y = check_positive_int("output_size", output_size)
        H = check_positive_int("hidden_size", hidden_size)
        check_seed("seed", seed)
        dt = check_float_dtype("dtype", dtype)
        check_model_size(dict(input_size=X, output_size=Y, hidden_size=H),
                         (X + H + 1) * 4 * H + (H + 1) * Y)
        self.dtype = dt
        self.config = dict(kind="lstm", input_size=X, output_size=Y, hidden_size=H,
                           seed=int(seed), dtype=dt.name)
        rng = np.random.default_rng(seed)
        b = np.zeros(4 * H)
        b[H : 2 * H] = FORGET_BIAS
        p = {
            "lstm_Wx": rng.standard_normal((X, 4 * H)) / np.sqrt(X + H),
            "lstm_Wh": rng.standard_normal((H, 4 * H)) / np.sqrt(X + H),
            "lstm_b": b,
            "output_W": rng.standard_normal((H, Y)) / np.sqrt(H),
            "output_b": np.zeros(Y),
        }
        self.params = {k: v.astype(dt) for k, v in p.items()}

    def _check_x(self, x):
        X = self.config["input_size"]
        check_array("x", x, ndim=3)
        if x.shape[2] != X:
            raise ValueError(f"x: expected shape (T, B, {X}), got {x.shape}")
        if x.shape[0] < 1 or x.shape[1] < 1:
            raise ValueError(
                f"x: expected at least one time step and one sequence, got {x.shape}")
        with np.errstate(over="ignore"):  # checked after the cast: 1e300 is inf in float32
            x = x.astype(self.dtype, copy=False)
        return check_finite(f"x (as {self.dtype.name})", x)

    def predict(self, x):
        """x (T, B, X) -> logits (T, B, Y), keeping no backward caches.

        The logits of :meth:`forward`, bit for bit, in memory that does not grow with T
        beyond ``x`` and the logits (the output layer runs step by step).
        """
        return forward_loop(LSTMCell(self.params), self._check_x(x), keep=None).logits

    def forward(self, x, keep_cache=True):
        """x (T, B, X) -> (logits (T, B, Y), cache); ``keep_cache=False`` returns
        ``(logits, None)`` from :meth:`predict`. The cache is the loop's
        :class:`ntm_numpy.recurrence.Unrolled` (``cache.steps[t]`` the gates of step t)."""
        if not keep_cache:
            return self.predict(x), None
        unrolled = forward_loop(LSTMCell(self.params), self._check_x(x), keep="caches")
        return unrolled.logits, unrolled

    def backward(self, dlogits, cache):
        """Backpropagation through time: dlogits (T, B, Y) -> dict of gradients."""
        if not isinstance(cache, Unrolled):
            raise ValueError("cache: expected the cache returned by LSTMBaseline.forward, got "
                             f"{type(cache).__name__}")
        check_array("dlogits", dlogits, ndim=3, shape=cache.logits.shape)
        dlogits = dlogits.astype(self.dtype, copy=False)
        grads = backward_loop(LSTMCell(self.params), dlogits, cache)
        return {k: grads[k] for k in self.params}

    def save(self, path, *, state=None, meta=None):
        """Save to an ``.npz`` checkpoint (atomic), like :meth:`ntm_numpy.NTM.save`."""
        from .checkpoint import save_checkpoint

        save_checkpoint(path, self.params, self.config, state=state, meta=meta)

    def __repr__(self):
        c = self.config
        return f"LSTMBaseline({c['input_size']}, {c['output_size']}, hidden_size={c['hidden_size']})"
