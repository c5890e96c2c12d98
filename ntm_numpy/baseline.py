"""A baseline without memory: the NTM's LSTM controller alone, with a linear output layer.

Trained with the same loop as the NTM (:mod:`ntm_numpy.train`), it shows the point of
the paper's section 4.1: an LSTM trained on short copies fails on longer ones, where
the NTM goes on working.

Notation: T time, B batch, X input width, Y output width, H hidden units.
Equations: the LSTM of :mod:`ntm_numpy.controller`, then :math:`y_t = W_y h_t + b_y`.
"""
from dataclasses import dataclass

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


@dataclass
class LSTMCache:
    x: np.ndarray  # (T, B, X)
    h: np.ndarray  # (T, B, H)
    gates: list  # T LSTMGatesCache
    logits_shape: tuple


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
        x = self._check_x(x)
        T, B, _ = x.shape
        p = self.params
        H = self.config["hidden_size"]
        h = np.zeros((B, H), self.dtype)
        c = np.zeros((B, H), self.dtype)
        logits = np.empty((T, B, p["output_W"].shape[1]), self.dtype)
        for t in range(T):
            xz = x[t] @ p["lstm_Wx"] + p["lstm_b"]
            (h, c), _ = lstm_gates_forward(xz + h @ p["lstm_Wh"], c)
            logits[t] = h @ p["output_W"] + p["output_b"]
        return logits

    def forward(self, x, keep_cache=True):
        """x (T, B, X) -> (logits (T, B, Y), LSTMCache); ``keep_cache=False`` returns
        ``(logits, None)`` from :meth:`predict`."""
        if not keep_cache:
            return self.predict(x), None
        x = self._check_x(x)
        T, B, _ = x.shape
        p = self.params
        H = self.config["hidden_size"]
        xz = x @ p["lstm_Wx"] + p["lstm_b"]
        h = np.zeros((B, H), self.dtype)
        c = np.zeros((B, H), self.dtype)
        hs = np.empty((T, B, H), self.dtype)
        gates = []
        for t in range(T):
            (h, c), g = lstm_gates_forward(xz[t] + h @ p["lstm_Wh"], c)
            hs[t] = h
            gates.append(g)
        logits = hs @ p["output_W"] + p["output_b"]
        return logits, LSTMCache(x, hs, gates, logits.shape)

    def backward(self, dlogits, cache):
        """Backpropagation through time: dlogits (T, B, Y) -> dict of gradients."""
        check_array("dlogits", dlogits, ndim=3, shape=cache.logits_shape)
        p = self.params
        T, B, Y = cache.logits_shape
        H = self.config["hidden_size"]
        dlogits = dlogits.astype(self.dtype, copy=False)
        hs = cache.h
        grads = {
            "output_W": hs.reshape(-1, H).T @ dlogits.reshape(-1, Y),
            "output_b": dlogits.sum(axis=(0, 1)),
        }
        dhs = dlogits @ p["output_W"].T
        dz_all = np.empty((T, B, 4 * H), self.dtype)
        dh_next = np.zeros((B, H), self.dtype)
        dc_next = np.zeros((B, H), self.dtype)
        for t in reversed(range(T)):
            dz, dc_next = lstm_gates_backward((dhs[t] + dh_next, dc_next), cache.gates[t])
            dh_next = dz @ p["lstm_Wh"].T
            dz_all[t] = dz
        dz2 = dz_all.reshape(-1, 4 * H)
        h_prev = np.concatenate([np.zeros((1, B, H), self.dtype), hs[:-1]])
        grads["lstm_Wx"] = cache.x.reshape(-1, cache.x.shape[2]).T @ dz2
        grads["lstm_Wh"] = h_prev.reshape(-1, H).T @ dz2
        grads["lstm_b"] = dz2.sum(axis=0)
        return {k: grads[k] for k in p}

    def save(self, path, *, state=None, meta=None):
        """Save to an ``.npz`` checkpoint (atomic), like :meth:`ntm_numpy.NTM.save`."""
        from .checkpoint import save_checkpoint

        save_checkpoint(path, self.params, self.config, state=state, meta=meta)

    def __repr__(self):
        c = self.config
        return f"LSTMBaseline({c['input_size']}, {c['output_size']}, hidden_size={c['hidden_size']})"
