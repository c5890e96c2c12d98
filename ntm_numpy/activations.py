"""Element-wise activations and the affine layer, each as a forward/backward pair.

Notation: any shape ``(...)``; the affine layer maps ``(..., D) -> (..., F)``.
Every forward returns ``(out, cache)``; every backward returns a tuple with one
gradient per forward input.
"""
from typing import NamedTuple

import numpy as np


def sigmoid(x):
    """The package's logistic sigmoid ``1 / (1 + exp(-x))``, used by the head maps, the
    loss and the exercises alike; it never overflows.

    Both branches use ``e = exp(-|x|)``, which lies in (0, 1]: ``1 / (1 + e)`` for
    ``x >= 0`` and ``e / (1 + e)`` for ``x < 0``, so the result keeps its relative
    precision in both tails (down to x = -745, where ``e`` becomes subnormal), and at
    ``x = +-1000`` it is exactly 1 or 0. Integer or boolean input is computed in float64;
    float input keeps its dtype.
    """
    x = np.asarray(x)
    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)


def sigmoid_forward(x):
    """``1 / (1 + exp(-x))``; the cache is the output."""
    out = sigmoid(x)
    return out, out


def sigmoid_backward(dout, cache):
    """``d sigmoid = s (1 - s)``. Returns ``(dx,)``."""
    s = cache
    return (dout * s * (1.0 - s),)


def tanh_forward(x):
    """``tanh(x)``; the cache is the output."""
    out = np.tanh(x)
    return out, out


def tanh_backward(dout, cache):
    """``d tanh = 1 - tanh^2``. Returns ``(dx,)``."""
    return (dout * (1.0 - cache * cache),)


def softplus_forward(x):
    """``log(1 + exp(x))``, computed by ``np.logaddexp(0, x)`` (no overflow)."""
    out = np.logaddexp(0.0, x)
    return out, x


def softplus_backward(dout, cache):
    """``d softplus(x) = sigmoid(x)``. Returns ``(dx,)``."""
    return (dout * sigmoid(cache),)


def softmax_forward(x, axis=-1):
    """Softmax along ``axis``, stable (the maximum is subtracted first)."""
    z = np.exp(x - x.max(axis=axis, keepdims=True))
    out = z / z.sum(axis=axis, keepdims=True)
    return out, (out, axis)


def softmax_backward(dout, cache):
    """``dx = p * (dout - sum(dout * p))`` along the softmax axis. Returns ``(dx,)``."""
    p, axis = cache
    return (p * (dout - (dout * p).sum(axis=axis, keepdims=True)),)


class AffineCache(NamedTuple):
    """What :func:`affine_backward` needs: the input and the weights."""

    x: np.ndarray  # (..., D)
    W: np.ndarray  # (D, F)


def affine_forward(x, W, b):
    """``x @ W + b``.

    Parameters
    ----------
    x : (..., D); W : (D, F); b : (F,)

    Returns
    -------
    out : (..., F)
    cache : AffineCache
    """
    return x @ W + b, AffineCache(x, W)


def affine_backward(dout, cache):
    """Returns ``(dx (..., D), dW (D, F), db (F,))``; leading axes are summed for dW, db."""
    x, W = cache
    dx = dout @ W.T
    x2 = x.reshape(-1, x.shape[-1])
    d2 = dout.reshape(-1, dout.shape[-1])
    return dx, x2.T @ d2, d2.sum(axis=0)
