"""The training loop: :func:`train` runs a :class:`~ntm_numpy.training.TrainConfig` to the end,
with checkpoints, validation, progress and clean stops.

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
in less wall-clock time in our runs (docs/results/copy.md). Bit errors are counted on
thresholded outputs (logit > 0).

Workers (``TrainConfig(workers=n)``, ``ntm-numpy train --workers N``): the forward,
loss and backward of each update are shared by ``n`` processes, each with a slice of
the batch (:mod:`ntm_numpy.training.parallel`); the optimiser and everything else stay in the
training process. The gradients equal those of one process up to rounding.

Stopping: SIGINT (Ctrl-C), SIGTERM (what ``kill``, ``timeout`` and job schedulers send)
and SIGHUP (a closed terminal) received during :func:`train` (in the main thread) end
training at the end of the current update, and the checkpoint then written resumes
exactly like a periodic one; signals arriving while it is written wait until it is
complete. A run whose loss or parameters stop being finite stops with
:class:`TrainingDiverged`, keeping the last checkpoint.

Resuming (``train(resume=path, ...)``): the run's settings come from the checkpoint.
Settings in :data:`RESUME_CHANGEABLE` may be given with new values and apply from the
resume update on; any other setting given must equal the checkpoint's. ``updates`` is
the run's total number of updates (at least the number the checkpoint has done).
Changing ``updates``, ``lr`` or ``lr_schedule`` starts a new learning-rate schedule at
the resume update, from ``lr`` (default: the rate the run had reached, so there is no
jump) over the remaining updates.

Restarts (``TrainConfig(restart_after=U, restart_above=X)``): a run none of whose
validations since its start has reached ``X`` by ``U`` updates after it starts again,
within its own ``updates``, from the initial parameters of another seed
(:func:`~ntm_numpy.training.defaults.restart_seed`), with a new optimiser state, learning-rate schedule
and curriculum; the batches go on. ``history["restart_step"]`` records the updates, and
what the run reports about convergence is of its last start
(:func:`~ntm_numpy.training.evaluation.last_start`).

Checkpoints hold the settings flat (:meth:`TrainConfig.to_flat`, with the names of
today); those written before ``steps`` and ``step`` were renamed ``updates`` and
``implementation`` are read as they are (:func:`recorded_settings`). The history and
the checkpoint keep the key ``step`` for the number of updates done.
"""
import contextlib
import math
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from .._validation import check_positive_int
from ..model import NTM, load
from ..optim import make_optimizer
from .config import (
    CURRICULUM_BIT_ERRORS,
    CURRICULUM_TARGET_SHARE,
    RESUME_CHANGEABLE,
    TrainConfig,
    learning_rate,
    recorded_settings,
    renamed_settings,
    restart_seed,
)
from .evaluation import convergence, last_start, scores_on, settled_index
from .lock import folder_lock
from .parallel import BatchWorkers, WorkerError
from .step import train_step
from .threads import single_blas_thread

HISTORY_KEYS = ("step", "sequences", "time", "loss", "bit_errors", "val_step", "val_sequences",
                "val_time", "val_bit_errors", "val_cost", "stage_end", "restart_step")


class TrainingDiverged(RuntimeError):
    """The loss or the parameters of a training run stopped being finite."""


