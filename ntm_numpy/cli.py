"""Command line: ``ntm-numpy train | evaluate | plot`` (also ``python -m ntm_numpy``).

Examples::

    ntm-numpy train copy                      # train, then write plots to runs/copy
    ntm-numpy train copy --steps 8000 --batch-size 32 --lr 1e-3 --seed 3 --out runs/s3
    ntm-numpy train copy --resume runs/copy/checkpoint.npz --steps 8000
    ntm-numpy evaluate runs/copy/checkpoint.npz --lengths 10 20 40 80 120
    ntm-numpy plot runs/copy/checkpoint.npz --length 20
    ntm-numpy export runs/copy/checkpoint.npz ntm_numpy/pretrained/copy.npz
    ntm-numpy sweep copy --seeds 0-5 --jobs 2 --out runs/sweep_copy

No command replaces a result it was not asked to: ``train`` refuses a folder that holds a
checkpoint (continue it with ``--resume``, or pass ``--overwrite``), ``export`` an
existing file (``--overwrite``); ``evaluate`` and ``plot`` write beside training's plots
(``NAME_evaluation.png``, ``NAME_plots/``) and replace their own earlier images only
with ``--overwrite``; no output may be one of the inputs; every output
path is checked before any work starts. SIGINT, SIGTERM and SIGHUP stop training with a
complete checkpoint (exit code 128 + the signal's number, 130 for Ctrl-C). Errors are one
line (exit code 2 for bad arguments or input files, 1 for failures while running, such
as a full disk or a diverged run); ``--debug`` shows the traceback instead.
"""
import argparse
import json
import os
import re
import shlex
import sys

import numpy as np

from ._validation import check_index
from .model import NTM_OPTIONS, STEPS
from .tasks import TASKS, get_task
from .train import NGRAM_SCORES, SCORES

EXIT_INTERRUPTED = 130
#: Exit codes of errors: bad arguments or input files, and failures while running.
EXIT_USAGE, EXIT_RUNTIME = 2, 1
#: What ``ntm-numpy evaluate`` adds to the checkpoint's name (without ``.npz``) for its
#: curve by default: ``runs/copy/checkpoint_evaluation.png``. Not training's
#: ``generalisation.png``, which it leaves alone, and one per checkpoint in a folder.
EVALUATION_SUFFIX = "_evaluation.png"
#: The PNGs :func:`write_plots` writes for an NTM's memory, beside ``sequence.png``.
NTM_PLOT_NAMES = ("summary.png", "memory.png", "weightings.png", "erase_add.png")
#: The PNGs :func:`write_plots` may write into its folder.
PLOT_NAMES = ("sequence.png", "training_curves.png", "generalisation.png", *NTM_PLOT_NAMES)


