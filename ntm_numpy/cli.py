"""Command line: ``ntm-numpy train | evaluate | plot`` (also ``python -m ntm_numpy``).

Examples::

    ntm-numpy train copy                      # train, then write plots to runs/copy
    ntm-numpy train copy --steps 8000 --batch-size 32 --lr 1e-3 --seed 3 --out runs/s3
    ntm-numpy train copy --resume runs/copy/checkpoint.npz --steps 8000
    ntm-numpy evaluate runs/copy/checkpoint.npz --lengths 10 20 40 80 120
    ntm-numpy plot runs/copy/checkpoint.npz --length 20
    ntm-numpy export runs/copy/checkpoint.npz ntm_numpy/pretrained/copy.npz
"""
import argparse
import json
import os
import sys

import numpy as np

from .model import NTM_OPTIONS, STEPS
from .tasks import TASKS, get_task

EXIT_INTERRUPTED = 130


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
                   help="factor on the learning rate once validation first converges "
                   f"(default {d.lr_after_converged}; 1 keeps it)")
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
    p.add_argument("--eval-every", type=int, default=d.eval_every)
    p.add_argument("--checkpoint-every", type=int, default=d.checkpoint_every)
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--out", default=None, help="output directory (default runs/TASK)")
    p.add_argument("--resume", default=None, metavar="CHECKPOINT",
                   help="continue a run from its checkpoint")
    p.add_argument("--no-plots", action="store_true", help="do not write plots at the end")
    p.add_argument("--lengths", type=int, nargs="+", default=None,
                   help="lengths for the final generalisation curve (default: per task)")


def _parse_settings(items):
    """``["max_length=10", ...]`` -> ``{"max_length": 10, ...}`` (ints, floats or text)."""
    settings = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--task-setting: expected KEY=VALUE, got {item!r}")
        for convert in (int, float):
            try:
                settings[key] = convert(value)
                break
            except ValueError:
                continue
        else:
            settings[key] = value
    return settings


def _cmd_train(args):
    from .train import TrainConfig, train

    if args.resume:
        out = args.out or os.path.dirname(os.path.abspath(args.resume))
        print(f"resuming {args.resume}; writing to {out}/", file=sys.stderr)
        result = train(resume=args.resume, out_dir=out, log_every=args.log_every,
                       steps=args.steps)
        return _finish_training(result, out, args)
    config = TrainConfig(task=args.task, steps=args.steps, batch_size=args.batch_size,
                         optimizer=args.optimizer, lr=args.lr, clip=args.clip,
                         clip_norm=args.clip_norm or None,
                         lr_after_converged=args.lr_after_converged,
                         lr_schedule=args.lr_schedule, eps=args.eps, seed=args.seed, dtype=args.dtype,
                         model=args.model, step=args.step,
                         **{name: getattr(args, name) for name in NTM_OPTIONS},
                         hidden_size=args.hidden_size, eval_every=args.eval_every,
                         checkpoint_every=args.checkpoint_every,
                         task_settings=_parse_settings(args.task_setting))
    config.make_task()  # unknown task settings fail here, before anything is written
    out = args.out or os.path.join("runs", args.task)
    print(f"training {config.model} on {config.task}: {config.steps} updates of "
          f"{config.batch_size} sequences, {config.optimizer} lr {config.lr}, seed "
          f"{config.seed}; writing to {out}/", file=sys.stderr)
    result = train(config, out_dir=out, log_every=args.log_every)
    return _finish_training(result, out, args)


def _finish_training(result, out, args):
    from .train import TASK_DEFAULTS

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
        return EXIT_INTERRUPTED
    if not args.no_plots:
        lengths = args.lengths or TASK_DEFAULTS[result.config.task]["lengths"]
        task = get_task(result.config.task, **result.config.task_settings)
        written = write_plots(result.model, task, out, history=result.history,
                              lengths=lengths, seed=result.config.seed)
        for path in written:
            print(f"wrote {path}", file=sys.stderr)
    return 0


def write_plots(model, task, out, *, history=None, lengths=None, seed=0, length=None):
    """Write the standard PNGs for a trained model into ``out``; returns their paths.

    ``task`` is a task name or a :class:`ntm_numpy.tasks.Task`.
    """
    from . import plotting
    from .model import NTM
    from .train import evaluate

    task = get_task(task) if isinstance(task, str) else task
    written = []
    if history is not None and history.get("step"):
        fig = plotting.plot_training_curves(history)
        written.append(plotting.save_figure(fig, os.path.join(out, "training_curves.png")))
    rng = np.random.default_rng([seed, 3])
    kw = {} if length is None else {"length": length}
    x, y, mask = task.batch(rng, 1, dtype=model.dtype, **kw)  # one sequence: what is drawn
    if isinstance(model, NTM):
        logits, trace = model.trace(x, return_logits=True)  # no backward caches
    else:
        logits = model.predict(x)
    fig = plotting.plot_sequence(x, y, logits, mask)
    written.append(plotting.save_figure(fig, os.path.join(out, "sequence.png")))
    if isinstance(model, NTM):
        for name, fig in [("summary", plotting.plot_copy_summary(x, y, logits, trace, mask=mask)),
                          ("memory", plotting.plot_memory(trace)),
                          ("weightings", plotting.plot_weightings(trace)),
                          ("erase_add", plotting.plot_erase_add(trace))]:
            written.append(plotting.save_figure(fig, os.path.join(out, f"{name}.png")))
    if lengths:
        errs = evaluate(model, task, lengths, seed=seed)
        fig = plotting.plot_generalisation(list(errs), np.array(list(errs.values())))
        written.append(plotting.save_figure(fig, os.path.join(out, "generalisation.png")))
    return written


