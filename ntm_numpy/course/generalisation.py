"""The capstone's last question: does the memory matter?

Notebook 08 trains the capstone's NTM on the student's own gradients (their primitives,
``step_backward`` and ``ntm_backward``, through
:func:`ntm_numpy.training.train_step`'s ``backward``) and the package's LSTM baseline
(:class:`ntm_numpy.LSTMBaseline`, sized to about as many parameters) on the same
batches for the same number of updates, over several seeds; then scores both at the
training lengths and at 2 and 4 times the longest (:data:`CAPSTONE`'s ``compare``):

* :func:`train_copy` trains one NTM, :func:`train_lstm` one LSTM;
* :func:`compare` trains and evaluates both for every seed (a :class:`Comparison`,
  whose :meth:`Comparison.summary` prints the numbers the notebook's text relies on);
* :func:`plot_comparison` draws them, :func:`plot_memory_and_gradient` the memory and
  dL/dM_t of one sequence through a trained NTM.

A seed *generalises* when it gets fewer than :data:`WRONG_BITS_BELOW` of the bits wrong
(1 in 50) at every evaluated length, the two longer ones included; guessing gets half of
them wrong.
"""
import time
from dataclasses import dataclass, field

import numpy as np

from ..losses import sigmoid_cross_entropy_backward, sigmoid_cross_entropy_forward
from ..optim import make_optimizer
from ..training.evaluation import evaluate
from ..training.step import train_step
from ..training.threads import single_blas_thread
from . import bptt
from .capstone import CAPSTONE, CHECK_LENGTH, OPS, copy_task, implemented_ops, tiny_model

__all__ = ["WRONG_BITS_BELOW", "Comparison", "train_copy", "train_lstm", "lstm_hidden_size",
           "evaluate_copy", "compare", "plot_comparison", "plot_memory_and_gradient"]

#: The fraction of wrong bits below which a model is said to copy the sequences of a
#: length (1 in 50; guessing gets 1 in 2 wrong).
WRONG_BITS_BELOW = 0.02


def _n_params(model):
    return int(sum(v.size for v in model.params.values()))


def lstm_hidden_size(n_params, input_size, output_size):
    """The hidden size H whose :class:`ntm_numpy.LSTMBaseline` has the number of
    parameters closest to ``n_params``: ``(X + H + 1) 4H + (H + 1) Y``."""
    def count(H):
        return (input_size + H + 1) * 4 * H + (H + 1) * output_size
    return min(range(1, 1025), key=lambda H: abs(count(H) - n_params))


def _train(model, backward, seed, steps, stream, log_every, label):
    """``steps`` updates of ``model`` on the capstone's batches of ``seed`` (the same
    batches for every model of that seed)."""
    cfg = CAPSTONE["train"]
    task = copy_task()
    rng = np.random.default_rng([seed, 1])
    opt = make_optimizer("adam", lr=cfg["lr"])
    history = {"step": [], "loss": [], "bit_errors": [], "time": []}
    start = time.perf_counter()
    loss_sum = bits_sum = 0.0
    n = 0
    with single_blas_thread():
        for step in range(1, steps + 1):
            # one update: forward, loss, backward (``backward``: the student's), clipping, Adam
            result = train_step(model, opt, task.batch(rng, cfg["batch_size"]), backward)
            loss_sum += result.loss
            bits_sum += result.bit_errors
            n += 1
            if step % log_every == 0 or step == steps:
                history["step"].append(step)
                history["loss"].append(loss_sum / n)
                history["bit_errors"].append(bits_sum / n)
                history["time"].append(time.perf_counter() - start)
                if stream is not None:
                    stream.write(f"{label} update {step:5d}  loss {loss_sum / n:.4f}  "
                                 f"bit errors/seq {bits_sum / n:.3f}\n")
                loss_sum = bits_sum = 0.0
                n = 0
    return model, history


def train_copy(ops=None, *, step_backward=None, ntm_backward=None, steps=None, seed=None,
               log_every=500, stream=None):
    """Train the capstone's NTM on the copy task on the student's gradients.

    Parameters
    ----------
    ops : dict op name -> function, the student's primitives (``model.ops``; the
        package's stand in for the others; :func:`compare` leaves out the blank ones)
    step_backward, ntm_backward : the student's step and loop
        (:mod:`ntm_numpy.course.bptt`); the package's stand in for one not given, and
        with neither the model's own ``backward`` runs (with ``ops``)
    steps, seed : updates and seed (default: :data:`CAPSTONE`'s ``train``)
    log_every, stream : a line to ``stream`` (e.g. ``sys.stdout``) every ``log_every``
        updates

    Returns
    -------
    (model, history): ``history`` has ``step``, ``loss``, ``bit_errors`` (per sequence,
    averaged since the last entry) and ``time`` (seconds since the start)
    """
    cfg = CAPSTONE["train"]
    steps = cfg["steps"] if steps is None else int(steps)
    seed = cfg["seed"] if seed is None else int(seed)
    model = tiny_model(ops, seed=seed)
    backward = None
    if step_backward is not None or ntm_backward is not None:
        loop = bptt.package_ntm_backward if ntm_backward is None else ntm_backward
        step = bptt.package_step_backward if step_backward is None else step_backward

        def backward(dlogits, cache):  # what train_step calls: the student's loop
            return loop(dlogits, cache, model, step)

    return _train(model, backward, seed, steps, stream, log_every, f"NTM  seed {seed}")