def _add_train(sub):
    from .train import TrainConfig

    d = TrainConfig()
    p = sub.add_parser("train", help="train a model on one of the paper's tasks",
                       description="Train an NTM (or the LSTM baseline) on a task. Progress "
                       "is printed while it runs; checkpoints go to OUT/checkpoint.npz "
                       "periodically, at the end and on Ctrl-C; plots are written at the end.")
    p.add_argument("task", choices=TASKS)
    p.add_argument("--steps", type=int, default=None,
                   help="number of updates (default: per task; copy 5000)")
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--lr", type=float, default=None,
                   help="learning rate (default 2e-3 for adam, 1e-4 for rmsprop)")
    p.add_argument("--eps", type=float, default=None,
                   help="the optimiser's epsilon (default 1e-4 for adam)")
    p.add_argument("--lr-schedule", choices=("cosine", "constant"), default=d.lr_schedule,
                   help="learning-rate schedule over the run (default cosine)")
    p.add_argument("--optimizer", choices=("adam", "rmsprop"), default=d.optimizer)
    p.add_argument("--clip", type=float, default=d.clip, help="element-wise gradient clip")
    p.add_argument("--clip-norm", type=float, default=d.clip_norm,
                   help=f"global-norm gradient clip (default {d.clip_norm}; 0 disables)")
    p.add_argument("--lr-after-converged", type=float, default=d.lr_after_converged,
                   help="factor on the learning rate once the run has settled "
                   "(--settle-validations) "
                   f"(default {d.lr_after_converged}; 1 keeps it)")
    p.add_argument("--settle-validations", type=int, default=None,
                   help="validations in a row below 0.1 bit errors per sequence before "
                   "--lr-after-converged and --task-setting-after-converged apply "
                   "(default: 5 with copy's default curriculum, else 1)")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--dtype", choices=("float32", "float64"), default=d.dtype)
    p.add_argument("--model", choices=("ntm", "lstm"), default=d.model,
                   help="'lstm' trains the baseline without memory")
    p.add_argument("--step", choices=tuple(STEPS), default="fused",
                   help="the NTM's time step: 'fused' (default, fast) or 'reference' (the "
                   "primitives; the same maths)")
    for name, opt in NTM_OPTIONS.items():  # the NTM's architecture, declared in model.py
        p.add_argument("--" + name.replace("_", "-"), type=opt.type, choices=opt.choices,
                       default=opt.default, help=f"{opt.help} (default {opt.default})")
    p.add_argument("--hidden-size", type=int, default=d.hidden_size,
                   help="hidden units of the LSTM baseline")
    p.add_argument("--task-setting", action="append", default=[], metavar="KEY=VALUE",
                   help="a setting of the task, e.g. max_length=10 (repeatable; see "
                   "ntm_numpy.tasks)")
    p.add_argument("--task-setting-after-converged", action="append", default=[],
                   metavar="KEY=VALUE",
                   help="a task setting for the training batches once the run has settled "
                   "(--settle-validations), e.g. max_length=40 (repeatable; the validation "
                   "set keeps the task's settings; default: copy with its default settings "
                   "goes on to max_length=60, other tasks keep theirs)")
    p.add_argument("--eval-every", type=int, default=d.eval_every)
    p.add_argument("--checkpoint-every", type=int, default=d.checkpoint_every)
    p.add_argument("--workers", type=int, default=d.workers,
                   help="processes that share each update's batch (default 1; e.g. 2 on "
                   "2 idle cores: the same gradients up to rounding, so not bit for bit "
                   "the run with 1)")
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--out", default=None, help="output directory (default runs/TASK)")
    p.add_argument("--resume", default=None, metavar="CHECKPOINT",
                   help="continue a run from its checkpoint: --steps (the run's total) "
                   "extends it, --lr starts a new schedule from the resume step, and "
                   "--batch-size, --lr-schedule, --lr-after-converged, --clip, --clip-norm, "
                   "--eval-every, --checkpoint-every, --step, --task-setting-after-converged, "
                   "--settle-validations, --workers may change; other settings must equal the checkpoint's")
    p.add_argument("--overwrite", "--force", action="store_true",
                   help="replace a checkpoint already in the output folder")
    p.add_argument("--no-plots", action="store_true", help="do not write plots at the end")
    p.add_argument("--lengths", type=int, nargs="+", default=None,
                   help="lengths for the final generalisation curve (default: per task)")


def _parse_settings(items, flag):
    """``["max_length=10", ...]`` -> ``{"max_length": 10, ...}`` (ints, floats or text)."""
    settings = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"{flag}: expected KEY=VALUE, got {item!r}")
        for convert in (int, float):
            try:
                settings[key] = convert(value)
                break
            except ValueError:
                continue
        else:
            settings[key] = value
    return settings


#: The flags with which ``train --resume`` compares or changes the checkpoint's
#: settings (the rest, e.g. --out or --log-every, are not training settings).
_NOT_SETTINGS = ("command", "resume", "out", "log_every", "no_plots", "lengths", "overwrite",
                 "debug")


def _given_train_options(argv):
    """The dests of the ``train`` options given on the command line ``argv``."""
    parser = build_parser()
    train_parser = _subparsers(parser)["train"]
    for action in train_parser._actions:
        if action.option_strings:
            action.default = argparse.SUPPRESS
    return set(vars(parser.parse_args(argv)))


#: Flags that fill a dict of TrainConfig: flag dest -> field.
_SETTING_FLAGS = {"task_setting": "task_settings",
                  "task_setting_after_converged": "task_settings_after_converged"}


