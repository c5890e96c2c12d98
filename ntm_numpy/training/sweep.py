"""Train one configuration with several seeds, in parallel, and summarise the runs.

A claim about training holds only if it holds across seeds: :func:`run_sweep` trains the
same :class:`~ntm_numpy.training.TrainConfig` once per seed, one run per worker, then
evaluates each trained model on the task's test lengths and writes::

    OUT/seed_S/checkpoint.npz   the run's training checkpoint (as ``ntm-numpy train``)
    OUT/seed_S/result.json      the run's figures; its presence marks the run finished
    OUT/sweep.json              the sweep's settings (a resumed sweep must match them)
    OUT/summary.csv, .md        one row per seed, then the median and the worst
    OUT/curves.png              median and min-max of the validation curves over seeds

Runs go to any :class:`concurrent.futures.Executor`; by default a
:class:`~concurrent.futures.ProcessPoolExecutor` with ``jobs`` workers, each of which
runs NumPy's BLAS on one thread. A dask.distributed cluster runs them through its
client's executor, ``run_sweep(..., executor=client.get_executor())`` (``OUT`` must then
be on a file system the workers share).

A sweep is resumable: a seed whose ``result.json`` exists is not run again (and never
overwritten); a seed with only a checkpoint, from an interrupted sweep, resumes from it.
Ctrl-C (or SIGTERM, SIGHUP) stops the runs in progress the way it stops
``ntm-numpy train``: each writes a complete checkpoint first.
"""
import concurrent.futures
import json
import multiprocessing
import os
import queue
import signal
import sys
import threading
import time

from .._validation import check_length, check_positive_int
from .config import (
    TASK_DEFAULTS,
    TrainConfig,
    default_of,
    renamed_settings,
    setting_fields,
)
from .lock import folder_lock
from .sweep_results import (
    ngram_optimal_cost,
    one_line,
    plot_sweep,
    write_summary,
)
from .threads import single_blas_thread

#: Sequences per length of a sweep's generalisation figures (and the evaluation seed).
EVAL_SEQUENCES = 64
EVAL_SEED = 1234

#: Settings of a run that are not the sweep's: the seed, and where a resumed run's
#: learning-rate schedule started (set by training itself).
_PER_RUN = ("seed", "lr_start_step")


# Set by the main process on Ctrl-C; runs in threads of this process stop at their next
# logged update (runs in worker processes get the signal itself).
_STOP = threading.Event()

# Set in a worker process of the sweep's own pool when the sweep has died.
_ORPHANED = threading.Event()


#: The most seeds one sweep takes (:func:`parse_seeds`, :func:`run_sweep`).
MAX_SEEDS = 10_000


def parse_seeds(text):
    """``"0-5"`` -> ``[0, 1, 2, 3, 4, 5]``; ``"0,3,7-8"`` -> ``[0, 3, 7, 8]``."""
    seeds = []
    for part in str(text).split(","):
        lo, sep, hi = part.strip().partition("-")
        try:
            first = int(lo)
            last = int(hi) if sep else first
        except ValueError:
            raise ValueError(f"seeds: expected numbers and ranges like '0-5' or '0,2,7-9', "
                             f"got {text!r}") from None
        if first < 0 or last < first:
            raise ValueError(f"seeds: expected ranges 'a-b' with 0 <= a <= b, got {part!r} "
                             f"in {text!r}")
        # counted before any list is built: '0-100000000' is a message, not gigabytes
        if len(seeds) + (last - first + 1) > MAX_SEEDS:
            raise ValueError(f"seeds: expected at most {MAX_SEEDS:,} seeds in a sweep, got "
                             f"{len(seeds) + (last - first + 1):,} in {text!r}")
        seeds.extend(range(first, last + 1))
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds: expected each seed once, got {text!r}")
    return seeds