def train_lstm(hidden_size, *, steps=None, seed=None, log_every=500, stream=None):
    """Train the package's :class:`ntm_numpy.LSTMBaseline` of ``hidden_size`` units on
    the capstone's copy task: the batches and updates of :func:`train_copy` for the
    same seed. Returns ``(model, history)``."""
    from ..baseline import LSTMBaseline

    cfg = CAPSTONE["train"]
    steps = cfg["steps"] if steps is None else int(steps)
    seed = cfg["seed"] if seed is None else int(seed)
    task = copy_task()
    model = LSTMBaseline(task.input_size, task.output_size, hidden_size=hidden_size, seed=seed)
    return _train(model, None, seed, steps, stream, log_every, f"LSTM seed {seed}")


def evaluate_copy(model, lengths=None, sequences=64, seed=1234):
    """Bit errors per sequence of ``model`` on the capstone's copy task, per length
    (:func:`ntm_numpy.training.evaluation.evaluate`, all ``sequences`` of a length in one
    batch; default lengths: the training lengths)."""
    task = CAPSTONE["task"]
    lengths = range(task["min_length"], task["max_length"] + 1) if lengths is None else lengths
    return evaluate(model, copy_task(), lengths, sequences=sequences, batch_size=sequences,
                    seed=seed)


@dataclass
class Comparison:
    """What :func:`compare` measured: bit errors per sequence, (seeds, lengths) arrays.

    Attributes
    ----------
    lengths : the evaluated lengths: the training lengths, then 2 and 4 times the longest
    train_max : the longest training length L
    seeds : the seeds, one NTM and one LSTM each
    ntm, lstm : (S, len(lengths)) bit errors per sequence
    ntm_params, lstm_params, lstm_hidden : the models' sizes
    updates, batch_size, sequences : training updates, sequences per update, and
        evaluation sequences per length
    seconds : "ntm" and "lstm" -> training seconds per seed
    models : the trained NTMs, by seed
    stand_ins : the primitives that were the package's (not given, or blank)
    """

    lengths: list
    train_max: int
    seeds: tuple
    ntm: np.ndarray
    lstm: np.ndarray
    ntm_params: int
    lstm_params: int
    lstm_hidden: int
    updates: int
    batch_size: int
    sequences: int
    seconds: dict = field(default_factory=dict)
    models: list = field(default_factory=list)
    stand_ins: list = field(default_factory=list)

    def bits(self):
        """(len(lengths),) the bits of a sequence of each length (what is copied)."""
        return CAPSTONE["task"]["bits"] * np.asarray(self.lengths, dtype=float)

    def wrong_fraction(self, errors):
        """``errors`` (S, lengths) as fractions of the bits copied."""
        return np.asarray(errors) / self.bits()

    def generalises(self, errors):
        """Per seed, whether ``errors`` (S, lengths) stay below :data:`WRONG_BITS_BELOW`
        of the bits at every evaluated length."""
        return np.all(self.wrong_fraction(errors) < WRONG_BITS_BELOW, axis=1)

    def counts(self):
        """``{"ntm": k, "lstm": j}``: how many seeds generalise to 2 L and 4 L."""
        return {"ntm": int(self.generalises(self.ntm).sum()),
                "lstm": int(self.generalises(self.lstm).sum())}

    def _verdict(self, fractions):
        """What one seed does, from its fractions of wrong bits per length."""
        ok = fractions < WRONG_BITS_BELOW
        n_train = len(self.lengths) - 2
        lo, L = self.lengths[0], self.train_max
        if ok.all():
            if not fractions.any():
                return f"copies every length up to {4 * L} without a wrong bit"
            return (f"copies every length up to {4 * L} (at most {fractions.max():.1%} of the "
                    "bits wrong)")
        if ok[:n_train].all():
            k = int(np.argmin(ok))
            return (f"copies lengths {lo}-{L}, not {self.lengths[k]} ({fractions[k]:.0%} of "
                    "the bits wrong)")
        return (f"does not copy the training lengths ({fractions[n_train - 1]:.0%} of the bits "
                f"wrong at {L})")

    def summary(self):
        """The numbers the notebook's text relies on, as a table and two sentences."""
        L, S = self.train_max, len(self.seeds)
        head = [f"{n:>6}" for n in self.lengths]
        lines = [f"Copy, trained on lengths {self.lengths[0]}-{L}: {self.updates:,} updates of "
                 f"{self.batch_size} sequences each, the same batches for both, seeds "
                 f"{', '.join(map(str, self.seeds))}.",
                 f"  NTM (your gradients): {self.ntm_params:,} parameters, "
                 f"{np.mean(self.seconds['ntm']):.1f} s per seed; LSTM "
                 f"({self.lstm_hidden} units): {self.lstm_params:,} parameters, "
                 f"{np.mean(self.seconds['lstm']):.1f} s per seed; training in all "
                 f"{sum(self.seconds['ntm']) + sum(self.seconds['lstm']):.0f} s."
                 + (f" The package's {', '.join(self.stand_ins)} stood in for yours."
                    if self.stand_ins else ""),
                 f"Bit errors per sequence ({self.sequences} sequences per length; "
                 f"{2 * L} and {4 * L} are 2x and 4x the longest training length):",
                 "  length       " + "".join(head)]
        for name, errs in (("NTM ", self.ntm), ("LSTM", self.lstm)):
            for seed, row in zip(self.seeds, errs):
                lines.append(f"  {name} seed {seed:<3}" + "".join(f"{e:6.2f}" for e in row))
        for name, errs in (("NTM ", self.ntm), ("LSTM", self.lstm)):
            for seed, row in zip(self.seeds, self.wrong_fraction(errs)):
                lines.append(f"  {name} seed {seed}: {self._verdict(row)}")
        c = self.counts()
        bits = self.bits()
        for name, errs, k in (("NTM", self.ntm, c["ntm"]), ("LSTM", self.lstm, c["lstm"])):
            lines.append(
                f"{name}: {k} of {S} seeds get fewer than {WRONG_BITS_BELOW:.0%} of the bits "
                f"wrong at every length up to {4 * L}; wrong bits per sequence at {2 * L}: "
                f"{_span(errs[:, -2])} (of {bits[-2]:.0f}), at {4 * L}: {_span(errs[:, -1])} "
                f"(of {bits[-1]:.0f}).")
        return "\n".join(lines)


