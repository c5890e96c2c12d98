"""The one loop over time of every model, forward and backward.

A recurrent model here is a *cell*: the computation of one time step, bound to the
model's parameters for one pass. :func:`forward_loop` runs a cell from t = 0 to T-1 and
:func:`backward_loop` backpropagates through it from t = T-1 down to 0; the NTM
(:class:`ntm_numpy.model.NTMCell`) and the LSTM baseline
(:class:`ntm_numpy.baseline.LSTMCell`) differ only in their cells.

Notation
--------
T time steps, B batch, X input width, Y output width, G controller pre-activation
width, F feature width: what the output layer sees at step t and the controller at step
t+1 (``[h_t, r_t]`` for the NTM, ``h_t`` for the LSTM).

The cell's side of the contract
-------------------------------
Forward, for ``x`` (T, B, X):

* ``cell.initial_state(B) -> (features, carry, init_cache)``: the features before step
  0, (B, F), a new array; the recurrent state the loop hands from step to step without
  looking inside (``carry``); and what the backward pass needs of the initial state.
* ``cell.input_map(x)``: the controller's input contribution ``x W_x + b``, for (T, B, X)
  (every step at once, when the pass keeps its caches) or (B, X) (one step).
* ``cell.step(xz, prev, carry, out) -> (carry, cache)``: time step t from its input
  contribution ``xz`` (B, G) (which it may overwrite: the loop does not read it again)
  and the previous features ``prev`` (B, F); it writes the step's features into ``out``
  (B, F).
* ``cell.record(cache, out)``: what a trace keeps of a step (``keep="records"``).
* ``cell.output(features)``: the logits of (..., B, F) features, (..., B, Y).

Backward, for ``dlogits`` (T, B, Y) and the :class:`Unrolled` pass:

* ``cell.output_backward(dlogits, features) -> (dfeatures, grads)``: back through the
  output layer of every step at once; ``grads`` a dict of its parameter gradients.
* ``cell.backward_start(T, B) -> (dnext, dcarry, work)``: zero gradients for the
  features and the carry after the last step, and the arrays the steps fill (e.g. each
  step's pre-activation gradient), passed explicitly to every step.
* ``cell.step_backward(t, dfeat, dcarry, cache, work) -> (dnext, dcarry)``: backward of
  step t, from the gradient of its features ``dfeat`` (B, F) and of its carry; returns
  the gradients of the previous features (as the controller input of step t) and of
  the previous carry.
* ``cell.parameter_gradients(unrolled, dnext, dcarry, work) -> grads``: the gradients of
  the weights applied at every step, summed over steps at once, and of the initial
  state, from what the steps left in ``work`` and the gradients that reach t = -1.

:class:`Trace` stacks what a pass with ``keep="records"`` kept of each step into arrays
over time, for the plots (``NTM.trace``; also ``ntm_numpy.model.Trace``).
"""
from dataclasses import dataclass
from typing import NamedTuple, Optional

import numpy as np

#: What :func:`forward_loop` keeps of each step: ``"caches"`` (for the backward pass),
#: ``"records"`` (what a trace shows) or ``None`` (only the logits).
KEEP = ("caches", "records", None)


class Unrolled(NamedTuple):
    """A forward pass over T steps, as :func:`forward_loop` returns it.

    ``features`` is None unless the caches were kept.
    """

    x: np.ndarray  # (T, B, X) the input
    logits: np.ndarray  # (T, B, Y)
    features: Optional[np.ndarray]  # (T+1, B, F): before step 0, then after each step
    steps: list  # T step caches (keep="caches"), T records (keep="records"), or []
    carry: object  # the cell's recurrent state after the last step
    init_cache: object  # the cell's cache of its initial state


