"""Numerical gradients by central differences, and the relative error used to compare them.

A backward pass is checked by comparing it, for a random upstream gradient ``dout``, with
the central difference of the scalar ``sum(f(x) * dout)``:

.. math::  \\frac{\\partial}{\\partial x_i} \\sum f(x) \\cdot d_{out}
           \\approx \\frac{\\sum (f(x + h e_i) - f(x - h e_i)) \\cdot d_{out}}{2h}

Random (not all-ones) ``dout`` matters: with ``dout = 1`` a backward that sums the
wrong axis, or that swaps two outputs, can still agree with the numerical gradient.
"""
import numpy as np

from ._validation import check_finite, check_positive_number
from .constants import GRADCHECK_STEP, REL_ERROR_FLOOR


def numerical_gradient(f, x, dout=None, h=GRADCHECK_STEP):
    """Central-difference gradient of ``sum(f(x) * dout)`` with respect to ``x``.

    Parameters
    ----------
    f : callable
        Takes an array shaped like ``x`` and returns an array (or a scalar).
    x : ndarray, any shape
        Point at which to differentiate. It is **not** modified: ``f`` is called on a copy.
    dout : ndarray shaped like ``f(x)``, optional
        Upstream gradient. Defaults to ones (prefer a random one, see module docstring).
    h : float
        Step of the central difference.

    Returns
    -------
    grad : ndarray, same shape as ``x``, float64.

    ``f``'s output is copied at each evaluation, so a function that returns a view of
    its input (``lambda a: a[::2]``) is differentiated correctly.
    """
    h = check_positive_number("h", h)
    x = check_finite("x", np.array(x, dtype=np.float64, copy=True))
    if dout is not None:
        dout = check_finite("dout", np.asarray(dout, dtype=np.float64))
    grad = np.zeros_like(x)
    flat = x.reshape(-1)
    gflat = grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        plus = np.array(f(x), dtype=np.float64, copy=True)  # f may return a view of x
        flat[i] = old - h
        minus = np.array(f(x), dtype=np.float64, copy=True)
        flat[i] = old
        if not (np.all(np.isfinite(plus)) and np.all(np.isfinite(minus))):
            raise ValueError("f: expected finite outputs, got NaN or infinity with entry "
                             f"{tuple(int(j) for j in np.unravel_index(i, x.shape))} of x "
                             "moved by h; a central difference needs f finite around x")
        diff = plus - minus
        if dout is None:
            gflat[i] = diff.sum() / (2 * h)
        else:
            if diff.shape != dout.shape:
                raise ValueError(
                    f"dout: expected the shape of f(x), {diff.shape}, got {dout.shape}"
                )
            gflat[i] = (diff * dout).sum() / (2 * h)
    return grad


def rel_error(a, b, floor=REL_ERROR_FLOOR):
    """Relative difference of two arrays, measured against their overall scale.

    .. math::  \\mathrm{rel\\_error}(a, b) = \\frac{\\max_i |a_i - b_i|}
               {\\max(\\max_i |a_i|,\\ \\max_i |b_i|,\\ \\mathrm{floor})}

    The difference is divided by the size of the largest entry rather than entry by
    entry: a central difference carries an absolute round-off error of about
    ``1e-16 / h`` (``1e-10`` for ``h = 1e-6``), which, divided by an entry that is
    itself ``1e-9``, would report a large "error" on a gradient that is right.
    The floor keeps two (nearly) all-zero gradients from comparing as 0/0.

    Returns a float; 0 means identical. Values below 1e-7 mean the two agree to the
    precision a float64 central difference can show. NaN or infinity in ``a`` or ``b``
    is a ValueError (no relative error can be computed).
    """
    a = check_finite("a", np.asarray(a, dtype=np.float64))
    b = check_finite("b", np.asarray(b, dtype=np.float64))
    if a.shape != b.shape:
        raise ValueError(f"b: expected the shape of a, {a.shape}, got {b.shape}")
    if a.size == 0:
        return 0.0
    scale = max(float(np.max(np.abs(a))), float(np.max(np.abs(b))), floor)
    return float(np.max(np.abs(a - b)) / scale)


def check_backward(forward, backward, inputs, dout=None, h=GRADCHECK_STEP, rng=None,
                   floor=REL_ERROR_FLOOR):
    """Compare ``backward`` with central differences of ``forward`` for every input.

    Parameters
    ----------
    forward : callable ``forward(*inputs) -> (out, cache)``
        ``out`` may be an array or a tuple of arrays.
    backward : callable ``backward(dout, cache) -> tuple of gradients``
        One gradient per input, in order (``None`` for a non-differentiable input).
    inputs : sequence of ndarrays
    dout : array or tuple of arrays, optional
        Upstream gradient; drawn from a standard normal (``rng``) when omitted.
    rng : numpy.random.Generator, optional
    floor : float, passed to :func:`rel_error` (raise it for inputs where the whole
        gradient is tiny or zero, so that round-off is not read as an error)

    Returns
    -------
    errors : list of float
        ``rel_error`` of each input's gradient (``nan`` where ``backward`` gave ``None``).
    """
    h = check_positive_number("h", h)
    rng = np.random.default_rng(0) if rng is None else rng
    inputs = [check_finite(f"inputs[{k}]", np.asarray(v, dtype=np.float64))
              for k, v in enumerate(inputs)]
    out, cache = forward(*inputs)
    multi = isinstance(out, tuple)
    outs = out if multi else (out,)
    if dout is None:
        douts = tuple(rng.standard_normal(np.shape(o)) for o in outs)
    else:
        douts = dout if multi else (dout,)
    grads = backward(douts if multi else douts[0], cache)
    if not isinstance(grads, tuple) or len(grads) != len(inputs):
        raise ValueError(
            f"backward: expected a tuple of {len(inputs)} gradients, got {type(grads).__name__}"
            f" of length {len(grads) if isinstance(grads, tuple) else '-'}"
        )
    errors = []
    for k, (x, g) in enumerate(zip(inputs, grads)):
        if g is None:
            errors.append(float("nan"))
            continue
        if np.shape(g) != x.shape:
            raise ValueError(
                f"backward: expected gradient {k} of shape {x.shape} (its input's), "
                f"got {np.shape(g)}"
            )

        def f(xk, k=k):
            args = list(inputs)
            args[k] = xk
            o = forward(*args)[0]
            o = o if multi else (o,)
            return np.concatenate([np.ravel(a) for a in o])

        flat_dout = np.concatenate([np.ravel(d) for d in douts])
        num = numerical_gradient(f, x, flat_dout, h=h)
        errors.append(rel_error(g, num, floor=floor))
    return errors