def _train_settings(args, given=None):
    """TrainConfig keyword arguments from the parsed flags (only ``given`` ones if set)."""
    settings = {}
    for key, value in vars(args).items():
        if key in _NOT_SETTINGS or (given is not None and key not in given):
            continue
        if key in _SETTING_FLAGS:
            if value:  # not given: the field's default (for the curriculum, the task's)
                settings[_SETTING_FLAGS[key]] = _parse_settings(
                    value, "--" + key.replace("_", "-"))
        elif key == "clip_norm":
            settings[key] = value or None  # 0 disables
        else:
            settings[key] = value
    return settings


def train_config_from_command(command):
    """The :class:`ntm_numpy.train.TrainConfig` that an ``ntm-numpy train ...`` command line
    (a string) trains with, e.g. a shipped model's (:data:`ntm_numpy.pretrained.PRETRAINED`).

    Raises ValueError if ``command`` is not such a command or its flags are not valid.
    """
    from .train import TrainConfig

    words = shlex.split(command) if isinstance(command, str) else None
    if not words or words[:2] != ["ntm-numpy", "train"]:
        raise ValueError(f"command: expected a string 'ntm-numpy train TASK ...', got {command!r}")
    try:
        args = build_parser().parse_args(words[1:])
    except SystemExit:  # argparse has printed what is wrong
        raise ValueError(f"command: not a valid 'ntm-numpy train' command line: {command!r}") \
            from None
    return TrainConfig(**_train_settings(args))


def _cmd_train(args, argv=None):
    from .train import TrainConfig, check_out_dir, train

    names = {"out_dir": "--out", "resume": "--resume", "overwrite": "--overwrite"}
    if args.resume:
        if not os.path.isfile(args.resume):
            raise ValueError(f"--resume: expected a checkpoint file, got {args.resume!r}, "
                             + ("a directory" if os.path.isdir(args.resume) else "which does "
                                "not exist"))
        out = args.out or os.path.dirname(os.path.abspath(args.resume))
        check_out_dir(out, resume=args.resume, overwrite=args.overwrite, names=names)
        _check_plots_out(out, args)
        given = _given_train_options(sys.argv[1:] if argv is None else argv)
        result = train(resume=args.resume, out_dir=out, log_every=args.log_every,
                       overwrite=args.overwrite, **_train_settings(args, given | {"task"}))
        return _finish_training(result, out, args)
    config = TrainConfig(**_train_settings(args))
    config.make_model()  # unknown task settings or sizes fail here, before anything is written
    out = args.out or os.path.join("runs", args.task)
    check_out_dir(out, overwrite=args.overwrite, names=names)
    _check_plots_out(out, args)
    print(f"training {config.model} on {config.task}: {config.steps} updates of "
          f"{config.batch_size} sequences, {config.optimizer} lr {config.lr}, seed "
          f"{config.seed}; writing to {out}/", file=sys.stderr)
    result = train(config, out_dir=out, log_every=args.log_every, overwrite=args.overwrite)
    return _finish_training(result, out, args)


def _check_plots_out(out, args):
    """The plots written after training can be written (checked before training)."""
    if not args.no_plots:
        for name in PLOT_NAMES:
            _check_image_out(os.path.join(out, name), "--out")


def _finish_training(result, out, args):
    from .train import TASK_DEFAULTS, settled_index

    conv = result.converged
    summary = dict(task=result.config.task, steps=result.step, sequences=result.sequences,
                   seconds=round(result.elapsed, 1), interrupted=result.interrupted,
                   converged=conv, worst_val_after_converged=result.worst_after_converged,
                   final_val_bit_errors=(result.history["val_bit_errors"] or [None])[-1])
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    if conv:
        print(f"converged (validation < 0.1 bit errors/seq) at step {conv['step']}, "
              f"{conv['sequences']:,} sequences, {conv['time']:.0f} s; worst validation "
              f"afterwards {result.worst_after_converged:.3f}", file=sys.stderr)
        if conv["stable_step"] is not None:
            print(f"below 0.1 for good from step {conv['stable_step']}, "
                  f"{conv['stable_sequences']:,} sequences, {conv['stable_time']:.0f} s",
                  file=sys.stderr)
        else:
            print("but the last validation is above 0.1 again", file=sys.stderr)
    else:
        print("did not reach 0.1 validation bit errors per sequence", file=sys.stderr)
    print(f"checkpoint: {os.path.join(out, 'checkpoint.npz')}", file=sys.stderr)
    if result.interrupted:
        return 128 + int(result.stop_signal or 2)  # the shell's code for the signal
    if not args.no_plots:
        lengths = args.lengths or TASK_DEFAULTS[result.config.task]["lengths"]
        task = get_task(result.config.task, **result.config.task_settings)
        settled = settled_index(result.history["val_bit_errors"],
                                result.config.settle_validations) is not None
        longest = longest_training_length(task, vars(result.config), settled)
        written = write_plots(result.model, task, out, history=result.history,
                              lengths=lengths, seed=result.config.seed,
                              train_max_length=longest)
        for path in written:
            print(f"wrote {path}", file=sys.stderr)
    return 0


