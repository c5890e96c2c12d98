"""Backpropagation through time as the capstone asks for it: the interface.

Notebook 08 asks the student for two functions, called with the package's forward
cache (``logits, cache = model.forward(x)``, a :class:`ntm_numpy.model.ForwardCache`):

``step_backward(step, carried, model) -> (back, dz, draw)``
    The backward of one time step t. ``step`` is ``cache.steps[t]`` (a
    :class:`ntm_numpy.reference_step.ReferenceStepCache`: the caches of the primitives
    step t called, and ``step.dims``); ``carried`` is a
    :class:`ntm_numpy.course.capstone.Carried`, the five gradients step t receives
    (dL/dM_t, dL/dw_t, dL/dr_t, dL/dh_t, dL/dc_t: exactly ``carried[t]`` of
    ``NTM.backward(..., return_carried=True)``); ``model`` the NTM (``model.params``, and
    ``model.ops``, the primitives to call: ``model.ops["write_backward"](...)``). It
    returns ``back``, a ``Carried`` of what step t sends to step t-1 (dL/dM_{t-1},
    dL/dw_{t-1} and dL/dc_{t-1} complete; dL/dr_{t-1} and dL/dh_{t-1} through step t's
    controller only), ``dz`` (B, 4H), the gradient of the controller's pre-activation
    ``z_t = x_t W_x + h_{t-1} W_h + r_{t-1} W_r + b``, and ``draw`` (B, P), of the raw head
    parameters ``h_t W_heads + b_heads``.

``ntm_backward(dlogits, cache, model, step_backward) -> grads``
    The loop from t = T-1 down to 0: it adds the output layer's gradients of
    ``[h_t, r_t]`` to what it carries, calls ``step_backward`` (the function it is given)
    for each step, accumulates the gradients of the weights every step applies
    (:data:`WEIGHTS`) and returns the gradients of every parameter (the keys and shapes
    of ``model.params``).

The package supplies the pieces outside the loop and the bookkeeping of the head map:
:func:`output_backward` (the output layer, every step at once), :func:`zero_carried`
(what step T-1 receives from the step after it: nothing), :func:`head_map_gradient`
(the K heads' gradients, stacked along the batch, back into the columns of the head
map) and :func:`initial_state_gradients` (the learned initial state, from what step 0
sends back). :func:`package_step_backward` and :func:`package_ntm_backward` are the
package's own functions with the same signatures (on
:func:`ntm_numpy.reference_step.step_backward`): what the check compares with, and
refused while it runs the student's code.

Notation: T time steps, B batch, N memory rows, M row width, H controller units,
R read and W write heads, K = R + W (reads first), A = M + S + 3 a head's addressing
values, P the head map's width.
"""
from typing import NamedTuple

import numpy as np

from .. import reference_step
from ..activations import softmax_backward
from .capstone import Carried

__all__ = ["WEIGHTS", "OutputBackward", "output_backward", "zero_carried", "head_map_gradient",
           "initial_state_gradients", "package_step_backward", "package_ntm_backward"]

#: The weights every time step applies: the loop sums their gradients over the steps.
WEIGHTS = ("controller_Wx", "controller_Wh", "controller_Wr", "controller_b",
           "heads_W", "heads_b")


class OutputBackward(NamedTuple):
    """What :func:`output_backward` returns."""

    controller: np.ndarray  # (T, B, H) the output layer's gradient of h_t, for every t
    read: np.ndarray  # (T, R, B, M) its gradient of r_t, for every t
    grads: dict  # "output_W" (H + R*M, Y) and "output_b" (Y,)


def output_backward(dlogits, cache, model):
    """Back through the output layer ``y_t = [h_t, r_t] W_y + b_y`` of every step at once.

    Parameters
    ----------
    dlogits : (T, B, Y) gradient of the loss with respect to the logits
    cache : ForwardCache of ``model.forward(x)``
    model : the NTM

    Returns
    -------
    OutputBackward: the gradients of h_t (T, B, H) and r_t (T, R, B, M) through the output
    layer, and of its weights (``"output_W"``, ``"output_b"``)
    """
    W_y = model.params["output_W"]
    features = cache.features  # (T, B, F), [h_t, r_t]
    T, B, F = features.shape
    R, M = cache.read_heads, cache.memory_final.shape[2]
    H = F - R * M
    dlogits = np.asarray(dlogits, dtype=W_y.dtype)
    dfeat = dlogits @ W_y.T
    grads = {"output_W": features.reshape(-1, F).T @ dlogits.reshape(-1, dlogits.shape[2]),
             "output_b": dlogits.sum(axis=(0, 1))}
    reads = dfeat[..., H:].reshape(T, B, R, M).transpose(0, 2, 1, 3)
    return OutputBackward(dfeat[..., :H].copy(), reads.copy(), grads)


def zero_carried(cache):
    """A :class:`~ntm_numpy.course.capstone.Carried` of zeros, shaped for ``cache``: what
    step T-1 receives from the steps after it (there are none)."""
    step = cache.steps[0]
    d, B, dt = step.dims, step.memory.shape[0], step.memory.dtype
    return Carried(np.zeros((B, d.N, d.M), dt), np.zeros((d.K, B, d.N), dt),
                   np.zeros((d.R, B, d.M), dt), np.zeros((B, d.H), dt),
                   np.zeros((B, d.H), dt) if d.lstm else None)


