"""What training and the command line write about a trained model: the standard
plots (``sequence.png``, the memory and weightings, the training and generalisation
curves), the animations, and the length a run trained up to, which the curves mark.

``ntm-numpy train`` writes :func:`write_plots` into its run folder when it ends;
``ntm-numpy plot`` writes them (and :func:`write_animations`) beside a checkpoint;
``ntm-numpy evaluate`` draws :func:`generalisation_figure`. Every output path is checked
(:func:`check_image_out`) before any work starts.
"""
import os

import numpy as np

from ..tasks import get_task

#: The PNGs :func:`write_plots` writes for an NTM's memory, beside ``sequence.png``.
NTM_PLOT_NAMES = ("summary.png", "memory.png", "weightings.png", "erase_add.png")


#: The PNGs :func:`write_plots` may write into its folder.
PLOT_NAMES = ("sequence.png", "training_curves.png", "generalisation.png", *NTM_PLOT_NAMES)


def drawn_sequence(model, task, seed, length):
    """The one sequence (batch of one) that the plots and animations of ``seed`` draw:
    ``x`` (T, 1, X), ``y`` (T, 1, Y), ``mask``; ``task`` an object or a task name."""
    task = get_task(task) if isinstance(task, str) else task
    rng = np.random.default_rng([seed, 3])
    kw = {} if length is None else {"length": length}
    return task.batch(rng, 1, dtype=model.dtype, **kw)


def write_plots(model, task, out, *, history=None, lengths=None, seed=0, length=None,
                train_max_length=None, read_head=0, write_head=0):
    """Write the standard PNGs for a trained model into ``out``; returns their paths.

    ``task`` is a task name or a :class:`ntm_numpy.tasks.Task`. With ``lengths``, the
    generalisation curve at them marks ``train_max_length`` (see
    :func:`longest_training_length`) if given. ``read_head`` and ``write_head`` are the
    heads of an NTM that ``summary.png`` shows.
    """
    from .. import plotting
    from ..model import NTM
    from .evaluation import evaluate_scores

    task = get_task(task) if isinstance(task, str) else task
    for name in PLOT_NAMES:
        check_image_out(os.path.join(out, name), "--out")
    written = []
    if history is not None and history.get("step"):
        fig = plotting.plot_training_curves(history)
        written.append(plotting.save_figure(fig, os.path.join(out, "training_curves.png")))
    x, y, mask = drawn_sequence(model, task, seed, length)
    if isinstance(model, NTM):
        logits, trace = model.trace(x, return_logits=True)  # no backward caches
    else:
        logits = model.predict(x)
    fig = plotting.plot_sequence(x, y, logits, mask)
    written.append(plotting.save_figure(fig, os.path.join(out, "sequence.png")))
    if isinstance(model, NTM):
        figures = [plotting.plot_copy_summary(x, y, logits, trace, mask=mask, task=task.name,
                                              read_head=read_head, write_head=write_head),
                   plotting.plot_memory(trace), plotting.plot_weightings(trace),
                   plotting.plot_erase_add(trace)]  # in the order of NTM_PLOT_NAMES
        for name, fig in zip(NTM_PLOT_NAMES, figures, strict=True):
            written.append(plotting.save_figure(fig, os.path.join(out, name)))
    if lengths:
        scores = evaluate_scores(model, task, lengths, seed=seed)
        fig = generalisation_figure(task, scores, train_max_length=train_max_length)
        written.append(plotting.save_figure(fig, os.path.join(out, "generalisation.png")))
    return written


#: The task setting that bounds the lengths each task trains on, in the unit of the
#: lengths ``evaluate`` takes (items for associative recall, input vectors for priority
#: sort, bits of the stream for the N-gram task).
LENGTH_SETTINGS = {"copy": "max_length", "repeat_copy": "max_length",
                   "associative_recall": "max_items", "ngrams": "length",
                   "priority_sort": "num_items"}


#: What those lengths count, the x axis of the curves.
LENGTH_LABELS = {"copy": "sequence length", "repeat_copy": "sequence length",
                 "associative_recall": "items (of three vectors)",
                 "ngrams": "stream length (bits)", "priority_sort": "input vectors"}


def longest_training_length(task, train_config=None, settled=False):
    """The longest length a run of ``task`` trained on, for the curves' dashed line.

    ``task`` is the :class:`ntm_numpy.tasks.Task` with the run's first settings and
    ``train_config`` the run's settings (a checkpoint's ``meta["train_config"]``). A run
    that ``settled`` (:func:`ntm_numpy.training.evaluation.settled_index`, :func:`checkpoint_settled`)
    went on to ``task_settings_after_converged`` (the copy task's default curriculum
    trains on lengths up to 60 after 1-20), so their length counts too.
    """
    key = LENGTH_SETTINGS[task.name]
    longest = task.params[key]
    after = (train_config or {}).get("task_settings_after_converged") or {}
    if settled and key in after:
        longest = max(longest, after[key])
    return longest