def default_jobs():
    """The number of cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class _Prefixed:
    """A text stream that starts each line it writes with ``prefix``."""

    def __init__(self, stream, prefix):
        self.stream, self.prefix, self.at_start = stream, prefix, True

    def write(self, text):
        out = []
        for piece in text.splitlines(keepends=True):
            piece = piece.lstrip("\r")
            if self.at_start and not piece.strip():
                continue  # no blank lines between the runs' reports
            if self.at_start:
                out.append(self.prefix)
            out.append(piece)
            self.at_start = piece.endswith("\n")
        self.stream.write("".join(out))

    def flush(self):
        self.stream.flush()

    def isatty(self):
        return False  # one line per report: several runs share the terminal


def _write_json(path, obj):
    """Write ``obj`` as JSON to ``path`` atomically (a temporary file, then a rename)."""
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2)
    os.replace(tmp, path)


def _ignore(signum, frame):
    pass


#: Seconds a stopped sweep waits for its runs to save their checkpoints before it kills
#: the worker processes still running (a stopped or hung worker; its seed resumes later).
STOP_GRACE_SECONDS = 60


def _worker_init(pids, parent):
    """Set up a worker process of the sweep's own pool.

    Ctrl-C is passed over except while training (which saves, then stops): a handler
    that does nothing rather than ``SIG_IGN``, since training leaves a signal the process
    ignores ignored and replaces a handler with its own while it runs. The worker puts
    its pid on ``pids`` (a queue the sweep reads, so that it knows its processes), and
    watches ``parent``, the read end of a pipe whose write end only the sweep holds:
    when the sweep dies, however it dies, the pipe closes and the worker sends itself
    SIGTERM, which stops its run with a complete checkpoint, then ends.
    """
    signal.signal(signal.SIGINT, _ignore)
    pids.put(os.getpid())
    threading.Thread(target=_end_with_parent, args=(parent,), daemon=True).start()


def _end_with_parent(parent):
    """Block until the sweep's end of the pipe closes, then stop this worker: SIGTERM
    makes a run in progress save its checkpoint and return, after which
    :func:`run_one` ends the process (an idle worker ends at once); one that has not
    ended after :data:`STOP_GRACE_SECONDS` is ended all the same."""
    try:
        parent.recv()
    except (EOFError, OSError):
        pass
    _ORPHANED.set()
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(STOP_GRACE_SECONDS)
    os._exit(1)


class _OwnPool:
    """The sweep's own process pool: a ProcessPoolExecutor of ``jobs`` workers whose
    pids it collects as they start (through a queue filled by :func:`_worker_init`) and
    which end when the sweep's process does (through a pipe they watch)."""

    def __init__(self, jobs):
        context = multiprocessing.get_context("spawn")
        self._pids = context.Queue()
        self._parent, self._alive = context.Pipe(duplex=False)
        self.executor = concurrent.futures.ProcessPoolExecutor(
            max_workers=jobs, mp_context=context, initializer=_worker_init,
            initargs=(self._pids, self._parent))
        self.pids = set()

    def signal(self, signum):
        """Send ``signum`` to every worker process started so far."""
        while True:
            try:
                self.pids.add(self._pids.get_nowait())
            except queue.Empty:
                break
        for pid in sorted(self.pids):
            try:
                os.kill(pid, signum)
            except OSError:  # already gone
                pass

    def close(self):
        """Shut the executor down (cancelling what has not started) and close the pipe."""
        try:
            self.executor.shutdown(wait=True, cancel_futures=True)
        finally:
            self._alive.close()
            self._parent.close()
            self._pids.close()


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def _stop_signals_interrupt():
    """In the main thread, SIGTERM and SIGHUP stop a sweep as Ctrl-C does (unless the
    process ignores them, e.g. SIGHUP under ``nohup``); returns the previous handlers."""
    previous = {}
    if threading.current_thread() is not threading.main_thread():
        return previous
    for name in ("SIGTERM", "SIGHUP"):
        signum = getattr(signal, name, None)
        if signum is not None and signal.getsignal(signum) != signal.SIG_IGN:
            previous[signum] = signal.signal(signum, _raise_interrupt)
    return previous