def head_map_gradient(daddressing, derase_add, dims):
    """The gradient of the raw head parameters ``h_t W_heads + b_heads``, (B, P).

    Parameters
    ----------
    daddressing : (K*B, A) the gradient of every head's raw addressing values, heads
        stacked along the batch as the step calls ``head_params_forward`` (what
        ``ops["head_params_backward"]`` returns first)
    derase_add : (W, B, 2M) the gradient of every write head's raw erase and add values
        (what ``ops["erase_add_backward"]`` returns first)
    dims : the step's :class:`ntm_numpy.reference_step.Dims` (``step.dims``)
    """
    L, K, W = dims.layout, dims.K, dims.W
    B = daddressing.shape[0] // K
    draw = np.empty((B, L.P), dtype=daddressing.dtype)
    draw[:, L.addressing] = daddressing.reshape(K, B, L.A).transpose(1, 0, 2).reshape(B, K * L.A)
    draw[:, L.erase_add] = np.asarray(derase_add).transpose(1, 0, 2).reshape(B, W * 2 * dims.M)
    return draw


def initial_state_gradients(cache, model, back):
    """The gradients of the learned initial state, from ``back``, the
    :class:`~ntm_numpy.course.capstone.Carried` step 0's backward returns.

    Returns
    -------
    dict: ``"read_init"`` (R, M) and ``"weighting_init"`` (K, N) (through the softmax of
    its logits), and ``"memory_init"`` (N, M) when the model learns its initial memory.
    (The controller starts from h = c = 0, which have no gradient.)
    """
    grads = {"read_init": back.read.sum(axis=1),
             "weighting_init": softmax_backward(back.weighting.sum(axis=1),
                                                cache.weighting_init)[0]}
    if "memory_init" in model.params:
        grads["memory_init"] = back.memory.sum(axis=0)
    return grads


# ----------------------------------------------------------------------------------------
# The package's own, with the same signatures (refused while a check runs the student's)
# ----------------------------------------------------------------------------------------
def package_step_backward(step, carried, model, *, _step=reference_step.step_backward):
    """The package's backward of one time step, with the signature of the student's
    ``step_backward``: :func:`ntm_numpy.reference_step.step_backward` with
    ``model.ops``. Refused while a check runs the student's code."""
    d, p = step.dims, model.params
    B, dt = step.memory.shape[0], p["heads_W"].dtype
    draw = np.empty((B, p["heads_W"].shape[1]), dt)
    dz = np.empty((B, p["controller_b"].shape[0]), dt)
    dc_prev, dmemory, dw_prev = _step(carried.memory, carried.weighting, carried.read,
                                      carried.controller, carried.cell, p["heads_W"], step,
                                      d, draw, dz, ops=model.ops)
    dread = (dz @ p["controller_Wr"].T).reshape(B, d.R, d.M).transpose(1, 0, 2)
    dh_prev = dz @ p["controller_Wh"].T if d.lstm else np.zeros((B, d.H), dt)
    return Carried(dmemory, dw_prev, dread, dh_prev, dc_prev), dz, draw


def package_ntm_backward(dlogits, cache, model, step_backward=package_step_backward):
    """The package's loop over time, with the signature of the student's
    ``ntm_backward``: every step's ``step_backward``, from t = T-1 down to 0, then every
    weight's gradient summed over the steps at once. Refused while a check runs the
    student's code."""
    out = output_backward(dlogits, cache, model)
    T = len(cache.steps)
    carried = zero_carried(cache)
    dz, draw = [None] * T, [None] * T
    for t in reversed(range(T)):
        carried = carried._replace(read=carried.read + out.read[t],
                                   controller=carried.controller + out.controller[t])
        carried, dz[t], draw[t] = step_backward(cache.steps[t], carried, model)
    grads = dict(out.grads)
    grads.update(_weight_sums(cache, np.stack(dz), np.stack(draw)))
    grads.update(initial_state_gradients(cache, model, carried))
    return {k: grads[k] for k in model.params}


def _weight_sums(cache, dz, draw):
    """The gradients of :data:`WEIGHTS` from every step's dz (T, B, G) and draw (T, B, P)."""
    state = cache.state  # (T+1, B, F): [h_{t-1}, r_{t-1}] for t = 0..T
    H = cache.h.shape[2]
    G, P = dz.shape[2], draw.shape[2]
    dz2, draw2 = dz.reshape(-1, G), draw.reshape(-1, P)
    flat = lambda a: a.reshape(-1, a.shape[-1])  # noqa: E731
    return {"controller_Wx": flat(cache.x).T @ dz2,
            "controller_Wh": flat(state[:-1, :, :H]).T @ dz2,
            "controller_Wr": flat(state[:-1, :, H:]).T @ dz2,
            "controller_b": dz2.sum(axis=0),
            "heads_W": flat(cache.h).T @ draw2,
            "heads_b": draw2.sum(axis=0)}
