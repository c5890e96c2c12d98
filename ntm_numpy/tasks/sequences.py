"""The binary sequence tasks of section 4: copy (4.1), repeat copy (4.2), associative
recall (4.3) and priority sort (4.5), each a batch generator ``(x, y, mask)`` (see
:mod:`ntm_numpy.tasks` for the conventions and ``docs/tasks.md`` for the encodings)."""

import numpy as np

from .._validation import check_positive_int
from ._checks import _check_dtype, _check_range, _check_rng


def _validate_copy(bits=8, min_length=1, max_length=20):
    bits = check_positive_int("bits", bits)
    _check_range("min_length", min_length, "max_length", max_length, 1)
    return bits + 1, bits


def _validate_repeat_copy(bits=8, min_length=1, max_length=10, min_repeats=1,
                          max_repeats=10, repeat_scale=None):
    bits = check_positive_int("bits", bits)
    _check_range("min_length", min_length, "max_length", max_length, 1)
    _check_range("min_repeats", min_repeats, "max_repeats", max_repeats, 1)
    if repeat_scale is not None:
        if (isinstance(repeat_scale, bool) or not isinstance(repeat_scale, (int, float, np.number))
                or not np.isfinite(repeat_scale) or repeat_scale <= 0):
            raise ValueError(
                f"repeat_scale: expected None or a finite number > 0, got {repeat_scale!r}"
            )
    return bits + 2, bits + 1


def _validate_associative_recall(bits=6, item_size=3, min_items=2, max_items=6):
    bits = check_positive_int("bits", bits)
    check_positive_int("item_size", item_size)
    _check_range("min_items", min_items, "max_items", max_items, 2)
    return bits + 2, bits


def _validate_priority_sort(bits=8, num_items=20, num_outputs=16):
    bits = check_positive_int("bits", bits)
    n = check_positive_int("num_items", num_items)
    k = check_positive_int("num_outputs", num_outputs)
    if k > n:
        raise ValueError(f"num_outputs: expected an integer <= num_items = {n}, got {k}")
    return bits + 2, bits



# --------------------------------------------------------------------------- copy
def copy_batch(rng, batch_size, bits=8, min_length=1, max_length=20, dtype=np.float64):
    """A batch of the copy task: read a sequence of bit vectors, then write it back.

    One length ``L`` is drawn uniformly from ``min_length..max_length`` (inclusive)
    for the whole batch; ``T = 2 L + 1``.

    ==========  =======================================  ==========================
    steps       x (``bits + 1`` channels)                y (``bits`` channels), mask
    ==========  =======================================  ==========================
    0 .. L-1    random 0/1 vector (p = 1/2) in channels  0, mask 0
                ``0..bits-1``; channel ``bits`` = 0
    L           delimiter: channel ``bits`` = 1, rest 0  0, mask 0
    L+1 .. 2L   all zero                                 y[L+1+i] = x[i, :bits],
                                                         mask 1
    ==========  =======================================  ==========================

    Parameters
    ----------
    rng : numpy.random.Generator
    batch_size : int >= 1
        B.
    bits : int >= 1
        Width of each vector (8 in the paper).
    min_length, max_length : int, 1 <= min_length <= max_length
        Range of the sequence length L (1..20 in the paper's training).
    dtype : floating dtype of the three returned arrays.

    Returns
    -------
    x : (T, B, bits + 1)
    y : (T, B, bits)
    mask : (T, B)

    Notation
    --------
    Graves et al. (2014), section 4.1 "Copy": "random binary vectors ... followed
    by a delimiter flag"; no inputs are given while the network writes its output.
    """
    _check_rng(rng)
    b = check_positive_int("batch_size", batch_size)
    _validate_copy(bits, min_length, max_length)
    dt = _check_dtype(dtype)
    length = int(rng.integers(min_length, max_length + 1))
    seq = rng.integers(0, 2, size=(length, b, bits)).astype(dt)
    t = 2 * length + 1
    x = np.zeros((t, b, bits + 1), dtype=dt)
    x[:length, :, :bits] = seq
    x[length, :, bits] = 1
    y = np.zeros((t, b, bits), dtype=dt)
    y[length + 1:] = seq
    mask = np.zeros((t, b), dtype=dt)
    mask[length + 1:] = 1
    return x, y, mask