def _drawn_sequence(model, task, seed, length):
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
    from . import plotting
    from .model import NTM
    from .train import evaluate_scores

    task = get_task(task) if isinstance(task, str) else task
    for name in PLOT_NAMES:
        _check_image_out(os.path.join(out, name), "--out")
    written = []
    if history is not None and history.get("step"):
        fig = plotting.plot_training_curves(history)
        written.append(plotting.save_figure(fig, os.path.join(out, "training_curves.png")))
    x, y, mask = _drawn_sequence(model, task, seed, length)
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
    that ``settled`` (:func:`ntm_numpy.train.settled_index`, :func:`checkpoint_settled`)
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
    from .train import checkpoint_settled_index

    if (meta.get("history") or {}).get("val_bit_errors"):
        return checkpoint_settled_index(meta) is not None
    return bool(meta.get("settled", meta.get("converged")))


def _measure_of(task, measure):
    """``measure``, or the task's default; a ValueError naming ``--measure`` if the task
    has no such score (the Bayes-optimal ones belong to the N-gram task)."""
    from .train import task_measure, task_scores

    measure = measure or task_measure(task)
    have = task_scores(task)
    if measure not in have:
        raise ValueError(f"--measure: expected one of {sorted(have)} for the {task.name} "
                         f"task, got {measure!r}")
    return measure


def generalisation_figure(task, scores, measure=None, train_max_length=None):
    """The curve of one score of :func:`ntm_numpy.train.evaluate_scores` against length.

    ``measure`` defaults to the task's (:func:`ntm_numpy.train.task_measure`: bit errors,
    but the cost above the Bayes-optimal estimator for the N-gram task and the cost for
    priority sort); one the task lacks is a ValueError naming ``--measure``.
    """
    from . import plotting

    measure = _measure_of(task, measure)
    values = np.array([s[measure] for s in scores.values()])
    return plotting.plot_generalisation(list(scores), values, measure=measure,
                                        train_max_length=train_max_length,
                                        xlabel=LENGTH_LABELS[task.name])


def _add_evaluate(sub):
    p = sub.add_parser("evaluate", help="bit errors per sequence at several lengths",
                       description="Evaluate a checkpoint: a table of bit errors and cost "
                       "(cross-entropy in bits) per sequence at each length, and a PNG "
                       "generalisation curve. For the N-gram task the table also gives the "
                       "Bayes-optimal estimator's cost on the same sequences.")
    p.add_argument("checkpoint")
    p.add_argument("--task", choices=TASKS, default=None,
                   help="task (default: the one the checkpoint was trained on)")
    p.add_argument("--lengths", type=int, nargs="+", default=None)
    p.add_argument("--sequences", type=int, default=128,
                   help="sequences per length (repeat copy: spread evenly over its repeat "
                        "counts)")
    p.add_argument("--memory-rows", type=int, default=None,
                   help="evaluate with this many memory rows (constant-initialised NTMs)")
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--measure", choices=SCORES + NGRAM_SCORES, default=None,
                   help="what the curve plots (default: bit_errors; for ngrams "
                   "cost_above_optimum_bits, for priority_sort cost_bits)")
    p.add_argument("--out", default=None, help="PNG path of the curve (default: next to "
                   "the checkpoint, its name with _evaluation.png for .npz)")
    p.add_argument("--overwrite", "--force", action="store_true",
                   help="replace an existing PNG at the curve's path (a file that is not a "
                   "PNG is never replaced)")


