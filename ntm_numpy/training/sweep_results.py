"""The results of a seed sweep (:mod:`ntm_numpy.training.sweep`): one line per run, the
summary table (one row per seed, then the median and the worst), the runs read back
from a sweep's folder, and the figure of their validation curves.
"""
import csv
import json
import math
import os

import numpy as np

from .._validation import check_choice
from .config import CONVERGED_BIT_ERRORS


def one_line(res):
    """A finished run's result (``result.json``) in one line: when it converged, and its
    bit errors per sequence at the evaluated lengths."""
    conv = res["converged"]
    txt = "never below 0.1" if conv is None else (
        f"converged at {conv['sequences']:,} sequences ({conv['time']:.0f} s)")
    gen = ", ".join(f"{k}: {v:.3g}" for k, v in res["generalisation"].items())
    return f"{txt}; bit errors per sequence at lengths {gen}"


# ----------------------------------------------------------------------------- summary

def summary_rows(results, lengths):
    """One dict per run (then ``median`` and ``worst``) of the summary's columns.

    Columns: ``seed``, ``converged_sequences`` and ``converged_s`` (first validation
    below :data:`~ntm_numpy.training.config.CONVERGED_BIT_ERRORS`), ``stable_sequences`` and
    ``stable_s`` (from which every later validation stayed below), ``worst_after``,
    ``final_val`` (bit errors) and ``final_val_cost`` (cross-entropy in bits, per
    sequence), ``total_s``, ``restarts`` (how many times the run started again,
    ``TrainConfig.restart_after``; the convergence columns are of its last start), then per length ``len_L`` (bit errors per sequence) and
    ``cost_L`` (cost per sequence, bits); for the N-gram task also ``optimal_L``, the
    Bayes-optimal cost on the same sequences. A run that never converged (or did not
    stay below) has ``inf`` there.
    """
    rows = []
    for r in results:
        conv = r["converged"] or {}
        stable = conv.get("stable_sequences") is not None
        inf = math.inf
        row = dict(seed=r["seed"],
                   converged_sequences=conv.get("sequences", inf),
                   converged_s=conv.get("time", inf),
                   stable_sequences=conv["stable_sequences"] if stable else inf,
                   stable_s=conv["stable_time"] if stable else inf,
                   worst_after=(r["worst_after_converged"] if conv else inf),
                   final_val=r["final_val_bit_errors"],
                   final_val_cost=_number(r.get("final_val_cost")), total_s=r["seconds"],
                   restarts=len(r.get("restart_step") or []))
        for length in lengths:
            row[f"len_{length}"] = r["generalisation"][str(length)]
        for length in lengths:
            row[f"cost_{length}"] = _number((r.get("generalisation_cost") or {}).get(str(length)))
        if "optimal_cost" in r:
            for length in lengths:
                row[f"optimal_{length}"] = r["optimal_cost"][str(length)]
        rows.append(row)
    if rows:
        keys = [k for k in rows[0] if k != "seed"]
        rows.append(dict(seed="median", **{k: _over_seeds(np.median, [r[k] for r in rows])
                                           for k in keys}))
        rows.append(dict(seed="worst", **{k: _over_seeds(max, [r[k] for r in rows[:-1]])
                                          for k in keys}))
    return rows


def _over_seeds(fn, values):
    """``fn`` of the values that are not NaN (NaN: not recorded), NaN if none is."""
    values = [v for v in values if not math.isnan(v)]
    return float(fn(values)) if values else math.nan


def _number(value):
    """A figure of a result dict, NaN where an older result did not record it."""
    return math.nan if value is None else value


def _fmt(key, value):
    if isinstance(value, str) or key == "seed":
        return str(value)
    if math.isnan(value):
        return "-"
    if math.isinf(value):
        return "never"
    if key == "restarts":
        return f"{value:g}"
    if key.endswith("_sequences"):
        return f"{value:,.0f}"
    if key.endswith("_s"):
        return f"{value:.0f}"
    return f"{value:.3f}" if value < 100 else f"{value:.1f}"


