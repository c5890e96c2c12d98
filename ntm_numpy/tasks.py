"""The five algorithmic tasks of Graves, Wayne & Danihelka (2014), section 4.

Every task is a generator of rectangular, time-major batches ``(x, y, mask)``:

* ``x``    : (T, B, input_size)  network inputs,
* ``y``    : (T, B, output_size) targets (zero wherever ``mask`` is 0),
* ``mask`` : (T, B)              1 on the steps that carry a target, 0 elsewhere,

all of one floating dtype (float64 unless ``dtype=`` says otherwise). Letters: T time
steps, B batch entries. A batch is drawn from the :class:`numpy.random.Generator`
passed as ``rng``, so the same seed gives the same batch. Inside one batch every
sequence has the same length (the length is drawn once per batch), so the batch is a
plain array and no padding is needed.

=====================  =========================================  ==========  ==========
task                   function                                   input_size  output_size
=====================  =========================================  ==========  ==========
copy (4.1)             :func:`copy_batch`                         bits + 1    bits
repeat copy (4.2)      :func:`repeat_copy_batch`                  bits + 2    bits + 1
associative rec. (4.3) :func:`associative_recall_batch`           bits + 2    bits
dynamic N-grams (4.4)  :func:`ngrams_batch`                       1           1
priority sort (4.5)    :func:`priority_sort_batch`                bits + 2    bits
=====================  =========================================  ==========  ==========

A training loop uses the :class:`Task` objects::

    task = get_task("copy")
    x, y, mask = task.batch(rng, 16)            # length drawn in 1..20
    x, y, mask = task.batch(rng, 16, length=80) # fixed length, for evaluation

Scoring: :func:`bit_errors` (the paper's "cost per sequence" in bits for the binary
tasks, counted as wrong thresholded bits) and, for the N-gram task,
:func:`ngram_optimal_predictions` (the Bayes-optimal estimator, eq 10) with
:func:`ngram_cost_bits`. The exact encodings are drawn in ``docs/tasks.md``.
"""
import inspect
from dataclasses import dataclass, field

import numpy as np

from ._validation import check_array, check_finite, check_positive_int

__all__ = [
    "TASKS",
    "Task",
    "get_task",
    "copy_batch",
    "repeat_copy_batch",
    "associative_recall_batch",
    "ngram_table",
    "ngrams_batch",
    "ngram_optimal_predictions",
    "ngram_cost_bits",
    "ngram_cost_bits_per_sequence",
    "priority_sort_batch",
    "bit_errors",
    "bit_errors_per_sequence",
]

#: Names accepted by :func:`get_task`, in the paper's order (sections 4.1 to 4.5).
TASKS = ("copy", "repeat_copy", "associative_recall", "ngrams", "priority_sort")

#: Smallest probability given to the observed bit by :func:`ngram_cost_bits`: a
#: prediction of exactly 0 for a bit that occurs costs ``-log2(1e-12) ~ 39.9`` bits
#: instead of infinity (and does not trip ``np.seterr(all="raise")``).
PROB_FLOOR = 1e-12


# --------------------------------------------------------------------------- checks
def _check_rng(rng):
    if not isinstance(rng, np.random.Generator):
        raise ValueError(
            "rng: expected a numpy.random.Generator (e.g. numpy.random.default_rng(seed)), "
            f"got {type(rng).__name__}"
        )
    return rng


def _check_dtype(dtype):
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise ValueError(f"dtype: expected a floating numpy dtype, got {dtype!r}") from None
    if dt.kind != "f":
        raise ValueError(f"dtype: expected a floating numpy dtype, got {dt}")
    return dt


def _check_range(lo_name, lo, hi_name, hi, minimum):
    lo = check_positive_int(lo_name, lo, minimum)
    hi = check_positive_int(hi_name, hi, minimum)
    if lo > hi:
        raise ValueError(f"{lo_name}: expected an integer <= {hi_name} = {hi}, got {lo}")
    return lo, hi


