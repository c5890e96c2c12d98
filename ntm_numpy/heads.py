"""Head parameter maps: from a head's slice of the controller output to its parameters.

Notation
--------
B batch, M memory width, S = 2k+1 shift offsets. A read head reads ``M + S + 3`` raw
values from the controller, a write head ``3M + S + 3``, laid out as

``[key (M) | beta (1) | g (1) | s (S) | gamma (1) | erase (M) | add (M)]``

(the last two only for write heads). This is the layout of one head's input to
:func:`head_params_forward`; the model (:mod:`ntm_numpy.model`) arranges its head map
differently, all heads' addressing blocks first and then the erase/add blocks, so that
one call serves every head.

Activations (section 3.3 of the paper asks for beta > 0, g in (0, 1), s a distribution,
gamma >= 1, erase in (0, 1); the rest is a choice, stated here)
-----------------------------------------------------------------------------------
=========  =====================  =======================================================
key        tanh                   bounded like the memory contents the adds produce
beta       softplus               > 0
g          sigmoid                in (0, 1)
s          softmax over S         non-negative, sums to 1
gamma      1 + softplus           >= 1
erase      sigmoid                in (0, 1)
add        tanh                   in (-1, 1)
=========  =====================  =======================================================
"""
from typing import NamedTuple, Optional

import numpy as np

from ._validation import check_array, check_positive_int
from .activations import sigmoid


class HeadParams(NamedTuple):
    """A head's parameters at one step (each batch-first)."""

    key: np.ndarray  # (B, M)
    beta: np.ndarray  # (B, 1)
    g: np.ndarray  # (B, 1)
    s: np.ndarray  # (B, S)
    gamma: np.ndarray  # (B, 1)
    erase: Optional[np.ndarray] = None  # (B, M), write heads only
    add: Optional[np.ndarray] = None  # (B, M), write heads only


class HeadParamsCache(NamedTuple):
    raw: np.ndarray  # (B, P)
    params: HeadParams
    memory_width: int
    shift_size: int
    write: bool


def head_size(memory_width, shift_size, write):
    """Number of raw controller outputs a head reads: ``M + S + 3`` (+ ``2M`` if writing)."""
    return memory_width + shift_size + 3 + (2 * memory_width if write else 0)


def head_params_forward(raw, memory_width, shift_size, write):
    """Map raw controller outputs to a head's parameters (see the module table).

    Parameters
    ----------
    raw : (B, P) with P = :func:`head_size` ``(M, S, write)``
    memory_width : int, M
    shift_size : int, S (odd)
    write : bool, whether the head also emits erase and add vectors

    Returns
    -------
    params : HeadParams
    cache : HeadParamsCache
    """
    M = check_positive_int("memory_width", memory_width)
    S = check_positive_int("shift_size", shift_size)
    if S % 2 == 0:
        raise ValueError(f"shift_size: expected an odd number 2k+1, got {S}")
    check_array("raw", raw, ndim=2, shape=(None, head_size(M, S, write)))
    key = np.tanh(raw[:, :M])
    beta = np.logaddexp(0.0, raw[:, M : M + 1])  # softplus, log(1 + e^z) without overflow
    g = sigmoid(raw[:, M + 1 : M + 2])
    zs = raw[:, M + 2 : M + 2 + S]
    es = np.exp(zs - zs.max(axis=1, keepdims=True))
    s = es / es.sum(axis=1, keepdims=True)
    gamma = 1.0 + np.logaddexp(0.0, raw[:, M + 2 + S : M + 3 + S])
    erase = add = None
    if write:
        (erase, add), _ = erase_add_forward(raw[:, M + 3 + S :])
    params = HeadParams(key, beta, g, s, gamma, erase, add)
    return params, HeadParamsCache(raw, params, M, S, write)


def head_params_backward(dparams, cache):
    """Backward of :func:`head_params_forward`.

    Parameters
    ----------
    dparams : HeadParams of gradients (``erase``/``add`` may be None for read heads)
    cache : HeadParamsCache

    Returns
    -------
    (draw (B, P), None, None, None): the sizes and the flag are not differentiable.
    """
    raw, p, M, S, write = cache
    draw = np.empty_like(raw)
    draw[:, :M] = dparams.key * (1.0 - p.key * p.key)  # through tanh
    # through softplus: softplus'(z) = sigmoid(z) = 1 - exp(-softplus(z)), from the output
    draw[:, M : M + 1] = dparams.beta * -np.expm1(-p.beta)
    draw[:, M + 1 : M + 2] = dparams.g * p.g * (1.0 - p.g)  # through sigmoid
    ds = dparams.s
    draw[:, M + 2 : M + 2 + S] = p.s * (ds - (ds * p.s).sum(axis=1, keepdims=True))  # softmax
    draw[:, M + 2 + S : M + 3 + S] = dparams.gamma * -np.expm1(1.0 - p.gamma)  # 1 + softplus
    if write:
        draw[:, M + 3 + S :] = erase_add_backward((dparams.erase, dparams.add), (p.erase, p.add))[0]
    return draw, None, None, None


def erase_add_forward(raw):
    """Erase and add vectors of a write head: ``sigmoid`` and ``tanh`` of the two halves.

    Parameters
    ----------
    raw : (..., 2M) pre-activations, erase half first

    Returns
    -------
    (erase, add) : each (..., M)
    cache : (erase, add)
    """
    M = raw.shape[-1] // 2
    erase = sigmoid(raw[..., :M])
    add = np.tanh(raw[..., M:])
    return (erase, add), (erase, add)


def erase_add_backward(dout, cache):
    """Backward of :func:`erase_add_forward`: ``dout = (derase, dadd)`` -> ``(draw (..., 2M),)``."""
    derase, dadd = dout
    erase, add = cache
    # through the sigmoid and the tanh
    return (np.concatenate([derase * erase * (1.0 - erase), dadd * (1.0 - add * add)], axis=-1),)
