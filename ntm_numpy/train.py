"""Training and evaluation loops for the paper's tasks.

A training run is fully described by a :class:`TrainConfig`; with the same config it is
deterministic (same batches, same initial parameters, same updates), and a run resumed
from one of its checkpoints continues exactly as if it had not stopped.

One update (Graves et al. 2014, section 4: sigmoid outputs, cross-entropy, gradient
components clipped to +-10)::

    x, y, mask = task.batch(rng, batch_size)          # (T, B, .)
    logits, cache = model.forward(x)
    loss, lc = sigmoid_cross_entropy_forward(logits, y, mask)
    grads = model.backward(sigmoid_cross_entropy_backward(1.0, lc)[0], cache)
    grads, _ = clip_global_norm(clip_elementwise(grads, clip), clip_norm)
    optimizer.step(model.params, grads)

Departures from the paper: the paper trains with RMSProp (Graves 2013's form, with
momentum); the default here is Adam at batch size 16, with the global gradient norm
clipped too and the learning rate cut once validation converges (RMSProp is available
with ``optimizer="rmsprop"``). On the copy task this converged in fewer sequences and
in less wall-clock time in our runs (docs/results.md). Bit errors are counted on
thresholded outputs (logit > 0).

Workers (``TrainConfig(workers=n)``, ``ntm-numpy train --workers N``): the forward,
loss and backward of each update are shared by ``n`` processes, each with a slice of
the batch (:mod:`ntm_numpy.parallel`); the optimiser and everything else stay in the
training process. The gradients equal those of one process up to rounding.

Stopping: SIGINT (Ctrl-C), SIGTERM (what ``kill``, ``timeout`` and job schedulers send)
and SIGHUP (a closed terminal) received during :func:`train` (in the main thread) end
training at the end of the current update, and the checkpoint then written resumes
exactly like a periodic one; signals arriving while it is written wait until it is
complete. A run whose loss or parameters stop being finite stops with
:class:`TrainingDiverged`, keeping the last checkpoint.

Resuming (``train(resume=path, ...)``): the run's settings come from the checkpoint.
Settings in :data:`RESUME_CHANGEABLE` may be given with new values and apply from the
resume step on; any other setting given must equal the checkpoint's. ``steps`` is the
run's total number of updates (at least the checkpoint's step). Changing ``steps``,
``lr`` or ``lr_schedule`` starts a new learning-rate schedule at the resume step, from
``lr`` (default: the rate the run had reached, so there is no jump) over the remaining
updates.
"""
import contextlib
import math
import os
import signal
import sys
import threading
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Optional

import numpy as np

from ._threads import single_blas_thread
from ._validation import check_choice, check_positive_int, check_seed
from .baseline import LSTMBaseline
from .constants import ADAM_EPS, ADAM_LR, CLIP_VALUE, RMSPROP_LR
from .losses import sigmoid_cross_entropy_forward
from .model import NTM, NTM_OPTIONS, STEPS, load
from .optim import clip_elementwise, clip_global_norm, make_optimizer
from .parallel import BatchWorkers, WorkerError, batch_slices
from .tasks import (
    TASKS,
    bit_errors_per_sequence,
    get_task,
    ngram_cost_bits_per_sequence,
    ngram_optimal_predictions,
)

#: Model and training defaults per task (the paper's section 4 architectures:
#: an LSTM controller of 100 units, 128 x 20 memory, one read and one write head).
#: ``task_settings_after_converged`` is the default curriculum of a run with the task's
#: default settings: copy goes on to lengths 1-60 once lengths 1-20 are learnt, after
#: which 11 of 12 seeds of the default run copy lengths 40 and 80 (docs/results.md);
#: ``settle_validations`` how many validations in a row below 0.1 bit errors "learnt"
#: takes then (5: a run switched at its first one can lose what it had just learnt).
#: ``measure`` is the score of :func:`evaluate_scores` that the generalisation curves
#: of ``ntm-numpy train`` and ``ntm-numpy evaluate`` plot (``"bit_errors"`` where not
#: given): the paper reports the N-gram task and priority sort by their cost.
TASK_DEFAULTS = {
    "copy": dict(steps=5000, lengths=(10, 20, 40, 80, 120),
                 task_settings_after_converged=dict(max_length=60), settle_validations=5),
    "repeat_copy": dict(steps=12000, lengths=(5, 10, 15, 20)),
    "associative_recall": dict(steps=12000, lengths=(2, 6, 10, 12)),
    "ngrams": dict(steps=3000, lengths=(200,), measure="cost_above_optimum_bits"),
    "priority_sort": dict(steps=12000, lengths=(20,), measure="cost_bits"),
}

