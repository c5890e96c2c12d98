"""Controllers: an LSTM step and a feed-forward layer, each as a forward/backward pair.

Notation
--------
B batch, D input width, H hidden units. Gate pre-activations are stacked in the
order input, forget, output, candidate: ``z = [z_i, z_f, z_o, z_g]`` (B, 4H).

Equations (LSTM without peepholes; Graves et al. 2014 use an LSTM controller)
--------------------------------------------------------------------------------
:math:`z = x W_x + h_{t-1} W_h + b`,
:math:`i, f, o = \\sigma(z_i), \\sigma(z_f), \\sigma(z_o)`, :math:`g = \\tanh(z_g)`,
:math:`c_t = f \\odot c_{t-1} + i \\odot g`,  :math:`h_t = o \\odot \\tanh(c_t)`.

The feed-forward controller is one tanh layer, :math:`h_t = \\tanh(x W_x + b)`.
"""
from typing import NamedTuple

import numpy as np

from ._validation import check_array


class LSTMGatesCache(NamedTuple):
    """What :func:`lstm_gates_backward` needs: the previous cell state, the gates and tanh(c)."""

    c_prev: np.ndarray  # (B, H)
    i: np.ndarray
    f: np.ndarray
    o: np.ndarray
    g: np.ndarray
    tanh_c: np.ndarray  # (B, H)


def lstm_gates_forward(z, c_prev, *, check=True):
    """The non-linear half of an LSTM step: gate pre-activations to ``(h, c)``.

    Parameters
    ----------
    z : (B, 4H) gate pre-activations, order i, f, o, g
    c_prev : (B, H) previous cell state
    check : bool, keyword-only (default True); False skips the shape checks, for the
        model's loop, whose inputs were checked on entry

    Returns
    -------
    (h, c) : each (B, H)
    cache : LSTMGatesCache
    """
    if check:
        check_array("c_prev", c_prev, ndim=2)
        check_array("z", z, ndim=2, shape=(c_prev.shape[0], 4 * c_prev.shape[1]))
    H = c_prev.shape[1]
    # sigmoid of the three gates as (1 + tanh(z/2)) / 2: one transcendental call on the
    # largest activation of the step; exact to 1e-16 absolutely, which is all a gate needs
    ifo = 0.5 + 0.5 * np.tanh(0.5 * z[:, : 3 * H])
    i, f, o = ifo[:, :H], ifo[:, H : 2 * H], ifo[:, 2 * H :]
    g = np.tanh(z[:, 3 * H :])
    c = f * c_prev + i * g
    tanh_c = np.tanh(c)
    h = o * tanh_c
    return (h, c), LSTMGatesCache(c_prev, i, f, o, g, tanh_c)


def lstm_gates_backward(dout, cache):
    """Backward of :func:`lstm_gates_forward`.

    Parameters
    ----------
    dout : (dh, dc), each (B, H): gradients of the step's two outputs
    cache : LSTMGatesCache

    Returns
    -------
    (dz (B, 4H), dc_prev (B, H))
    """
    dh, dc_out = dout
    c_prev, i, f, o, g, tanh_c = cache
    # through h = o * tanh(c); the cell state also feeds the next step (dc_out)
    do = dh * tanh_c
    dc = dc_out + dh * o * (1.0 - tanh_c * tanh_c)
    # through c = f * c_prev + i * g
    df = dc * c_prev
    di = dc * g
    dg = dc * i
    dc_prev = dc * f
    # through the gate non-linearities
    dz = np.concatenate(
        [di * i * (1 - i), df * f * (1 - f), do * o * (1 - o), dg * (1 - g * g)], axis=1
    )
    return dz, dc_prev


class LSTMStepCache(NamedTuple):
    """What :func:`lstm_step_backward` needs: the inputs, the weights and the gates' cache."""

    x: np.ndarray  # (B, D)
    h_prev: np.ndarray  # (B, H)
    Wx: np.ndarray  # (D, 4H)
    Wh: np.ndarray  # (H, 4H)
    gates: LSTMGatesCache


def lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b):
    """One LSTM step.

    Parameters
    ----------
    x : (B, D); h_prev, c_prev : (B, H); Wx : (D, 4H); Wh : (H, 4H); b : (4H,)

    Returns
    -------
    (h, c) : each (B, H)
    cache : LSTMStepCache
    """
    check_array("x", x, ndim=2)
    B, D = x.shape
    check_array("h_prev", h_prev, ndim=2, shape=(B, None))
    H = h_prev.shape[1]
    check_array("c_prev", c_prev, ndim=2, shape=(B, H))
    check_array("Wx", Wx, ndim=2, shape=(D, 4 * H))
    check_array("Wh", Wh, ndim=2, shape=(H, 4 * H))
    check_array("b", b, ndim=1, shape=(4 * H,))
    z = x @ Wx + h_prev @ Wh + b
    (h, c), gates = lstm_gates_forward(z, c_prev)
    return (h, c), LSTMStepCache(x, h_prev, Wx, Wh, gates)


def lstm_step_backward(dout, cache):
    """Backward of :func:`lstm_step_forward`.

    Parameters
    ----------
    dout : (dh, dc), each (B, H)

    Returns
    -------
    (dx (B, D), dh_prev (B, H), dc_prev (B, H), dWx (D, 4H), dWh (H, 4H), db (4H,))
    """
    x, h_prev, Wx, Wh, gates = cache
    dz, dc_prev = lstm_gates_backward(dout, gates)
    # through z = x Wx + h_prev Wh + b
    return dz @ Wx.T, dz @ Wh.T, dc_prev, x.T @ dz, h_prev.T @ dz, dz.sum(axis=0)


class FeedforwardCache(NamedTuple):
    """What :func:`feedforward_backward` needs: the input, the weights and the output."""

    x: np.ndarray  # (B, D)
    W: np.ndarray  # (D, H)
    h: np.ndarray  # (B, H)


def feedforward_forward(x, W, b):
    """Feed-forward controller: ``h = tanh(x W + b)``.

    Parameters
    ----------
    x : (B, D); W : (D, H); b : (H,)

    Returns
    -------
    h : (B, H)
    cache : FeedforwardCache
    """
    check_array("x", x, ndim=2)
    check_array("W", W, ndim=2, shape=(x.shape[1], None))
    check_array("b", b, ndim=1, shape=(W.shape[1],))
    h = np.tanh(x @ W + b)
    return h, FeedforwardCache(x, W, h)


def feedforward_backward(dh, cache):
    """Returns ``(dx (B, D), dW (D, H), db (H,))``."""
    x, W, h = cache
    dz = dh * (1.0 - h * h)  # through tanh
    return dz @ W.T, x.T @ dz, dz.sum(axis=0)
