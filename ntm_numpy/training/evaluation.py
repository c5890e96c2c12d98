"""Scoring a model: bit errors and cost per sequence at given lengths, and when a
training run converged and settled.

Bit errors are counted on thresholded outputs (logit > 0); the cost is the paper's
"cost per sequence (bits)", the masked sigmoid cross-entropy summed over steps and
bits, in bits.
"""
import math

import numpy as np

from .._validation import check_choice, check_length, check_positive_int
from ..losses import sigmoid_cross_entropy_forward
from ..tasks import (
    TASKS,
    bit_errors_per_sequence,
    get_task,
    ngram_cost_bits_per_sequence,
    ngram_optimal_predictions,
)
from .config import CONVERGED_BIT_ERRORS, SETTLE_VALIDATIONS, TASK_DEFAULTS, recorded_settings
from .threads import single_blas_thread


def scores_on(model, batches):
    """Mean bit errors and cost (cross-entropy in bits) per sequence of ``model`` over a
    list of ``(x, y, mask)`` batches -> ``(bit_errors, cost_bits)``, two floats.

    Each batch holds x (T, B, X), y (T, B, Y) and mask (T, B), as ``Task.batch`` draws
    them; T and B may differ between batches. The means are over all the sequences.

    The cost is the paper's "cost per sequence (bits)": the masked sigmoid cross-entropy
    of the outputs, summed over steps and bits, in bits (nats / ln 2).
    """
    errors = cost = 0.0
    count = 0
    for x, y, mask in batches:
        logits = model.predict(x)  # no backward caches: memory independent of length
        per_seq = bit_errors_per_sequence(logits, y, mask)
        errors += float(per_seq.sum())
        nats, _ = sigmoid_cross_entropy_forward(logits, y, mask)  # mean over the batch
        cost += float(nats) * per_seq.size / math.log(2)
        count += per_seq.size
    return errors / count, cost / count


def bit_errors_on(model, batches):
    """Mean bit errors per sequence of ``model`` over a list of ``(x, y, mask)`` batches."""
    return scores_on(model, batches)[0]


#: What :func:`evaluate_scores` reports per length.
SCORES = ("bit_errors", "cost_bits")

#: What it reports in addition for the N-gram task: the Bayes-optimal estimator's cost on
#: the same sequences, and the model's cost above it (both in bits per sequence).
NGRAM_SCORES = ("optimal_cost_bits", "cost_above_optimum_bits")


def task_scores(task):
    """The scores :func:`evaluate_scores` gives for ``task`` (a Task): :data:`SCORES`,
    and :data:`NGRAM_SCORES` too for the N-gram task."""
    return SCORES + (NGRAM_SCORES if task.name == "ngrams" else ())


def task_measure(task):
    """The score the generalisation curves plot for ``task`` (a name or a Task):
    ``TASK_DEFAULTS[name]["measure"]``, ``"bit_errors"`` where it gives none."""
    name = task if isinstance(task, str) else getattr(task, "name", None)
    check_choice("task", name, TASKS)
    return TASK_DEFAULTS[name].get("measure", "bit_errors")


def evaluation_batches(task, length, *, sequences=128, batch_size=32, seed=1234,
                       dtype=np.float64):
    """The ``(x, y, mask)`` batches on which :func:`evaluate_scores` scores one length.

    ``sequences`` sequences of the task at ``length`` (its ``length`` override), in
    batches of at most ``batch_size``, drawn with ``numpy.random.default_rng([seed,
    length])``. A task draws one length (and repeat count) per batch, so the length is
    fixed here; so is the repeat count of repeat copy, which would otherwise be drawn
    once per batch and leave most counts untested (64 sequences in batches of 32 would
    see two of the ten): the sequences are split evenly over the task's counts,
    ``min_repeats..max_repeats`` (the first ``sequences % counts`` counts get one more;
    with fewer sequences than counts, the smallest counts are the ones evaluated).

    Returns
    -------
    list of ``(x, y, mask)`` tuples, as ``Task.batch`` draws them: x (T, b, X),
    y (T, b, Y), mask (T, b), with b <= ``batch_size`` sequences (T may differ between
    batches: for repeat copy it depends on the repeat count)
    """
    task = get_task(task) if isinstance(task, str) else task
    length = check_length("length", length)
    check_positive_int("sequences", sequences)
    check_positive_int("batch_size", batch_size)
    rng = np.random.default_rng([seed, length])
    if task.name == "repeat_copy":
        counts = range(task.params["min_repeats"], task.params["max_repeats"] + 1)
        share, extra = divmod(sequences, len(counts))
        groups = [(dict(repeats=r), share + (i < extra)) for i, r in enumerate(counts)]
    else:
        groups = [({}, sequences)]
    batches = []
    for fixed, left in groups:
        while left > 0:
            b = min(batch_size, left)
            batches.append(task.batch(rng, b, length=length, dtype=dtype, **fixed))
            left -= b
    return batches