#: The lists of a training history (:class:`TrainResult`).
HISTORY_KEYS = ("step", "sequences", "time", "loss", "bit_errors", "val_step", "val_sequences",
                "val_time", "val_bit_errors", "val_cost")

#: Threshold on validation bit errors per sequence that counts as "converged".
CONVERGED_BIT_ERRORS = 0.1

#: Default global-norm clip applied after the element-wise one. At 1, about the median
#: gradient norm of a trained copy model on a batch of 16, nearly every gradient is
#: scaled to unit norm, so a rare batch with a gradient 100 times the usual one moves
#: Adam no further than any other: with 10, such batches knocked converged copy runs
#: back up (seed 0 relapsed and ended at 0.37 bit errors per sequence); the comparison
#: over 12 seeds is in docs/results.md.
CLIP_NORM = 1.0

#: Default factor on the learning rate once the run has settled (validation below
#: CONVERGED_BIT_ERRORS, see :func:`settled_index`): smaller steps keep a converged model
#: from relapsing on a rare hard batch.
LR_AFTER_CONVERGED = 0.2

#: Default number of validations in a row below :data:`CONVERGED_BIT_ERRORS` after which
#: a run switches to ``lr_after_converged`` and ``task_settings_after_converged`` (a
#: task's default curriculum may ask for more, :data:`TASK_DEFAULTS`).
SETTLE_VALIDATIONS = 1

#: Where the cosine schedule ends, as a fraction of the initial learning rate. Adam's
#: steps keep their size however small the gradient gets, so a converged model keeps
#: moving at a constant rate; letting the rate fall towards 0 makes it settle.
LR_FINAL_FRACTION = 0.01


#: Settings a resumed run may change (they apply from the resume step on); any other
#: setting given on resume must equal the checkpoint's.
RESUME_CHANGEABLE = ("steps", "lr", "lr_schedule", "lr_after_converged", "batch_size", "clip",
                     "clip_norm", "eval_every", "checkpoint_every", "step",
                     "task_settings_after_converged", "settle_validations", "workers")


class TrainingDiverged(RuntimeError):
    """The loss or the parameters of a training run stopped being finite."""


def learning_rate(config, step, converged):
    """Learning rate of update number ``step`` (0-based) of a run with ``config``.

    The schedule runs from ``config.lr`` at update ``config.lr_start_step`` (0 unless a
    resumed run started a new schedule) to the last update, ``config.steps - 1``;
    ``converged`` says whether the run has settled before this update
    (:func:`settled_index`), which multiplies the rate by ``config.lr_after_converged``.
    """
    lr = config.lr
    start = config.lr_start_step
    if config.lr_schedule == "cosine" and config.steps - start > 1:
        frac = min(max(step - start, 0) / (config.steps - 1 - start), 1.0)
        lr = lr * (LR_FINAL_FRACTION + (1 - LR_FINAL_FRACTION) * 0.5 * (1 + math.cos(math.pi * frac)))
    return lr * (config.lr_after_converged if converged else 1.0)


def _with_ntm_options(cls):
    """Add one field per NTM architecture option (:data:`ntm_numpy.model.NTM_OPTIONS`),
    with the option's type and default, before ``cls`` becomes a dataclass."""
    for name, opt in NTM_OPTIONS.items():
        cls.__annotations__[name] = opt.type
        setattr(cls, name, opt.default)
    return cls