def _task_of(ckpt, override):
    """The task a checkpoint was trained on, with its settings (``--task`` overrides)."""
    meta = ckpt.meta if isinstance(ckpt.meta, dict) else {}
    tc = meta.get("train_config") or {}
    settings = tc.get("task_settings") or {}
    name = override or tc.get("task") or meta.get("task")
    if name is None:
        raise ValueError("--task: the checkpoint does not say which task it was trained on; "
                         f"pass --task, one of {list(TASKS)}")
    if override and override != tc.get("task"):
        settings = {}
    task = get_task(name, **settings)
    config = ckpt.config if isinstance(ckpt.config, dict) else {}
    sizes = (config.get("input_size"), config.get("output_size"))
    if sizes != (task.input_size, task.output_size):
        raise ValueError(
            f"--task: the model takes {sizes[0]} inputs and gives {sizes[1]} outputs, but the "
            f"task {name!r} has {task.input_size} inputs and {task.output_size} outputs; "
            "pass the task the model was trained on")
    return task


#: The first bytes of each kind of image the commands write, by file suffix.
_IMAGE_MAGIC = {"PNG": (b"\x89PNG\r\n\x1a\n",), "GIF": (b"GIF87a", b"GIF89a")}


def _check_image_out(path, flag, kind="PNG", inputs=(), replace=True):
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


def _beside(checkpoint, suffix):
    """``NAME`` + ``suffix`` next to the checkpoint ``NAME.npz`` (any other name whole)."""
    root, ext = os.path.splitext(os.path.abspath(checkpoint))
    return (root if ext == ".npz" else root + ext) + suffix


def evaluation_png(checkpoint):
    """Where ``ntm-numpy evaluate CHECKPOINT`` writes its curve without ``--out``."""
    return _beside(checkpoint, EVALUATION_SUFFIX)


def _cmd_evaluate(args):
    from . import plotting
    from .model import load
    from .train import TASK_DEFAULTS, evaluate_scores

    out = args.out or evaluation_png(args.checkpoint)
    _check_image_out(out, "--out", inputs=[args.checkpoint], replace=args.overwrite)
    model, ckpt = load(args.checkpoint, return_checkpoint=True)
    task = _task_of(ckpt, args.task)
    measure = _measure_of(task, args.measure)
    if args.memory_rows is not None:
        if not hasattr(model, "with_memory_rows"):
            raise ValueError(f"--memory-rows: expected an NTM checkpoint, got {model!r}, "
                             "which has no memory")
        model = model.with_memory_rows(args.memory_rows)
    lengths = args.lengths or TASK_DEFAULTS[task.name]["lengths"]
    scores = evaluate_scores(model, task, lengths, sequences=args.sequences, seed=args.seed)
    optimal = task.name == "ngrams"
    print(f"{'length':>8}  {'bit errors':>10}  {'cost (bits)':>11}"
          + (f"  {'Bayes-optimal cost':>18}  {'above optimum':>13}" if optimal else "")
          + "   (per sequence)")
    for length, s in scores.items():
        line = f"{length:>8}  {s['bit_errors']:>10.4f}  {s['cost_bits']:>11.3f}"
        if optimal:
            line += (f"  {s['optimal_cost_bits']:>18.3f}  "
                     f"{s['cost_bits'] - s['optimal_cost_bits']:>13.3f}")
        print(line)
    meta = ckpt.meta if isinstance(ckpt.meta, dict) else {}
    same_task = args.task is None or args.task == (meta.get("train_config") or {}).get("task")
    longest = (longest_training_length(task, meta.get("train_config"),
                                       checkpoint_settled(meta))
               if same_task else None)
    fig = generalisation_figure(task, scores, measure, train_max_length=longest)
    plotting.save_figure(fig, out)
    sys.stdout.flush()  # the table first, then the note on stderr
    print(f"wrote {out}", file=sys.stderr)
    return 0