def evaluate_scores(model, task, lengths, *, sequences=128, batch_size=32, seed=1234):
    """Bit errors and cost per sequence at each length, on the same sequences.

    Parameters
    ----------
    model : NTM or LSTMBaseline
    task : str or :class:`ntm_numpy.tasks.Task`
    lengths : iterable of int, passed as the task's ``length`` override
    sequences : sequences drawn per length
    batch_size : sequences per forward pass
    seed : seeds the evaluation data (the sequences of length L come from
        ``numpy.random.default_rng([seed, L])``; repeat copy's are spread evenly over its
        repeat counts, see :func:`evaluation_batches`)

    Returns
    -------
    dict length -> dict with ``"bit_errors"`` (mean bit errors per sequence) and
    ``"cost_bits"`` (mean cross-entropy per sequence, in bits); for the N-gram task also
    ``"optimal_cost_bits"``, the cost of the Bayes-optimal estimator
    (:func:`ntm_numpy.tasks.ngram_optimal_predictions`) on the same sequences, and
    ``"cost_above_optimum_bits"``, the model's cost minus that (:data:`NGRAM_SCORES`).
    """
    task = get_task(task) if isinstance(task, str) else task
    check_positive_int("sequences", sequences)
    check_positive_int("batch_size", batch_size)
    lengths = [check_length("lengths", length) for length in lengths]  # all, before any work
    results = {}
    with single_blas_thread():
        for length in lengths:
            batches = evaluation_batches(task, length, sequences=sequences,
                                         batch_size=batch_size, seed=seed, dtype=model.dtype)
            errors, cost = scores_on(model, batches)
            results[length] = dict(bit_errors=errors, cost_bits=cost)
            if task.name == "ngrams":
                k = task.params["context_length"]
                optimal = float(np.mean(np.concatenate([
                    ngram_cost_bits_per_sequence(ngram_optimal_predictions(x, k), y, mask)
                    for x, y, mask in batches])))
                results[length]["optimal_cost_bits"] = optimal
                results[length]["cost_above_optimum_bits"] = cost - optimal
    return results


def evaluate(model, task, lengths, *, sequences=128, batch_size=32, seed=1234,
             metric="bit_errors"):
    """Bit errors (or cost) per sequence at each length.

    Parameters
    ----------
    model : NTM or LSTMBaseline
    task : str or :class:`ntm_numpy.tasks.Task`
    lengths : iterable of int, passed as the task's ``length`` override
    sequences : sequences drawn per length
    seed : seeds the evaluation data
    metric : ``"bit_errors"`` (default) or ``"cost_bits"`` (cross-entropy per sequence,
        in bits), or for the N-gram task one of :data:`NGRAM_SCORES` too;
        :func:`evaluate_scores` gives them all

    Returns
    -------
    dict length -> mean bit errors (or cost in bits) per sequence
    """
    task = get_task(task) if isinstance(task, str) else task
    check_choice("metric", metric, task_scores(task))
    scores = evaluate_scores(model, task, lengths, sequences=sequences,
                             batch_size=batch_size, seed=seed)
    return {length: s[metric] for length, s in scores.items()}


def settled_index(val_bit_errors, validations=SETTLE_VALIDATIONS, threshold=None):
    """Index of the validation at which a run settles, or None if it has not.

    That is the last of the first ``validations`` validations in a row whose bit errors
    (``val_bit_errors``, a run's history) are below ``threshold`` (default
    :data:`CONVERGED_BIT_ERRORS`). With 1, the first validation below it; from the next
    update on, the run trains with ``lr_after_converged`` and
    ``task_settings_after_converged`` (:class:`TrainConfig`).
    """
    check_positive_int("validations", validations)
    threshold = CONVERGED_BIT_ERRORS if threshold is None else threshold
    run = 0
    for i, v in enumerate(val_bit_errors):
        run = run + 1 if v < threshold else 0
        if run == validations:
            return i
    return None


def checkpoint_settled_index(meta):
    """:func:`settled_index` of the run of a training checkpoint's ``meta``: the index,
    in ``meta["history"]``, of the validation at which it settled, or None (also for a
    checkpoint without validations)."""
    history = last_start(meta.get("history") or {})
    return settled_index(history.get("val_bit_errors") or [],
                         recorded_settings(meta.get("train_config"))["settle_validations"])


#: The entries of a training history recorded at each validation.
VALIDATION_KEYS = ("val_step", "val_sequences", "val_time", "val_bit_errors", "val_cost")


def last_start(history):
    """The history of a run's last start: ``history`` without the validations and the
    curriculum's stage ends from before its last restart (``history["restart_step"]``,
    see ``TrainConfig.restart_after``; the validation that made the run restart is left
    out too). The history itself when the run never restarted.

    Parameters
    ----------
    history : dict
        A training history (``TrainResult.history``, a checkpoint's ``meta["history"]``).

    Returns
    -------
    dict
        A shallow copy with those lists cut, or ``history`` itself.
    """
    restarts = history.get("restart_step") or []
    if not restarts:
        return history
    start = restarts[-1]
    keep = [i for i, step in enumerate(history["val_step"]) if step > start]
    out = dict(history)
    for key in VALIDATION_KEYS:
        if key in history:
            out[key] = [history[key][i] for i in keep]
    out["stage_end"] = [step for step in history.get("stage_end", []) if step > start]
    return out


def convergence(history, threshold=CONVERGED_BIT_ERRORS):
    """When the validation bit errors fell below ``threshold``, and whether they stayed.

    Returns ``(converged, worst)``: ``converged`` is None if no validation was below
    ``threshold``; otherwise a dict with ``step``, ``sequences`` and ``time`` (seconds)
    of the first one, plus ``stable_step``, ``stable_sequences`` and ``stable_time`` of
    the validation from which every later one stayed below ``threshold`` (all None if
    the last one is not below it). ``worst`` is the largest validation error from the
    first convergence on.
    """
    vals = history["val_bit_errors"]
    first = next((i for i, v in enumerate(vals) if v < threshold), None)
    if first is None:
        return None, None
    conv = dict(step=history["val_step"][first], sequences=history["val_sequences"][first],
                time=history["val_time"][first])
    stable = None
    for i in range(len(vals) - 1, -1, -1):
        if vals[i] >= threshold:
            break
        stable = i
    conv["stable_step"] = None if stable is None else history["val_step"][stable]
    conv["stable_sequences"] = None if stable is None else history["val_sequences"][stable]
    conv["stable_time"] = None if stable is None else history["val_time"][stable]
    return conv, float(max(vals[first:]))
