"""Training loss: masked sigmoid (binary) cross-entropy, forward and backward.

The NTM emits one logit per output bit; every target bit is 0 or 1 (copy,
repeat-copy and associative-recall tasks), so each bit is an independent
Bernoulli variable and the loss is the binary cross-entropy of the sigmoid of
the logits. Only the steps where an answer is expected count, which the mask
expresses.

Layers follow the CS231n convention: ``*_forward(...) -> (out, cache)`` and
``*_backward(dout, cache) -> tuple`` holding one gradient per forward input
(``None`` for an input that is not differentiable).

Notation
--------
T : number of time steps.
B : batch size.
Y : output width (bits per step).
z : logits, (T, B, Y).
y : targets, (T, B, Y); normally 0/1, any real value is accepted (soft targets).
m : mask, broadcast to (T, B, Y); 1 where a step/bit counts, 0 where it does not.
sigma(x) = 1 / (1 + exp(-x)) : the logistic sigmoid.

Equations
---------
Per-bit cross-entropy, in nats, written so that no ``exp`` can overflow::

    bce(z, y) = -y log sigma(z) - (1 - y) log(1 - sigma(z))
              = max(z, 0) - z y + log1p(exp(-|z|))

Loss, the summed cross-entropy of one sequence averaged over the batch::

    L = (1 / B) sum_{t, b, j} m[t, b, j] bce(z[t, b, j], y[t, b, j])

Gradients (``dout`` is the upstream gradient dJ/dL, 1 when L is the objective)::

    dL/dz = m (sigma(z) - y) / B
    dL/dy = -m z / B
"""
from typing import NamedTuple

import numpy as np

from ._validation import ShapeError, check_array, check_finite
from .activations import sigmoid

__all__ = [
    "SigmoidCrossEntropyCache",
    "sigmoid",
    "sigmoid_cross_entropy_forward",
    "sigmoid_cross_entropy_backward",
]


class SigmoidCrossEntropyCache(NamedTuple):
    """What :func:`sigmoid_cross_entropy_backward` needs from the forward pass.

    Attributes
    ----------
    logits : ndarray (T, B, Y)
        ``z``.
    targets : ndarray (T, B, Y)
        ``y``, in the dtype of the logits.
    mask : ndarray (T, B, Y) or (T, B, 1)
        ``m`` in the dtype of the logits, ready to broadcast against ``z``.
    batch_size : int
        ``B``, the divisor of the loss.
    """

    logits: np.ndarray
    targets: np.ndarray
    mask: np.ndarray
    batch_size: int


def _check_real(name, x):
    if x.dtype.kind not in "biuf":
        raise ValueError(f"{name}: expected a real (bool, integer or float) array, got dtype {x.dtype}")


def sigmoid_cross_entropy_forward(logits, targets, mask=None):
    """Masked sigmoid cross-entropy, summed over steps and bits, averaged over the batch.

    Parameters
    ----------
    logits : ndarray (T, B, Y), floating
        Pre-sigmoid outputs ``z``; must be finite (any magnitude: the formulation is
        stable for ``|z|`` in the thousands and beyond).
    targets : ndarray (T, B, Y), real
        Targets ``y``; normally 0/1. Cast to the dtype of ``logits``.
    mask : ndarray (T, B) or (T, B, Y), real, optional
        Non-negative weights, normally 0/1: ``(T, B)`` selects whole output steps,
        ``(T, B, Y)`` individual bits. ``None`` (the default) counts everything.

    Returns
    -------
    loss : float
        ``L = sum(m * bce(z, y)) / B``, nats per sequence.
    cache : SigmoidCrossEntropyCache

    Raises
    ------
    ShapeError
        Wrong number of dimensions, an empty dimension, or shapes that do not match.
    ValueError
        Non-floating or non-finite logits, non-real or non-finite targets, or a mask
        that is not real, finite and non-negative.
    """
    check_array("logits", logits, ndim=3)
    if logits.dtype.kind != "f":
        raise ValueError(f"logits: expected a floating-point array, got dtype {logits.dtype}")
    if 0 in logits.shape:
        raise ShapeError(f"logits: expected a non-empty (T, B, Y) array, got shape {logits.shape}")
    T, B, Y = logits.shape
    check_finite("logits", logits)
    check_array("targets", targets, ndim=3, shape=(T, B, Y))
    _check_real("targets", targets)
    check_finite("targets", targets)
    dtype = logits.dtype
    y = targets.astype(dtype, copy=False)

    if mask is None:
        m = np.ones((T, B, 1), dtype=dtype)
    else:
        if not isinstance(mask, np.ndarray):
            raise ShapeError(f"mask: expected a numpy.ndarray or None, got {type(mask).__name__}")
        if mask.shape == (T, B):
            m = mask[:, :, None]
        elif mask.shape == (T, B, Y):
            m = mask
        else:
            raise ShapeError(
                f"mask: expected shape ({T}, {B}) or ({T}, {B}, {Y}), got {mask.shape}"
            )
        _check_real("mask", m)
        check_finite("mask", m)
        if np.any(m < 0):
            raise ValueError(
                f"mask: expected non-negative weights (0/1), got minimum {m.min()!r}"
            )
        m = m.astype(dtype, copy=False)

    z = logits
    bce = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))
    loss = float(np.sum(m * bce) / B)
    return loss, SigmoidCrossEntropyCache(z, y, m, B)


def sigmoid_cross_entropy_backward(dout, cache):
    """Gradients of :func:`sigmoid_cross_entropy_forward`.

    Parameters
    ----------
    dout : float or 0-d ndarray
        Upstream gradient ``dJ/dL`` (pass ``1.0`` when the loss is the objective).
    cache : SigmoidCrossEntropyCache
        From the forward pass.

    Returns
    -------
    dlogits : ndarray (T, B, Y)
        ``dout * m * (sigma(z) - y) / B``.
    dtargets : ndarray (T, B, Y)
        ``-dout * m * z / B``.
    dmask : None
        The mask is not differentiable.
    """
    d = np.asarray(dout)
    if d.ndim != 0 or d.dtype.kind not in "biuf" or not np.isfinite(d):
        raise ValueError(f"dout: expected a finite real scalar, got {dout!r}")
    if not isinstance(cache, SigmoidCrossEntropyCache):
        raise ValueError(
            f"cache: expected a SigmoidCrossEntropyCache, got {type(cache).__name__}"
        )
    z, y, m, B = cache
    scale = float(d) / B
    dlogits = (scale * m) * (sigmoid(z) - y)
    dtargets = (-scale * m) * z
    return dlogits.astype(z.dtype, copy=False), dtargets.astype(z.dtype, copy=False), None