def _add_plot(sub):
    p = sub.add_parser("plot", help="PNGs of one sequence through a trained model",
                       description="Input, target, output, memory and read/write weightings "
                       "over time for one sequence (the paper's figure 6 style).")
    p.add_argument("checkpoint")
    p.add_argument("--task", choices=TASKS, default=None)
    p.add_argument("--length", type=int, default=None, help="sequence length")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="directory (default: NAME_plots next to the "
                   "checkpoint NAME.npz)")
    p.add_argument("--overwrite", "--force", action="store_true",
                   help="replace images already in the directory")
    p.add_argument("--animate", action="store_true",
                   help="also write animated GIFs of the memory and weightings "
                   "(memory.gif) and of each head's addressing (addressing_head_K.gif)")
    p.add_argument("--read-head", type=int, default=None, metavar="R",
                   help="the read head summary.png shows, 0..R-1 (default 0)")
    p.add_argument("--write-head", type=int, default=None, metavar="W",
                   help="the write head summary.png shows, 0..W-1 (default 0)")


def animation_names(model):
    """The GIFs ``ntm-numpy plot --animate`` writes for an NTM: the memory, then each head."""
    heads = model.config["read_heads"] + model.config["write_heads"]
    return ["memory.gif"] + [f"addressing_head_{k}.gif" for k in range(heads)]


def write_animations(model, task, out, *, seed=0, length=None):
    """Write GIFs of one sequence through an NTM into ``out`` (the sequence that
    :func:`write_plots` draws); returns their paths."""
    from . import plotting

    names = animation_names(model)
    for name in names:
        _check_image_out(os.path.join(out, name), "--out", "GIF")
    x, y, mask = _drawn_sequence(model, task, seed, length)  # the sequence of write_plots
    logits, trace = model.trace(x, return_logits=True)  # no backward caches
    anims = [plotting.animate_memory(trace, x=x, logits=logits, mask=mask)]
    anims += [plotting.animate_addressing(trace, head=k) for k in range(len(names) - 1)]
    return [plotting.save_animation(anim, os.path.join(out, name))
            for name, anim in zip(names, anims)]


def plots_dir(checkpoint):
    """Where ``ntm-numpy plot CHECKPOINT`` writes without ``--out``: ``NAME_plots`` next to
    ``NAME.npz`` (not the checkpoint's own folder, which holds training's plots)."""
    return _beside(checkpoint, "_plots")


def _cmd_plot(args):
    from .model import NTM, load

    out = args.out or plots_dir(args.checkpoint)
    if os.path.exists(out) and not os.path.isdir(out):
        raise ValueError(f"--out: expected a folder for the PNGs, got {out!r}, a file")
    model, ckpt = load(args.checkpoint, return_checkpoint=True)
    task = _task_of(ckpt, args.task)
    heads = {}  # the heads summary.png shows, checked before anything is written
    for option, value, kind in (("read_head", args.read_head, "read_heads"),
                                ("write_head", args.write_head, "write_heads")):
        if value is None:
            continue
        flag = "--" + option.replace("_", "-")
        if not isinstance(model, NTM):
            raise ValueError(f"{flag}: expected an NTM checkpoint (a model with heads), got "
                             f"a {type(model).__name__} checkpoint")
        count = model.config[kind]
        heads[option] = check_index(flag, value, count,
                                    f"the model has {count} {kind.replace('_', ' ')}")
    for name in ["sequence.png", *(NTM_PLOT_NAMES if isinstance(model, NTM) else ())]:
        _check_image_out(os.path.join(out, name), "--out", replace=args.overwrite)
    if args.animate:
        if not isinstance(model, NTM):
            raise ValueError(f"--animate: expected an NTM checkpoint (a model with a memory), "
                             f"got a {type(model).__name__} checkpoint")
        for name in animation_names(model):
            _check_image_out(os.path.join(out, name), "--out", "GIF", replace=args.overwrite)
    for path in write_plots(model, task, out, seed=args.seed, length=args.length, **heads):
        print(f"wrote {path}", file=sys.stderr)
    if args.animate:
        for path in write_animations(model, task, out, seed=args.seed, length=args.length):
            print(f"wrote {path}", file=sys.stderr)
    return 0