def _span(values):
    lo, hi = float(np.min(values)), float(np.max(values))
    return f"{lo:.2f}" if lo == hi else f"{lo:.2f}-{hi:.2f}"


def compare(ops=None, *, step_backward=None, ntm_backward=None, seeds=None, steps=None,
            stream=None, log_every=None):
    """Train the student's NTM (:func:`train_copy`) and the LSTM baseline
    (:func:`train_lstm`, about as many parameters) for every seed, on the same batches
    for the same number of updates, and score both at the training lengths and at 2 and 4
    times the longest (:func:`evaluate_copy`).

    Parameters
    ----------
    ops, step_backward, ntm_backward : the student's, as :func:`train_copy` takes them
    seeds, steps : default :data:`CAPSTONE`'s ``compare`` seeds and ``train`` steps
    stream, log_every : progress lines (default: one per model, at its end)

    Returns
    -------
    Comparison
    """
    cfg = CAPSTONE["compare"]
    given = dict(ops or {})
    ops = implemented_ops(given)  # a blank one cannot run: the package's stands in
    seeds = tuple(cfg["seeds"] if seeds is None else seeds)
    steps = CAPSTONE["train"]["steps"] if steps is None else int(steps)
    log_every = steps if log_every is None else int(log_every)
    L0, L = CAPSTONE["task"]["min_length"], CAPSTONE["task"]["max_length"]
    lengths = list(range(L0, L + 1)) + [2 * L, 4 * L]
    task = copy_task()
    n_ntm = _n_params(tiny_model())
    hidden = lstm_hidden_size(n_ntm, task.input_size, task.output_size)
    ntm, lstm, seconds, models = [], [], {"ntm": [], "lstm": []}, []
    n_lstm = None
    for seed in seeds:
        model, hist = train_copy(ops, step_backward=step_backward, ntm_backward=ntm_backward,
                                 steps=steps, seed=seed, stream=stream, log_every=log_every)
        seconds["ntm"].append(hist["time"][-1])
        models.append(model)
        ntm.append([evaluate_copy(model, lengths, cfg["sequences"])[n] for n in lengths])
        base, hist = train_lstm(hidden, steps=steps, seed=seed, stream=stream,
                                log_every=log_every)
        n_lstm = _n_params(base)
        seconds["lstm"].append(hist["time"][-1])
        lstm.append([evaluate_copy(base, lengths, cfg["sequences"])[n] for n in lengths])
    return Comparison(lengths, L, seeds, np.array(ntm), np.array(lstm), n_ntm, n_lstm, hidden,
                      steps, CAPSTONE["train"]["batch_size"], cfg["sequences"], seconds,
                      models, [n for n in OPS if n not in ops] if given else [])