def _add_evaluate(sub):
    p = sub.add_parser("evaluate", help="bit errors per sequence at several lengths",
                       description="Evaluate a checkpoint: a table of bit errors per "
                       "sequence at each length, and a PNG generalisation curve.")
    p.add_argument("checkpoint")
    p.add_argument("--task", choices=TASKS, default=None,
                   help="task (default: the one the checkpoint was trained on)")
    p.add_argument("--lengths", type=int, nargs="+", default=None)
    p.add_argument("--sequences", type=int, default=128, help="sequences per length")
    p.add_argument("--memory-rows", type=int, default=None,
                   help="evaluate with this many memory rows (constant-initialised NTMs)")
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--out", default=None, help="PNG path (default: next to the checkpoint)")


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
    return get_task(name, **settings)


def _cmd_evaluate(args):
    from . import plotting
    from .model import load
    from .train import TASK_DEFAULTS, evaluate

    model, ckpt = load(args.checkpoint, return_checkpoint=True)
    task = _task_of(ckpt, args.task)
    if args.memory_rows:
        if not hasattr(model, "with_memory_rows"):
            raise ValueError(f"--memory-rows: expected an NTM checkpoint, got {model!r}, "
                             "which has no memory")
        model = model.with_memory_rows(args.memory_rows)
    lengths = args.lengths or TASK_DEFAULTS[task.name]["lengths"]
    errs = evaluate(model, task, lengths, sequences=args.sequences, seed=args.seed)
    print(f"{'length':>8}  bit errors per sequence")
    for length, e in errs.items():
        print(f"{length:>8}  {e:.4f}")
    out = args.out or os.path.join(os.path.dirname(os.path.abspath(args.checkpoint)),
                                   "generalisation.png")
    train_max = task.params.get("max_length")
    fig = plotting.plot_generalisation(list(errs), np.array(list(errs.values())),
                                       train_max_length=train_max)
    plotting.save_figure(fig, out)
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
    p.add_argument("--out", default=None, help="directory (default: next to the checkpoint)")


def _cmd_plot(args):
    from .model import load

    model, ckpt = load(args.checkpoint, return_checkpoint=True)
    task = _task_of(ckpt, args.task)
    out = args.out or os.path.dirname(os.path.abspath(args.checkpoint))
    for path in write_plots(model, task, out, seed=args.seed, length=args.length):
        print(f"wrote {path}", file=sys.stderr)
    return 0


def _add_export(sub):
    p = sub.add_parser("export", help="a small copy of a checkpoint for shipping",
                       description="Write the model of a training checkpoint without the "
                       "optimiser state and training history (the shipped models are made "
                       "this way); the training settings and figures stay in its metadata.")
    p.add_argument("checkpoint")
    p.add_argument("out", help="path of the new .npz")


def _cmd_export(args):
    from .model import load

    model, ckpt = load(args.checkpoint, return_checkpoint=True)
    meta = {k: v for k, v in ckpt.meta.items() if k not in ("history", "rng_state")}
    history = ckpt.meta.get("history") or {}
    if history.get("val_bit_errors"):
        from .train import convergence

        conv, worst = convergence(history)
        meta["converged"] = conv
        meta["worst_val_after_converged"] = worst
        meta["final_val_bit_errors"] = history["val_bit_errors"][-1]
    model.save(args.out, meta=meta)
    size = os.path.getsize(args.out)
    print(f"wrote {args.out} ({size / 1024:.0f} KiB)", file=sys.stderr)
    return 0


def build_parser():
    parser = argparse.ArgumentParser(prog="ntm-numpy", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    _add_train(sub)
    _add_evaluate(sub)
    _add_plot(sub)
    _add_export(sub)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "train":
            return _cmd_train(args)
        if args.command == "evaluate":
            return _cmd_evaluate(args)
        if args.command == "export":
            return _cmd_export(args)
        return _cmd_plot(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except ValueError as err:  # bad arguments or a bad checkpoint: a message, not a trace
        print(f"ntm-numpy: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
