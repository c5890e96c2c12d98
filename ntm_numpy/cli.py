"""Command line: ``ntm-numpy train | evaluate | plot`` (also ``python -m ntm_numpy``).

Examples::

    ntm-numpy train copy                      # train, then write plots to runs/copy
    ntm-numpy train copy --updates 8000 --batch-size 32 --lr 1e-3 --seed 3 --out runs/s3
    ntm-numpy train copy --resume runs/copy/checkpoint.npz --updates 8000
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
The options of ``train`` and ``sweep`` are made from the settings of ``TrainConfig``
(:mod:`ntm_numpy.training.options`; ``--steps`` and ``--step``: deprecated aliases).
"""
import json
import os
import shlex
import sys
import warnings

from ._cli_parsing import Parser, Subcommands, name_the_flag, parse_args
from ._validation import check_index
from .tasks import TASKS, get_task
from .training.evaluation import NGRAM_SCORES, SCORES
from .training.options import length_arg, seed_arg
from .training.reports import (
    NTM_PLOT_NAMES,
    PLOT_NAMES,
    animation_names,
    check_image_out,
    checkpoint_settled,
    generalisation_figure,
    longest_training_length,
    measure_of,
    write_animations,
    write_plots,
)

EXIT_INTERRUPTED = 130
#: Exit codes of errors: bad arguments or input files, and failures while running.
EXIT_USAGE, EXIT_RUNTIME = 2, 1
#: What ``ntm-numpy evaluate`` adds to the checkpoint's name (without ``.npz``) for its
#: curve by default: ``runs/copy/checkpoint_evaluation.png``. Not training's
#: ``generalisation.png``, which it leaves alone, and one per checkpoint in a folder.
EVALUATION_SUFFIX = "_evaluation.png"


def _add_train(sub, suppress=False):
    from .training.options import add_run_options, add_train_options

    p = sub.add_parser("train", help="train a model on one of the paper's tasks",
                       description="Train an NTM (or the LSTM baseline) on a task. Progress "
                       "is printed while it runs; checkpoints go to OUT/checkpoint.npz "
                       "periodically, at the end and on Ctrl-C; plots are written at the end.")
    p.options += add_train_options(p, suppress_defaults=suppress) + add_run_options(p)


def _given_train_options(argv):
    """The settings given on the ``train`` (or ``sweep``) command line ``argv`` (parsed
    again with ``argparse.SUPPRESS`` as the default of every setting: only those given
    are left)."""
    with warnings.catch_warnings():  # the first parse has reported deprecated options
        warnings.simplefilter("ignore", DeprecationWarning)
        return set(vars(build_parser(suppress_setting_defaults=True).parse_args(argv)))


def _check_model_options(args, given):
    """Refuse, before any work, options of the other kind of model: ``--hidden-size``
    (the LSTM baseline's) with an NTM, or an NTM's architecture option with
    ``--model lstm``; either would be silently ignored."""
    from .model import NTM_OPTIONS

    if getattr(args, "model", "ntm") == "ntm" and "hidden_size" in given:
        raise ValueError("--hidden-size: the size of the LSTM baseline, expected only with "
                         "--model lstm, got it with --model ntm (an NTM's controller has "
                         "--controller-size units)")
    if getattr(args, "model", "ntm") == "lstm":
        ntm_only = sorted(set(NTM_OPTIONS) & given)
        if ntm_only:
            flag = "--" + ntm_only[0].replace("_", "-")
            raise ValueError(f"{flag}: an option of the NTM, expected only with --model ntm, "
                             "got it with --model lstm (the baseline's size is --hidden-size)")


def train_config_from_command(command):
    """The :class:`~ntm_numpy.training.config.TrainConfig` that an ``ntm-numpy train ...``
    command line trains with, e.g. a shipped model's (``pretrained_command(name)``).

    Parameters
    ----------
    command : str

    Returns
    -------
    TrainConfig

    Raises
    ------
    ValueError
        ``command`` is not such a command or its options are not valid.
    """
    from .training.config import TrainConfig
    from .training.options import settings_from_args

    words = shlex.split(command) if isinstance(command, str) else None
    if not words or words[:2] != ["ntm-numpy", "train"]:
        raise ValueError(f"command: expected a string 'ntm-numpy train TASK ...', got {command!r}")
    try:
        args = build_parser().parse_args(words[1:])
    except SystemExit:  # argparse has printed what is wrong
        raise ValueError(f"command: not a valid 'ntm-numpy train' command line: {command!r}") \
            from None
    given = _given_train_options(words[1:])
    return TrainConfig(**settings_from_args(args, given | {"task"}))


