"""Scoring the binary tasks: wrong thresholded bits per sequence."""

import numpy as np

from ._checks import _check_scored


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