# --------------------------------------------------------------------------- repeat copy
def repeat_copy_batch(rng, batch_size, bits=8, min_length=1, max_length=10, min_repeats=1,
                      max_repeats=10, repeat_scale=None, dtype=np.float64):
    """A batch of the repeat-copy task: copy a sequence ``R`` times, then emit an end marker.

    One length ``L`` (``min_length..max_length``) and one repeat count ``R``
    (``min_repeats..max_repeats``) are drawn for the whole batch;
    ``T = L + 1 + R L + 1``.

    ===================  ==================================  ==============================
    steps                x (``bits + 2`` channels)           y (``bits + 1`` channels)
    ===================  ==================================  ==============================
    0 .. L-1             random 0/1 vector in ``0..bits-1``  0, mask 0
    L                    channel ``bits`` = 1 (delimiter),   0, mask 0
                         channel ``bits + 1`` = R / scale
    L+1 .. L+RL          all zero                            y[L+1+j, :bits] = x[j mod L],
                                                             mask 1
    L+RL+1 (= T-1)       all zero                            end marker: channel ``bits``
                                                             = 1, rest 0; mask 1
    ===================  ==================================  ==============================

    The repeat count is a scalar on its own input channel, normalised by
    ``scale = repeat_scale`` (default ``max_repeats``), so it lies in (0, 1] during
    training. The paper instead standardised it to mean 0 and variance 1; dividing by
    the maximum is the usual choice of reimplementations and keeps the value positive.
    To test generalisation to more repeats than in training, keep ``repeat_scale`` at the
    training maximum (a :class:`Task` does this for you) so that, e.g., 20 repeats show
    up as 2.0.

    Parameters
    ----------
    rng : numpy.random.Generator
    batch_size : int >= 1
    bits : int >= 1
        Width of each vector (8 in the paper).
    min_length, max_length : int, 1 <= min_length <= max_length
        Range of L (1..10 in the paper).
    min_repeats, max_repeats : int, 1 <= min_repeats <= max_repeats
        Range of R (1..10 in the paper).
    repeat_scale : float > 0 or None
        Divisor of the repeat count; None means ``max_repeats``.
    dtype : floating dtype of the returned arrays.

    Returns
    -------
    x : (T, B, bits + 2)
    y : (T, B, bits + 1)
    mask : (T, B)

    Notation
    --------
    Graves et al. (2014), section 4.2 "Repeat Copy": the sequence is followed by "a
    scalar value indicating the desired number of copies, which appears on a separate
    input channel"; the network must then "emit an end-of-sequence marker".
    """
    _check_rng(rng)
    b = check_positive_int("batch_size", batch_size)
    _validate_repeat_copy(bits, min_length, max_length, min_repeats, max_repeats, repeat_scale)
    dt = _check_dtype(dtype)
    scale = float(max_repeats if repeat_scale is None else repeat_scale)
    length = int(rng.integers(min_length, max_length + 1))
    repeats = int(rng.integers(min_repeats, max_repeats + 1))
    seq = rng.integers(0, 2, size=(length, b, bits)).astype(dt)
    t = length + 1 + repeats * length + 1
    x = np.zeros((t, b, bits + 2), dtype=dt)
    x[:length, :, :bits] = seq
    x[length, :, bits] = 1
    x[length, :, bits + 1] = repeats / scale
    y = np.zeros((t, b, bits + 1), dtype=dt)
    y[length + 1:t - 1, :, :bits] = np.tile(seq, (repeats, 1, 1))
    y[t - 1, :, bits] = 1
    mask = np.zeros((t, b), dtype=dt)
    mask[length + 1:] = 1
    return x, y, mask