def _cmd_train(args, argv=None):
    from .training.config import TrainConfig
    from .training.loop import check_out_dir, train
    from .training.options import settings_from_args

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
                       overwrite=args.overwrite, **settings_from_args(
                           args, given | {"task"}, command_line_defaults=False))
        return _finish_training(result, out, args)
    given = _given_train_options(sys.argv[1:] if argv is None else argv)
    _check_model_options(args, given)
    config = TrainConfig(**settings_from_args(args, given | {"task"}))
    config.make_model()  # unknown task settings or sizes fail here, before anything is written
    out = args.out or os.path.join("runs", args.task)
    check_out_dir(out, overwrite=args.overwrite, names=names)
    _check_plots_out(out, args)
    print(f"training {config.model} on {config.task}: {config.updates} updates of "
          f"{config.batch_size} sequences, {config.optimizer} lr {config.lr}, seed "
          f"{config.seed}; writing to {out}/", file=sys.stderr)
    result = train(config, out_dir=out, log_every=args.log_every, overwrite=args.overwrite)
    return _finish_training(result, out, args)


def _check_plots_out(out, args):
    """The plots written after training can be written (checked before training)."""
    if not args.no_plots:
        for name in PLOT_NAMES:
            check_image_out(os.path.join(out, name), "--out")


