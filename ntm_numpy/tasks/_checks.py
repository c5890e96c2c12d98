"""Argument checks shared by the task generators and scorers."""

import numpy as np

from .._validation import check_array, check_positive_int


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


def _check_scored(pred, y, mask, pred_name):
    check_array(pred_name, pred, ndim=3)
    check_array("y", y, ndim=3, shape=pred.shape)
    check_array("mask", mask, ndim=2, shape=pred.shape[:2])