@dataclass
@_with_ntm_options
class TrainConfig:
    """Everything that defines a training run.

    Attributes
    ----------
    task : one of :data:`ntm_numpy.tasks.TASKS`
    steps : number of updates (default: per task, :data:`TASK_DEFAULTS`)
    batch_size : sequences per update
    optimizer : "adam" or "rmsprop"
    lr : learning rate (default the optimiser's, :data:`ntm_numpy.constants.ADAM_LR` or
        :data:`ntm_numpy.constants.RMSPROP_LR`)
    clip : element-wise gradient clip (the paper's +-10); ``clip_norm`` then also clips
        the global norm (None: not at all)
    lr_after_converged : factor applied to the learning rate once the run has settled
        (see ``settle_validations``; 1.0: no change)
    eps : the optimiser's epsilon (default :data:`ntm_numpy.constants.ADAM_EPS` for Adam,
        the optimiser's own default for RMSProp)
    lr_schedule : "cosine" (default: the rate falls along half a cosine from ``lr`` at
        the first update to ``LR_FINAL_FRACTION * lr`` at the last) or "constant"
    seed : seeds the parameters (``seed``) and the data (``[seed, 1]``, ``[seed, 2]``
        for the validation set)
    dtype : "float32" (default, faster) or "float64"
    model : "ntm" or "lstm" (the baseline without memory)
    step : the NTM's time step, "reference" (default, the primitives, as everywhere in
        the Python API) or "fused" (the same maths rearranged for speed, what
        ``ntm-numpy train`` runs by default); a run may be resumed with the other
    controller_size, memory_rows, memory_width, read_heads, write_heads, shift_range,
    controller, memory_init : the NTM's architecture, one field per entry of
        :data:`ntm_numpy.model.NTM_OPTIONS` (same names and defaults); ``hidden_size`` the
        baseline's
    task_settings : settings of the task (keyword arguments of
        :func:`ntm_numpy.tasks.get_task`, e.g. ``{"max_length": 10}``)
    task_settings_after_converged : task settings that replace those of
        ``task_settings`` for the training batches once the run has settled (see
        ``settle_validations``), e.g. ``{"max_length": 40}`` to go on training a
        converged copy model on longer sequences (the validation set keeps the
        ``task_settings``); ``{}``: no change; None (default): the task's default
        curriculum (``TASK_DEFAULTS``; copy: ``{"max_length": 60}``) when
        ``task_settings`` is empty, else ``{}`` (the default curriculum is made for the
        task's default settings)
    settle_validations : the run has settled at the end of the first
        ``settle_validations`` validations in a row whose bit errors are below
        :data:`CONVERGED_BIT_ERRORS` (:func:`settled_index`); from the next update on it
        trains with ``lr_after_converged`` and ``task_settings_after_converged``. None
        (default): the task's default curriculum's (``TASK_DEFAULTS``; copy: 5) when
        that curriculum applies, else :data:`SETTLE_VALIDATIONS` (1). Reports of
        convergence (:func:`convergence`) count from the first validation below
        :data:`CONVERGED_BIT_ERRORS` whatever this is
    eval_every : updates between validation runs
    val_batches, val_batch_size : the fixed validation set
    checkpoint_every : updates between checkpoints (when an output directory is given)
    lr_start_step : the update at which the schedule of ``lr`` starts: 0, or the step at
        which a resumed run started a new schedule (see the module notes)
    workers : processes that share each update's batch (:mod:`ntm_numpy.parallel`):
        1 (default) computes it in the training process; ``n`` cuts it into ``n``
        slices, one for the training process and one for each of ``n - 1`` workers.
        The gradients are the same up to rounding, so a run with 2 workers is
        reproducible but not bit for bit the run with 1
    """

    task: str = "copy"
    steps: Optional[int] = None
    batch_size: int = 16
    optimizer: str = "adam"
    lr: Optional[float] = None
    clip: float = CLIP_VALUE
    clip_norm: Optional[float] = CLIP_NORM
    lr_after_converged: float = LR_AFTER_CONVERGED
    lr_schedule: str = "cosine"
    eps: Optional[float] = None
    seed: int = 0
    dtype: str = "float32"
    model: str = "ntm"
    step: str = "reference"
    # the NTM's architecture: added by _with_ntm_options from NTM_OPTIONS
    hidden_size: int = 256
    eval_every: int = 100
    val_batches: int = 10
    val_batch_size: int = 32
    checkpoint_every: int = 1000
    task_settings: dict = field(default_factory=dict)
    task_settings_after_converged: Optional[dict] = None
    settle_validations: Optional[int] = None
    lr_start_step: int = 0
    workers: int = 1

    def __post_init__(self):
        check_choice("task", self.task, TASKS)
        if self.steps is None:
            self.steps = TASK_DEFAULTS[self.task]["steps"]
        curriculum = TASK_DEFAULTS[self.task].get("task_settings_after_converged", {})
        if self.task_settings_after_converged is None:
            self.task_settings_after_converged = {} if self.task_settings else dict(curriculum)
        if self.settle_validations is None:
            default_curriculum = bool(curriculum) and (
                not self.task_settings and self.task_settings_after_converged == curriculum)
            self.settle_validations = (TASK_DEFAULTS[self.task]["settle_validations"]
                                       if default_curriculum else SETTLE_VALIDATIONS)
        if self.lr is None:
            self.lr = ADAM_LR if self.optimizer == "adam" else RMSPROP_LR
        if self.eps is None and self.optimizer == "adam":
            self.eps = ADAM_EPS
        if self.eps is not None and not (isinstance(self.eps, (int, float))
                                         and math.isfinite(self.eps) and self.eps > 0):
            raise ValueError(f"eps: expected a finite number > 0, got {self.eps!r}")
        check_positive_int("steps", self.steps, minimum=0)
        check_positive_int("batch_size", self.batch_size)
        batch_slices(self.batch_size, self.workers)  # workers: between 1 and batch_size
        check_choice("optimizer", self.optimizer, ("adam", "rmsprop"))
        check_choice("dtype", self.dtype, ("float32", "float64"))
        check_choice("model", self.model, ("ntm", "lstm"))
        check_choice("step", self.step, tuple(STEPS))
        check_choice("lr_schedule", self.lr_schedule, ("cosine", "constant"))
        check_positive_int("eval_every", self.eval_every)
        check_positive_int("settle_validations", self.settle_validations)
        check_positive_int("val_batches", self.val_batches)
        check_positive_int("val_batch_size", self.val_batch_size)
        check_positive_int("checkpoint_every", self.checkpoint_every)
        check_seed("seed", self.seed)
        check_positive_int("lr_start_step", self.lr_start_step, minimum=0)
        if self.lr_start_step > self.steps:
            raise ValueError(f"lr_start_step: expected at most steps ({self.steps}), got "
                             f"{self.lr_start_step}")
        for name in ("task_settings", "task_settings_after_converged"):
            if not isinstance(getattr(self, name), dict):
                raise ValueError(f"{name}: expected a dict, got "
                                 f"{type(getattr(self, name)).__name__}")
        if self.task_settings_after_converged:
            try:
                self.make_task(after_converged=True)
            except ValueError as err:
                raise ValueError(f"task_settings_after_converged: {err}") from None
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr: expected a finite number > 0, got {self.lr!r}")
        if not (isinstance(self.lr_after_converged, (int, float))
                and 0 < self.lr_after_converged <= 1):
            raise ValueError("lr_after_converged: expected a number in (0, 1], got "
                             f"{self.lr_after_converged!r}")
        if self.clip_norm is not None and not (math.isfinite(self.clip_norm)
                                               and self.clip_norm > 0):
            raise ValueError(f"clip_norm: expected a finite number > 0 or None, got "
                             f"{self.clip_norm!r}")
        if not (math.isfinite(self.clip) and self.clip > 0):
            raise ValueError(f"clip: expected a finite number > 0, got {self.clip!r}")

    @classmethod
    def from_dict(cls, d):
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"config: unknown training settings {unknown}")
        return cls(**d)

    def make_task(self, after_converged=False):
        """The task of the training batches (once the run has settled, with
        ``after_converged``, the task with ``task_settings_after_converged`` on top of
        ``task_settings``)."""
        settings = dict(self.task_settings)
        if after_converged:
            settings.update(self.task_settings_after_converged)
        return get_task(self.task, **settings)

    def make_model(self):
        task = self.make_task()
        if self.model == "lstm":
            return LSTMBaseline(task.input_size, task.output_size, hidden_size=self.hidden_size,
                                seed=self.seed, dtype=self.dtype)
        options = {name: getattr(self, name) for name in NTM_OPTIONS}
        return NTM(task.input_size, task.output_size, seed=self.seed, dtype=self.dtype,
                   step=self.step, **options)


