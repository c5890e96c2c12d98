"""One time step of the NTM as a cell of :mod:`ntm_numpy.recurrence`'s loops.

:class:`NTMCell` is what :meth:`ntm_numpy.model.NTM.forward` and
:meth:`~ntm_numpy.model.NTM.backward` hand to :func:`ntm_numpy.recurrence.forward_loop`
and :func:`~ntm_numpy.recurrence.backward_loop`. Its :meth:`NTMCell.step` is steps 1-5
of the model's notes (controller pre-activation, then one call of the chosen
implementation's ``step_forward``: controller, heads, eqs 5-9, 2, 3-4), and
:meth:`NTMCell.step_backward` the same in reverse.

Notation
--------
T time, B batch, X input width, Y output width, H controller units, N memory rows,
M row width, R read heads, W write heads, K = R + W, G controller pre-activation width,
P head-map width, F = H + R*M the features ``[h_t, r_t]``.
"""
from typing import NamedTuple

import numpy as np

from .activations import softmax_backward, softmax_forward


class NTMBackwardWork(NamedTuple):
    """The arrays one backward pass fills, step by step, for the weight gradients."""

    dz: np.ndarray  # (T, B, G) gradient of each step's controller pre-activation
    draw: np.ndarray  # (T, B, P) gradient of each step's raw head parameters
    dnext: np.ndarray  # (B, F) gradient of [h_{t-1}, r_{t-1}] as step t's controller input
    recurrent_WT: np.ndarray  # (G, F') recurrent_W transposed, a contiguous copy
    heads_W: np.ndarray  # the head map's weights as the step's backward takes them: (H, P),
    # or for the fused step (P, H), transposed, a contiguous copy