def plot_comparison(result):
    """The fraction of wrong bits against length, every seed of the NTM and of the LSTM,
    the lengths beyond training shaded and :data:`WRONG_BITS_BELOW` marked. Returns a
    matplotlib Figure."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import FixedLocator, PercentFormatter

    L = result.train_max
    x = np.asarray(result.lengths, dtype=float)
    fig = Figure(figsize=(10, 4.2), layout="constrained")
    ax = fig.subplots()
    ax.axvspan(L + 0.5, x.max() + 1, color="0.93", lw=0,
               label="longer than any training sequence")
    for errs, color, name in ((result.ntm, "C0", "NTM (your gradients)"),
                              (result.lstm, "C3", "LSTM baseline, no memory")):
        for k, row in enumerate(result.wrong_fraction(errs)):
            ax.plot(x, 100 * row, "o-", color=color, ms=4, lw=1.2, alpha=0.85,
                    label=f"{name}, {len(result.seeds)} seeds" if k == 0 else "_nolegend_")
    ax.axhline(100 * WRONG_BITS_BELOW, color="0.3", ls=":", lw=1.2,
               label=f"{WRONG_BITS_BELOW:.0%} of the bits wrong")
    ax.axhline(50, color="0.6", ls="--", lw=1, label="guessing (50%)")
    ax.set_yscale("symlog", linthresh=1.0)
    ax.yaxis.set_major_locator(FixedLocator([0, 1, 2, 5, 10, 20, 50, 100]))
    ax.yaxis.set_major_formatter(PercentFormatter(decimals=0))
    ax.set_ylim(0, 100)
    ax.set_xlim(x.min() - 1, x.max() + 1)
    ax.set_xticks(x)
    ax.set_xticklabels([f"{n}" + ("\n(2x)" if n == 2 * L else "\n(4x)" if n == 4 * L else "")
                        for n in result.lengths], fontsize=8)
    ax.set(xlabel="sequence length", ylabel="wrong bits (symlog scale)",
           title=f"Copy: trained on lengths {result.lengths[0]}-{L}, tested up to {4 * L}")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(True, alpha=0.3)
    return fig


def plot_memory_and_gradient(model, length=None, seed=5):
    """Memory and dL/dM_t over time on one copy sequence of ``length`` vectors (default
    :data:`~ntm_numpy.course.capstone.CHECK_LENGTH`): two heat maps of the row norms
    (rows x time), the write head's focus marked on both, the output steps shaded.

    Returns a matplotlib Figure.
    """
    from matplotlib.colors import LogNorm
    from matplotlib.figure import Figure

    task = copy_task()
    L = CHECK_LENGTH if length is None else int(length)
    x, y, mask = task.batch(np.random.default_rng(seed), 1, length=L, dtype=model.dtype)
    logits, cache = model.forward(x)
    _, lcache = sigmoid_cross_entropy_forward(logits, y, mask)
    dlogits = sigmoid_cross_entropy_backward(1.0, lcache)[0]
    _, carried = model.backward(dlogits, cache, return_carried=True)
    trace = cache.trace()
    mem = np.linalg.norm(trace.memory[1:, 0], axis=-1).T  # (N, T): M_t after step t
    grad = np.stack([np.linalg.norm(c["memory"][0], axis=-1) for c in carried], axis=1)
    rows = trace.write_weights[:, 0, 0].argmax(axis=-1)
    T = x.shape[0]
    fig = Figure(figsize=(9, 3.4), layout="constrained")
    axes = fig.subplots(1, 2)
    top = float(grad.max()) if grad.max() > 0 else 1.0
    norms = (None, LogNorm(vmin=top * 1e-6, vmax=top))
    for ax, data, title, cmap, norm in (
            (axes[0], mem, "memory: |M_t(i)|", "viridis", norms[0]),
            (axes[1], np.maximum(grad, top * 1e-6), "gradient: |dL/dM_t(i)| (log scale)",
             "magma", norms[1])):
        im = ax.imshow(data, aspect="auto", cmap=cmap, origin="upper", norm=norm,
                       interpolation="nearest")
        ax.plot(np.arange(T), rows, "w.", ms=4, label="write head's row")
        ax.axvspan(L + 0.5, T - 0.5, facecolor="none", edgecolor="0.6", hatch="//", lw=0)
        ax.set(title=title, xlabel="step t (output steps shaded)", ylabel="row i")
        fig.colorbar(im, ax=ax, shrink=0.85)
    axes[0].legend(loc="lower left", fontsize=7)
    fig.suptitle(f"A copy sequence of length {L}: what is stored, and where the loss "
                 "pulls on it")
    return fig
