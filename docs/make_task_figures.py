"""Draw the task-encoding pictures of docs/tasks.md into docs/images/.

Run from anywhere::

    python docs/make_task_figures.py

Each picture shows one sequence of a task: the input ``x`` (channels x time), the
target ``y`` and the mask, drawn by :mod:`ntm_numpy.tasks` with a fixed seed.
"""
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from ntm_numpy import tasks  # noqa: E402

OUT = os.path.join(HERE, "images")
CMAP = "RdBu_r"   # 0 white, 1 dark red, -1 dark blue (priorities)


def _heatmap(ax, a, title, labels, vmin=-1.0, vmax=1.0):
    """a: (T, C) -> image with channels as rows, time as columns."""
    im = ax.imshow(a.T, aspect="auto", interpolation="nearest", cmap=CMAP, vmin=vmin,
                   vmax=vmax, origin="upper")
    ax.set_title(title, fontsize=9, loc="left")
    ax.set_yticks(range(a.shape[1]))
    ax.set_yticklabels(labels, fontsize=6)
    ax.tick_params(axis="x", labelsize=7)
    if a.shape[0] <= 60:                    # thin separators between time steps
        ax.set_xticks(np.arange(-0.5, a.shape[0], 1), minor=True)
        ax.tick_params(which="minor", length=0)
        ax.grid(which="minor", axis="x", color="0.85", linewidth=0.3)
    return im


def _mask_strip(ax, mask):
    ax.imshow(mask[None, :], aspect="auto", interpolation="nearest", cmap="Greys", vmin=0,
              vmax=1.6)
    ax.set_yticks([0])
    ax.set_yticklabels(["mask"], fontsize=6)
    ax.set_xlabel("time step t", fontsize=8)
    ax.tick_params(axis="x", labelsize=7)


def _figure(x, y, mask, in_labels, out_labels, title, path, width=8.0):
    heights = [len(in_labels), len(out_labels), 0.7]
    fig, axes = plt.subplots(3, 1, figsize=(width, 0.22 * sum(heights) + 1.6), sharex=True,
                             gridspec_kw={"height_ratios": heights})
    im = _heatmap(axes[0], x, "input x", in_labels)
    _heatmap(axes[1], y, "target y", out_labels)
    _mask_strip(axes[2], mask)
    fig.suptitle(title, fontsize=10, x=0.01, ha="left")
    fig.colorbar(im, ax=axes[:2], fraction=0.02, pad=0.01)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    print("wrote", os.path.relpath(path, os.path.dirname(HERE)))


def _bits(n):
    return [f"bit {i}" for i in range(n)]


def copy_figure():
    rng = np.random.default_rng(1)
    x, y, mask = tasks.copy_batch(rng, 1, min_length=8, max_length=8)
    _figure(x[:, 0], y[:, 0], mask[:, 0], _bits(8) + ["delimiter"], _bits(8),
            "copy (L = 8, T = 2L + 1 = 17)", os.path.join(OUT, "task_copy.png"))


def repeat_copy_figure():
    rng = np.random.default_rng(2)
    x, y, mask = tasks.repeat_copy_batch(rng, 1, min_length=4, max_length=4, min_repeats=3,
                                         max_repeats=3, repeat_scale=10)
    _figure(x[:, 0], y[:, 0], mask[:, 0], _bits(8) + ["delimiter", "repeats / 10"],
            _bits(8) + ["end marker"],
            "repeat copy (L = 4, R = 3, count channel = 3/10, T = L + 1 + RL + 1 = 18)",
            os.path.join(OUT, "task_repeat_copy.png"))


def associative_recall_figure():
    rng = np.random.default_rng(3)
    x, y, mask = tasks.associative_recall_batch(rng, 1, min_items=4, max_items=4)
    _figure(x[:, 0], y[:, 0], mask[:, 0], _bits(6) + ["item delim.", "query delim."],
            _bits(6),
            "associative recall (n = 4 items of 3 x 6 bits, T = 4(3+1) + 2*3 + 2 = 24)",
            os.path.join(OUT, "task_associative_recall.png"))


def ngrams_figure():
    rng = np.random.default_rng(4)
    table = tasks.ngram_table(rng, 1)
    x, y, mask = tasks.ngrams_batch(rng, 1, table=table)
    probs = tasks.ngram_optimal_predictions(x)[:, 0, 0]
    s = np.concatenate([x[:, 0, 0], y[-1:, 0, 0]]).astype(int)
    t_len = x.shape[0]
    true_p = np.full(t_len, 0.5)
    for t in range(4, t_len):               # context of bit t+1 is s[t-4..t]
        c = int("".join(str(v) for v in s[t - 4:t + 1]), 2)
        true_p[t] = table[0, c]
    fig, axes = plt.subplots(4, 1, figsize=(11, 4.8), sharex=True,
                             gridspec_kw={"height_ratios": [0.5, 0.5, 0.35, 2.2],
                                          "hspace": 0.55})
    _heatmap(axes[0], x[:, 0], "input x: bit s[t]", ["s[t]"])
    _heatmap(axes[1], y[:, 0], "target y: bit s[t+1]", ["s[t+1]"])
    axes[2].imshow(mask[:, 0][None, :], aspect="auto", interpolation="nearest", cmap="Greys",
                   vmin=0, vmax=1.6)
    axes[2].set_yticks([0])
    axes[2].set_yticklabels(["mask"], fontsize=6)
    t = np.arange(t_len)
    axes[3].step(t, true_p, where="mid", color="0.6", lw=1, label="table[context] (hidden)")
    axes[3].step(t, probs, where="mid", color="C3", lw=1.2, label="optimal estimate, eq (10)")
    axes[3].set_ylim(-0.05, 1.05)
    axes[3].set_ylabel("P(s[t+1] = 1)", fontsize=8)
    axes[3].set_xlabel("time step t", fontsize=8)
    axes[3].legend(fontsize=7, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2,
                   frameon=False)
    axes[3].tick_params(labelsize=7)
    cost = tasks.ngram_cost_bits(tasks.ngram_optimal_predictions(x), y, mask)
    fig.suptitle(f"dynamic 6-grams (200 bits, T = 199); optimal cost of this sequence "
                 f"{cost:.1f} bits", fontsize=10, x=0.01, y=1.0, ha="left")
    path = os.path.join(OUT, "task_ngrams.png")
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    print("wrote", os.path.relpath(path, os.path.dirname(HERE)))


def priority_sort_figure():
    rng = np.random.default_rng(5)
    x, y, mask = tasks.priority_sort_batch(rng, 1)
    _figure(x[:, 0], y[:, 0], mask[:, 0], _bits(8) + ["priority", "delimiter"], _bits(8),
            "priority sort (20 inputs with priorities in [-1, 1], 16 sorted outputs, T = 37)",
            os.path.join(OUT, "task_priority_sort.png"))


def main():
    os.makedirs(OUT, exist_ok=True)
    copy_figure()
    repeat_copy_figure()
    associative_recall_figure()
    ngrams_figure()
    priority_sort_figure()


if __name__ == "__main__":
    main()
