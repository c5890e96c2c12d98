"""Head parameter maps: from a head's slice of the controller output to its parameters.

Notation
--------
B batch, M memory width, S = 2k+1 shift offsets. A read head reads ``M + S + 3`` raw
values from the controller, a write head ``3M + S + 3``, laid out as

``[key (M) | beta (1) | g (1) | s (S) | gamma (1) | erase (M) | add (M)]``

(the last two only for write heads). The model's head map (the columns of
``heads_W``) holds R + W heads: first every head's addressing block
``[key | beta | g | s | gamma]`` (reads first, then writes), then every write head's
``[erase | add]`` block, so that one call serves all heads. :class:`HeadLayout` is the one
definition of both layouts: :func:`head_params_forward`, the model's parameter
initialisation, both time steps (:mod:`ntm_numpy.reference_step`,
:mod:`ntm_numpy.fused_step`) and the tests take the slices from it.

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
from functools import lru_cache
from typing import NamedTuple, Optional

import numpy as np

from ._validation import check_array, check_positive_int
from .activations import sigmoid
from .constants import WRITE_FORWARD_GAMMA_BIAS, WRITE_FORWARD_GATE_BIAS, WRITE_FORWARD_SHIFT_BIAS


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
    """What :func:`head_params_backward` needs: the raw values, the activated parameters and the sizes."""

    raw: np.ndarray  # (B, P)
    params: HeadParams
    memory_width: int
    shift_size: int
    write: bool


class HeadLayout:
    """Where each head parameter sits in a head map of R read and W write heads.

    Use :func:`head_layout` to get one (it is cached). Columns ``addressing`` hold K =
    R + W blocks of A = M + S + 3 values, one per head (reads first); within a block the
    fields are the slices ``key``, ``beta``, ``g``, ``s`` and ``gamma``. Columns
    ``erase_add`` hold W blocks of 2M values, one per write head; within a block the
    fields are ``erase`` and ``add``. P is the map's width. One head's own layout, the
    input of :func:`head_params_forward`, is ``head_layout(M, S, 1, 0)`` for a read head
    and ``head_layout(M, S, 0, 1)`` for a write head: the same fields at the same offsets.

    Attributes
    ----------
    M, S, R, W, K, A, P : int
    key, beta, g, s, gamma : slices within an addressing block
    erase, add : slices within an erase/add block
    addressing, erase_add : slices of the whole map
    """

    __slots__ = ("M", "S", "R", "W", "K", "A", "P", "key", "beta", "g", "s", "gamma",
                 "erase", "add", "addressing", "erase_add")

    def __init__(self, M, S, R, W):
        self.M, self.S, self.R, self.W = M, S, R, W
        self.K = R + W
        self.A = M + S + 3
        self.P = self.K * self.A + W * 2 * M
        self.key = slice(0, M)
        self.beta = slice(M, M + 1)
        self.g = slice(M + 1, M + 2)
        self.s = slice(M + 2, M + 2 + S)
        self.gamma = slice(M + 2 + S, M + 3 + S)
        self.erase = slice(0, M)
        self.add = slice(M, 2 * M)
        self.addressing = slice(0, self.K * self.A)
        self.erase_add = slice(self.K * self.A, self.P)

    def __repr__(self):
        return f"HeadLayout(M={self.M}, S={self.S}, R={self.R}, W={self.W})"


@lru_cache(maxsize=64)
def head_layout(memory_width, shift_size, read_heads, write_heads):
    """The :class:`HeadLayout` of a head map (M, S, R, W)."""
    M = check_positive_int("memory_width", memory_width)
    S = check_positive_int("shift_size", shift_size)
    if S % 2 == 0:
        raise ValueError(f"shift_size: expected an odd number 2k+1, got {S}")
    R = check_positive_int("read_heads", read_heads, minimum=0)
    W = check_positive_int("write_heads", write_heads, minimum=0)
    return HeadLayout(M, S, R, W)


#: How the heads' biases start (the NTM's ``head_init``): all 0 ("zero"), or the write
#: heads walking one row forward per step ("write_forward", :func:`initial_head_biases`).
HEAD_INITS = ("zero", "write_forward")


def initial_head_biases(layout, head_init="zero"):
    """The head map's initial biases (P,): all 0, or with ``"write_forward"`` each write
    head's gate, +1 shift logit and sharpening bias at
    :data:`~ntm_numpy.constants.WRITE_FORWARD_GATE_BIAS`,
    :data:`~ntm_numpy.constants.WRITE_FORWARD_SHIFT_BIAS` and
    :data:`~ntm_numpy.constants.WRITE_FORWARD_GAMMA_BIAS`, so that from its initial row
    it walks one row forward per step (g near 0 keeps the previous weighting, eq 7; the
    shift moves it by +1, eq 8; gamma > 1 keeps it sharp, eq 9). The read heads' stay 0.

    Parameters
    ----------
    layout : HeadLayout
    head_init : one of :data:`HEAD_INITS`

    Returns
    -------
    b : (P,) float64
    """
    b = np.zeros(layout.P)
    if head_init == "write_forward":
        for k in range(layout.R, layout.K):  # the write heads' addressing blocks
            block = b[k * layout.A:(k + 1) * layout.A]
            block[layout.g] = WRITE_FORWARD_GATE_BIAS
            block[layout.s.stop - 1] = WRITE_FORWARD_SHIFT_BIAS  # offset +1
            block[layout.gamma] = WRITE_FORWARD_GAMMA_BIAS
    return b


def _one_head(M, S, write):
    """The layout of a single head's raw parameters."""
    return head_layout(M, S, 0, 1) if write else head_layout(M, S, 1, 0)


def head_size(memory_width, shift_size, write):
    """Number of raw controller outputs a head reads: ``M + S + 3`` (+ ``2M`` if writing)."""
    return _one_head(memory_width, shift_size, write).P


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
    L = _one_head(memory_width, shift_size, write)  # checks the sizes
    check_array("raw", raw, ndim=2, shape=(None, L.P))
    key = np.tanh(raw[:, L.key])
    beta = np.logaddexp(0.0, raw[:, L.beta])  # softplus, log(1 + e^z) without overflow
    g = sigmoid(raw[:, L.g])
    zs = raw[:, L.s]
    es = np.exp(zs - zs.max(axis=1, keepdims=True))
    s = es / es.sum(axis=1, keepdims=True)
    gamma = 1.0 + np.logaddexp(0.0, raw[:, L.gamma])
    erase = add = None
    if write:
        (erase, add), _ = erase_add_forward(raw[:, L.erase_add])
    params = HeadParams(key, beta, g, s, gamma, erase, add)
    return params, HeadParamsCache(raw, params, L.M, L.S, write)


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
    L = _one_head(M, S, write)
    draw = np.empty_like(raw)
    draw[:, L.key] = dparams.key * (1.0 - p.key * p.key)  # through tanh
    # through softplus: softplus'(z) = sigmoid(z) = 1 - exp(-softplus(z)), from the output
    draw[:, L.beta] = dparams.beta * -np.expm1(-p.beta)
    draw[:, L.g] = dparams.g * p.g * (1.0 - p.g)  # through sigmoid
    ds = dparams.s
    draw[:, L.s] = p.s * (ds - (ds * p.s).sum(axis=1, keepdims=True))  # softmax
    draw[:, L.gamma] = dparams.gamma * -np.expm1(1.0 - p.gamma)  # 1 + softplus
    if write:
        draw[:, L.erase_add] = erase_add_backward((dparams.erase, dparams.add),
                                                  (p.erase, p.add))[0]
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