def write_summary(results, out, lengths):
    """Write ``summary.csv`` and ``summary.md`` into ``out``; returns their paths."""
    rows = summary_rows(results, lengths)
    csv_path, md_path = os.path.join(out, "summary.csv"), os.path.join(out, "summary.md")
    with open(csv_path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    head = (["seed", "converged: sequences", "s", "stays below 0.1 from: sequences", "s",
             "worst validation after", "final validation", "final validation cost", "run s",
             "restarts"]
            + [f"length {n}" for n in lengths] + [f"cost at {n}" for n in lengths]
            + [f"Bayes-optimal cost at {n}" for n in lengths if f"optimal_{n}" in rows[0]])
    lines = ["| " + " | ".join(head) + " |", "|" + "---:|" * len(head)]
    for row in rows:
        lines.append("| " + " | ".join(_fmt(k, v) for k, v in row.items()) + " |")
    note = (f"\nValidation: bit errors per sequence on the run's validation set; converged: "
            f"first validation below {CONVERGED_BIT_ERRORS}. Cost: cross-entropy per sequence "
            f"in bits. Lengths: bit errors (then cost) per sequence, "
            f"{results[0]['eval_sequences']} sequences per length (evaluation seed "
            f"{results[0]['eval_seed']}). 'worst' is the largest value over seeds (the latest "
            "time).\n")
    with open(md_path, "w") as f:
        f.write("\n".join(lines) + "\n" + note)
    return [csv_path, md_path]


def load_results(out):
    """The result dicts of the finished runs of the sweep in ``out``, by seed."""
    results = []
    for name in os.listdir(out):
        path = os.path.join(out, name, "result.json")
        if name.startswith("seed_") and os.path.exists(path):
            with open(path) as f:
                results.append(json.load(f))
    if not results:
        raise ValueError(f"out: expected a sweep directory with finished runs, got {out!r}")
    return sorted(results, key=lambda r: r["seed"])


def ngram_optimal_cost(task, sequences=1000, seed=0):
    """The Bayes-optimal estimator's mean cost per sequence (bits) on ``sequences`` fresh
    sequences of the N-gram ``task`` (a :class:`~ntm_numpy.tasks.Task`): what the
    training cost of a perfect model would average, for the line of :func:`plot_sweep`.

    The streams are one batch x (T, B, 1), y (T, B, 1), mask (T, B) with B =
    ``sequences``, drawn with ``numpy.random.default_rng(seed)``; returns a float.
    """
    from ..tasks import ngram_cost_bits, ngram_optimal_predictions

    x, y, mask = task.batch(np.random.default_rng(seed), sequences)
    return ngram_cost_bits(ngram_optimal_predictions(x, task.params["context_length"]), y,
                           mask)


#: The cost panels :func:`plot_sweep` can draw: (x key, y key, factor to bits, y label).
SWEEP_COSTS = {
    "training": ("sequences", "loss", 1.0 / math.log(2), "training cost per sequence (bits)"),
    "validation": ("val_sequences", "val_cost", 1.0, "validation cost per sequence (bits)"),
}


def plot_sweep(results, path, config=None, *, title=None, optimal=None, cost="training"):
    """Median and min-max over seeds of the validation bit errors and the training cost.

    Two panels against sequences seen (the paper's figures' axis): the validation bit
    errors per sequence and the training cost per sequence in bits (``cost="training"``,
    the default) or the cost on the validation set (``cost="validation"``: the measure
    to compare where a curriculum makes the training sequences longer once a run has
    settled, as copy's default does). Each thin line is one seed. ``results`` is a list
    of result dicts (one sweep) or a dict label -> list (several sweeps, one colour
    each, e.g. the NTM against the LSTM baseline).
    ``optimal``, a cost in bits per sequence (the N-gram task's Bayes-optimal one,
    :func:`ngram_optimal_cost`), is drawn as a line on the cost panel. A panel whose
    curves fall by a decade or more, or to 0, has a symmetric-log axis (with the 0.1 bit
    errors of convergence marked), any other a linear one, as do both when ``optimal``
    is given. Writes ``path``; returns it.
    """
    import matplotlib.pyplot as plt

    from ..plotting import save_figure

    check_choice("cost", cost, SWEEP_COSTS)
    groups = results if isinstance(results, dict) else {None: results}
    if cost == "validation":
        for name, runs in groups.items():
            for r in runs:
                if any(v is None for v in r["curves"].get("val_cost", [None])):
                    raise ValueError(f"cost: 'validation' needs every run's validation cost, "
                                     f"but seed {r.get('seed')!r} of {name or 'the sweep'} "
                                     "has none recorded (a run from before it was)")
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    panels = [("val_sequences", "val_bit_errors", 1.0, "validation bit errors per sequence"),
              SWEEP_COSTS[cost]]
    for ax, (xkey, ykey, scale, label) in zip(axes, panels):
        low, high = math.inf, 0.0
        for i, (name, runs) in enumerate(groups.items()):
            n = min(len(r["curves"][ykey]) for r in runs)
            if n == 0:
                continue
            xs = np.asarray(runs[0]["curves"][xkey][:n], dtype=float) / 1000
            ys = np.array([r["curves"][ykey][:n] for r in runs], dtype=float) * scale
            low, high = min(low, float(ys.min())), max(high, float(ys.max()))
            for y in ys:
                ax.plot(xs, y, color=f"C{i}", lw=0.5, alpha=0.5)
            prefix = "" if name is None else f"{name}: "
            ax.fill_between(xs, ys.min(0), ys.max(0), color=f"C{i}", alpha=0.2,
                            label=f"{prefix}min-max")
            ax.plot(xs, np.median(ys, axis=0), color=f"C{i}", lw=2,
                    label=f"{prefix}median of {len(runs)}")
        # curves that fall by decades, or to 0: a scale that shows both; else linear
        decades = optimal is None and not (0 < 10 * low and high < 10 * low)
        if decades:
            ax.set_yscale("symlog", linthresh=0.1 if ykey == "val_bit_errors" else 1.0)
        ax.set_xlabel("sequences seen (thousands)")
        ax.set_ylabel(label)
        if ykey == "val_bit_errors" and decades:
            ax.axhline(CONVERGED_BIT_ERRORS, color="k", ls=":", lw=1,
                       label=f"{CONVERGED_BIT_ERRORS} (converged)")
        elif ykey != "val_bit_errors" and optimal is not None:
            ax.axhline(optimal, color="k", ls="--", lw=1,
                       label=f"Bayes-optimal ({optimal:.1f} bits)")
        ax.legend(loc="center right", fontsize="small")
        ax.grid(alpha=0.3)
    if title is None and config is not None:
        runs = next(iter(groups.values()))
        title = (f"{config.model} on {config.task}: {len(runs)} seeds "
                 f"({', '.join(str(r['seed']) for r in runs)})")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    written = save_figure(fig, path)
    plt.close(fig)
    return written