def _add_export(sub):
    p = sub.add_parser("export", help="a small copy of a checkpoint for shipping",
                       description="Write the model of a training checkpoint without the "
                       "optimiser state and training history (the shipped models are made "
                       "this way); the training settings and figures stay in its metadata.")
    p.add_argument("checkpoint")
    p.add_argument("out", help="path of the new .npz (not the checkpoint itself)")
    p.add_argument("--overwrite", "--force", action="store_true",
                   help="replace an existing file at OUT")


def _cmd_export(args):
    from .model import load

    if os.path.isdir(args.out):
        raise ValueError(f"out: expected a path for the new .npz, got {args.out!r}, a folder")
    if os.path.exists(args.out):
        if os.path.exists(args.checkpoint) and os.path.samefile(args.out, args.checkpoint):
            raise ValueError(f"out: {args.out!r} is the checkpoint being exported (it would "
                             "lose its optimiser state); choose another path")
        if not args.overwrite:
            raise ValueError(f"out: {args.out!r} already exists; choose another path or pass "
                             "--overwrite to replace it")
    parent = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(parent):
        raise ValueError(f"out: the folder {parent!r} does not exist")
    model, ckpt = load(args.checkpoint, return_checkpoint=True)
    meta = {k: v for k, v in ckpt.meta.items() if k not in ("history", "rng_state")}
    history = ckpt.meta.get("history") or {}
    if history.get("val_bit_errors"):
        from .train import checkpoint_settled_index, convergence

        conv, worst = convergence(history)
        meta["converged"] = conv
        settled = checkpoint_settled_index(ckpt.meta)
        meta["settled"] = None if settled is None else dict(
            step=history["val_step"][settled], sequences=history["val_sequences"][settled])
        meta["worst_val_after_converged"] = worst
        meta["final_val_bit_errors"] = history["val_bit_errors"][-1]
    model.save(args.out, meta=meta)
    size = os.path.getsize(args.out)
    print(f"wrote {args.out} ({size / 1024:.0f} KiB)", file=sys.stderr)
    return 0


# ---- course: the student and instructor editions (ntm_numpy.course) ----
def _add_course(sub):
    p = sub.add_parser("course", help="write the course's student or instructor edition",
                       description="Write the course notebooks for handing out: the student "
                       "edition (blanks, no solutions) or the instructor edition (reference "
                       "solutions and hidden tests between nbgrader markers).")
    p.add_argument("edition", choices=["student-edition", "instructor-edition"])
    p.add_argument("out", help="folder to write into (created if missing)")
    p.add_argument("--notebooks", default=None,
                   help="folder of the course notebooks (default: the repository's notebooks/)")
    p.add_argument("--solutions", default=None,
                   help="reference solutions file, instructor edition only (default: the "
                   "repository's tests/exercise_solutions.py)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace notebooks of the same name already in the folder")


def _cmd_course(args):
    from . import course

    try:
        import nbformat  # noqa: F401 - the editions are notebooks
    except ImportError:
        raise ValueError("course: writing the notebooks needs nbformat "
                         "(python -m pip install nbformat)") from None
    if args.edition == "student-edition":
        if args.solutions is not None:
            raise ValueError("--solutions: the student edition holds no solutions")
        written = course.write_student_edition(args.out, args.notebooks,
                                               overwrite=args.overwrite)
    else:
        written = course.write_instructor_edition(args.out, args.notebooks, args.solutions,
                                                  overwrite=args.overwrite)
    books = [p for p in written if p.suffix == ".ipynb"]
    print(f"{args.edition.replace('-', ' ')}: {len(books)} notebooks written to {args.out}")
    return 0


# --------------------------------------------------------------------------- sweep