@dataclass
class TrainResult:
    """What :func:`train` returns.

    ``history`` holds lists: ``step`` (the number of updates done), ``sequences``,
    ``time``, ``loss``, ``bit_errors`` (training batches, logged every ``log_every``
    updates) and ``val_step``,
    ``val_sequences``, ``val_time``, ``val_bit_errors``, ``val_cost`` (validation set;
    the cost is the cross-entropy per sequence in bits, ``None`` for validations of runs
    resumed from checkpoints that did not record it), and ``stage_end``: the update at
    which each stage of the curriculum (``task_stages``) was passed.
    ``converged`` describes the first validation below :data:`CONVERGED_BIT_ERRORS`
    (update, sequences, seconds) or is None; ``worst_after_converged`` is the largest
    validation error after it. ``step`` is the number of updates done.
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

class _Progress:
    """One line of progress: updates, sequences, loss, bit errors, speed, time left.

    A stream that fails (a closed terminal after SIGHUP) is dropped, not fatal: training
    goes on to write its checkpoint.
    """

    def __init__(self, stream, total_updates):
        self.stream = stream
        self.total = total_updates
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
        line = (f"update {step:>6}/{self.total} | seqs {sequences:>9,} | loss {loss:8.3f} | "
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
                resumes, window=None, stage_window=None):
    """Save a training checkpoint: the model, the optimiser's state, and in ``meta`` the
    settings, the counters, the random state, the history, the resumes, ``window`` (the
    training loss and bit errors summed since the last logged update, so that a resumed
    run logs the same averages as an uninterrupted one) and ``stage_window`` (the bit
    errors of the curriculum stage's batches since the last validation)."""
    meta = dict(train_config=config.to_flat(), step=step, sequences=sequences, elapsed=elapsed,
                rng_state=rng.bit_generator.state, optimizer=optimizer.config(),
                history=history, resumes=resumes, window=window, stage_window=stage_window)
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
    """The config of a run resumed after update ``step`` from ``saved`` with
    ``overrides`` given; returns ``(config, changes)``, ``changes`` mapping each changed
    setting to ``[old, new]``. See the module notes for the rules."""
    old = saved.to_flat()
    changes = {}
    for key, value in overrides.items():
        if key not in old:
            raise ValueError(f"{key}: not a training setting; expected one of {sorted(old)}")
        if value is None and key in ("updates", "lr", "eps"):
            continue  # None is "the default": nothing given
        if key == "lr_start_step" or value == old[key]:
            continue
        if key not in RESUME_CHANGEABLE:
            raise ValueError(
                f"{key}: cannot be changed when resuming (the checkpoint {os.fspath(path)!r} "
                f"was trained with {key}={old[key]!r}, got {value!r}); settings that can "
                f"change: {', '.join(RESUME_CHANGEABLE)}")
        changes[key] = value
    if "updates" in changes:
        updates = check_positive_int("updates", changes["updates"], minimum=0)
        if updates < step:
            raise ValueError(
                f"updates: the run's total number of updates; the checkpoint is already at "
                f"update {step} (of {saved.updates}), so expected at least {step}, got "
                f"{updates}")
    new = {**old, **changes}
    if {"updates", "lr", "lr_schedule"} & set(changes):
        # a new schedule from the resume update, from the rate reached unless lr is given
        given = overrides.get("lr")
        new["lr"] = learning_rate(saved, step, False) if given is None else given
        new["lr_start_step"] = step
        changes["lr"] = [learning_rate(saved, step, False), new["lr"]]
    config = TrainConfig.from_flat(new)
    return config, {k: (v if k == "lr" else [old[k], v]) for k, v in changes.items()}


def _fmt(value):
    return f"{value:g}" if isinstance(value, float) else repr(value)


def train(config=None, *, out_dir=None, resume=None, log_every=50, stream=None,
          callback=None, overwrite=False, **overrides):
    """Train a model on one of the paper's tasks.

    Parameters
    ----------
    config : TrainConfig, optional (built from ``overrides`` when omitted, e.g.
        ``train(task="copy", updates=200)``)
    out_dir : directory for ``checkpoint.npz`` (every ``checkpoint_every`` updates, at
        the end, and when stopped by a signal); None writes nothing. A directory that
        already holds a checkpoint is refused, unless it is the one resumed or
        ``overwrite`` is true (checked before training starts).
    resume : path of a checkpoint written by a previous run to continue from; the run's
        settings come from the checkpoint; those in :data:`RESUME_CHANGEABLE` may be
        changed (``updates`` extends the run, ``lr`` starts a new schedule at the
        resume update), any other setting given must equal the checkpoint's
    log_every : updates between progress lines (and history entries)
    stream : where progress goes (default ``sys.stderr``; None-like ``False`` for silence)
    callback : called as ``callback(step, history)`` after every logged update
        (``step``: the number of updates done)
    overwrite : replace a checkpoint already in ``out_dir``
    **overrides : settings of :class:`TrainConfig`, flat (``steps`` and ``step``:
        deprecated aliases of ``updates`` and ``implementation``, which warn)

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
    overrides = renamed_settings(overrides)  # steps -> updates, step -> implementation
    config, overrides = _settings(config, resume, overrides)
    log_every = check_positive_int("log_every", log_every)
    stream = sys.stderr if stream is None else stream
    with contextlib.ExitStack() as hold:
        ckpt_path = None
        if out_dir is not None:
            check_out_dir(out_dir, resume=resume, overwrite=overwrite)
            # one run per folder; checked again under the lock, in case another run
            # wrote a checkpoint there in between
            hold.enter_context(folder_lock(out_dir))
            ckpt_path = check_out_dir(out_dir, resume=resume, overwrite=overwrite)
        if resume is not None:
            run, note = _resumed_run(resume, overrides, ckpt_path)
        else:
            run, note = _new_run(config, ckpt_path), None
        progress = _Progress(stream, run.config.updates) if stream else None
        if progress and note:
            progress.write(note)
        with single_blas_thread(), _deferred_signals() as signal_received, \
                BatchWorkers(run.model, run.config.workers) as gradients_of:
            stop_signal = _run_updates(run, gradients_of, progress, log_every, callback,
                                       signal_received)
    converged, worst = convergence(last_start(run.history))
    return TrainResult(run.model, run.config, run.history, run.step, run.sequences,
                       run.elapsed, stop_signal is not None, converged, worst, stop_signal)


def _settings(config, resume, overrides):
    """The config of a new run (built from ``config`` and ``overrides``), or for a
    resumed run None and every setting given, as overrides of the checkpoint's."""
    if resume is not None:
        return None, ({**config.to_flat(), **overrides} if config is not None else overrides)
    if config is None:
        return TrainConfig(**overrides), {}
    if overrides:
        return TrainConfig.from_flat({**config.to_flat(), **overrides}), {}
    return config, {}


@dataclass
class _Run:
    """A training run between two updates: everything its checkpoint saves, and where."""

    config: TrainConfig
    model: object
    optimizer: object
    rng: np.random.Generator
    task: object  # the validation set's task (and the training batches' until settled)
    step: int = 0
    sequences: int = 0
    elapsed: float = 0.0
    history: dict = field(default_factory=lambda: {k: [] for k in HISTORY_KEYS})
    resumes: list = field(default_factory=list)
    ckpt_path: Optional[str] = None
    saved_step: Optional[int] = None  # the step of the last checkpoint written
    # training loss and bit errors summed since the last logged update, and their count
    window: dict = field(default_factory=lambda: {"loss": 0.0, "bits": 0.0, "n": 0})
    # bit errors of the curriculum stage's batches since the last validation, and their count
    stage_window: dict = field(default_factory=lambda: {"bits": 0.0, "n": 0})

    @property
    def start(self):
        """The update at which the run's current start began: 0, or its last restart."""
        return self.history["restart_step"][-1] if self.history["restart_step"] else 0

    @property
    def stage(self):
        """The curriculum stage the training batches come from: ``len(task_stages)``
        once they all have been passed since the run's start (or with no curriculum)."""
        return sum(1 for step in self.history["stage_end"] if step > self.start)

    def save(self):
        """Write the checkpoint (if the run has a folder); parameters must be finite."""
        if self.ckpt_path is None:
            return
        bad = [k for k, v in self.model.params.items() if not np.all(np.isfinite(v))]
        if bad:
            raise self.diverged(f"parameters {bad} are not finite")
        _checkpoint(self.ckpt_path, self.model, self.optimizer, self.config, self.rng,
                    self.step, self.sequences, self.elapsed, self.history, self.resumes,
                    dict(self.window), dict(self.stage_window))
        self.saved_step = self.step

    def diverged(self, what):
        """The :class:`TrainingDiverged` to raise: ``what`` went wrong at this update."""
        if self.saved_step is not None and self.ckpt_path is not None:
            kept = f"the checkpoint of update {self.saved_step} in {self.ckpt_path} is kept"
        else:
            kept = "no checkpoint was written" + (
                f" to {self.ckpt_path}" if self.ckpt_path is not None else "")
            if self.resumes:
                kept += f"; the checkpoint resumed, {self.resumes[-1]['path']}, is untouched"
        return TrainingDiverged(
            f"training diverged at update {self.step}: {what}; {kept}. Try a lower learning "
            f"rate (lr: this run uses {self.config.lr:g})")


def _new_optimizer(config):
    """The optimiser of a run's start, in its initial state."""
    return make_optimizer(config.optimizer, lr=config.lr,
                          **({} if config.eps is None else {"eps": config.eps}))


def _new_run(config, ckpt_path):
    """A run from its first update: the model and optimiser ``config`` builds."""
    task = config.make_task()
    return _Run(config, config.make_model(), _new_optimizer(config),
                np.random.default_rng([config.seed, 1]), task, ckpt_path=ckpt_path)


def _resumed_run(resume, overrides, ckpt_path):
    """The run saved in the checkpoint ``resume``, with ``overrides`` applied (see the
    module notes); returns ``(run, note)``, ``note`` the progress line that says so."""
    model, ckpt = load(resume, return_checkpoint=True)
    meta = ckpt.meta
    if "train_config" not in meta:
        raise ValueError(f"resume: expected a checkpoint written by training, got {resume}")
    saved = TrainConfig.from_dict(recorded_settings(meta["train_config"]))
    step = meta["step"]
    config, changes = _resume_config(saved, step, overrides, resume)
    if isinstance(model, NTM):
        model.implementation = config.implementation
    task = config.make_task()
    rng = np.random.default_rng([config.seed, 1])
    optimizer = make_optimizer(**meta["optimizer"])
    optimizer.load_state_dict(ckpt.state)
    rng.bit_generator.state = meta["rng_state"]
    history = meta["history"]
    # checkpoints written before the validation cost was recorded have no such list
    history.setdefault("val_cost", [None] * len(history["val_step"]))
    history.setdefault("stage_end", [])  # nor those written before curricula
    history.setdefault("restart_step", [])  # nor those written before restarts
    resumes = list(meta.get("resumes") or [])
    resumes.append(dict(path=os.fspath(resume), step=step, changes=changes))
    run = _Run(config, model, optimizer, rng, task, step, meta["sequences"], meta["elapsed"],
               history, resumes, ckpt_path,
               # the run's own checkpoint is the one resumed only when it resumes in place
               saved_step=step if _same_file(ckpt_path, resume) else None)
    window = meta.get("window")  # checkpoints written before it was saved have none
    if isinstance(window, dict) and set(window) == {"loss", "bits", "n"}:
        run.window.update(window)
    stage_window = meta.get("stage_window")
    if isinstance(stage_window, dict) and set(stage_window) == {"bits", "n"}:
        run.stage_window.update(stage_window)
    changed = "".join(f"; {k} {_fmt(a)} -> {_fmt(b)}" for k, (a, b) in changes.items())
    if {"updates", "lr", "lr_schedule"} & set(changes):
        changed += f" (a new {config.lr_schedule} learning-rate schedule from here)"
    return run, f"resumed {os.fspath(resume)} at update {step} of {config.updates}{changed}\n"


def _same_file(a, b):
    """Whether the paths ``a`` and ``b`` (either may be None) name one existing file."""
    return a is not None and b is not None and os.path.exists(a) and os.path.exists(b) \
        and os.path.samefile(a, b)


@dataclass
class _Speed:
    """When the last logged update was, and the sequences seen by then."""

    time: float
    sequences: int


def _run_updates(run, gradients_of, progress, log_every, callback, signal_received):
    """Update until ``run.config.updates`` or a stop signal, validating, logging and
    saving on schedule; the final checkpoint is written with the signals still
    deferred. Returns the signal that stopped the run, or None."""
    config, history = run.config, run.history
    run_start = time.perf_counter() - run.elapsed
    speed = _Speed(time.perf_counter(), run.sequences)
    val_set = _validation_set(config, run.task, run.model.dtype)
    # settled: the run trains with lr_after_converged and task_settings_after_converged
    settled = settled_index(last_start(history)["val_bit_errors"],
                            config.settle_validations) is not None
    train_task = run.task
    stage_tasks = [config.make_task(stage=i) for i in range(len(config.task_stages))]
    stop_signal = None
    try:
        while run.step < config.updates:
            if settled and train_task is run.task and config.task_settings_after_converged:
                train_task = config.make_task(after_converged=True)
            run.optimizer.lr = learning_rate(run.config, run.step, settled)
            _update(run, train_task, stage_tasks, gradients_of)
            if run.step % config.eval_every == 0 or run.step == config.updates:
                _next_stage(run)
                settled = _validate(run, val_set, run_start) or settled
                if _restart_due(run):
                    _restart(run, progress)
                    settled, train_task = False, run.task
            if run.step % log_every == 0 or run.step == config.updates:
                _log(run, speed, progress, run_start)
                if callback is not None:
                    callback(run.step, history)
            if run.ckpt_path is not None and run.step % config.checkpoint_every == 0:
                run.save()
            if signal_received() is not None:
                stop_signal = signal_received()
                break
    except KeyboardInterrupt:  # raised by a callback (or outside the main thread)
        stop_signal = signal.SIGINT
    if stop_signal is not None and progress:
        name = signal.Signals(stop_signal).name
        progress.write(f"\n{name}: stopped at update {run.step}; saving the checkpoint\n")
    run.elapsed = time.perf_counter() - run_start
    run.save()  # the final save runs with the stop signals still deferred: it completes
    if stop_signal is None and signal_received() is not None:  # came during the save
        stop_signal = signal_received()
    return stop_signal


def _update(run, train_task, stage_tasks, gradients_of):
    """One update (:func:`ntm_numpy.training.step.train_step`) on a batch drawn from
    ``train_task``, or, while the curriculum has stages left, from the current one's
    task in ``stage_tasks`` (but for a share ``CURRICULUM_TARGET_SHARE`` of the updates,
    drawn at random); a non-finite result stops the run with :class:`TrainingDiverged`."""
    config = run.config
    rng_before = run.rng.bit_generator.state
    from_stage = run.stage < len(stage_tasks) and run.rng.random() >= CURRICULUM_TARGET_SHARE
    task = stage_tasks[run.stage] if from_stage else train_task
    batch = task.batch(run.rng, config.batch_size, dtype=run.model.dtype)
    try:
        result = train_step(run.model, run.optimizer, batch, clip=config.clip,
                            clip_norm=config.clip_norm, gradients=gradients_of)
    except FloatingPointError as err:  # NotFinite, or raised under np.seterr(all="raise")
        raise run.diverged(f"{err} in update {run.step + 1}") from None
    except WorkerError as err:
        # the update did not happen: the checkpoint is of the last completed one, with
        # the random state from before this batch was drawn, so that resuming draws it
        # again and continues bit for bit as the uninterrupted run
        run.rng.bit_generator.state = rng_before
        run.save()
        kept = (f"; the checkpoint of update {run.step} is in {run.ckpt_path} (resume it "
                "with the same command and --resume)" if run.ckpt_path else "")
        raise WorkerError(f"{err} during update {run.step + 1}{kept}") from None
    run.step += 1
    run.sequences += config.batch_size
    run.window["loss"] += result.loss
    run.window["bits"] += result.bit_errors
    run.window["n"] += 1
    if from_stage:
        run.stage_window["bits"] += result.bit_errors
        run.stage_window["n"] += 1


def _next_stage(run):
    """At a validation: pass the curriculum's stage if its batches since the last
    validation made fewer than ``CURRICULUM_BIT_ERRORS`` bit errors per sequence on
    average (the update is recorded in ``history["stage_end"]``); start a new count."""
    window = run.stage_window
    if window["n"] and window["bits"] / window["n"] < CURRICULUM_BIT_ERRORS:
        run.history["stage_end"].append(run.step)
    window.update(bits=0.0, n=0)


def _validate(run, val_set, run_start):
    """Score the validation set and record it; returns whether the run has settled."""
    config, history = run.config, run.history
    val_bits, val_cost = scores_on(run.model, val_set)
    if not math.isfinite(val_bits):
        raise run.diverged(f"the validation bit errors are {val_bits}")
    run.elapsed = time.perf_counter() - run_start
    for key, value in (("val_step", run.step), ("val_sequences", run.sequences),
                       ("val_time", run.elapsed), ("val_bit_errors", val_bits),
                       ("val_cost", val_cost)):
        history[key].append(value)
    return settled_index(last_start(history)["val_bit_errors"][-config.settle_validations:],
                         config.settle_validations) is not None


def _restart_due(run):
    """Whether the run starts again now, just after a validation: ``restart_after``
    updates after its start, with restarts and updates left, and no validation since
    the start has had its ``restart_measure`` at or below ``restart_above``."""
    config, history = run.config, run.history
    if not config.restart_after or len(history["restart_step"]) >= config.restarts:
        return False
    if run.step - run.start != config.restart_after or run.step >= config.updates:
        return False
    return _best_since_start(run) > config.restart_above


def _best_since_start(run):
    """The lowest ``restart_measure`` of the validations since the run's start (inf if
    none recorded it: a checkpoint from before the cost was recorded has None there)."""
    key = "val_bit_errors" if run.config.restart_measure == "bit_errors" else "val_cost"
    return min((v for v in last_start(run.history)[key] if v is not None), default=math.inf)


def _restart(run, progress):
    """Start the run again at this update: the initial parameters of the restart's seed
    (:func:`~ntm_numpy.training.defaults.restart_seed`), a new optimiser state, a new learning-rate
    schedule over the updates left and a new curriculum; the data, the count of updates
    and the history go on (``history["restart_step"]`` records the update)."""
    config, history = run.config, run.history
    k = len(history["restart_step"]) + 1
    seed = restart_seed(config.seed, k)
    best = _best_since_start(run)
    # only the trained parameters are new: a fixed initial memory (memory_init) stays
    # the one drawn from the run's seed, which a checkpoint rebuilds the model with
    run.model.params = TrainConfig.from_flat({**config.to_flat(), "seed": seed}
                                             ).make_model().params
    run.optimizer = _new_optimizer(config)
    run.config = TrainConfig.from_flat({**config.to_flat(), "lr_start_step": run.step})
    history["restart_step"].append(run.step)
    run.stage_window.update(bits=0.0, n=0)
    if progress:
        progress.write(
            f"\nupdate {run.step}: the best validation {config.restart_measure.replace('_', ' ')}"
            f" since the start, {best:.4g} per sequence, is above restart_above "
            f"{config.restart_above:g}: restart {k} (of at most {config.restarts}) from the "
            f"initial parameters of seed {seed}, over the {config.updates - run.step} "
            f"updates left\n")


def _log(run, speed, progress, run_start):
    """Record the training loss and bit errors since the last entry; show progress."""
    history, config, window = run.history, run.config, run.window
    now = time.perf_counter()
    run.elapsed = now - run_start
    rate = (run.sequences - speed.sequences) / max(now - speed.time, 1e-9)
    for key, value in (("step", run.step), ("sequences", run.sequences), ("time", run.elapsed),
                       ("loss", window["loss"] / window["n"]),
                       ("bit_errors", window["bits"] / window["n"])):
        history[key].append(value)
    if progress:
        left = (config.updates - run.step) * config.batch_size / max(rate, 1e-9)
        val = history["val_bit_errors"][-1] if history["val_bit_errors"] else None
        progress.show(run.step, run.sequences, history["loss"][-1], history["bit_errors"][-1],
                      val, rate, left, final=run.step == config.updates,
                      val_cost=history["val_cost"][-1] if history["val_cost"] else None)
    window.update(loss=0.0, bits=0.0, n=0)
    speed.time, speed.sequences = now, run.sequences