def _finish_training(result, out, args):
    from .training.config import TASK_DEFAULTS
    from .training.evaluation import last_start, settled_index

    conv = result.converged
    summary = dict(task=result.config.task, steps=result.step, sequences=result.sequences,
                   seconds=round(result.elapsed, 1), interrupted=result.interrupted,
                   converged=conv, worst_val_after_converged=result.worst_after_converged,
                   final_val_bit_errors=(result.history["val_bit_errors"] or [None])[-1],
                   restart_step=list(result.history["restart_step"]))
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    for step in result.history["restart_step"]:
        print(f"restarted at update {step} (restart_after); the figures below are of the "
              "last start", file=sys.stderr)
    if conv:
        print(f"converged (validation < 0.1 bit errors/seq) at update {conv['step']}, "
              f"{conv['sequences']:,} sequences, {conv['time']:.0f} s; worst validation "
              f"afterwards {result.worst_after_converged:.3f}", file=sys.stderr)
        if conv["stable_step"] is not None:
            print(f"below 0.1 for good from update {conv['stable_step']}, "
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
        settled = settled_index(last_start(result.history)["val_bit_errors"],
                                result.config.settle_validations) is not None
        longest = longest_training_length(task, result.config.to_flat(), settled)
        written = write_plots(result.model, task, out, history=result.history,
                              lengths=lengths, seed=result.config.seed,
                              train_max_length=longest)
        for path in written:
            print(f"wrote {path}", file=sys.stderr)
    return 0


def _add_evaluate(sub):
    p = sub.add_parser("evaluate", help="bit errors per sequence at several lengths",
                       description="Evaluate a checkpoint: a table of bit errors and cost "
                       "(cross-entropy in bits) per sequence at each length, and a PNG "
                       "generalisation curve. For the N-gram task the table also gives the "
                       "Bayes-optimal estimator's cost on the same sequences.")
    p.add_argument("checkpoint")
    p.add_argument("--task", choices=TASKS, default=None,
                   help="task (default: the one the checkpoint was trained on)")
    p.add_argument("--lengths", type=length_arg, nargs="+", default=None)
    p.add_argument("--sequences", type=int, default=128,
                   help="sequences per length (repeat copy: spread evenly over its repeat "
                        "counts)")
    p.add_argument("--memory-rows", type=int, default=None,
                   help="evaluate with this many memory rows (constant-initialised NTMs)")
    p.add_argument("--seed", type=seed_arg, default=1234)
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
    from .training.config import TASK_DEFAULTS
    from .training.evaluation import evaluate_scores

    out = args.out or evaluation_png(args.checkpoint)
    check_image_out(out, "--out", inputs=[args.checkpoint], replace=args.overwrite)
    model, ckpt = load(args.checkpoint, return_checkpoint=True)
    task = _task_of(ckpt, args.task)
    measure = measure_of(task, args.measure)
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
    p.add_argument("--length", type=length_arg, default=None, help="sequence length")
    p.add_argument("--seed", type=seed_arg, default=0)
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
        check_image_out(os.path.join(out, name), "--out", replace=args.overwrite)
    if args.animate:
        if not isinstance(model, NTM):
            raise ValueError(f"--animate: expected an NTM checkpoint (a model with a memory), "
                             f"got a {type(model).__name__} checkpoint")
        for name in animation_names(model):
            check_image_out(os.path.join(out, name), "--out", "GIF", replace=args.overwrite)
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
        from .training.evaluation import checkpoint_settled_index, convergence, last_start

        if history.get("restart_step"):
            meta["restart_step"] = list(history["restart_step"])
        history = last_start(history)  # the figures of the run's last start
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
    from .course import editions as course

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
def _add_sweep(sub, suppress=False):
    from .training.options import add_sweep_options

    p = sub.add_parser("sweep", help="train one configuration with several seeds in parallel",
                       description="Train TASK once per seed, --jobs runs at a time (one "
                       "BLAS thread each), evaluate each run on the task's test lengths and "
                       "write OUT/summary.csv, OUT/summary.md and OUT/curves.png. Resumable: "
                       "finished seeds are skipped. Takes the settings of 'train' but "
                       "--seed (--seeds); each run takes --workers processes.")
    p.options += add_sweep_options(p, suppress_defaults=suppress)


#: Seconds ``sweep --scheduler`` waits to reach the dask scheduler.
DASK_CONNECT_SECONDS = 30


def _dask_client(address):
    """A dask.distributed client of the scheduler at ``address`` (``--scheduler``)."""
    try:
        from distributed import Client
    except ImportError:
        raise ValueError("--scheduler: running on a cluster needs dask.distributed; install "
                         "it with pip install 'ntm_numpy[cluster]'") from None
    try:
        return Client(address, timeout=DASK_CONNECT_SECONDS)
    except (OSError, TimeoutError) as err:
        raise ValueError(f"--scheduler: cannot reach a dask scheduler at {address!r} "
                         f"({err})") from None


def _cmd_sweep(args, argv):
    from .training.config import TrainConfig
    from .training.options import settings_from_args
    from .training.sweep import run_sweep

    config = TrainConfig(**settings_from_args(args, _given_train_options(argv) | {"task"}))
    config.make_task()  # unknown task settings fail here, before anything is written
    out = args.out or os.path.join("runs", f"sweep_{args.task}")
    kwargs = dict(jobs=args.jobs, lengths=args.lengths, sequences=args.sequences,
                  log_every=args.log_every)
    if args.scheduler is None:
        results = run_sweep(config, args.seeds, out, **kwargs)
    else:
        with _dask_client(args.scheduler) as client:
            results = run_sweep(config, args.seeds, out, executor=client.get_executor(),
                                **kwargs)
    summary = os.path.join(out, "summary.md")
    if results and os.path.exists(summary):
        with open(summary) as f:
            print(f.read(), end="")
    return 0 if len(results) == len(args.seeds) else EXIT_INTERRUPTED  # parsed to a list


def build_parser(*, suppress_setting_defaults=False):
    """The parser of the command line: ``ntm-numpy COMMAND ...``.

    Parameters
    ----------
    suppress_setting_defaults : bool
        Give the settings of ``train`` and ``sweep`` the default ``argparse.SUPPRESS``,
        so that a namespace it parses holds only the settings given.

    Returns
    -------
    ntm_numpy._cli_parsing.Parser
        Its ``commands`` maps each subcommand to its parser, whose ``options`` lists the
        actions of its options.
    """
    parser = Parser(prog="ntm-numpy", description=__doc__.split("\n")[0])
    parser.add_argument("--debug", action="store_true",
                        help="show the traceback of an error (may also follow the command)")
    sub = Subcommands(parser, dest="command", required=True)
    _add_train(sub, suppress_setting_defaults)
    for add in (_add_evaluate, _add_plot, _add_export, _add_course):
        add(sub)
    _add_sweep(sub, suppress_setting_defaults)
    return parser


def main(argv=None):
    """Run ``ntm-numpy`` with the arguments ``argv`` (default ``sys.argv[1:]``).

    Parameters
    ----------
    argv : list of str, optional

    Returns
    -------
    int
        The exit code (0, :data:`EXIT_USAGE`, :data:`EXIT_RUNTIME`, or 128 + the number
        of the signal that stopped a run).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    argv = [a for a in argv if a != "--debug"]
    parser = build_parser()
    args = parse_args(parser, argv)
    commands = {"train": lambda: _cmd_train(args, argv), "evaluate": lambda: _cmd_evaluate(args),
                "export": lambda: _cmd_export(args), "plot": lambda: _cmd_plot(args),
                "course": lambda: _cmd_course(args),
                "sweep": lambda: _cmd_sweep(args, argv)}
    from .training.loop import TrainingDiverged
    from .training.parallel import WorkerError

    try:
        return commands[args.command]()
    except KeyboardInterrupt:
        if debug:
            raise
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (ValueError, OSError, MemoryError, TrainingDiverged, WorkerError) as err:
        if debug:
            raise
        if isinstance(err, MemoryError):
            text = ("out of memory" + (f" ({err})" if str(err) else "") + "; try smaller "
                    "sizes, a smaller --batch-size or shorter --lengths")
        elif isinstance(err, OSError) and err.filename is not None:
            text = f"{err.filename}: {err.strerror or err}"
        else:
            text = str(err).splitlines()[0] if str(err) else type(err).__name__
            if args.command == "train" and text.startswith("out_dir:"):
                text = "out" + text[len("out_dir"):]  # train()'s out_dir is train's --out
            text = name_the_flag(text, parser, args.command)
        # bad arguments or input files (ValueError, CheckpointError) are usage errors;
        # OSError, MemoryError and a diverged run happened while running
        usage = isinstance(err, ValueError)
        print(f"ntm-numpy: error: {text}", file=sys.stderr)
        return EXIT_USAGE if usage else EXIT_RUNTIME


if __name__ == "__main__":
    sys.exit(main())