def _add_sweep(sub):
    from .sweep import EVAL_SEQUENCES, config_fields

    p = sub.add_parser("sweep", help="train one configuration with several seeds in parallel",
                       description="Train TASK once per seed, --jobs runs at a time (one "
                       "BLAS thread each), evaluate each run on the task's test lengths and "
                       "write OUT/summary.csv, OUT/summary.md and OUT/curves.png. Resumable: "
                       "finished seeds are skipped. Takes every setting of 'train'.")
    p.add_argument("task", choices=TASKS)
    p.add_argument("--seeds", default="0-2", help="seeds, e.g. 0-5 or 0,2,7-9 (default 0-2)")
    p.add_argument("--jobs", type=int, default=None,
                   help="runs at a time (default: the number of cores)")
    p.add_argument("--out", default=None, help="output directory (default runs/sweep_TASK)")
    p.add_argument("--lengths", type=int, nargs="+", default=None,
                   help="lengths of the generalisation columns (default: per task)")
    p.add_argument("--sequences", type=int, default=EVAL_SEQUENCES,
                   help=f"sequences per length (default {EVAL_SEQUENCES})")
    p.add_argument("--log-every", type=int, default=500,
                   help="updates between progress lines of each run (default 500)")
    wanted = set(config_fields()) | set(_SETTING_FLAGS)
    for action in sub.choices["train"]._actions:  # the train command's settings
        if action.dest in wanted:
            p._add_action(action)


def _cmd_sweep(args):
    from .sweep import config_fields, parse_seeds, run_sweep
    from .train import TrainConfig

    settings = _train_settings(args, given=set(config_fields()) | set(_SETTING_FLAGS))
    config = TrainConfig(task=args.task, **settings)
    config.make_task()  # unknown task settings fail here, before anything is written
    out = args.out or os.path.join("runs", f"sweep_{args.task}")
    results = run_sweep(config, args.seeds, out, jobs=args.jobs, lengths=args.lengths,
                        sequences=args.sequences, log_every=args.log_every)
    summary = os.path.join(out, "summary.md")
    if results and os.path.exists(summary):
        with open(summary) as f:
            print(f.read(), end="")
    return 0 if len(results) == len(parse_seeds(args.seeds)) else EXIT_INTERRUPTED


def build_parser():
    parser = argparse.ArgumentParser(prog="ntm-numpy", description=__doc__.split("\n")[0])
    parser.add_argument("--debug", action="store_true",
                        help="show the traceback of an error (may also follow the command)")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_train(sub)
    _add_evaluate(sub)
    _add_plot(sub)
    _add_export(sub)
    _add_course(sub)
    _add_sweep(sub)
    return parser


def _subparsers(parser):
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices


def _name_the_flag(message, parser, command):
    """``"batch_size: expected ..."`` -> ``"--batch-size: expected ..."`` when the message
    starts with the name of one of ``command``'s options."""
    match = re.match(r"([a-z_]+)(?=:)", message)
    if match is None or command not in _subparsers(parser):
        return message
    for action in _subparsers(parser)[command]._actions:
        if action.dest == match.group(1) and action.option_strings:
            return action.option_strings[0] + message[match.end():]
    return message


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    argv = [a for a in argv if a != "--debug"]
    parser = build_parser()
    args = parser.parse_args(argv)
    commands = {"train": lambda: _cmd_train(args, argv), "evaluate": lambda: _cmd_evaluate(args),
                "export": lambda: _cmd_export(args), "plot": lambda: _cmd_plot(args),
                "course": lambda: _cmd_course(args),
                "sweep": lambda: _cmd_sweep(args)}
    from .train import TrainingDiverged

    try:
        return commands[args.command]()
    except KeyboardInterrupt:
        if debug:
            raise
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (ValueError, OSError, MemoryError, TrainingDiverged) as err:
        if debug:
            raise
        if isinstance(err, MemoryError):
            text = ("out of memory" + (f" ({err})" if str(err) else "") + "; try smaller "
                    "sizes, a smaller --batch-size or shorter --lengths")
        elif isinstance(err, OSError) and err.filename is not None:
            text = f"{err.filename}: {err.strerror or err}"
        else:
            text = _name_the_flag(str(err).splitlines()[0] if str(err) else
                                  type(err).__name__, parser, args.command)
        # bad arguments or input files (ValueError, CheckpointError) are usage errors;
        # OSError, MemoryError and a diverged run happened while running
        usage = isinstance(err, ValueError)
        print(f"ntm-numpy: error: {text}", file=sys.stderr)
        return EXIT_USAGE if usage else EXIT_RUNTIME


if __name__ == "__main__":
    sys.exit(main())