# --------------------------------------------------------------------------- associative recall
def associative_recall_batch(rng, batch_size, bits=6, item_size=3, min_items=2, max_items=6,
                             dtype=np.float64):
    """A batch of associative recall: after a list of items and a query item, output the next item.

    An *item* is ``item_size`` random ``bits``-wide 0/1 vectors. One item count ``n``
    (``min_items..max_items``) is drawn for the whole batch; each sequence of the batch
    has its own items and its own query index ``q``, uniform in ``0..n-2`` (any item
    but the last). With ``s = item_size`` and ``t0 = n (s + 1)``, ``T = t0 + 2 s + 2``:

    ========================  ======================================  =====================
    steps                     x (``bits + 2`` channels)               y (``bits``), mask
    ========================  ======================================  =====================
    i(s+1)                    item delimiter: channel ``bits`` = 1    0, mask 0
    i(s+1)+1 .. i(s+1)+s      item i, one vector per step             0, mask 0
    t0                        query delimiter: channel ``bits+1`` = 1 0, mask 0
    t0+1 .. t0+s              query item (a copy of item q)           0, mask 0
    t0+s+1                    query delimiter: channel ``bits+1`` = 1 0, mask 0
    t0+s+2 .. t0+2s+1         all zero                                item q + 1, mask 1
    ========================  ======================================  =====================

    (i runs over ``0..n-1``.) So every item is bounded on the left by a delimiter and on
    the right by the next delimiter, as in the paper's Figure 12 where the item
    delimiters are "single bits in row 7" and the query delimiter is in row 8.

    Parameters
    ----------
    rng : numpy.random.Generator
    batch_size : int >= 1
    bits : int >= 1
        Width of each vector (6 in the paper).
    item_size : int >= 1
        Vectors per item (3 in the paper).
    min_items, max_items : int, 2 <= min_items <= max_items
        Range of the number of items n (2..6 in the paper).
    dtype : floating dtype of the returned arrays.

    Returns
    -------
    x : (T, B, bits + 2)
    y : (T, B, bits)
    mask : (T, B)

    Notation
    --------
    Graves et al. (2014), section 4.3 "Associative Recall" and Figure 12.
    """
    _check_rng(rng)
    b = check_positive_int("batch_size", batch_size)
    _validate_associative_recall(bits, item_size, min_items, max_items)
    dt = _check_dtype(dtype)
    s = item_size
    n = int(rng.integers(min_items, max_items + 1))
    items = rng.integers(0, 2, size=(n, b, s, bits)).astype(dt)      # (n, B, s, bits)
    query = rng.integers(0, n - 1, size=b)                            # (B,), in 0..n-2
    t0 = n * (s + 1)
    t = t0 + 2 * s + 2
    x = np.zeros((t, b, bits + 2), dtype=dt)
    blocks = np.zeros((n, s + 1, b, bits + 2), dtype=dt)
    blocks[:, 0, :, bits] = 1
    blocks[:, 1:, :, :bits] = items.transpose(0, 2, 1, 3)
    x[:t0] = blocks.reshape(t0, b, bits + 2)
    cols = np.arange(b)
    x[t0, :, bits + 1] = 1
    x[t0 + 1:t0 + 1 + s, :, :bits] = items[query, cols].transpose(1, 0, 2)
    x[t0 + s + 1, :, bits + 1] = 1
    y = np.zeros((t, b, bits), dtype=dt)
    y[t0 + s + 2:] = items[query + 1, cols].transpose(1, 0, 2)
    mask = np.zeros((t, b), dtype=dt)
    mask[t0 + s + 2:] = 1
    return x, y, mask



# --------------------------------------------------------------------------- priority sort
def priority_sort_batch(rng, batch_size, bits=8, num_items=20, num_outputs=16,
                        dtype=np.float64):
    """A batch of priority sort: output the highest-priority input vectors, in priority order.

    With ``N = num_items`` and ``K = num_outputs``, ``T = N + 1 + K``:

    ==================  =======================================  =========================
    steps               x (``bits + 2`` channels)                y (``bits``), mask
    ==================  =======================================  =========================
    0 .. N-1            random 0/1 vector in ``0..bits-1``;      0, mask 0
                        channel ``bits`` = its priority,
                        uniform in [-1, 1)
    N                   delimiter: channel ``bits + 1`` = 1      0, mask 0
    N+1 .. N+K          all zero                                 the vector with the
                                                                 (j+1)-th highest priority
                                                                 at step N+1+j; mask 1
    ==================  =======================================  =========================

    Parameters
    ----------
    rng : numpy.random.Generator
    batch_size : int >= 1
    bits : int >= 1
        Width of each vector (8 here; the paper does not state it).
    num_items : int >= 1
        N (20 in the paper).
    num_outputs : int, 1 <= num_outputs <= num_items
        K (16 in the paper).
    dtype : floating dtype of the returned arrays.

    Returns
    -------
    x : (T, B, bits + 2)
    y : (T, B, bits)
    mask : (T, B)

    Notation
    --------
    Graves et al. (2014), section 4.5 "Priority Sort" and Figure 16.
    """
    _check_rng(rng)
    b = check_positive_int("batch_size", batch_size)
    _validate_priority_sort(bits, num_items, num_outputs)
    dt = _check_dtype(dtype)
    n, k = num_items, num_outputs
    vecs = rng.integers(0, 2, size=(n, b, bits))
    prio = rng.uniform(-1.0, 1.0, size=(n, b))
    t = n + 1 + k
    x = np.zeros((t, b, bits + 2), dtype=dt)
    x[:n, :, :bits] = vecs
    x[:n, :, bits] = prio
    x[n, :, bits + 1] = 1
    order = np.argsort(-prio, axis=0, kind="stable")[:k]              # (K, B)
    y = np.zeros((t, b, bits), dtype=dt)
    y[n + 1:] = np.take_along_axis(vecs, order[:, :, None], axis=0)
    mask = np.zeros((t, b), dtype=dt)
    mask[n + 1:] = 1
    return x, y, mask