class NTMCell:
    """One time step of an NTM, bound to its parameters for one pass.

    Parameters
    ----------
    params : dict name -> ndarray, the model's parameters (read, never written)
    dims : :class:`ntm_numpy.reference_step.Dims`
    step_forward, step_backward : the implementation's step functions
        (:mod:`ntm_numpy.reference_step` with the model's ``ops``, or
        :mod:`ntm_numpy.fused_step`)
    initial_memory : callable B -> (B, N, M), the memory every sequence starts from
    recurrent_W : optional (H + R*M, G) or (R*M, G), the recurrent weights as one matrix;
        by default made from ``params`` (a backward pass passes the forward pass's)
    transposed_heads_W : bool, ``step_backward`` takes the head map's weights transposed,
        (P, H): its module's ``TRANSPOSED_HEADS_W`` (the fused step's does)

    The backward pass multiplies by the transposes of ``recurrent_W`` and ``heads_W`` at
    every step; it makes each a contiguous copy once (:meth:`backward_start`), as a
    product with a contiguous matrix takes about half the time of one with a transposed
    view.

    Attributes
    ----------
    ctrl_in : slice of the features the controller multiplies by ``recurrent_W``: all of
        ``[h_{t-1}, r_{t-1}]`` for the LSTM (by ``[W_h; W_r]``), the reads for the
        feed-forward controller (by ``W_r``)
    """

    def __init__(self, params, dims, step_forward, step_backward, initial_memory,
                 recurrent_W=None, transposed_heads_W=False):
        self.params, self.dims = params, dims
        self.transposed_heads_W = transposed_heads_W
        self.step_forward, self.step_backward_fn = step_forward, step_backward
        self.initial_memory = initial_memory
        lstm, H = dims.lstm, dims.H
        self.ctrl_in = slice(None) if lstm else slice(H, None)
        if recurrent_W is None:
            recurrent_W = (np.concatenate([params["controller_Wh"], params["controller_Wr"]])
                           if lstm else params["controller_Wr"])
        self.recurrent_W = recurrent_W

    # ---------------------------------------------------------------------------- forward
    def initial_state(self, batch_size):
        """The state before step 0 (see :mod:`ntm_numpy.model` on departures from the paper).

        Returns
        -------
        features : (B, F) a new array ``[h_{-1}, r_{-1}]``: zeros, then the learned reads
        carry : ``(memory, w_prev, cell)``: (B, N, M) read-only view M_{-1}; (K, B, N)
            read-only view, every head's initial weighting; (B, H) zeros for the LSTM's
            cell state, None for the feed-forward controller
        init_cache : the softmax cache of the initial weightings
        """
        p, d, B = self.params, self.dims, batch_size
        dt = p["output_W"].dtype
        w_init, w_init_cache = softmax_forward(p["weighting_init"], axis=1)  # (K, N)
        w_prev = np.broadcast_to(w_init[:, None, :], (w_init.shape[0], B, w_init.shape[1]))
        features = np.empty((B, d.H + d.R * d.M), dtype=dt)
        features[:, : d.H] = 0.0
        features[:, d.H :] = p["read_init"].reshape(1, d.R * d.M)
        cell = np.zeros((B, d.H), dtype=dt) if d.lstm else None
        return features, (self.initial_memory(B), w_prev, cell), w_init_cache

    def input_map(self, x):
        """``x W_x + b``, the controller's input contribution: x (..., B, X) -> (..., B, G)."""
        xz = x @ self.params["controller_Wx"]
        xz += self.params["controller_b"]  # in place: no second (T, B, G) array
        return xz

    def step(self, xz, prev, carry, out):
        """Time step t: xz (B, G), prev (B, F) ``[h_{t-1}, r_{t-1}]``, carry ``(memory,
        w_prev, cell)``; writes ``[h_t, r_t]`` into out (B, F). Returns ``(carry, cache)``.

        The pre-activation is made in place of ``xz`` (which the loop does not read again)."""
        d, p = self.dims, self.params
        H, B = d.H, xz.shape[0]
        memory, w_prev, cell = carry
        # 1. controller pre-activation, one product for [h_{t-1}, r_{t-1}]
        z = np.add(prev[:, self.ctrl_in] @ self.recurrent_W, xz, out=xz)
        # 2.-5. controller, head parameters, addressing, reads, writes: one step
        # (ntm_numpy.reference_step, or ntm_numpy.fused_step)
        h, cell, r, memory, w_prev, cache = self.step_forward(
            z, cell, memory, w_prev, p["heads_W"], p["heads_b"], d, out[:, :H])
        out[:, H:] = r.transpose(1, 0, 2).reshape(B, d.R * d.M)
        return (memory, w_prev, cell), cache

    def record(self, cache, out):
        """What a trace keeps of a step: its
        :class:`~ntm_numpy.reference_step.StepRecord`, with the reads (R, B, M)."""
        d = self.dims
        reads = out[:, d.H :].reshape(out.shape[0], d.R, d.M).transpose(1, 0, 2)
        return cache.record()._replace(reads=reads.copy())

    def output(self, features):
        """6. the output layer ``y_t = W_y [h_t, r_t] + b_y``: (..., B, F) -> (..., B, Y)."""
        return features @ self.params["output_W"] + self.params["output_b"]

    # --------------------------------------------------------------------------- backward
    def output_backward(self, dlogits, features):
        """Back through the output layer of every step: dlogits (T, B, Y), features
        (T+1, B, F) -> (dfeatures (T, B, F), its parameter gradients)."""
        F, Y = features.shape[2], dlogits.shape[2]
        grads = {"output_W": features[1:].reshape(-1, F).T @ dlogits.reshape(-1, Y),
                 "output_b": dlogits.sum(axis=(0, 1))}
        return dlogits @ self.params["output_W"].T, grads

    def backward_start(self, T, B):
        """Zero gradients after the last step: ``(dnext, (dmemory, dw, dcell), work)``."""
        d = self.dims
        dt = self.params["output_W"].dtype
        dmemory = np.zeros((B, d.N, d.M), dtype=dt)  # gradient of M_t, carried back in time
        dw = np.zeros((d.K, B, d.N), dtype=dt)  # w_t as w_prev of step t+1
        dcell = np.zeros((B, d.H), dtype=dt) if d.lstm else None
        heads_W = self.params["heads_W"]
        G, P = self.recurrent_W.shape[1], heads_W.shape[1]
        work = NTMBackwardWork(np.empty((T, B, G), dtype=dt), np.empty((T, B, P), dtype=dt),
                               np.zeros((B, d.H + d.R * d.M), dtype=dt),
                               np.ascontiguousarray(self.recurrent_W.T),
                               np.ascontiguousarray(heads_W.T) if self.transposed_heads_W
                               else heads_W)
        return work.dnext, (dmemory, dw, dcell), work

    def step_backward(self, t, dfeat, dcarry, cache, work):
        """Backward of time step t: dfeat (B, F), the gradient of ``[h_t, r_t]``; dcarry
        ``(dmemory, dw, dcell)`` of its carry. Returns ``(dnext, dcarry)`` of step t-1."""
        d = self.dims
        B = dfeat.shape[0]
        dmemory, dw, dcell = dcarry
        dreads = dfeat[:, d.H :].reshape(B, d.R, d.M).transpose(1, 0, 2)  # (R, B, M)
        # 2.-5. back through the step (ntm_numpy.reference_step, or ntm_numpy.fused_step)
        dcell, dmemory, dw = self.step_backward_fn(
            dmemory, dw, dreads, dfeat[:, : d.H], dcell, work.heads_W, cache, d,
            work.draw[t], work.dz[t])
        # 1. the pre-activation's gradient reaches [h_{t-1}, r_{t-1}]
        np.matmul(work.dz[t], work.recurrent_WT, out=work.dnext[:, self.ctrl_in])
        return work.dnext, (dmemory, dw, dcell)

    def parameter_gradients(self, unrolled, dnext, dcarry, work):
        """The gradients of the maps applied at every step, all steps at once, and of the
        initial state (the gradients ``dnext`` and ``dcarry`` that reach t = -1)."""
        p, d = self.params, self.dims
        x, features = unrolled.x, unrolled.features
        G, P, H = work.dz.shape[2], work.draw.shape[2], d.H
        dz2 = work.dz.reshape(-1, G)
        grads = {"controller_Wx": x.reshape(-1, x.shape[2]).T @ dz2}
        state_in = features[:-1, :, self.ctrl_in]
        dWc = state_in.reshape(-1, state_in.shape[2]).T @ dz2
        if d.lstm:
            grads["controller_Wh"], grads["controller_Wr"] = dWc[:H], dWc[H:]
        else:
            grads["controller_Wr"] = dWc
        grads["controller_b"] = dz2.sum(axis=0)
        grads["heads_W"] = features[1:, :, :H].reshape(-1, H).T @ work.draw.reshape(-1, P)
        grads["heads_b"] = work.draw.sum(axis=(0, 1))
        # the initial state
        dmemory, dw, _ = dcarry
        grads["read_init"] = dnext[:, H:].sum(axis=0).reshape(d.R, d.M)
        grads["weighting_init"] = softmax_backward(dw.sum(axis=1), unrolled.init_cache)[0]
        if "memory_init" in p:
            grads["memory_init"] = dmemory.sum(axis=0)
        return grads