def checkpoint_settled(meta):
    """Whether the run of a checkpoint's ``meta`` settled, so that it went on with
    ``task_settings_after_converged``: from its validations (a training checkpoint), or
    its record ``settled`` (one written by ``ntm-numpy export``; an export of a run from
    before ``settle_validations`` existed, which switched at the first validation below
    0.1, has only ``converged``)."""
    from .evaluation import checkpoint_settled_index

    if (meta.get("history") or {}).get("val_bit_errors"):
        return checkpoint_settled_index(meta) is not None
    return bool(meta.get("settled", meta.get("converged")))


def measure_of(task, measure):
    """``measure``, or the task's default; a ValueError naming ``--measure`` if the task
    has no such score (the Bayes-optimal ones belong to the N-gram task)."""
    from .evaluation import task_measure, task_scores

    measure = measure or task_measure(task)
    have = task_scores(task)
    if measure not in have:
        raise ValueError(f"--measure: expected one of {sorted(have)} for the {task.name} "
                         f"task, got {measure!r}")
    return measure


def generalisation_figure(task, scores, measure=None, train_max_length=None):
    """The curve of one score of :func:`ntm_numpy.training.evaluation.evaluate_scores` against length.

    ``measure`` defaults to the task's (:func:`ntm_numpy.training.evaluation.task_measure`: bit errors,
    but the cost above the Bayes-optimal estimator for the N-gram task and the cost for
    priority sort); one the task lacks is a ValueError naming ``--measure``.
    """
    from .. import plotting

    measure = measure_of(task, measure)
    values = np.array([s[measure] for s in scores.values()])
    return plotting.plot_generalisation(list(scores), values, measure=measure,
                                        train_max_length=train_max_length,
                                        xlabel=LENGTH_LABELS[task.name])


#: The first bytes of each kind of image the commands write, by file suffix.
_IMAGE_MAGIC = {"PNG": (b"\x89PNG\r\n\x1a\n",), "GIF": (b"GIF87a", b"GIF89a")}


def check_image_out(path, flag, kind="PNG", inputs=(), replace=True):
    """Refuse, before any work, an image output (``kind`` "PNG" or "GIF") that is a
    directory, one of the ``inputs``, an existing file that is not such an image, or,
    unless ``replace``, any existing file (the commands' ``--overwrite``); create its
    folder."""
    if os.path.isdir(path):
        raise ValueError(f"{flag}: expected a path for a {kind} file, got {path!r}, a directory")
    for given in inputs:
        if os.path.exists(path) and os.path.samefile(path, given):
            raise ValueError(f"{flag}: {path!r} is the input {given!r}; choose another path")
    if os.path.exists(path):
        magic = _IMAGE_MAGIC[kind]
        with open(path, "rb") as f:
            if f.read(len(magic[0])) not in magic:
                raise ValueError(f"{flag}: {path!r} exists and is not a {kind} image; not "
                                 "replacing it (choose another path or remove it)")
        if not replace:
            raise ValueError(f"{flag}: {path!r} already exists; choose another {flag} or "
                             "pass --overwrite to replace it")
    parent = os.path.dirname(os.path.abspath(path))
    if os.path.exists(parent) and not os.path.isdir(parent):
        raise ValueError(f"{flag}: {parent!r} is a file, not a folder")
    os.makedirs(parent, exist_ok=True)


def animation_names(model):
    """The GIFs ``ntm-numpy plot --animate`` writes for an NTM: the memory, then each head."""
    heads = model.config["read_heads"] + model.config["write_heads"]
    return ["memory.gif"] + [f"addressing_head_{k}.gif" for k in range(heads)]


def write_animations(model, task, out, *, seed=0, length=None):
    """Write GIFs of one sequence through an NTM into ``out`` (the sequence that
    :func:`write_plots` draws); returns their paths."""
    from .. import plotting

    names = animation_names(model)
    for name in names:
        check_image_out(os.path.join(out, name), "--out", "GIF")
    x, y, mask = drawn_sequence(model, task, seed, length)  # the sequence of write_plots
    logits, trace = model.trace(x, return_logits=True)  # no backward caches
    anims = [plotting.animate_memory(trace, x=x, logits=logits, mask=mask)]
    anims += [plotting.animate_addressing(trace, head=k) for k in range(len(names) - 1)]
    return [plotting.save_animation(anim, os.path.join(out, name))
            for name, anim in zip(names, anims)]
