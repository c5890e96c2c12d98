"""Data-parallel training updates: one update's batch shared among processes.

Training runs one process, and one BLAS thread in it (:mod:`ntm_numpy.training.threads`): the
matrices are too small for a BLAS to split. On a machine with more cores than runs, the
other cores can still share the work of each update, by the sequences of its batch.
:class:`BatchWorkers` does that. With ``n`` shares, the batch of ``B`` sequences is cut
into ``n`` contiguous slices along its batch axis; the calling process computes the
first slice and ``n - 1`` worker processes the others, each with its own copy of the
model, whose parameters it receives with every update. Each share returns its part of
the loss and of every gradient, already weighted by its share of the batch
(``B_s / B``, as the loss is a sum over steps averaged over the batch), and the parts
are added up in slice order.

The sum is the same gradient as one process would compute, up to rounding: the weight
gradients of one process sum over all ``T * B`` rows of the batch in one matrix product,
those of ``n`` shares over each slice, and then over the slices. A run with
``workers=2`` is therefore reproducible (same seed, same number of workers, same
machine), but not bit for bit equal to the same run with ``workers=1``; the shipped
models were trained with one.

The workers ignore SIGINT, SIGTERM and SIGHUP, so that a Ctrl-C in the terminal
(which reaches every process of the foreground group) leaves them to the training loop,
which finishes its update and writes its checkpoint (see :mod:`ntm_numpy.training.loop`). They
end when :meth:`BatchWorkers.close` is called or when their connection to the training
process closes, whichever comes first.

Notation: T steps, B sequences per update, B_s of them in share s, n shares.
"""
import multiprocessing
import signal

import numpy as np

from .._validation import check_positive_int
from .step import batch_gradients
from .threads import single_blas_thread


def batch_slices(batch_size, shares):
    """The ``shares`` contiguous slices that cut a batch of ``batch_size`` sequences.

    The first ``batch_size % shares`` slices hold one sequence more than the others,
    e.g. ``batch_slices(5, 2) == [slice(0, 3), slice(3, 5)]``.

    Raises
    ------
    ValueError
        ``shares`` is not between 1 and ``batch_size``.
    """
    b = check_positive_int("batch_size", batch_size)
    n = check_positive_int("workers", shares)
    if n > b:
        raise ValueError(f"workers: expected at most batch_size ({b}) processes, got {n}")
    size, extra = divmod(b, n)
    bounds = np.cumsum([0] + [size + (i < extra) for i in range(n)])
    return [slice(int(lo), int(hi)) for lo, hi in zip(bounds[:-1], bounds[1:])]


def _worker(conn, model):
    """A worker process: computes :func:`ntm_numpy.training.step.batch_gradients` for every share it is sent."""
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):  # the training process handles them
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_IGN)
    with single_blas_thread():
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):  # the training process has gone
                return
            if message is None:
                return
            params, x, y, mask, weight, errstate = message
            model.params = params
            try:
                with np.errstate(**errstate):
                    reply = ("ok", batch_gradients(model, x, y, mask, weight=weight))
            except Exception as err:  # noqa: BLE001 (sent back and raised there)
                reply = ("error", err)
            try:
                conn.send(reply)
            except (EOFError, OSError):
                return


class WorkerError(RuntimeError):
    """A worker process of :class:`BatchWorkers` stopped before it sent its share.

    The :class:`BatchWorkers` cannot be used again: close it (training does, after
    writing the checkpoint of the last complete update)."""


class BatchWorkers:
    """Computes each update's gradients with the batch cut into ``workers`` shares.

    ``BatchWorkers(model, 1)`` starts no process and computes what the training loop
    computes itself. With ``workers = n > 1``, ``n - 1`` processes are started (with the
    ``spawn`` method: nothing of the caller's state but the model is copied); use it as
    a context manager, or call :meth:`close`.

    Parameters
    ----------
    model : NTM or LSTMBaseline
        The model whose parameters (``model.params``, read at every call) are trained.
        Models whose primitives were replaced (``model.ops``) cannot be sent to another
        process and are refused when ``workers > 1``.
    workers : int >= 1
        Shares of each batch, the calling process included.

    Examples
    --------
    >>> with BatchWorkers(model, 2) as grads_of:               # doctest: +SKIP
    ...     logits, loss, grads = grads_of(x, y, mask)
    """

    def __init__(self, model, workers):
        self.model = model
        self.workers = check_positive_int("workers", workers)
        self._procs, self._conns = [], []
        if self.workers == 1:
            return
        ops = getattr(model, "ops", None)
        if ops is not None and ops.replaced():
            raise ValueError(f"workers: the primitives {ops.replaced()} are replaced and "
                             f"cannot be sent to another process; expected workers=1, got "
                             f"{self.workers}")
        ctx = multiprocessing.get_context("spawn")
        try:
            for _ in range(self.workers - 1):
                parent, child = ctx.Pipe()
                proc = ctx.Process(target=_worker, args=(child, model), daemon=True)
                proc.start()
                child.close()
                self._procs.append(proc)
                self._conns.append(parent)
        except BaseException:
            self.close()
            raise

    def __call__(self, x, y, mask):
        """Logits (T, B, Y), loss (nats per sequence) and gradients of one batch."""
        B = x.shape[1]
        if self.workers == 1:
            return batch_gradients(self.model, x, y, mask)
        parts = batch_slices(B, self.workers)
        errstate = {k: v for k, v in np.geterr().items() if k != "all"}
        params = self.model.params
        for conn, part in zip(self._conns, parts[1:]):
            w = (part.stop - part.start) / B
            try:
                conn.send((params, x[:, part], y[:, part], mask[:, part], w, errstate))
            except (EOFError, OSError) as err:
                raise WorkerError(f"a worker process stopped ({err})") from None
        first = parts[0]
        try:
            results = [batch_gradients(self.model, x[:, first], y[:, first], mask[:, first],
                                       weight=(first.stop - first.start) / B)]
        finally:
            # every worker's reply is taken, even when this share failed: none is left
            # behind to be taken for the next batch's
            replies = self._receive_all()
        for status, value in replies:
            if status == "error":
                raise value
        results += [value for _, value in replies]
        logits = np.concatenate([r[0] for r in results], axis=1)
        loss = sum(r[1] for r in results)
        if any(r[2] is None for r in results):
            return logits, float("nan"), None
        grads = {k: v.copy() for k, v in results[0][2].items()}
        for r in results[1:]:
            for k, v in r[2].items():
                grads[k] += v
        return logits, float(loss), grads

    def _receive_all(self):
        """Every worker's reply, ``(status, value)``, in order; WorkerError if one stopped."""
        replies, stopped = [], []  # stopped: the exit codes of the workers that did not reply
        for conn, proc in zip(self._conns, self._procs):
            try:
                replies.append(conn.recv())
            except (EOFError, OSError):
                proc.join(timeout=1)
                stopped.append(proc.exitcode)
        if stopped:
            raise WorkerError(f"a worker process stopped (exit code {stopped[0]}) before it "
                              "sent its share of the batch")
        return replies

    def close(self):
        """Stops the worker processes (waits a few seconds, then terminates them)."""
        for conn in self._conns:
            try:
                conn.send(None)
            except (EOFError, OSError):
                pass
        for proc in self._procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
                proc.join()
        for conn in self._conns:
            conn.close()
        self._procs, self._conns = [], []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