@dataclass
class TrainResult:
    """What :func:`train` returns.

    ``history`` holds lists: ``step``, ``sequences``, ``time``, ``loss``, ``bit_errors``
    (training batches, logged every ``log_every`` updates) and ``val_step``,
    ``val_sequences``, ``val_time``, ``val_bit_errors``, ``val_cost`` (validation set;
    the cost is the cross-entropy per sequence in bits, ``None`` for validations of runs
    resumed from checkpoints that did not record it).
    ``converged`` describes the first validation below :data:`CONVERGED_BIT_ERRORS`
    (step, sequences, seconds) or is None; ``worst_after_converged`` is the largest
    validation error after it.
    """

    model: object
    config: TrainConfig
    history: dict
    step: int
    sequences: int
    elapsed: float
    interrupted: bool = False
    converged: Optional[dict] = None
    worst_after_converged: Optional[float] = None
    #: the signal that stopped the run (``signal.SIGINT`` also for a KeyboardInterrupt
    #: raised by a callback), None if it ran to the end
    stop_signal: Optional[int] = None


def _validation_set(config, task, dtype):
    rng = np.random.default_rng([config.seed, 2])
    return [task.batch(rng, config.val_batch_size, dtype=dtype) for _ in range(config.val_batches)]


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
    length = check_positive_int("length", length)
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
    results = {}
    with single_blas_thread():
        for length in lengths:
            length = check_positive_int("lengths", length)
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


