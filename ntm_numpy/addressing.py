"""How a head computes its weighting over memory rows (Graves et al. 2014, section 3.3).

Notation
--------
B batch, N memory rows, M row width, S = 2k+1 shift offsets (column j of ``s`` is the
offset ``j - S//2``, so with k = 1 the columns are the offsets -1, 0, +1).

``memory`` (B, N, M), ``key`` (B, M), ``beta`` (B, 1) > 0, ``g`` (B, 1) in [0, 1],
``s`` (B, S) a distribution over offsets, ``gamma`` (B, 1) >= 1, weightings (B, N).

Equations
---------
(6) cosine similarity  :math:`K[u, v] = \\frac{u \\cdot v}{\\|u\\|\\,\\|v\\|}`
(5) content weighting  :math:`w^c_t(i) = \\frac{\\exp(\\beta_t K[k_t, M_t(i)])}{\\sum_j \\exp(\\beta_t K[k_t, M_t(j)])}`
(7) interpolation      :math:`w^g_t = g_t w^c_t + (1 - g_t) w_{t-1}`
(8) circular shift     :math:`\\tilde w_t(i) = \\sum_{j=0}^{N-1} w^g_t(j)\\, s_t(i - j)`
(9) sharpening         :math:`w_t(i) = \\frac{\\tilde w_t(i)^{\\gamma_t}}{\\sum_j \\tilde w_t(j)^{\\gamma_t}}`

Departures from the paper (for numerical safety)
------------------------------------------------
* Norms in (6) are smoothed, :math:`\\|u\\| = \\sqrt{u \\cdot u + \\epsilon}` with
  ``NORM_EPS``, so K is finite and differentiable when a row or the key is all zeros
  (there K = 0 and the softmax treats that row as neutral). The smoothing is visible
  for rows whose norm is near ``sqrt(NORM_EPS)`` = 1e-4: a row still at the initial
  1e-6 per cell (M = 20) has its similarity scaled down to about 0.045, so rows never
  written to score close to 0, which is what one wants of an empty row.
* The softmax in (5) subtracts its maximum, so beta of 1e3 or more cannot overflow.
* Eq (9) is computed on ``w / max(w)`` (the same result, since (9) ignores the scale
  of w), so that the largest power is 1 and the normaliser cannot underflow for any
  gamma; ``SHARPEN_EPS`` is added to the normaliser only for an all-zero w. The
  gradient with respect to gamma uses :math:`u^\\gamma \\log u = 0` at :math:`u = 0`
  (its limit).
* Eq (8) with S > N: offsets that wrap onto the same row simply add up.
"""
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from ._validation import check_array
from .constants import NORM_EPS, SHARPEN_EPS


# ----------------------------------------------------------------------------------------
# Eq (6): cosine similarity
# ----------------------------------------------------------------------------------------
class CosineCache(NamedTuple):
    """What :func:`cosine_similarity_backward` needs of eq (6)."""

    memory: np.ndarray  # (B, N, M)
    key: np.ndarray  # (B, M)
    mem_norm: np.ndarray  # (B, N) smoothed row norms
    key_norm: np.ndarray  # (B, 1) smoothed key norm
    K: np.ndarray  # (B, N)


def cosine_similarity_forward(memory, key, *, check=True):
    """Cosine similarity of a key with every memory row, eq (6).

    Parameters
    ----------
    memory : (B, N, M)
    key : (B, M)
    check : bool, keyword-only (default True); False skips the shape checks, for the
        model's loop, whose inputs were checked on entry

    Returns
    -------
    K : (B, N), in [-1, 1]
    cache : CosineCache
    """
    if check:
        check_array("memory", memory, ndim=3)
        check_array("key", key, ndim=2, shape=(memory.shape[0], memory.shape[2]))
    dot = (memory @ key[:, :, None])[:, :, 0]  # (B, N)  u . v
    mem_norm = np.sqrt(np.vecdot(memory, memory) + NORM_EPS)  # row by row, u . u
    key_norm = np.sqrt(np.vecdot(key, key) + NORM_EPS)[:, None]
    K = dot / (mem_norm * key_norm)
    return K, CosineCache(memory, key, mem_norm, key_norm, K)