def _check_binary(name, a):
    if not np.all((a == 0) | (a == 1)):
        raise ValueError(f"{name}: expected only 0/1 values, got values {np.unique(a)[:5]}...")
    return a


# --------------------------------------------------------------------------- validators
# Each returns (input_size, output_size); shared by the batch functions and get_task.
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


def _validate_ngrams(length=200, context_length=5):
    k = check_positive_int("context_length", context_length)
    check_positive_int("length", length, k + 1)
    return 1, 1


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


# --------------------------------------------------------------------------- dynamic N-grams
def ngram_table(rng, batch_size, context_length=5):
    """Random N-gram lookup tables, one per sequence: ``P(next bit = 1 | context)``.

    Parameters
    ----------
    rng : numpy.random.Generator
    batch_size : int >= 1
    context_length : int >= 1
        Number of previous bits forming the context (5 for the paper's 6-grams).

    Returns
    -------
    table : (B, 2**context_length) float64, entries i.i.d. Beta(1/2, 1/2).
        Entry ``table[b, c]`` is the probability that the bit following context ``c``
        is 1, where the context of bit ``t`` is the integer whose binary digits are
        ``bits[t-K], ..., bits[t-1]`` (oldest bit most significant):
        ``c = sum_k bits[t-k] 2**(k-1)`` for ``k = 1..K``.

    Notation
    --------
    Graves et al. (2014), section 4.4: "independently drawing all 32 probabilities from
    the Beta(1/2, 1/2) distribution".
    """
    _check_rng(rng)
    b = check_positive_int("batch_size", batch_size)
    k = check_positive_int("context_length", context_length)
    return rng.beta(0.5, 0.5, size=(b, 2 ** k))


def ngrams_batch(rng, batch_size, length=200, context_length=5, table=None, dtype=np.float64):
    """A batch of the dynamic N-gram task: predict the next bit of a bit stream.

    For every sequence a fresh table is drawn with :func:`ngram_table` (unless ``table``
    is given). The stream ``s`` has ``length`` bits: the first ``K = context_length``
    are i.i.d. Bernoulli(1/2), every later one is Bernoulli(``table[c]``) where ``c`` is
    the context of the previous K bits (see :func:`ngram_table` for the numbering).

    The network sees one bit per step and predicts the following one, so
    ``T = length - 1``:

    * ``x[t, :, 0] = s[t]``   (1 input channel),
    * ``y[t, :, 0] = s[t+1]`` (1 output channel),
    * ``mask[t] = 1`` for every t (each step predicts a bit; the first K-1 targets are
      the fair coin flips, whose best prediction is 1/2).

    Parameters
    ----------
    rng : numpy.random.Generator
    batch_size : int >= 1
    length : int >= context_length + 1
        Bits per stream (200 in the paper).
    context_length : int >= 1
        K, the N-gram order minus one (5, i.e. 6-grams, in the paper).
    table : (B, 2**K) array of probabilities in [0, 1], optional
        Use these tables instead of drawing new ones (for tests and demonstrations).
    dtype : floating dtype of the returned arrays.

    Returns
    -------
    x : (T, B, 1)
    y : (T, B, 1)
    mask : (T, B)

    Notation
    --------
    Graves et al. (2014), section 4.4 "Dynamic N-Grams" (200 bits per sequence, the
    first 5 bits drawn with p = 0.5, footnote 4).
    """
    _check_rng(rng)
    b = check_positive_int("batch_size", batch_size)
    _validate_ngrams(length, context_length)
    dt = _check_dtype(dtype)
    k = context_length
    if table is None:
        table = ngram_table(rng, b, k)
    else:
        check_array("table", table, ndim=2, shape=(b, 2 ** k))
        check_finite("table", table)
        if np.any((table < 0) | (table > 1)):
            raise ValueError("table: expected probabilities in [0, 1], got values outside")
    table = np.asarray(table, dtype=np.float64)
    bits = np.zeros((length, b), dtype=np.int64)
    bits[:k] = rng.integers(0, 2, size=(k, b))
    weights = 2 ** np.arange(k - 1, -1, -1)
    ctx = weights @ bits[:k]                                          # (B,)
    uniforms = rng.random(size=(length - k, b))
    cols = np.arange(b)
    top = 2 ** k - 1
    for t in range(k, length):
        bit = (uniforms[t - k] < table[cols, ctx]).astype(np.int64)
        bits[t] = bit
        ctx = ((ctx << 1) & top) | bit
    x = bits[:-1, :, None].astype(dt)
    y = bits[1:, :, None].astype(dt)
    mask = np.ones((length - 1, b), dtype=dt)
    return x, y, mask