class _Progress:
    """One line of progress: step, sequences, loss, bit errors, speed, time left.

    A stream that fails (a closed terminal after SIGHUP) is dropped, not fatal: training
    goes on to write its checkpoint.
    """

    def __init__(self, stream, total_steps):
        self.stream = stream
        self.total = total_steps
        self.tty = hasattr(stream, "isatty") and stream.isatty()

    def write(self, text):
        if self.stream is None:
            return
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # EIO/EPIPE from a closed terminal, a closed file
            self.stream = None

    def show(self, step, sequences, loss, bits, val, speed, left, final=False, val_cost=None):
        cost_txt = "" if val_cost is None else f", cost {val_cost:.2f} bits"
        val_txt = "" if val is None else f" (val {val:.3f}{cost_txt})"
        mins, secs = divmod(int(left), 60)
        line = (f"step {step:>6}/{self.total} | seqs {sequences:>9,} | loss {loss:8.3f} | "
                f"bit errors/seq {bits:7.3f}{val_txt} | {speed:7.0f} seq/s | "
                f"left {mins:d}:{secs:02d}")
        if self.tty and not final:
            self.write("\r" + line + "   ")
        else:
            self.write(("\r" if self.tty else "") + line + "\n")


#: The signals that stop training with a checkpoint (those this platform has).
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP")
                     if hasattr(signal, name))


@contextlib.contextmanager
def _deferred_signals():
    """Within the block, :data:`STOP_SIGNALS` only record the first one received; the
    function yielded returns its number (or None). A signal the process ignores (SIGHUP
    under ``nohup``) stays ignored.

    Outside the main thread (where signal handlers cannot be installed) it does nothing
    and the function always returns None.
    """
    state = {"signum": None}
    if threading.current_thread() is not threading.main_thread():
        yield lambda: None
        return

    def handler(signum, frame):
        if state["signum"] is None:
            state["signum"] = signum

    previous = {}
    try:
        for signum in STOP_SIGNALS:
            if signal.getsignal(signum) == signal.SIG_IGN:
                continue  # ignored on purpose, e.g. SIGHUP under nohup: keep it ignored
            previous[signum] = signal.signal(signum, handler)
        yield lambda: state["signum"]
    finally:
        for signum, old in previous.items():
            signal.signal(signum, signal.SIG_DFL if old is None else old)


def _checkpoint(path, model, optimizer, config, rng, step, sequences, elapsed, history,
                resumes):
    meta = dict(train_config=asdict(config), step=step, sequences=sequences, elapsed=elapsed,
                rng_state=rng.bit_generator.state, optimizer=optimizer.config(),
                history=history, resumes=resumes)
    model.save(path, state=optimizer.state_dict(), meta=meta)