def run_one(config, run_dir, *, lengths, sequences=EVAL_SEQUENCES, eval_seed=EVAL_SEED,
            log_every=500, progress=True):
    """Train (or resume) one run of a sweep and evaluate it; returns its result dict.

    Writes ``run_dir/checkpoint.npz`` while training and ``run_dir/result.json`` at the
    end. If ``result.json`` exists the run is finished: it is read and returned, nothing
    is trained or written. Returns ``{"seed": S, "interrupted": True}`` when the run was
    stopped (its checkpoint is then complete and the next call resumes it).
    """
    from .evaluation import convergence, evaluate_scores, last_start
    from .loop import train

    config = TrainConfig.from_dict(config) if isinstance(config, dict) else config
    result_path = os.path.join(run_dir, "result.json")
    if os.path.exists(result_path):
        with open(result_path) as f:
            return json.load(f)
    stream = _Prefixed(sys.stderr, f"[seed {config.seed}] ") if progress else False

    def stop_requested(step, history):
        if _STOP.is_set():
            raise KeyboardInterrupt

    ckpt = os.path.join(run_dir, "checkpoint.npz")
    with single_blas_thread():
        if os.path.exists(ckpt):
            settings = config.to_flat()
            res = train(resume=ckpt, out_dir=run_dir, log_every=log_every, stream=stream,
                        callback=stop_requested, **settings)
        else:
            res = train(config, out_dir=run_dir, log_every=log_every, stream=stream,
                        callback=stop_requested)
        if _ORPHANED.is_set():  # the sweep has died: the checkpoint is saved, end here
            os._exit(0)
        if res.interrupted:
            return {"seed": config.seed, "interrupted": True}
        task = config.make_task()
        scores = evaluate_scores(res.model, task, lengths, sequences=sequences,
                                 seed=eval_seed)
    conv, worst = convergence(last_start(res.history))  # of the run's last start
    h = res.history
    result = dict(
        seed=config.seed, interrupted=False, steps=res.step, sequences=res.sequences,
        seconds=res.elapsed, converged=conv, worst_after_converged=worst,
        final_val_bit_errors=(h["val_bit_errors"] or [None])[-1],
        final_val_cost=(h["val_cost"] or [None])[-1],
        restart_step=list(h["restart_step"]),
        generalisation={str(k): v["bit_errors"] for k, v in scores.items()},
        generalisation_cost={str(k): v["cost_bits"] for k, v in scores.items()},
        eval_sequences=sequences, eval_seed=eval_seed,
        curves={k: h[k] for k in ("val_step", "val_sequences", "val_time", "val_bit_errors",
                                  "val_cost", "step", "sequences", "loss")})
    if task.name == "ngrams":
        result["optimal_cost"] = {str(k): v["optimal_cost_bits"] for k, v in scores.items()}
    _write_json(result_path, result)
    return result


def _check_sweep_file(out, settings):
    """Record the sweep's settings in OUT/sweep.json, or check they match the recorded."""
    path = os.path.join(out, "sweep.json")
    if os.path.exists(path):
        with open(path) as f:
            # a sweep.json from before the rename says steps and step: read as today's
            saved = renamed_settings(json.load(f), warn=False)
        # a setting the sweep predates was not there to change: its runs had its default
        for name, default in _setting_defaults().items():
            if name in settings:
                saved.setdefault(name, default)
        if saved != settings:
            diff = sorted(k for k in set(saved) | set(settings) if saved.get(k) != settings.get(k))
            what = "; ".join(f"{k}: {saved.get(k)!r} there, {settings.get(k)!r} now" for k in diff)
            raise ValueError(f"out: {out} holds a sweep with other settings ({what}); its runs "
                             "are kept: choose another output directory")
    else:
        os.makedirs(out, exist_ok=True)
        _write_json(path, settings)