def cosine_similarity_backward(dK, cache):
    """Backward of :func:`cosine_similarity_forward`.

    With :math:`K = d / (n_u n_v)`, :math:`d = u \\cdot v`, :math:`n = \\sqrt{x \\cdot x + \\epsilon}`:
    :math:`\\partial K / \\partial u = v / (n_u n_v) - K u / n_u^2`, and symmetrically for v.

    Parameters
    ----------
    dK : (B, N)
    cache : CosineCache

    Returns
    -------
    (dmemory (B, N, M), dkey (B, M))
    """
    memory, key, mem_norm, key_norm, K = cache
    # through K = dot / (|M_i| |k|)
    ddot = dK / (mem_norm * key_norm)  # (B, N)
    dKK = dK * K  # (B, N)
    # through the row norms |M_i| and the key norm |k|  (d|x|/dx = x / |x|)
    dmemory = ddot[:, :, None] * key[:, None, :]
    dmemory -= (dKK / (mem_norm * mem_norm))[:, :, None] * memory
    dkey = (ddot[:, None, :] @ memory)[:, 0, :] - (dKK.sum(axis=1, keepdims=True) / key_norm**2) * key
    return dmemory, dkey


# ----------------------------------------------------------------------------------------
# Eq (5): content weighting
# ----------------------------------------------------------------------------------------
class ContentCache(NamedTuple):
    """What :func:`content_weighting_backward` needs of eq (5)."""

    cosine: CosineCache
    beta: np.ndarray  # (B, 1)
    w: np.ndarray  # (B, N)


def content_weighting_forward(memory, key, beta, *, check=True):
    """Focus by content, eq (5): a softmax over rows of ``beta * K[key, M(i)]``.

    Parameters
    ----------
    memory : (B, N, M)
    key : (B, M)
    beta : (B, 1), key strength > 0
    check : bool, keyword-only (default True); False skips the shape checks, for the
        model's loop, whose inputs were checked on entry

    Returns
    -------
    w_c : (B, N), non-negative, rows sum to 1
    cache : ContentCache
    """
    K, cos_cache = cosine_similarity_forward(memory, key, check=check)
    if check:
        check_array("beta", beta, ndim=2, shape=(memory.shape[0], 1))
    z = beta * K
    z = z - z.max(axis=1, keepdims=True)  # stable softmax
    ez = np.exp(z)
    w = ez / ez.sum(axis=1, keepdims=True)
    return w, ContentCache(cos_cache, beta, w)


def content_weighting_backward(dw, cache):
    """Backward of :func:`content_weighting_forward`.

    Parameters
    ----------
    dw : (B, N)
    cache : ContentCache

    Returns
    -------
    (dmemory (B, N, M), dkey (B, M), dbeta (B, 1))
    """
    cos_cache, beta, w = cache
    # through the softmax: dz = w * (dw - sum_j dw_j w_j)
    dz = w * (dw - (dw * w).sum(axis=1, keepdims=True))
    # through z = beta * K
    dbeta = (dz * cos_cache.K).sum(axis=1, keepdims=True)
    dK = dz * beta
    dmemory, dkey = cosine_similarity_backward(dK, cos_cache)
    return dmemory, dkey, dbeta


# ----------------------------------------------------------------------------------------
# Eq (7): interpolation gate
# ----------------------------------------------------------------------------------------
class InterpolationCache(NamedTuple):
    """What :func:`interpolation_backward` needs of eq (7)."""

    w_c: np.ndarray  # (B, N)
    w_prev: np.ndarray  # (B, N)
    g: np.ndarray  # (B, 1)


def interpolation_forward(w_c, w_prev, g, *, check=True):
    """Blend the content weighting with the previous weighting, eq (7).

    Parameters
    ----------
    w_c : (B, N) content weighting
    w_prev : (B, N) the head's weighting at the previous step
    g : (B, 1) interpolation gate in [0, 1]
    check : bool, keyword-only (default True); False skips the shape checks, for the
        model's loop, whose inputs were checked on entry

    Returns
    -------
    w_g : (B, N) = g w_c + (1 - g) w_prev
    cache : InterpolationCache
    """
    if check:
        check_array("w_c", w_c, ndim=2)
        check_array("w_prev", w_prev, ndim=2, shape=w_c.shape)
        check_array("g", g, ndim=2, shape=(w_c.shape[0], 1))
    w_g = g * w_c + (1.0 - g) * w_prev  # exactly w_c at g = 1 and w_prev at g = 0
    return w_g, InterpolationCache(w_c, w_prev, g)


def interpolation_backward(dw_g, cache):
    """Backward of :func:`interpolation_forward`.

    Returns
    -------
    (dw_c (B, N), dw_prev (B, N), dg (B, 1))
    """
    w_c, w_prev, g = cache
    dw_c = g * dw_g
    dw_prev = (1.0 - g) * dw_g
    dg = (dw_g * (w_c - w_prev)).sum(axis=1, keepdims=True)
    return dw_c, dw_prev, dg