def check_out_dir(out_dir, *, resume=None, overwrite=False, names=None):
    """Check, before any training, that ``out_dir`` can take a run's checkpoint.

    Creates the directory. Refuses one that already holds a ``checkpoint.npz``, unless
    it is the checkpoint being resumed or ``overwrite`` is true. ``names`` maps
    ``out_dir``, ``resume`` and ``overwrite`` to the names the messages use (the command
    line passes its flags). Returns the checkpoint's path.
    """
    names = {"out_dir": "out_dir", "resume": "resume", "overwrite": "overwrite=True",
             **(names or {})}
    out_dir = os.fspath(out_dir)
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise ValueError(f"{names['out_dir']}: expected a directory for the run, got "
                         f"{out_dir!r}, an existing file")
    path = os.path.join(out_dir, "checkpoint.npz")
    if os.path.isdir(path):
        raise ValueError(f"{names['out_dir']}: the run's checkpoint would be {path!r}, "
                         "which is a directory")
    if os.path.exists(path) and not overwrite:
        if resume is None or not os.path.exists(resume) or not os.path.samefile(resume, path):
            raise ValueError(
                f"{names['out_dir']}: {out_dir!r} already holds a run's checkpoint; continue "
                f"it with {names['resume']} {path}, choose another directory, or pass "
                f"{names['overwrite']} to replace it")
    os.makedirs(out_dir, exist_ok=True)
    if not os.access(out_dir, os.W_OK | os.X_OK):
        raise PermissionError(f"{names['out_dir']}: cannot write into {out_dir!r}")
    return path


def _resume_config(saved, step, overrides, path):
    """The config of a run resumed at ``step`` from ``saved`` with ``overrides`` given;
    returns ``(config, changes)``, ``changes`` mapping each changed setting to
    ``[old, new]``. See the module notes for the rules."""
    old = asdict(saved)
    changes = {}
    for key, value in overrides.items():
        if key not in old:
            raise ValueError(f"{key}: not a training setting; expected one of {sorted(old)}")
        if value is None and key in ("steps", "lr", "eps"):
            continue  # None is "the default": nothing given
        if key == "lr_start_step" or value == old[key]:
            continue
        if key not in RESUME_CHANGEABLE:
            raise ValueError(
                f"{key}: cannot be changed when resuming (the checkpoint {os.fspath(path)!r} "
                f"was trained with {key}={old[key]!r}, got {value!r}); settings that can "
                f"change: {', '.join(RESUME_CHANGEABLE)}")
        changes[key] = value
    if "steps" in changes:
        steps = check_positive_int("steps", changes["steps"], minimum=0)
        if steps < step:
            raise ValueError(
                f"steps: the run's total number of updates; the checkpoint is already at "
                f"step {step} (of {saved.steps}), so expected at least {step}, got {steps}")
    new = {**old, **changes}
    if {"steps", "lr", "lr_schedule"} & set(changes):
        # a new schedule from the resume step, from the rate reached unless lr is given
        given = overrides.get("lr")
        new["lr"] = learning_rate(saved, step, False) if given is None else given
        new["lr_start_step"] = step
        changes["lr"] = [learning_rate(saved, step, False), new["lr"]]
    config = TrainConfig.from_dict(new)
    return config, {k: (v if k == "lr" else [old[k], v]) for k, v in changes.items()}


def _fmt(value):
    return f"{value:g}" if isinstance(value, float) else repr(value)


