"""Draw the two figures of docs/architecture.md.

    python docs/make_architecture_figures.py     # writes docs/images/architecture_*.png

``architecture_parts.png``: the package as layers, each importing only those below it
(the layers and their modules are :data:`LAYERS`; ``tests/test_architecture.py`` checks
them against the package's files and imports). ``architecture_data_path.png``: one time
step of the NTM, forward (left to right) and backward (right to left), with the
functions that compute each stage.
"""
import os

import matplotlib

matplotlib.use("Agg")
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

#: The layers of the package, top (what the user runs) to bottom (what everything uses).
#: Each entry: (title, what it is, modules). A module imports only from its own layer
#: or the layers below it.
LAYERS = [
    ("command line", "a thin layer over the parts below",
     ["cli.py", "_cli_parsing.py", "__main__.py"]),
    ("around the model", "what teaches, ships, trains and shows the model",
     ["course/", "pretrained/", "training/", "plotting/"]),
    ("the model", "the NTM and its baseline unrolled over time, and their checkpoint format",
     ["model.py", "baseline.py", "cell.py", "recurrence.py", "checkpoint.py"]),
    ("one time step", "the paper's equations, chained: primitives, or fused for speed",
     ["reference_step.py", "fused_step.py"]),
    ("the equations", "one forward/backward pair per operation of the paper",
     ["memory.py", "addressing.py", "controller.py", "heads.py", "activations.py",
      "losses.py"]),
    ("the paper's setting", "tasks, optimisers, gradient checks, constants",
     ["tasks/", "optim.py", "gradcheck.py", "constants.py", "_validation.py"]),
]

BLUE, GREY, RED = "#dbe6f3", "#4a5a6a", "#b03a2e"


def _box(ax, x, y, w, h, text, color=BLUE, size=9, weight="normal"):
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.01,rounding_size=0.015",
                                facecolor=color, edgecolor=GREY, linewidth=0.8))
    ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=size,
            weight=weight, family="monospace" if text.endswith(("py", "/")) else None)


def _arrow(ax, start, end, color=GREY, style="-|>", ls="-"):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle=style, mutation_scale=12,
                                 color=color, linewidth=1.2, linestyle=ls))


def parts_figure():
    """The layers of :data:`LAYERS`, top to bottom, with the direction of imports."""
    fig = Figure(figsize=(10, 7.2))
    ax = fig.add_axes([0, 0, 1, 1])
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.axis("off")
    n = len(LAYERS)
    row = 0.9 / n
    for i, (title, what, modules) in enumerate(LAYERS):
        y = 0.95 - (i + 1) * row
        ax.text(0.02, y + row * 0.62, title, fontsize=10, weight="bold", va="center")
        ax.text(0.02, y + row * 0.3, what, fontsize=7.5, color=GREY, va="center", wrap=True)
        left, width = 0.3, 0.66
        w = width / len(modules)
        for j, name in enumerate(modules):
            _box(ax, left + j * w + 0.005, y + row * 0.15, w - 0.01, row * 0.7, name, size=8.5)
        if i < n - 1:
            _arrow(ax, (0.97, y + row * 0.2), (0.97, y - row * 0.25))
    ax.text(0.985, 0.5, "imports point down only", rotation=90, fontsize=8, color=GREY,
            ha="center", va="center")
    fig.suptitle("ntm_numpy: the parts; a module imports only from its own layer or those below",
                 fontsize=11, y=0.995)
    return fig


#: One time step, forward: (label, the function that computes it, x position).
STAGES = [
    ("input\nx_t, h_{t-1}, r_{t-1}", "NTMCell.step", "to step t-1:\nd h_{t-1}, d r_{t-1}", 0.075),
    ("controller\nh_t (and c_t)", "lstm_gates_forward", "d z_t\n(d c_{t-1})", 0.215),
    ("head parameters\nk, β, g, s, γ, e, a", "head_params_forward", "d raw head\nparameters", 0.355),
    ("addressing\neqs (5)-(9): w_t", "content_weighting_,\ninterpolation_, shift_,\nsharpen_forward",
     "d w_t, eqs (9)\nback to (5)", 0.5),
    ("read, eq (2)\nr_t from M_{t-1}", "read_forward", "d r_t -> d w,\nd M_{t-1}", 0.645),
    ("write, eqs (3)-(4)\nM_t", "write_forward", "d M_t -> d w,\nd e, d a", 0.785),
    ("output\ny_t from h_t, r_t", "NTMCell.output", "d y_t\n(the loss)", 0.925),
]


def data_path_figure():
    """One time step forward (top row) and backward (bottom row)."""
    fig = Figure(figsize=(12, 5))
    ax = fig.add_axes([0, 0, 1, 1])
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.axis("off")
    w, h = 0.12, 0.16
    for label, fn, grad, x in STAGES:
        _box(ax, x - w / 2, 0.62, w, h, label, size=8)
        ax.text(x, 0.585, fn, ha="center", va="top", fontsize=7, family="monospace",
                color=GREY)
        _box(ax, x - w / 2, 0.16, w, h, grad, color="#f6e3df", size=8)
    for (_, _, _, x0), (_, _, _, x1) in zip(STAGES[:-1], STAGES[1:]):
        _arrow(ax, (x0 + w / 2, 0.70), (x1 - w / 2, 0.70))
        _arrow(ax, (x1 - w / 2, 0.24), (x0 + w / 2, 0.24), color=RED)
    ax.text(0.5, 0.93, "forward: forward_loop(cell, x) runs NTMCell.step for t = 0 .. T-1; "
            "memory M, weightings w and the LSTM cell c are carried to step t+1",
            ha="center", fontsize=9)
    ax.text(0.5, 0.445, "backward: backward_loop(cell, dlogits, unrolled) runs "
            "NTMCell.step_backward for t = T-1 .. 0, the same primitives' *_backward in "
            "reverse order;\ndM, dw and dc are carried to step t-1, and every weight's "
            "gradient is summed over steps at once (NTMCell.parameter_gradients)",
            ha="center", fontsize=9, color=RED)
    ax.text(0.5, 0.05, "recurrence.py (one loop each way) -> cell.py (one step) -> "
            "reference_step.py or fused_step.py -> memory.py, addressing.py, controller.py, "
            "heads.py", ha="center", fontsize=8.5, family="monospace", color=GREY)
    return fig


def main():
    """Write both figures into docs/images/."""
    for name, make in (("architecture_parts.png", parts_figure),
                       ("architecture_data_path.png", data_path_figure)):
        path = os.path.join(HERE, "images", name)
        make().savefig(path, dpi=110)
        print("wrote", path)


if __name__ == "__main__":
    main()