# ----------------------------------------------------------------------------------------
# Eq (8): circular convolution with the shift distribution
# ----------------------------------------------------------------------------------------
class ShiftCache(NamedTuple):
    """What :func:`shift_backward` needs of eq (8)."""

    gathered: np.ndarray  # (B, N, S) gathered[b, i, j] = w_g[b, (i - off_j) mod N]
    s: np.ndarray  # (B, S)
    back_index: np.ndarray  # (N, S) (i + off_j) mod N


@lru_cache(maxsize=64)
def shift_indices(N, S):
    """Index tables for eq (8), as read-only ``(N, S)`` int arrays.

    ``forward[i, j] = (i - o_j) mod N`` and ``backward[i, j] = (i + o_j) mod N`` where
    ``o_j = j - S//2`` is the offset of column j.
    """
    offsets = np.arange(S) - S // 2
    rows = np.arange(N)[:, None]
    fwd = (rows - offsets[None, :]) % N
    bwd = (rows + offsets[None, :]) % N
    fwd.flags.writeable = False
    bwd.flags.writeable = False
    return fwd, bwd


def shift_forward(w_g, s, *, check=True):
    """Rotate the weighting by the shift distribution, eq (8) (circular convolution).

    ``out[i] = sum_j s[j] * w_g[(i - o_j) mod N]`` with offset ``o_j = j - S//2``, so a
    one-hot ``s`` at offset +1 gives exactly ``np.roll(w_g, 1, axis=-1)``. When S > N,
    several offsets land on the same row and their weights add up.

    Parameters
    ----------
    w_g : (B, N) gated weighting
    s : (B, S) shift distribution, S odd
    check : bool, keyword-only (default True); False skips the shape checks, for the
        model's loop, whose inputs were checked on entry

    Returns
    -------
    w_s : (B, N)
    cache : ShiftCache
    """
    if check:
        check_array("w_g", w_g, ndim=2)
        check_array("s", s, ndim=2, shape=(w_g.shape[0], None))
    S = s.shape[1]
    if S % 2 == 0:
        raise ValueError(f"s: expected an odd number of shift offsets S = 2k+1, got S = {S}")
    fwd, bwd = shift_indices(w_g.shape[1], S)
    gathered = w_g.take(fwd, axis=1)  # (B, N, S), gathered[b, i, j] = w_g[b, fwd[i, j]]
    w_s = (gathered @ s[:, :, None])[:, :, 0]
    return w_s, ShiftCache(gathered, s, bwd)


def shift_backward(dw_s, cache):
    """Backward of :func:`shift_forward`.

    The forward reads row ``(i - o_j) mod N`` for output i; each column j of the index
    table is a permutation of the rows, so the gradient flows back through the inverse
    permutation, ``(i + o_j) mod N``: the shift by the opposite offsets.

    Returns
    -------
    (dw_g (B, N), ds (B, S))
    """
    gathered, s, bwd = cache
    # through the weights s_j: ds_j = sum_i dw_s(i) w_g((i - o_j) mod N)
    ds = (dw_s[:, None, :] @ gathered)[:, 0, :]
    # through the gathered rows: shift dw_s by the opposite offsets
    dw_g = (dw_s.take(bwd, axis=1) @ s[:, :, None])[:, :, 0]
    return dw_g, ds


# ----------------------------------------------------------------------------------------
# Eq (9): sharpening
# ----------------------------------------------------------------------------------------
class SharpenCache(NamedTuple):
    """What :func:`sharpen_backward` needs of eq (9)."""

    w: np.ndarray  # (B, N) input weighting
    gamma: np.ndarray  # (B, 1)
    scale: np.ndarray  # (B, 1) largest entry of each row of w (the smallest normal
    # float for an all-zero row)
    scaled: np.ndarray  # (B, N) w / scale, largest entry 1
    powered: np.ndarray  # (B, N) scaled ** gamma
    total: np.ndarray  # (B, 1) sum of powered + SHARPEN_EPS
    out: np.ndarray  # (B, N)