def ngram_optimal_predictions(bits, context_length=5):
    """Bayes-optimal next-bit probabilities for the dynamic N-gram task (eq 10).

    .. math::  P(B = 1 \\mid N_1, N_0, c) = \\frac{N_1 + 1/2}{N_1 + N_0 + 1}

    where ``c`` is the current K-bit context and ``N_1``, ``N_0`` count how often ``c``
    has so far been followed by a 1 and by a 0 in the same sequence (the posterior
    mean under the Beta(1/2, 1/2) prior of the table entries).

    Parameters
    ----------
    bits : (T, B, 1) or (T, B) array of 0/1
        The observed stream, e.g. the ``x`` of :func:`ngrams_batch`.
    context_length : int >= 1
        K (5 in the paper).

    Returns
    -------
    probs : (T, B, 1) float64
        ``probs[t, b, 0] = P(bits[t+1] = 1 | bits[0..t])``, aligned with the ``y`` of
        :func:`ngrams_batch`. For ``t < K - 1`` the next bit is one of the first K fair
        coin flips and the probability is exactly 1/2. Only transitions whose context is
        complete (``t >= K``) are counted.

    Notation
    --------
    Graves et al. (2014), section 4.4, equation (10) (after Murphy, 2012).
    """
    a = check_array("bits", bits)
    if a.ndim == 3:
        check_array("bits", a, ndim=3, shape=(None, None, 1))
        a = a[:, :, 0]
    elif a.ndim != 2:
        raise ValueError(f"bits: expected shape (T, B, 1) or (T, B), got {a.shape}")
    k = check_positive_int("context_length", context_length)
    _check_binary("bits", a)
    a = a.astype(np.int64)
    t_len, b = a.shape
    counts = np.zeros((b, 2 ** k, 2), dtype=np.int64)                # [b, context, next bit]
    probs = np.full((t_len, b), 0.5)
    cols = np.arange(b)
    top = 2 ** k - 1
    ctx = np.zeros(b, dtype=np.int64)
    for t in range(t_len):
        if t >= k:                       # ctx is the context of bit t: record the transition
            counts[cols, ctx, a[t]] += 1
        ctx = ((ctx << 1) & top) | a[t]
        if t >= k - 1:                   # ctx is now the context of bit t + 1
            n0 = counts[cols, ctx, 0]
            n1 = counts[cols, ctx, 1]
            probs[t] = (n1 + 0.5) / (n1 + n0 + 1.0)
    return probs[:, :, None]


def ngram_cost_bits_per_sequence(probs, y, mask):
    """Cross-entropy in bits of predicted probabilities, summed over each sequence.

    ``cost[b] = - sum_t mask[t, b] sum_o (y log2 p + (1 - y) log2 (1 - p))[t, b, o]``,
    with the probability given to the observed bit floored at :data:`PROB_FLOOR`.

    Parameters
    ----------
    probs : (T, B, O) probabilities P(y = 1), in [0, 1]
    y : (T, B, O) 0/1 targets
    mask : (T, B)

    Returns
    -------
    cost : (B,) float64, bits per sequence.

    Notation
    --------
    Graves et al. (2014), section 4.4 and Figure 13 (cost in bits per sequence).
    """
    _check_scored(probs, y, mask, "probs")
    check_finite("probs", probs)
    if np.any((probs < 0) | (probs > 1)):
        raise ValueError("probs: expected probabilities in [0, 1], got values outside")
    p = np.asarray(probs, dtype=np.float64)
    p_seen = np.where(y > 0.5, p, 1.0 - p)
    nll = -np.log2(np.maximum(p_seen, PROB_FLOOR))
    return np.sum(nll * (mask != 0)[:, :, None], axis=(0, 2))


