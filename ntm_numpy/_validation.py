"""Small input checks shared by the public functions.

Every failure raises :class:`ValueError` (or :class:`ShapeError`, a subclass) whose
message names the argument, what was expected and what was given.
"""
import warnings

import numpy as np


class ShapeError(ValueError):
    """An array argument has the wrong number of dimensions or the wrong shape."""


def check_array(name, x, ndim=None, shape=None):
    """Check that ``x`` is an ndarray with ``ndim`` dims and, where given, ``shape``.

    ``shape`` may contain ``None`` for a free dimension. Returns ``x`` unchanged.
    """
    if not isinstance(x, np.ndarray):
        raise ShapeError(f"{name}: expected a numpy.ndarray, got {type(x).__name__}")
    if ndim is not None and x.ndim != ndim:
        raise ShapeError(
            f"{name}: expected {ndim} dimensions{_fmt(shape)}, got shape {x.shape}"
        )
    if shape is not None:
        for want, got in zip(shape, x.shape):
            if want is not None and want != got:
                raise ShapeError(f"{name}: expected shape {_fmt_shape(shape)}, got {x.shape}")
    return x


def check_finite(name, x):
    """Raise ValueError if ``x`` holds NaN or infinity."""
    if not np.all(np.isfinite(x)):
        bad = int(np.size(x) - np.count_nonzero(np.isfinite(x)))
        raise ValueError(f"{name}: expected finite values, got {bad} NaN/inf entries")
    return x


def check_positive_int(name, value, minimum=1):
    """Check that ``value`` is an int >= ``minimum`` (bools are rejected)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value!r}")
    return int(value)


def check_positive_number(name, value):
    """Check that ``value`` is a finite real number > 0 (bools are rejected); return it as
    a float."""
    if (isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating))
            or not np.isfinite(value) or value <= 0):
        raise ValueError(f"{name}: expected a finite number > 0, got {value!r}")
    return float(value)


def check_index(name, value, size, what):
    """Check that ``value`` is an int in ``[0, size)`` (bools are rejected); ``what`` says
    what it indexes, for the message."""
    if (isinstance(value, bool) or not isinstance(value, (int, np.integer))
            or not 0 <= value < size):
        raise ValueError(f"{name}: expected an integer in [0, {size}) ({what}), got {value!r}")
    return int(value)


def check_length(name, value):
    """Check that ``value`` is a sequence length: an integer in
    ``[1, ntm_numpy.constants.MAX_LENGTH]``."""
    from .constants import MAX_LENGTH

    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not (
            1 <= value <= MAX_LENGTH):
        raise ValueError(f"{name}: expected a length from 1 to {MAX_LENGTH:,}, got {value!r}")
    return int(value)


def check_choice(name, value, choices):
    """Check that ``value`` is one of ``choices`` (an unhashable value is not one)."""
    try:
        known = value in choices
    except TypeError:  # e.g. a list looked up in a dict
        known = False
    if not known:
        raise ValueError(f"{name}: expected one of {sorted(choices)}, got {value!r}")
    return value


def _fmt_shape(shape):
    return "(" + ", ".join("?" if s is None else str(s) for s in shape) + ")"


def _fmt(shape):
    return "" if shape is None else " " + _fmt_shape(shape)


def check_seed(name, value):
    """Check that ``value`` is a non-negative integer seed (bools are rejected)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{name}: expected a non-negative integer, got {value!r}")
    return int(value)


def check_float_dtype(name, value):
    """``np.dtype(value)``, which must be float32 or float64."""
    try:
        dt = np.dtype(value)
    except TypeError:
        raise ValueError(f"{name}: expected float32 or float64, got {value!r}") from None
    if dt not in (np.float32, np.float64):
        raise ValueError(f"{name}: expected float32 or float64, got {dt}")
    return dt


def check_model_size(sizes, values):
    """Refuse a model of more than :data:`ntm_numpy.constants.MAX_MODEL_VALUES` values
    (parameters plus initial memory), before anything is allocated.

    ``sizes`` is a dict of the size arguments, named in the message; ``values`` the
    number of values the model would hold.
    """
    from .constants import MAX_MODEL_VALUES

    if values > MAX_MODEL_VALUES:
        given = ", ".join(f"{k}={v}" for k, v in sizes.items())
        raise ValueError(
            f"model sizes: expected a model of at most {MAX_MODEL_VALUES:,} values "
            f"(parameters and memory), got {values:,} from {given}")
    return values


def warn_deprecated(old, new, stacklevel=3):
    """Warn that the name ``old`` is a deprecated alias of ``new``.

    Parameters
    ----------
    old, new : str
        The deprecated name (an argument, attribute or flag) and the one to use instead.
    stacklevel : int
        Passed to :func:`warnings.warn`: 3 points at the caller of the function that
        calls this one.

    Warns
    -----
    DeprecationWarning
        Always; the alias is kept for one release.
    """
    warnings.warn(f"{old} is deprecated and will be removed in the next release; use {new}",
                  DeprecationWarning, stacklevel=stacklevel)


class DeprecatedAlias:
    """A class attribute that is a deprecated alias of another attribute.

    Reading or assigning it reads or assigns the attribute ``new`` and emits a
    :class:`DeprecationWarning` naming both (:func:`warn_deprecated`).

    Parameters
    ----------
    new : str
        The name of the attribute to use instead.

    Examples
    --------
    >>> class Model:
    ...     implementation = "reference"
    ...     step = DeprecatedAlias("implementation")
    """

    def __init__(self, new):
        self.new = new
        self.old = None
        self.__doc__ = f"Deprecated alias of ``{new}`` (warns; kept for one release)."

    def __set_name__(self, owner, name):
        self.owner, self.old = owner.__name__, name

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self
        warn_deprecated(f"{self.owner}.{self.old}", f"{self.owner}.{self.new}")
        return getattr(obj, self.new)

    def __set__(self, obj, value):
        warn_deprecated(f"{self.owner}.{self.old}", f"{self.owner}.{self.new}")
        setattr(obj, self.new, value)