def train(config=None, *, out_dir=None, resume=None, log_every=50, stream=None,
          callback=None, overwrite=False, **overrides):
    """Train a model on one of the paper's tasks.

    Parameters
    ----------
    config : TrainConfig, optional (built from ``overrides`` when omitted, e.g.
        ``train(task="copy", steps=200)``)
    out_dir : directory for ``checkpoint.npz`` (every ``checkpoint_every`` updates, at
        the end, and when stopped by a signal); None writes nothing. A directory that
        already holds a checkpoint is refused, unless it is the one resumed or
        ``overwrite`` is true (checked before training starts).
    resume : path of a checkpoint written by a previous run to continue from; the run's
        settings come from the checkpoint; those in :data:`RESUME_CHANGEABLE` may be
        changed (``steps`` extends the run, ``lr`` starts a new schedule at the resume
        step), any other setting given must equal the checkpoint's
    log_every : updates between progress lines (and history entries)
    stream : where progress goes (default ``sys.stderr``; None-like ``False`` for silence)
    callback : called as ``callback(step, history)`` after every logged update
    overwrite : replace a checkpoint already in ``out_dir``

    Returns
    -------
    TrainResult

    Raises
    ------
    ValueError
        Bad settings, a refused resume setting or output directory (nothing is written).
    TrainingDiverged
        The loss or the parameters became NaN or infinite; the last checkpoint written
        (if any) is kept.
    """
    if resume is not None:
        if config is not None:
            overrides = {**asdict(config), **overrides}
    elif config is None:
        config = TrainConfig(**overrides)
    elif overrides:
        config = TrainConfig.from_dict({**asdict(config), **overrides})
    log_every = check_positive_int("log_every", log_every)
    stream = sys.stderr if stream is None else stream
    ckpt_path = None
    if out_dir is not None:
        ckpt_path = check_out_dir(out_dir, resume=resume, overwrite=overwrite)
    history = {k: [] for k in HISTORY_KEYS}
    step = sequences = 0
    elapsed = 0.0
    resumes = []
    resume_note = None
    if resume is not None:
        model, ckpt = load(resume, return_checkpoint=True)
        meta = ckpt.meta
        if "train_config" not in meta:
            raise ValueError(f"resume: expected a checkpoint written by training, got {resume}")
        saved = TrainConfig.from_dict(recorded_settings(meta["train_config"]))
        step, sequences, elapsed = meta["step"], meta["sequences"], meta["elapsed"]
        config, changes = _resume_config(saved, step, overrides, resume)
        if isinstance(model, NTM):
            model.step = config.step
        task = config.make_task()
        rng = np.random.default_rng([config.seed, 1])
        optimizer = make_optimizer(**meta["optimizer"])
        optimizer.load_state_dict(ckpt.state)
        rng.bit_generator.state = meta["rng_state"]
        history = meta["history"]
        # checkpoints written before the validation cost was recorded have no such list
        history.setdefault("val_cost", [None] * len(history["val_step"]))
        resumes = list(meta.get("resumes") or [])
        resumes.append(dict(path=os.fspath(resume), step=step, changes=changes))
        changed = "".join(f"; {k} {_fmt(a)} -> {_fmt(b)}" for k, (a, b) in changes.items())
        if {"steps", "lr", "lr_schedule"} & set(changes):
            changed += f" (a new {config.lr_schedule} learning-rate schedule from here)"
        resume_note = f"resumed {os.fspath(resume)} at step {step} of {config.steps}{changed}\n"
    else:
        task = config.make_task()
        rng = np.random.default_rng([config.seed, 1])
        model = config.make_model()
        optimizer = make_optimizer(config.optimizer, lr=config.lr,
                                   **({} if config.eps is None else {"eps": config.eps}))
    dtype = model.dtype
    val_set = _validation_set(config, task, dtype)
    progress = _Progress(stream, config.steps) if stream else None
    if progress and resume_note:
        progress.write(resume_note)
    saved_step = step if resume is not None else None

    def save():
        nonlocal saved_step
        if ckpt_path is None:
            return
        bad = [k for k, v in model.params.items() if not np.all(np.isfinite(v))]
        if bad:
            diverged(f"parameters {bad} are not finite")
        _checkpoint(ckpt_path, model, optimizer, config, rng, step, sequences,
                    elapsed, history, resumes)
        saved_step = step

    def diverged(what):
        kept = ("no checkpoint was written" if saved_step is None or ckpt_path is None else
                f"the checkpoint of step {saved_step} in {ckpt_path} is kept")
        raise TrainingDiverged(
            f"training diverged at step {step}: {what}; {kept}. Try a lower learning rate "
            f"(lr: this run uses {config.lr:g})")

    interrupted = False
    stop_signal = None
    run_start = time.perf_counter() - elapsed
    window_loss = window_bits = 0.0
    window_n = 0
    speed_t, speed_seqs = time.perf_counter(), sequences
    last_val = history["val_bit_errors"][-1] if history["val_bit_errors"] else None
    # settled: the run trains with lr_after_converged and task_settings_after_converged
    converged = settled_index(history["val_bit_errors"], config.settle_validations) is not None
    train_task = task
    with single_blas_thread(), _deferred_signals() as signal_received, \
            BatchWorkers(model, config.workers) as gradients_of:
        try:
            while step < config.steps:
                optimizer.lr = learning_rate(config, step, converged)
                if converged and train_task is task and config.task_settings_after_converged:
                    train_task = config.make_task(after_converged=True)
                x, y, mask = train_task.batch(rng, config.batch_size, dtype=dtype)
                try:
                    # forward, loss and backward (of the batch's slices, with workers)
                    logits, loss, grads = gradients_of(x, y, mask)
                except FloatingPointError as err:  # under np.seterr(all="raise")
                    diverged(f"{err} in update {step + 1}")
                except WorkerError:
                    save()  # the update did not happen: the checkpoint is the last one's
                    raise
                if not np.isfinite(logits).all():
                    diverged(f"the outputs of update {step + 1} are not finite")
                if not math.isfinite(loss):
                    diverged(f"the loss of update {step + 1} is {loss}")
                grads = clip_elementwise(grads, config.clip)
                if config.clip_norm is not None:
                    grads, _ = clip_global_norm(grads, config.clip_norm)
                try:
                    optimizer.step(model.params, grads)
                except FloatingPointError as err:
                    diverged(f"{err} in update {step + 1}")
                step += 1
                if not all(np.isfinite(v).all() for v in model.params.values()):
                    diverged(f"the parameters are not finite after update {step}")
                sequences += config.batch_size
                window_loss += loss
                window_bits += float(bit_errors_per_sequence(logits, y, mask).mean())
                window_n += 1
                if step % config.eval_every == 0 or step == config.steps:
                    last_val, val_cost = scores_on(model, val_set)
                    if not math.isfinite(last_val):
                        diverged(f"the validation bit errors are {last_val}")
                    elapsed = time.perf_counter() - run_start
                    history["val_step"].append(step)
                    history["val_sequences"].append(sequences)
                    history["val_time"].append(elapsed)
                    history["val_bit_errors"].append(last_val)
                    history["val_cost"].append(val_cost)
                    converged = converged or settled_index(
                        history["val_bit_errors"][-config.settle_validations:],
                        config.settle_validations) is not None
                if step % log_every == 0 or step == config.steps:
                    now = time.perf_counter()
                    elapsed = now - run_start
                    speed = (sequences - speed_seqs) / max(now - speed_t, 1e-9)
                    speed_t, speed_seqs = now, sequences
                    history["step"].append(step)
                    history["sequences"].append(sequences)
                    history["time"].append(elapsed)
                    history["loss"].append(window_loss / window_n)
                    history["bit_errors"].append(window_bits / window_n)
                    if progress:
                        left = (config.steps - step) * config.batch_size / max(speed, 1e-9)
                        progress.show(step, sequences, window_loss / window_n,
                                      window_bits / window_n, last_val, speed, left,
                                      final=step == config.steps,
                                      val_cost=history["val_cost"][-1]
                                      if history["val_cost"] else None)
                    window_loss = window_bits = 0.0
                    window_n = 0
                    if callback is not None:
                        callback(step, history)
                if ckpt_path is not None and step % config.checkpoint_every == 0:
                    save()
                if signal_received() is not None:
                    stop_signal = signal_received()
                    break
        except KeyboardInterrupt:  # raised by a callback (or outside the main thread)
            stop_signal = signal.SIGINT
        if stop_signal is not None:
            interrupted = True
            if progress:
                name = signal.Signals(stop_signal).name
                progress.write(f"\n{name}: stopped at step {step}; saving the checkpoint\n")
        # the final save runs with the stop signals still deferred: it always completes
        elapsed = time.perf_counter() - run_start
        save()
        if stop_signal is None and signal_received() is not None:  # came during the save
            stop_signal = signal_received()
            interrupted = True
    converged, worst = convergence(history)
    return TrainResult(model, config, history, step, sequences, elapsed, interrupted,
                       converged, worst, stop_signal)


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


def recorded_settings(train_config):
    """A checkpoint's ``meta["train_config"]`` with the settings it predates filled in as
    its run trained: runs saved before the step could be chosen ran what is now the fused
    step, those saved before ``task_settings_after_converged`` existed had no curriculum,
    and those saved before ``settle_validations`` existed switched at the first
    validation below :data:`CONVERGED_BIT_ERRORS`."""
    return {"step": "fused", "task_settings_after_converged": {}, "settle_validations": 1,
            **(train_config or {})}


def checkpoint_settled_index(meta):
    """:func:`settled_index` of the run of a training checkpoint's ``meta``: the index,
    in ``meta["history"]``, of the validation at which it settled, or None (also for a
    checkpoint without validations)."""
    history = meta.get("history") or {}
    return settled_index(history.get("val_bit_errors") or [],
                         recorded_settings(meta.get("train_config"))["settle_validations"])


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