def forward_loop(cell, x, keep="caches"):
    """Run ``cell`` over the T time steps of ``x`` (T, B, X).

    With ``keep="caches"`` (training), the input map and the output layer run on every
    step at once and every step's features and cache are kept for
    :func:`backward_loop`. Otherwise (inference, tracing) they run step by step over two
    feature buffers, so that memory does not grow with T beyond ``x``, the logits and
    what is recorded; the logits are the same, bit for bit.

    Returns
    -------
    Unrolled
    """
    if keep not in KEEP:
        raise ValueError(f"keep: expected one of {KEEP}, got {keep!r}")
    T, B = x.shape[:2]
    prev, carry, init_cache = cell.initial_state(B)
    steps = []
    if keep == "caches":
        features = np.empty((T + 1,) + prev.shape, dtype=prev.dtype)
        features[0] = prev
        xz = cell.input_map(x)  # every step's input contribution at once
        logits = None
    else:
        features, xz = None, None
        out = np.empty_like(prev)
        logits = None
    for t in range(T):
        if features is not None:
            prev, out = features[t], features[t + 1]
        carry, cache = cell.step(cell.input_map(x[t]) if xz is None else xz[t], prev, carry, out)
        if keep == "caches":
            steps.append(cache)
        elif keep == "records":
            steps.append(cell.record(cache, out))
        del cache
        if features is None:  # the output layer step by step, then swap the buffers
            logits_t = cell.output(out)
            if logits is None:
                logits = np.empty((T,) + logits_t.shape, dtype=logits_t.dtype)
            logits[t] = logits_t
            prev, out = out, prev
    if features is not None:
        logits = cell.output(features[1:])  # the output layer of every step at once
    return Unrolled(x, logits, features, steps, carry, init_cache)


def backward_loop(cell, dlogits, unrolled, *, on_step=None):
    """Backpropagation through time: the gradients of every parameter of ``cell``.

    Parameters
    ----------
    cell : the cell that ran the forward pass (bound to the same parameters)
    dlogits : (T, B, Y) gradient of the loss with respect to the logits
    unrolled : Unrolled, from ``forward_loop(cell, x, keep="caches")``
    on_step : optional callable ``on_step(t, dfeat, dcarry)``, called before step t's
        backward with the gradients it receives (e.g. to record them)

    Returns
    -------
    dict name -> gradient
    """
    T, B = dlogits.shape[:2]
    dfeatures, grads = cell.output_backward(dlogits, unrolled.features)
    dnext, dcarry, work = cell.backward_start(T, B)
    for t in reversed(range(T)):
        # the features of step t feed the output layer and the controller of step t+1
        dfeat = dfeatures[t] + dnext
        if on_step is not None:
            on_step(t, dfeat, dcarry)
        dnext, dcarry = cell.step_backward(t, dfeat, dcarry, unrolled.steps[t], work)
    grads.update(cell.parameter_gradients(unrolled, dnext, dcarry, work))
    return grads


@dataclass
class Trace:
    """A recorded forward pass as stacked arrays, heads ordered reads first then writes.

    Attributes (T steps, K = R + W heads)
    ----------
    memory : (T+1, B, N, M)  memory before step 0, then after each step
    content, gated, shifted, weights : (T, K, B, N)  the addressing stages, eqs (5), (7),
        (8) and the final sharpened weighting (9)
    key : (T, K, B, M); beta, g, gamma : (T, K, B); shift : (T, K, B, S)
    erase, add : (T, W, B, M)
    reads : (T, R, B, M)
    read_heads : R
    """

    memory: np.ndarray
    content: np.ndarray
    gated: np.ndarray
    shifted: np.ndarray
    weights: np.ndarray
    key: np.ndarray
    beta: np.ndarray
    g: np.ndarray
    gamma: np.ndarray
    shift: np.ndarray
    erase: np.ndarray
    add: np.ndarray
    reads: np.ndarray
    read_heads: int

    @property
    def read_weights(self):
        """(T, R, B, N) final weightings of the read heads."""
        return self.weights[:, : self.read_heads]

    @property
    def write_weights(self):
        """(T, W, B, N) final weightings of the write heads."""
        return self.weights[:, self.read_heads :]

    @classmethod
    def from_cache(cls, cache):
        """The trace of a :class:`ntm_numpy.model.ForwardCache`: its steps' records, with
        the reads."""
        R = cache.read_heads
        T, B = cache.features.shape[:2]
        M = cache.memory_final.shape[2]
        reads = cache.features[:, :, -R * M :].reshape(T, B, R, M).transpose(0, 2, 1, 3)
        records = [s.record()._replace(reads=reads[t]) for t, s in enumerate(cache.steps)]
        return cls.from_records(records, cache.memory_final, R)

    @classmethod
    def from_records(cls, records, memory_final, read_heads):
        """Stack T :class:`ntm_numpy.reference_step.StepRecord` (either implementation
        makes them; ``reads`` filled in) and the memory after the last step."""

        def stack(name):  # T arrays of (K, B, ...) -> (T, K, B, ...)
            return np.stack([getattr(r, name) for r in records])

        memory = np.stack([r.memory for r in records] + [memory_final])
        return cls(memory, stack("w_c"), stack("w_g"), stack("w_s"), stack("w"), stack("key"),
                   stack("beta"), stack("g"), stack("gamma"), stack("s"), stack("erase"),
                   stack("add"), stack("reads"), read_heads)