def sharpen_forward(w, gamma, *, check=True):
    """Sharpen a weighting, eq (9): ``w**gamma`` renormalised.

    Eq (9) does not change when w is multiplied by a constant, so the rows are first
    divided by their largest entry: the largest power is then exactly 1 and the sum
    cannot underflow, however large gamma is (with the plain formula a uniform
    weighting over 128 rows at gamma = 10 has every ``w**gamma`` near 1e-21, and in
    float32 a sharp gamma makes them 0).

    Parameters
    ----------
    w : (B, N) non-negative weighting
    gamma : (B, 1) >= 1
    check : bool, keyword-only (default True); False skips the shape checks, for the
        model's loop, whose inputs were checked on entry

    Returns
    -------
    out : (B, N), non-negative, rows sum to 1 (to within ``SHARPEN_EPS``)
    cache : SharpenCache
    """
    if check:
        check_array("w", w, ndim=2)
        check_array("gamma", gamma, ndim=2, shape=(w.shape[0], 1))
    # the largest entry of each row; the floor only matters for an all-zero row (then 0/tiny = 0)
    tiny = np.finfo(w.dtype if w.dtype.kind == "f" else np.float64).tiny
    scale = np.maximum(w.max(axis=1, keepdims=True), tiny)
    scaled = w / scale
    powered = scaled**gamma
    total = powered.sum(axis=1, keepdims=True) + SHARPEN_EPS
    out = powered / total
    return out, SharpenCache(w, gamma, scale, scaled, powered, total, out)


def sharpen_backward(dout, cache):
    """Backward of :func:`sharpen_forward`; finite where entries of w are exactly 0.

    With :math:`u = w / c`, :math:`c = \\max_i w_i`, :math:`p = u^\\gamma`:
    :math:`\\partial p / \\partial u = \\gamma u^{\\gamma - 1}` (finite for
    :math:`\\gamma \\ge 1`) and :math:`\\partial p / \\partial \\gamma = p \\log u`, taken as 0
    at u = 0, its limit. The scale c is treated as a constant: the output does not
    depend on it, so the path through c carries no gradient.

    Returns
    -------
    (dw (B, N), dgamma (B, 1))
    """
    w, gamma, scale, scaled, powered, total, out = cache
    # through out = p / sum(p): dp_i = (dout_i - sum_j dout_j out_j) / total
    dpowered = (dout - (dout * out).sum(axis=1, keepdims=True)) / total
    # through p = u ** gamma, then u = w / c
    dw = dpowered * gamma * scaled ** (gamma - 1.0) / scale
    logu = np.log(np.where(scaled > 0, scaled, 1.0))  # log 1 = 0 where u == 0
    dgamma = (dpowered * powered * logu).sum(axis=1, keepdims=True)
    return dw, dgamma


# ----------------------------------------------------------------------------------------
# Eqs (5)-(9): the whole addressing chain
# ----------------------------------------------------------------------------------------
class AddressCache(NamedTuple):
    """What :func:`address_backward` needs: the caches of eqs (5)-(9) and their weightings."""

    content: ContentCache
    interpolation: InterpolationCache
    shift: ShiftCache
    sharpen: SharpenCache
    w_c: np.ndarray  # (B, N) content weighting (eq 5)
    w_g: np.ndarray  # (B, N) gated (eq 7)
    w_s: np.ndarray  # (B, N) shifted (eq 8)
    w: np.ndarray  # (B, N) sharpened, the head's final weighting (eq 9)


def address_forward(memory, w_prev, key, beta, g, s, gamma):
    """The whole addressing mechanism, eqs (5)-(9).

    Parameters
    ----------
    memory : (B, N, M)
    w_prev : (B, N) the head's previous weighting
    key : (B, M); beta : (B, 1) > 0; g : (B, 1) in [0, 1]; s : (B, S); gamma : (B, 1) >= 1

    Returns
    -------
    w : (B, N)
    cache : AddressCache (holds every intermediate weighting, for plotting)
    """
    w_c, c_content = content_weighting_forward(memory, key, beta)
    check_array("w_prev", w_prev, ndim=2, shape=w_c.shape)
    w_g, c_interp = interpolation_forward(w_c, w_prev, g)
    w_s, c_shift = shift_forward(w_g, s)
    w, c_sharp = sharpen_forward(w_s, gamma)
    return w, AddressCache(c_content, c_interp, c_shift, c_sharp, w_c, w_g, w_s, w)


def address_backward(dw, cache):
    """Backward of :func:`address_forward`, eqs (9) back to (5).

    Returns
    -------
    (dmemory (B, N, M), dw_prev (B, N), dkey (B, M), dbeta (B, 1), dg (B, 1), ds (B, S),
    dgamma (B, 1))
    """
    dw_s, dgamma = sharpen_backward(dw, cache.sharpen)
    dw_g, ds = shift_backward(dw_s, cache.shift)
    dw_c, dw_prev, dg = interpolation_backward(dw_g, cache.interpolation)
    dmemory, dkey, dbeta = content_weighting_backward(dw_c, cache.content)
    return dmemory, dw_prev, dkey, dbeta, dg, ds, dgamma