def run_sweep(config=None, seeds=(0, 1, 2), out="runs/sweep", *, jobs=None, executor=None,
              lengths=None, sequences=EVAL_SEQUENCES, eval_seed=EVAL_SEED, log_every=500,
              stream=None, progress=True, plot=True, **overrides):
    """Train ``config`` once per seed in parallel; write and return the summary.

    Parameters
    ----------
    config : TrainConfig, optional (built from ``overrides`` when omitted, e.g.
        ``run_sweep(task="copy", updates=200, seeds=[0, 1])``); its ``seed`` is replaced
        by each of ``seeds``
    seeds : iterable of int, or a string such as ``"0-5"`` (:func:`parse_seeds`)
    out : the sweep's directory (layout in the module docstring)
    jobs : runs at a time: the worker processes of the default executor (default: the
        number of cores divided by ``config.workers``, the processes each run takes,
        at least 1); with ``executor``, the runs handed to it at a time (default:
        all)
    executor : any :class:`concurrent.futures.Executor` to run the seeds on instead,
        e.g. a ``ThreadPoolExecutor`` or a dask.distributed ``client.get_executor()``;
        it is not shut down here
    lengths : lengths for the generalisation figures (default: the task's,
        ``TASK_DEFAULTS[task]["lengths"]``)
    sequences, eval_seed : sequences per length, and the seed of the evaluation data
    log_every : updates between the progress lines of each run
    stream : where the sweep's own lines go (default ``sys.stderr``; ``False``: nowhere)
    progress : whether the runs print progress lines (to stderr, prefixed by the seed)
    plot : write ``curves.png``

    Returns
    -------
    list of the finished runs' result dicts, in the order of ``seeds``. A seed whose run
    was interrupted (a worker had Ctrl-C) is missing, and no run starts after that; a
    ``KeyboardInterrupt`` in this process is re-raised once every run in progress has
    saved its checkpoint.
    """
    if config is None:
        config = TrainConfig(**overrides)
    elif overrides:
        config = TrainConfig.from_flat({**config.to_flat(), **renamed_settings(overrides)})
    seeds = _checked_seeds(seeds)
    given_jobs = jobs
    # each run takes config.workers processes (a task's default may be 2)
    jobs = (max(default_jobs() // config.workers, 1) if jobs is None
            else check_positive_int("jobs", jobs))
    lengths = [check_length("lengths", n)
               for n in (lengths or TASK_DEFAULTS[config.task]["lengths"])]
    check_positive_int("sequences", sequences)
    stream = sys.stderr if stream is None else stream
    say = (lambda msg: print(msg, file=stream, flush=True)) if stream else (lambda msg: None)
    base = {k: v for k, v in config.to_flat().items() if k not in _PER_RUN}
    settings = dict(base, lengths=lengths, sequences=sequences, eval_seed=eval_seed)
    os.makedirs(out, exist_ok=True)
    with folder_lock(out, name="out"):  # one sweep per folder
        _check_sweep_file(out, settings)
        results, todo = _finished_runs(out, seeds)
        if results:
            say(f"sweep {out}: seeds {sorted(results)} already finished, skipped")
        if todo:
            in_flight = min(len(todo), jobs if executor is None or given_jobs else len(todo))
            say(f"sweep {out}: {len(todo)} run(s) of {config.model} on {config.task}, "
                f"{config.updates} updates each, seeds {todo}, {in_flight} at a time")
            run = dict(lengths=lengths, sequences=sequences, eval_seed=eval_seed,
                       log_every=log_every, progress=progress)
            _run_seeds(base, todo, out, run, results, executor, in_flight, say, len(seeds))
        finished = [results[s] for s in seeds if s in results]
        left = [s for s in seeds if s not in results]
        if left:
            say(f"seeds {left} not finished: the same command continues them")
        if finished:
            _write_outputs(finished, out, lengths, config, plot, say)
    return finished


def _checked_seeds(seeds):
    """The seeds of a sweep as a list: a string is parsed (:func:`parse_seeds`), a sized
    collection is counted before it is listed; each must be an integer >= 0."""
    if not isinstance(seeds, str) and hasattr(seeds, "__len__") and len(seeds) > MAX_SEEDS:
        raise ValueError(f"seeds: expected at most {MAX_SEEDS:,} seeds in a sweep, got "
                         f"{len(seeds):,}")
    seeds = parse_seeds(seeds) if isinstance(seeds, str) else list(seeds)
    if not seeds:
        raise ValueError("seeds: expected at least one seed, got none")
    for s in seeds:
        check_positive_int("seeds", s, minimum=0)
    return seeds


def _finished_runs(out, seeds):
    """``(results, todo)``: the result of each seed whose run has finished (its
    ``result.json`` exists), and the seeds still to run, in order."""
    results, todo = {}, []
    for seed in seeds:
        path = os.path.join(out, f"seed_{seed}", "result.json")
        if os.path.exists(path):
            with open(path) as f:
                results[seed] = json.load(f)
        else:
            todo.append(seed)
    return results, todo


def _run_seeds(base, todo, out, run, results, executor, in_flight, say, total):
    """Run the seeds ``todo`` (on the sweep's own pool unless ``executor`` is given),
    adding each finished run's result to ``results``. At most ``in_flight`` runs are
    handed to the executor at a time (``jobs`` on the own pool, all of them on a given
    executor without ``jobs``), so that after Ctrl-C no queued run starts (executors may
    start a submitted call even after cancel()); ``total`` counts the sweep's seeds. Ctrl-C, SIGTERM and SIGHUP stop the
    runs in progress, each with a complete checkpoint; one that has not stopped after
    :data:`STOP_GRACE_SECONDS` is killed."""
    own = executor is None
    pool = _OwnPool(in_flight) if own else None
    executor = pool.executor if own else executor
    _STOP.clear()
    previous = _stop_signals_interrupt()
    start = time.perf_counter()
    waiting, futures = list(todo), {}
    stopped = False

    def submit_next():
        seed = waiting.pop(0)
        futures[executor.submit(run_one, {**base, "seed": seed},
                                os.path.join(out, f"seed_{seed}"), **run)] = seed
        return list(futures)[-1]

    try:
        pending = {submit_next() for _ in range(min(in_flight, len(waiting)))}
        while pending:
            done, pending = concurrent.futures.wait(
                pending, return_when=concurrent.futures.FIRST_COMPLETED)
            for fut in done:
                res, seed = fut.result(), futures[fut]
                if res.get("interrupted"):
                    stopped = True  # no further run starts after a run was interrupted
                    say(f"seed {seed}: interrupted; the same command resumes it")
                    continue
                results[seed] = res
                say(f"seed {seed} finished ({len(results)}/{total}, "
                    f"{time.perf_counter() - start:.0f} s into the sweep): {one_line(res)}")
                if waiting and not stopped:
                    pending.add(submit_next())
    except KeyboardInterrupt:
        _stop_runs(futures, pool, say)
        raise
    finally:
        if own:
            pool.close()
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _stop_runs(futures, pool, say):
    """After Ctrl-C (or SIGTERM, SIGHUP): cancel what has not started, let the runs in
    progress save their checkpoints, and kill the processes of the sweep's own pool
    that have not stopped within :data:`STOP_GRACE_SECONDS` (their seeds resume)."""
    _STOP.set()
    for fut in futures:
        fut.cancel()
    if pool is not None:  # the workers may not have had the signal (a `kill -INT` of this one)
        pool.signal(signal.SIGINT)
    say("interrupted: waiting for the runs in progress to save their checkpoints")
    _, late = concurrent.futures.wait(list(futures), timeout=STOP_GRACE_SECONDS)
    if late and pool is not None:
        say(f"{len(late)} run(s) did not stop within {STOP_GRACE_SECONDS} s: their "
            "processes are killed; the same command resumes their seeds from their "
            "last checkpoints")
        pool.signal(signal.SIGKILL)


def _write_outputs(finished, out, lengths, config, plot, say):
    """Write the summary tables and, with ``plot``, the curves of the finished runs."""
    for path in write_summary(finished, out, lengths):
        say(f"wrote {path}")
    if plot:
        optimal = ngram_optimal_cost(config.make_task()) if config.task == "ngrams" else None
        path = plot_sweep(finished, os.path.join(out, "curves.png"), config, optimal=optimal)
        say(f"wrote {path}")


def _setting_defaults():
    """Each setting's own default (not a task's default run's): what a run made before
    the setting existed had."""
    return {f.name: default_of(f) for _, f in setting_fields()}


def config_fields():
    """The settings a sweep takes from the command line: every setting of
    :class:`TrainConfig` but the task (the command's argument), the seed (``--seeds``)
    and ``lr_start_step``.

    Returns
    -------
    list of str
    """
    return [f.name for _, f in setting_fields()
            if f.name not in _PER_RUN + ("task",)]