def ngram_cost_bits(probs, y, mask):
    """Mean over the batch of :func:`ngram_cost_bits_per_sequence` -> float (bits/sequence).

    Parameters
    ----------
    probs : (T, B, O) ; y : (T, B, O) ; mask : (T, B)

    Returns
    -------
    float

    Notation
    --------
    Graves et al. (2014), section 4.4, Figure 13 ("cost per sequence (bits)").
    """
    return float(np.mean(ngram_cost_bits_per_sequence(probs, y, mask)))


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


# --------------------------------------------------------------------------- scoring
def _check_scored(pred, y, mask, pred_name):
    check_array(pred_name, pred, ndim=3)
    check_array("y", y, ndim=3, shape=pred.shape)
    check_array("mask", mask, ndim=2, shape=pred.shape[:2])


def bit_errors_per_sequence(logits, y, mask):
    """Wrong bits per sequence: ``logits > 0`` compared with ``y > 0.5`` where the mask is on.

    Parameters
    ----------
    logits : (T, B, O)
        Network outputs before the sigmoid (a bit is predicted 1 iff its logit > 0).
    y : (T, B, O) 0/1 targets
    mask : (T, B)
        Steps with ``mask != 0`` are counted.

    Returns
    -------
    errors : (B,) float64

    Notation
    --------
    Graves et al. (2014), section 4: the learning curves report the "cost per sequence
    (bits)"; this is its thresholded counterpart, the number of wrong output bits.
    """
    _check_scored(logits, y, mask, "logits")
    wrong = (logits > 0) != (y > 0.5)
    return np.sum(wrong & (mask != 0)[:, :, None], axis=(0, 2)).astype(np.float64)


def bit_errors(logits, y, mask):
    """Mean over the batch of :func:`bit_errors_per_sequence` -> float (bit errors per sequence).

    Parameters
    ----------
    logits : (T, B, O) ; y : (T, B, O) ; mask : (T, B)

    Returns
    -------
    float

    Notation
    --------
    Graves et al. (2014), section 4 (cost per sequence, in bits).
    """
    return float(np.mean(bit_errors_per_sequence(logits, y, mask)))


# --------------------------------------------------------------------------- Task objects
@dataclass(frozen=True)
class _Spec:
    batch_fn: object
    validate: object
    overrides: tuple            # keyword names Task.batch accepts
    length_keys: tuple          # what ``length=L`` sets


_SPECS = {
    "copy": _Spec(copy_batch, _validate_copy,
                  ("length", "min_length", "max_length"), ("min_length", "max_length")),
    "repeat_copy": _Spec(repeat_copy_batch, _validate_repeat_copy,
                         ("length", "min_length", "max_length", "repeats", "min_repeats",
                          "max_repeats"), ("min_length", "max_length")),
    "associative_recall": _Spec(associative_recall_batch, _validate_associative_recall,
                                ("length", "num_items", "min_items", "max_items"),
                                ("min_items", "max_items")),
    "ngrams": _Spec(ngrams_batch, _validate_ngrams, ("length",), ("length",)),
    "priority_sort": _Spec(priority_sort_batch, _validate_priority_sort,
                           ("length", "num_items", "num_outputs"), ("num_items",)),
}

#: Shorthands of Task.batch: a fixed value for a (min, max) pair.
_FIXED = {"repeats": ("min_repeats", "max_repeats")}


