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

from ._checks import _check_dtype
from .ngrams import (
    PROB_FLOOR,  # noqa: F401 (a constant of the task, documented and imported by tests)
    _validate_ngrams,
    ngram_cost_bits,
    ngram_cost_bits_per_sequence,
    ngram_optimal_predictions,
    ngram_table,
    ngrams_batch,
)
from .scoring import bit_errors, bit_errors_per_sequence
from .sequences import (
    _validate_associative_recall,
    _validate_copy,
    _validate_priority_sort,
    _validate_repeat_copy,
    associative_recall_batch,
    copy_batch,
    priority_sort_batch,
    repeat_copy_batch,
)

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
