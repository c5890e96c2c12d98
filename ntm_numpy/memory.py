"""Reading from and writing to the N x M memory matrix (Graves et al. 2014, section 3.1-3.2).

Notation
--------
B batch, N memory rows ("locations"), M row width.

``memory``  (B, N, M)  the memory matrix :math:`M_t` of each batch entry
``w``       (B, N)     a normalised weighting over rows, :math:`\\sum_i w_t(i) = 1`
``e``       (B, M)     erase vector, entries in (0, 1)
``a``       (B, M)     add vector

Equations
---------
(2) read:   :math:`r_t = \\sum_i w_t(i)\\, M_t(i)`
(3) erase:  :math:`\\tilde M_t(i) = M_{t-1}(i)\\,[\\mathbf{1} - w_t(i)\\, e_t]`
(4) add:    :math:`M_t(i) = \\tilde M_t(i) + w_t(i)\\, a_t`

The erase vector is scaled by :math:`w_t(i)` row by row: a row the head does not
attend to (:math:`w_t(i) = 0`) is left exactly as it was. (Some tutorials describe an
unweighted "keep" vector multiplied into every row; that would wipe the whole memory
at every write.)
"""
from typing import NamedTuple

import numpy as np

from ._validation import check_array


class ReadCache(NamedTuple):
    """What :func:`read_backward` needs of eq (2)."""

    memory: np.ndarray  # (B, N, M)
    w: np.ndarray  # (B, N)


class WriteCache(NamedTuple):
    """What :func:`write_backward` needs of eqs (3)-(4)."""

    memory: np.ndarray  # (B, N, M) memory before the write
    w: np.ndarray  # (B, N)
    e: np.ndarray  # (B, M)
    a: np.ndarray  # (B, M)
    keep: np.ndarray  # (B, N, M) 1 - w_i e


def _check_memory_w(memory, w):
    check_array("memory", memory, ndim=3)
    B, N, _ = memory.shape
    check_array("w", w, ndim=2, shape=(B, N))
    return memory.shape


def read_forward(memory, w, *, check=True):
    """Read a weighted sum of memory rows, eq (2).

    Parameters
    ----------
    memory : (B, N, M)
    w : (B, N) read weighting
    check : bool, keyword-only (default True); False skips the shape checks, for the
        model's loop, whose inputs were checked on entry

    Returns
    -------
    r : (B, M) read vector
    cache : ReadCache
    """
    if check:
        _check_memory_w(memory, w)
    # r_b = sum_i w_b(i) M_b(i): a (1, N) @ (N, M) product per batch entry
    r = (w[:, None, :] @ memory)[:, 0, :]
    return r, ReadCache(memory, w)


def read_backward(dr, cache):
    """Backward of :func:`read_forward`.

    Parameters
    ----------
    dr : (B, M) upstream gradient of the read vector
    cache : ReadCache

    Returns
    -------
    (dmemory (B, N, M), dw (B, N))
    """
    memory, w = cache
    # r = sum_i w(i) M(i)  =>  dM(i) = w(i) dr  and  dw(i) = M(i) . dr
    dmemory = w[:, :, None] * dr[:, None, :]
    dw = (memory @ dr[:, :, None])[:, :, 0]
    return dmemory, dw


def write_forward(memory, w, e, a, *, check=True):
    """Erase then add, eqs (3)-(4): ``M_i * (1 - w_i e) + w_i a``.

    Parameters
    ----------
    memory : (B, N, M) memory before the write, :math:`M_{t-1}`
    w : (B, N) write weighting
    e : (B, M) erase vector (entries in [0, 1] for a true erase)
    a : (B, M) add vector
    check : bool, keyword-only (default True); False skips the shape checks, for the
        model's loop, whose inputs were checked on entry

    Returns
    -------
    new_memory : (B, N, M)
    cache : WriteCache
    """
    if check:
        B, N, M = _check_memory_w(memory, w)
        check_array("e", e, ndim=2, shape=(B, M))
        check_array("a", a, ndim=2, shape=(B, M))
    wi = w[:, :, None]  # (B, N, 1)
    keep = wi * e[:, None, :]
    np.subtract(1.0, keep, out=keep)  # keep = 1 - w_i e, (B, N, M), eq (3)
    new_memory = memory * keep
    new_memory += wi * a[:, None, :]  # eq (4)
    return new_memory, WriteCache(memory, w, e, a, keep)


def write_backward(dnew, cache):
    """Backward of :func:`write_forward`.

    Parameters
    ----------
    dnew : (B, N, M) upstream gradient of the new memory
    cache : WriteCache

    Returns
    -------
    (dmemory (B, N, M), dw (B, N), de (B, M), da (B, M))
    """
    memory, w, e, a, keep = cache
    # through M_new = M * keep: the old memory is scaled element-wise by keep
    dmemory = dnew * keep
    # through keep = 1 - w_i e  and  the add term w_i a
    dkeep = dnew * memory  # (B, N, M)
    # dw(i) = sum_m dnew(i,m) a(m) - dkeep(i,m) e(m)
    dw = (dnew @ a[:, :, None] - dkeep @ e[:, :, None])[:, :, 0]
    wrow = w[:, None, :]  # (B, 1, N)
    # de(m) = -sum_i w(i) dkeep(i,m);  da(m) = sum_i w(i) dnew(i,m)
    de = -(wrow @ dkeep)[:, 0, :]
    da = (wrow @ dnew)[:, 0, :]
    return dmemory, dw, de, da