@dataclass(frozen=True)
class Task:
    """One of the paper's tasks with its settings; ``batch`` draws ``(x, y, mask)``.

    Build it with :func:`get_task`. Attributes: ``name``, ``input_size``,
    ``output_size`` (channels of ``x`` and ``y``) and ``params`` (the keyword
    arguments passed to the task's batch function).

    ``batch(rng, batch_size, **overrides)`` accepts these overrides, meant for
    evaluation at other lengths (the model's sizes cannot change):

    =====================  =================================================================
    task                   overrides (``length`` is the task's main size)
    =====================  =================================================================
    copy                   ``length`` (fixes L), ``min_length``, ``max_length``
    repeat_copy            ``length`` (fixes L), ``min_length``, ``max_length``,
                           ``repeats`` (fixes R), ``min_repeats``, ``max_repeats``;
                           the count stays normalised by the task's ``repeat_scale``
    associative_recall     ``length`` = ``num_items`` (fixes n), ``min_items``, ``max_items``
    ngrams                 ``length`` (bits per stream)
    priority_sort          ``length`` = ``num_items``, ``num_outputs``
    =====================  =================================================================

    plus ``dtype`` for every task.

    Notation
    --------
    Graves et al. (2014), section 4; T time, B batch.
    """

    name: str
    input_size: int
    output_size: int
    params: dict = field(default_factory=dict, compare=False)

    def batch(self, rng, batch_size, **overrides):
        """Draw one batch ``(x, y, mask)``: x (T, B, input_size), y (T, B, output_size),
        mask (T, B); see the task's ``*_batch`` function for the encoding.

        Notation
        --------
        Graves et al. (2014), section 4; T time, B batch.
        """
        spec = _SPECS[self.name]
        allowed = spec.overrides + ("dtype",)
        unknown = sorted(set(overrides) - set(allowed))
        if unknown:
            raise ValueError(
                f"{unknown[0]}: expected an override among {list(allowed)} for task "
                f"{self.name!r}, got {unknown}"
            )
        params = dict(self.params)
        for short, keys in [("length", spec.length_keys)] + [
                (s, k) for s, k in _FIXED.items() if s in spec.overrides]:
            if short in overrides:
                clash = [key for key in keys if key in overrides and key != short]
                if clash:
                    raise ValueError(
                        f"{short}: expected either {short} or {clash}, got both"
                    )
                value = overrides.pop(short)
                for key in keys:
                    params[key] = value
        params.update(overrides)
        return spec.batch_fn(rng, batch_size, **params)


def get_task(name, **kwargs):
    """Build the :class:`Task` called ``name`` with the given settings.

    Parameters
    ----------
    name : one of :data:`TASKS`
        ``"copy"``, ``"repeat_copy"``, ``"associative_recall"``, ``"ngrams"``,
        ``"priority_sort"``.
    **kwargs
        Keyword arguments of the task's batch function (except ``rng``,
        ``batch_size`` and ``table``), e.g. ``get_task("copy", max_length=10)``.
        Defaults are the paper's settings.

    Returns
    -------
    Task
        ``task.batch(rng, B)`` returns x (T, B, input_size), y (T, B, output_size),
        mask (T, B).

    Notation
    --------
    Graves et al. (2014), sections 4.1-4.5.
    """
    if name not in _SPECS:
        raise ValueError(f"name: expected one of {list(TASKS)}, got {name!r}")
    spec = _SPECS[name]
    sig = inspect.signature(spec.batch_fn)
    valid = [p for p in sig.parameters if p not in ("rng", "batch_size", "table")]
    unknown = sorted(set(kwargs) - set(valid))
    if unknown:
        raise ValueError(
            f"{unknown[0]}: expected a setting among {valid} for task {name!r}, got {unknown}"
        )
    params = {p: sig.parameters[p].default for p in valid}
    params.update(kwargs)
    dtype = params.pop("dtype")
    _check_dtype(dtype)
    if name == "repeat_copy" and params["repeat_scale"] is None:
        params["repeat_scale"] = params["max_repeats"]
    input_size, output_size = spec.validate(**params)
    params["dtype"] = dtype
    return Task(name=name, input_size=input_size, output_size=output_size, params=params)
