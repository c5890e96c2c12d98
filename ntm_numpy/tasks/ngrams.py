"""Dynamic N-grams (section 4.4): the batch generator, the Bayes-optimal estimator (eq 10)
and the cost in bits per sequence."""

import numpy as np

from .._validation import check_array, check_finite, check_positive_int
from ._checks import _check_binary, _check_dtype, _check_rng, _check_scored

#: Smallest probability given to the observed bit by :func:`ngram_cost_bits`: a
#: prediction of exactly 0 for a bit that occurs costs ``-log2(1e-12) ~ 39.9`` bits
#: instead of infinity (and does not trip ``np.seterr(all="raise")``).
PROB_FLOOR = 1e-12



def _validate_ngrams(length=200, context_length=5):
    k = check_positive_int("context_length", context_length)
    check_positive_int("length", length, k + 1)
    return 1, 1



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
