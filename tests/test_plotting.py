"""Tests of ntm_numpy.plotting: every figure renders to a real PNG, has the documented
panels, titles, labels and colour bars, shows the trace's data, and rejects bad arguments.

Runs headless (``MPLBACKEND=Agg``, though the module never needs pyplot) under the
suite's ``np.seterr(all="raise")``.
"""
import matplotlib.image as mpimg
import numpy as np
import pytest
from matplotlib._pylab_helpers import Gcf
from matplotlib.colors import PowerNorm
from matplotlib.figure import Figure

from ntm_numpy import plotting
from ntm_numpy.model import NTM
from ntm_numpy.plotting import (
    MEASURE_LABELS,
    plot_addressing,
    plot_copy_summary,
    plot_erase_add,
    plot_generalisation,
    plot_memory,
    plot_memory_over_time,
    plot_sequence,
    plot_training_curves,
    plot_weightings,
    save_figure,
)
from ntm_numpy.tasks import bit_errors_per_sequence, copy_batch
from ntm_numpy.training.evaluation import NGRAM_SCORES, SCORES

LENGTH = 4  # copy length L, so T = 2L + 1 = 9
N, M, R, W = 10, 4, 1, 2
K = R + W


@pytest.fixture(scope="module")
def run():
    model = NTM(9, 8, controller_size=8, memory_rows=N, memory_width=M, read_heads=R,
                write_heads=W, seed=3)
    x, y, mask = copy_batch(np.random.default_rng(0), 3, min_length=LENGTH,
                            max_length=LENGTH)
    logits, cache = model.forward(x)
    return dict(model=model, x=x, y=y, mask=mask, logits=logits, cache=cache,
                trace=cache.trace())


@pytest.fixture(scope="module")
def history():
    n = 50
    return dict(sequences=np.arange(1, n + 1) * 16,
                loss=list(60 * np.exp(-np.linspace(0, 3, n))),
                bit_errors=np.maximum(0.0, 30 - np.arange(n)),
                val_sequences=np.arange(1, 6) * 160,
                val_bit_errors=[25.0, 12.0, 3.0, 0.5, 0.0])


def check_png(path):
    """The file exists, is a decodable PNG of some size, and is not one flat colour."""
    assert path.exists()
    assert path.stat().st_size > 5000
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    img = mpimg.imread(path)
    assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
    pixels = img.reshape(-1, img.shape[2])
    assert pixels.std(axis=0).max() > 0.05
    assert len(np.unique(pixels[:, :3], axis=0)) > 20


def render(fig, tmp_path, name):
    assert isinstance(fig, Figure)
    path = save_figure(fig, tmp_path / "figs" / f"{name}.png")
    check_png(path)
    return path


def titles(fig):
    return [ax.get_title() for ax in fig.axes]


def colourbars(fig):
    """Axes that are colour bars (matplotlib labels them ``"<colorbar>"``)."""
    return [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]


def panels(fig):
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]


def assert_labelled(ax):
    assert ax.get_xlabel() and ax.get_title()


# --------------------------------------------------------------------------- rendering
def test_plot_memory_default_steps(run, tmp_path):
    trace = run["trace"]
    T = trace.weights.shape[0]
    fig = plot_memory(trace)
    render(fig, tmp_path, "memory")
    ps = panels(fig)
    assert len(ps) == 6 and len(colourbars(fig)) == 1
    assert ps[0].get_title() == "initial memory (index 0)"
    assert ps[-1].get_title() == f"after step {T - 1} (index {T})"
    for ax in ps:
        assert_labelled(ax)
        assert ax.get_ylabel() == "memory row"
    # shared colour scale, and the last panel shows the final memory
    assert len({ax.images[0].get_clim() for ax in ps}) == 1
    np.testing.assert_array_equal(ps[-1].images[0].get_array(), trace.memory[T, 0])
    assert colourbars(fig)[0].get_ylabel() == "memory value"


def test_plot_memory_chosen_steps(run, tmp_path):
    fig = plot_memory(run["trace"], steps=[0, 3], batch_index=2)
    render(fig, tmp_path, "memory_steps")
    assert len(panels(fig)) == 2 and len(colourbars(fig)) == 1
    np.testing.assert_array_equal(panels(fig)[1].images[0].get_array(),
                                  run["trace"].memory[3, 2])
    assert len(panels(plot_memory(run["trace"], steps=5))) == 1


@pytest.mark.parametrize("reduce", plotting.MEMORY_REDUCTIONS)
def test_plot_memory_over_time(run, tmp_path, reduce):
    trace = run["trace"]
    T = trace.weights.shape[0]
    fig = plot_memory_over_time(trace, batch_index=1, reduce=reduce,
                                column=2 if reduce == "column" else None)
    render(fig, tmp_path, f"memory_time_{reduce}")
    (ax,) = panels(fig)
    assert len(colourbars(fig)) == 1 and colourbars(fig)[0].get_ylabel()
    assert_labelled(ax)
    assert ax.get_ylabel() == "memory row"
    a = ax.images[0].get_array()
    mem = trace.memory[:, 1]
    expected = {
        "row_norm": np.linalg.norm(mem, axis=2).T,
        "row_mean": mem.mean(axis=2).T,
        "column": mem[:, :, 2].T,
        "row_change": np.linalg.norm(np.diff(mem, axis=0), axis=2).T,
    }[reduce]
    assert a.shape == ((N, T) if reduce == "row_change" else (N, T + 1))
    np.testing.assert_allclose(a, expected, rtol=1e-12, atol=1e-15)


def test_plot_weightings(run, tmp_path):
    trace = run["trace"]
    fig = plot_weightings(trace, batch_index=1)
    render(fig, tmp_path, "weightings")
    ps = panels(fig)
    assert len(ps) == K and len(colourbars(fig)) == 1 and len(fig.axes) == K + 1
    assert [ax.get_title() for ax in ps] == ["read head 0", "write head 0", "write head 1"]
    for k, ax in enumerate(ps):
        assert ax.get_xlabel() == "time step t" and ax.get_ylabel() == "memory row"
        im = ax.images[0]
        np.testing.assert_array_equal(im.get_array(), trace.weights[:, k, 1].T)
        assert isinstance(im.norm, PowerNorm)
        assert (im.norm.vmin, im.norm.vmax, im.norm.gamma) == (0.0, 1.0, 0.3)
    # a uniform weighting over 128 rows is clearly visible, not at the bottom of the scale
    assert ps[0].images[0].norm(1 / 128) > 0.2
    assert "power-law" in colourbars(fig)[0].get_ylabel()
    # colour_gamma=1 gives a linear 0..1 scale
    lin = plot_weightings(trace, colour_gamma=1)
    assert not isinstance(panels(lin)[0].images[0].norm, PowerNorm)
    assert panels(lin)[0].images[0].get_clim() == (0.0, 1.0)


def test_plot_addressing(run, tmp_path):
    trace = run["trace"]
    head, step, b = 2, 3, 1
    fig = plot_addressing(trace, head=head, step=step, batch_index=b)
    render(fig, tmp_path, "addressing")
    axes = fig.axes
    assert len(axes) == 5
    beta, g, gamma = (trace.beta[step, head, b], trace.g[step, head, b],
                      trace.gamma[step, head, b])
    assert f"{beta:.3g}" in axes[0].get_title()
    assert f"{g:.3g}" in axes[1].get_title()
    assert f"{gamma:.3g}" in axes[3].get_title()
    assert "write head 1" in fig.get_suptitle() and f"step {step}" in fig.get_suptitle()
    stages = [trace.content, trace.gated, trace.shifted, trace.weights]
    for ax, stage in zip(axes[:4], stages):
        assert_labelled(ax)
        heights = [p.get_height() for p in ax.patches]
        np.testing.assert_allclose(heights, stage[step, head, b])
    assert len({ax.get_ylim() for ax in axes[:4]}) == 1  # one y range for the stages
    # previous weighting drawn on the gated panel for step > 0
    assert len(axes[1].lines) == 1
    shift_ax = axes[4]
    assert list(shift_ax.get_xticks()) == [-1, 0, 1]
    np.testing.assert_allclose([p.get_height() for p in shift_ax.patches],
                               trace.shift[step, head, b])
    assert shift_ax.get_xlabel() == "shift offset" and shift_ax.get_ylabel() == "probability"
    # step 0 has no previous weighting in the trace
    assert len(plot_addressing(trace, head=0, step=0).axes[1].lines) == 0


def test_plot_sequence(run, tmp_path):
    x, y, logits, mask = run["x"], run["y"], run["logits"], run["mask"]
    fig = plot_sequence(x, y, logits, mask, batch_index=1)
    render(fig, tmp_path, "sequence")
    ps = panels(fig)
    assert len(ps) == 4 and len(colourbars(fig)) == 1
    assert ps[0].get_title() == "input x" and ps[1].get_title().startswith("target y")
    assert ps[3].get_title().startswith("mask")
    n_err = int(bit_errors_per_sequence(logits, y, mask)[1])
    assert ps[2].get_title().startswith(f"output $\\sigma$(logits): {n_err} bit errors")
    np.testing.assert_allclose(ps[2].images[0].get_array(), 1 / (1 + np.exp(-logits[:, 1].T)))
    if n_err:
        assert len(ps[2].collections) == 1  # the red boxes
        assert len(ps[2].collections[0].get_paths()) == n_err
    assert ps[-1].get_xlabel() == "time step t"
    assert all(ax.get_ylabel() for ax in ps[:3])
    # just input and target
    fig2 = plot_sequence(x, y)
    assert len(panels(fig2)) == 2 and len(colourbars(fig2)) == 1
    render(fig2, tmp_path, "sequence_plain")


def test_plot_erase_add(run, tmp_path):
    trace = run["trace"]
    fig = plot_erase_add(trace, head=1, batch_index=2)
    render(fig, tmp_path, "erase_add")
    ps = panels(fig)
    assert len(ps) == 2 and len(colourbars(fig)) == 2
    assert "erase" in ps[0].get_title() and "add" in ps[1].get_title()
    np.testing.assert_array_equal(ps[0].images[0].get_array(), trace.erase[:, 1, 2].T)
    np.testing.assert_array_equal(ps[1].images[0].get_array(), trace.add[:, 1, 2].T)
    assert ps[0].images[0].get_clim() == (0.0, 1.0)
    lo, hi = ps[1].images[0].get_clim()
    assert lo == -hi and hi >= 1.0
    for ax in ps:
        assert ax.get_ylabel() == "memory column"


def test_plot_training_curves(history, tmp_path):
    fig = plot_training_curves(history)
    render(fig, tmp_path, "training")
    ax_loss, ax_err = fig.axes
    assert ax_loss.get_xlabel() == ax_err.get_xlabel() == "sequences seen"
    assert ax_loss.get_ylabel() and ax_err.get_ylabel() == "bit errors per sequence"
    assert ax_loss.get_yscale() == "linear"
    assert ax_err.get_yscale() == "symlog"  # the errors reach 0
    assert len(ax_err.lines) == 2
    positive = dict(history, bit_errors=np.linspace(30, 0.1, 50),
                    val_bit_errors=[25.0, 12.0, 3.0, 0.5, 0.2])
    assert plot_training_curves(positive).axes[1].get_yscale() == "log"
    with_val_loss = plot_training_curves(dict(history, val_loss=[50.0, 30, 10, 5, 2]))
    assert len(with_val_loss.axes[0].lines) == 2
    minimal = {k: history[k] for k in ("sequences", "loss", "bit_errors")}
    assert len(plot_training_curves(minimal).axes[1].lines) == 1


def test_training_curves_mark_the_restarts(history, tmp_path):
    steps = np.arange(1, len(history["sequences"]) + 1) * 10
    sequences = steps * 16
    restarted = dict(history, step=steps, sequences=sequences, restart_step=[105, 300])
    fig = plot_training_curves(restarted)
    render(fig, tmp_path, "training_restarted")
    for ax in fig.axes:
        marks = [line for line in ax.lines if line.get_linestyle() == "--"]
        # at the sequences seen by updates 105 and 300, 16 sequences each
        assert [line.get_xdata()[0] for line in marks] == [105 * 16, 300 * 16]
        assert [t.get_text() for t in ax.get_legend().get_texts()][-1] == "restart"
    assert not any(line.get_linestyle() == "--" for line in
                   plot_training_curves(dict(restarted, restart_step=[])).axes[0].lines)
    with pytest.raises(ValueError, match="^history: expected 'step' with 'restart_step'"):
        plot_training_curves({k: v for k, v in restarted.items() if k != "step"})


def test_plot_generalisation(tmp_path):
    lengths = [10, 20, 40, 80]
    fig = plot_generalisation(lengths, {"NTM": [0, 0, 1.5, 6], "LSTM": [0, 2, 20, 60]},
                              train_max_length=20)
    render(fig, tmp_path, "generalisation")
    (ax,) = fig.axes
    assert ax.get_xlabel() == "sequence length" and ax.get_ylabel() == "bit errors per sequence"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[:2] == ["NTM", "LSTM"]
    assert any("longest training length (20)" in t for t in legend)
    dashed = [ln for ln in ax.lines if ln.get_linestyle() == "--"]
    assert len(dashed) == 1 and list(dashed[0].get_xdata()) == [20, 20]
    one = plot_generalisation(np.array(lengths), np.array([1.0, 2, 4, 8]))
    assert one.axes[0].get_yscale() == "log" and len(one.axes[0].lines) == 1
    two = plot_generalisation(lengths, np.ones((2, 4)), labels=["a", "b"])
    assert [t.get_text() for t in two.axes[0].get_legend().get_texts()] == ["a", "b"]


def test_plot_generalisation_of_other_measures(tmp_path):
    # every score evaluate_scores gives has a label, and nothing else has one
    assert set(MEASURE_LABELS) == set(SCORES + NGRAM_SCORES)
    for measure in MEASURE_LABELS:
        fig = plot_generalisation([100, 200, 400], [0.1, 0.4, 6.5], measure=measure)
        assert fig.axes[0].get_ylabel() == MEASURE_LABELS[measure]
    # a log axis over a few decades labels its ticks as plain numbers
    fig = plot_generalisation([100, 200, 300, 400], [0.15, 0.34, 1.5, 6.1],
                              measure="cost_above_optimum_bits")
    fig.canvas.draw()
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels() + ax.get_yticklabels(minor=True)]
    shown = [t for t in labels if t]
    assert "1" in shown and "0.2" in shown and "2" in shown
    assert not any("e" in t or "$" in t or "10^" in t for t in shown)
    # a model can beat the estimator on a sample: negative values stay on the axes
    fig = plot_generalisation([100, 200], [-0.2, 0.4], measure="cost_above_optimum_bits",
                              train_max_length=200)
    render(fig, tmp_path, "above_optimum")
    (ax,) = fig.axes
    assert ax.get_yscale() == "symlog" and ax.get_ylim()[0] <= -0.2
    assert "Bayes-optimal" in ax.get_ylabel()
    assert plot_generalisation([2, 6], [0, 1], xlabel="items").axes[0].get_xlabel() == "items"


def test_plot_copy_summary(run, tmp_path):
    trace = run["trace"]
    fig = plot_copy_summary(run["x"], run["y"], run["logits"], trace, batch_index=0,
                            mask=run["mask"], write_head=1)
    render(fig, tmp_path, "copy_summary")
    ps = panels(fig)
    assert len(ps) == 6 and len(colourbars(fig)) == 4
    names = [ax.get_title() for ax in ps]
    for want, got in zip(["Inputs", "Outputs", "Adds", "Reads", "Write weightings",
                          "Read weightings"], names):
        assert got.startswith(want), (want, got)
    assert "write head 1" in names[2] and "write head 1" in names[4]
    for ax in ps:
        assert_labelled(ax)
        assert ax.get_ylabel()
    np.testing.assert_array_equal(ps[3].images[0].get_array(), trace.reads[:, 0, 0].T)
    np.testing.assert_array_equal(ps[4].images[0].get_array(), trace.weights[:, R + 1, 0].T)
    assert isinstance(ps[5].images[0].norm, PowerNorm)
    assert "figure 6" in fig.get_suptitle() and fig.get_suptitle().startswith("Copy,")


def test_copy_summary_names_another_task(run):
    fig = plot_copy_summary(run["x"], run["y"], run["logits"], run["trace"],
                            task="priority_sort")
    assert fig.get_suptitle().startswith("Priority sort, sequence 0")


def test_forward_cache_accepted(run):
    fig = plot_weightings(run["cache"])
    assert len(panels(fig)) == K


def test_save_figure(run, tmp_path):
    fig = plot_erase_add(run["trace"])
    target = tmp_path / "a" / "b" / "c" / "erase.png"
    out = save_figure(fig, str(target), dpi=50)
    assert out == target
    check_png(target)
    small = mpimg.imread(target).shape
    save_figure(fig, target, dpi=100)
    assert mpimg.imread(target).shape[0] > small[0]


def test_no_pyplot_figures_leak(run):
    before = Gcf.get_num_fig_managers()
    plot_weightings(run["trace"])
    plot_copy_summary(run["x"], run["y"], run["logits"], run["trace"])
    assert Gcf.get_num_fig_managers() == before


# --------------------------------------------------------------------------- bad arguments
def bad_calls(run, history):
    tr, x, y, lg, mask = run["trace"], run["x"], run["y"], run["logits"], run["mask"]
    T = tr.weights.shape[0]
    return [
        ("batch_index", lambda: plot_memory(tr, batch_index=3)),
        ("batch_index", lambda: plot_memory(tr, batch_index=-1)),
        ("batch_index", lambda: plot_memory_over_time(tr, batch_index=1.0)),
        ("batch_index", lambda: plot_weightings(tr, batch_index=True)),
        ("batch_index", lambda: plot_addressing(tr, batch_index=5)),
        ("batch_index", lambda: plot_erase_add(tr, batch_index=3)),
        ("batch_index", lambda: plot_sequence(x, y, lg, mask, batch_index=3)),
        ("batch_index", lambda: plot_copy_summary(x, y, lg, tr, batch_index=3)),
        ("steps", lambda: plot_memory(tr, steps=[0, T + 1])),
        ("steps", lambda: plot_memory(tr, steps=[])),
        ("steps", lambda: plot_memory(tr, steps="all")),
        ("reduce", lambda: plot_memory_over_time(tr, reduce="max")),
        ("column", lambda: plot_memory_over_time(tr, reduce="column", column=M)),
        ("column", lambda: plot_memory_over_time(tr, reduce="row_norm", column=0)),
        ("colour_gamma", lambda: plot_weightings(tr, colour_gamma=0)),
        ("head", lambda: plot_addressing(tr, head=K)),
        ("step", lambda: plot_addressing(tr, step=T)),
        ("step", lambda: plot_addressing(tr, step=-1)),
        ("head", lambda: plot_erase_add(tr, head=W)),
        ("trace", lambda: plot_weightings(np.zeros((3, 3)))),
        ("trace.memory", lambda: plot_memory(
            type(tr)(**{**vars(tr), "memory": tr.memory[:-1]}))),
        ("x", lambda: plot_sequence(x[:, :, 0], y)),
        ("y", lambda: plot_sequence(x, y[:-1])),
        ("logits", lambda: plot_sequence(x, y, lg[:, :, :-1])),
        ("mask", lambda: plot_sequence(x, y, lg, mask[:-1])),
        ("x", lambda: plot_copy_summary(x[:-1], y[:-1], lg[:-1], tr)),
        ("read_head", lambda: plot_copy_summary(x, y, lg, tr, read_head=R)),
        ("write_head", lambda: plot_copy_summary(x, y, lg, tr, write_head=W)),
        ("history", lambda: plot_training_curves([1, 2, 3])),
        ("history", lambda: plot_training_curves({"sequences": [1], "loss": [1]})),
        ("history['loss']", lambda: plot_training_curves(dict(history, loss=[1.0, 2.0]))),
        ("history", lambda: plot_training_curves(
            {k: v for k, v in history.items() if k != "val_bit_errors"})),
        ("history['val_bit_errors']", lambda: plot_training_curves(
            dict(history, val_bit_errors=[1.0]))),
        ("history", lambda: plot_training_curves(dict(
            {k: history[k] for k in ("sequences", "loss", "bit_errors")}, val_loss=[1.0]))),
        ("lengths", lambda: plot_generalisation([], [])),
        ("errors", lambda: plot_generalisation([1, 2, 3], [1.0, 2.0])),
        ("errors['NTM']", lambda: plot_generalisation([1, 2], {"NTM": [1.0]})),
        ("labels", lambda: plot_generalisation([1, 2], [1.0, 2.0], labels=["a", "b"])),
        ("train_max_length", lambda: plot_generalisation([1, 2], [1.0, 2.0],
                                                         train_max_length=-1)),
        ("measure", lambda: plot_generalisation([1, 2], [1.0, 2.0], measure="loss")),
        ("measure", lambda: plot_generalisation([1, 2], [1.0, 2.0], measure=None)),
        ("xlabel", lambda: plot_generalisation([1, 2], [1.0, 2.0], xlabel=3)),
        ("fig", lambda: save_figure("not a figure", "x.png")),
        ("dpi", lambda: save_figure(Figure(), "never_written.png", dpi=0)),
    ]


def test_bad_arguments_raise_value_error_naming_the_argument(run, history):
    for name, call in bad_calls(run, history):
        with pytest.raises(ValueError) as info:
            call()
        msg = str(info.value)
        assert msg.startswith(name + ":"), (name, msg)
        assert "expected" in msg and "got" in msg, msg


def test_plot_sequence_shades_the_steps_without_target(run):
    from matplotlib.patches import Rectangle

    fig = plot_sequence(run["x"], run["y"], run["logits"], run["mask"])
    free = np.flatnonzero(run["mask"][:, 0] == 0)  # the input steps and the delimiter
    assert free.size == LENGTH + 1
    for ax in fig.axes[1:3]:  # target and output strips
        spans = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_hatch() == "//"]
        assert len(spans) == 1
        x0, w = spans[0].get_x(), spans[0].get_width()
        assert (x0, x0 + w) == (free[0] - 0.5, free[-1] + 0.5)
    assert "hatched: steps with no target" in fig.axes[1].get_title()
    unshaded = [p for p in fig.axes[0].patches if p.get_hatch() == "//"]
    assert not unshaded  # the input strip is not shaded
    # no mask: nothing shaded
    fig = plot_sequence(run["x"], run["y"], run["logits"])
    assert not any(p.get_hatch() == "//" for ax in fig.axes for p in ax.patches)


def test_plot_memory_marks_or_crops_the_rows_in_use():
    from ntm_numpy.model import Trace

    *_, trace = _trained_copy_trace()  # a trained write head: one row per step
    assert isinstance(trace, Trace)
    changed = np.abs(trace.memory[-1, 0] - trace.memory[0, 0]).max(axis=1)
    used = np.flatnonzero(changed > 1e-3 * np.abs(trace.memory[-1, 0]).max())
    assert 0 < used.size < 30
    T = trace.memory.shape[0] - 1
    fig = plot_memory(trace, steps=[0, T])
    bars = [p for p in fig.axes[0].patches if p.get_facecolor()[:3] != (1, 1, 1)]
    marked = sorted(int(round(p.get_y() + 0.5)) for p in bars)
    assert marked == list(used)
    fig = plot_memory(trace, steps=[0, T], rows="used")
    lo, hi = max(used[0] - 1, 0), min(used[-1] + 1, 127)
    assert fig.axes[0].get_images()[0].get_array().shape == (hi - lo + 1, 20)
    assert f"rows {lo}-{hi} shown" in fig._suptitle.get_text()
    fig = plot_memory(trace, steps=[T], rows=(2, 5))
    assert fig.axes[0].get_images()[0].get_array().shape == (4, 20)
    for bad in ("all", (5, 2), (0, 128), 3):
        with pytest.raises(ValueError, match="rows"):
            plot_memory(trace, rows=bad)


def test_plot_memory_over_time_crops_to_the_rows_in_use():
    *_, trace = _trained_copy_trace()
    full = plot_memory_over_time(trace)
    assert full.axes[0].get_images()[0].get_array().shape[0] == 128
    fig = plot_memory_over_time(trace, reduce="row_change", rows="used")
    img = fig.axes[0].get_images()[0]
    n_rows = img.get_array().shape[0]
    assert 3 <= n_rows < 20
    lo = int(round(img.get_extent()[3] + 0.5))
    assert f"(rows {lo}-{lo + n_rows - 1} of 128)" in fig.axes[0].get_title()
    with pytest.raises(ValueError, match="rows"):
        plot_memory_over_time(trace, rows=(3, 200))


#: Rows by which :func:`_trained_copy_trace` turns the memory round (see there).
ROLL_ROWS = 20


def _trained_copy_trace(length=3, roll=ROLL_ROWS):
    """A trace of the shipped copy model on one sequence, its rows turned round by
    ``ROLL_ROWS``: the model writes row 0 first and then walks backwards (127, 126, ...),
    so the rows it uses wrap round the end of the memory; turned round, they are one
    block (17-20 for length 3). With the constant initial memory every row starts the
    same and addressing is circular, so the turned trace is what the model does with its
    initial weighting on row ``ROLL_ROWS`` instead of row 0."""
    from ntm_numpy import load_pretrained
    from ntm_numpy.model import Trace

    model = load_pretrained("copy")  # a trained model: each head walks a few of 128 rows
    x, y, mask = copy_batch(np.random.default_rng(0), 1, min_length=length,
                            max_length=length)
    logits, cache = model.forward(x)
    trace = cache.trace()
    rolled = {name: np.roll(getattr(trace, name), roll, axis=2 if name == "memory" else 3)
              for name in ("memory", "content", "gated", "shifted", "weights")}
    return x, y, mask, logits, Trace(**{**vars(trace), **rolled})


def test_plot_weightings_crops_to_the_rows_in_use():
    from ntm_numpy.plotting import USED_WEIGHT

    *_, trace = _trained_copy_trace()
    used = np.flatnonzero((trace.weights[:, :, 0] > USED_WEIGHT).any(axis=(0, 1)))
    assert 0 < used.size < 20
    lo, hi = max(used[0] - 1, 0), min(used[-1] + 1, 127)
    full = plot_weightings(trace)  # the default: every row
    assert panels(full)[0].images[0].get_array().shape[0] == 128
    assert "rows" not in full.get_suptitle()
    fig = plot_weightings(trace, rows="used")
    for k, ax in enumerate(panels(fig)):
        img = ax.images[0]
        np.testing.assert_array_equal(img.get_array(), trace.weights[:, k, 0, lo:hi + 1].T)
        assert ax.get_ylim() == (hi + 0.5, lo - 0.5)  # the rows keep their numbers
    assert f"rows {lo}-{hi} of 128" in fig.get_suptitle()
    fig = plot_weightings(trace, rows=(2, 5))
    assert panels(fig)[1].images[0].get_array().shape[0] == 4
    for bad in ("all", (5, 2), (0, 128), 3):
        with pytest.raises(ValueError, match="^rows: expected"):
            plot_weightings(trace, rows=bad)


def test_rows_in_use_that_go_round_the_end_are_cropped_round_it():
    # the shipped copy model as it is: it writes row 0, then 127, 126, ...; the rows in
    # use are those of the turned trace, ROLL_ROWS rows back, round the end
    from ntm_numpy.plotting import USED_WEIGHT

    x, y, mask, logits, trace = _trained_copy_trace(roll=0)
    *_, turned = _trained_copy_trace()
    used = np.flatnonzero((turned.weights[:, :, 0] > USED_WEIGHT).any(axis=(0, 1)))
    rows = np.arange(used[0] - 1, used[-1] + 2) - ROLL_ROWS  # with the margins
    assert rows[0] < 0 <= rows[-1], "the rows in use do not go round the end"
    first, last = rows[0] % 128, rows[-1]
    text = f"rows {first}-127, 0-{last} of 128"
    fig = plot_weightings(trace, rows="used")
    for k, ax in enumerate(panels(fig)):
        np.testing.assert_array_equal(ax.images[0].get_array(),
                                      trace.weights[:, k, 0, rows % 128].T)
        labels = {int(round(t)): ax.yaxis.get_major_formatter()(t) for t in ax.get_yticks()}
        assert all(str(position % 128) == label for position, label in labels.items())
        assert ax.get_ylim() == (128 + last + 0.5, first - 0.5)
    assert text in fig.get_suptitle()
    ww = panels(plot_copy_summary(x, y, logits, trace, mask=mask, rows="used"))[4]
    np.testing.assert_array_equal(ww.images[0].get_array(), trace.weights[:, 1, 0, rows % 128].T)
    assert text in ww.get_title()
    # the memory's changed rows are the write head's, round the end the same way
    T = trace.memory.shape[0] - 1
    memory = plot_memory(trace, steps=[T], rows="used")
    change = np.abs(trace.memory[T, 0] - trace.memory[0, 0]).max(axis=1)
    changed = np.flatnonzero(change > 1e-3 * change.max())  # as plot_memory counts them
    assert changed[0] == 0 and changed[-1] == 127  # round the end
    assert memory.axes[0].get_images()[0].get_array().shape[0] < 20
    assert "127, 0-" in memory._suptitle.get_text()


def test_plot_copy_summary_crops_the_weightings_to_the_rows_in_use(run):
    from ntm_numpy.plotting import USED_WEIGHT

    x, y, mask, logits, trace = _trained_copy_trace()
    used = np.flatnonzero((trace.weights[:, :, 0] > USED_WEIGHT).any(axis=(0, 1)))
    lo, hi = max(used[0] - 1, 0), min(used[-1] + 1, 127)
    fig = plot_copy_summary(x, y, logits, trace, mask=mask, rows="used")
    ww, rw = panels(fig)[4:6]
    np.testing.assert_array_equal(ww.images[0].get_array(), trace.weights[:, 1, 0, lo:hi + 1].T)
    np.testing.assert_array_equal(rw.images[0].get_array(), trace.weights[:, 0, 0, lo:hi + 1].T)
    assert f"rows {lo}-{hi} of 128" in ww.get_title() and ww.get_ylim() == (hi + 0.5, lo - 0.5)
    full = plot_copy_summary(x, y, logits, trace, mask=mask)
    assert panels(full)[4].images[0].get_array().shape[0] == 128
    # an untrained model's heads spread their weight: no row is in use, all are drawn
    fig = plot_copy_summary(run["x"], run["y"], run["logits"], run["trace"], rows="used")
    assert panels(fig)[4].images[0].get_array().shape[0] == N
    with pytest.raises(ValueError, match="^rows: expected"):
        plot_copy_summary(x, y, logits, trace, rows=(0, 200))


def test_plot_addressing_rows_and_log_scale(run):
    from ntm_numpy.plotting import ADDRESSING_LOG_FLOOR

    *_, trace = _trained_copy_trace(length=10)
    fig = plot_addressing(trace, head=1, step=5, scale="log")
    for ax, stage in zip(fig.axes[:4], [trace.content, trace.gated, trace.shifted,
                                         trace.weights]):
        assert ax.get_yscale() == "log" and ax.get_ylim() == (ADDRESSING_LOG_FLOOR, 1.5)
        np.testing.assert_allclose([p.get_height() for p in ax.patches], stage[5, 1, 0])
    assert "log" in fig.axes[0].get_ylabel()
    assert fig.axes[4].get_yscale() == "linear"  # the shift distribution stays 0..1
    assert plot_addressing(trace, head=1, step=5).axes[0].get_yscale() == "linear"
    fig = plot_addressing(trace, head=1, step=5, rows=(0, 20))
    for ax, stage in zip(fig.axes[:4], [trace.content, trace.gated, trace.shifted,
                                         trace.weights]):
        assert [p.get_x() + p.get_width() / 2 for p in ax.patches] == list(range(21))
        np.testing.assert_allclose([p.get_height() for p in ax.patches], stage[5, 1, 0, :21])
        assert ax.get_xlim() == (-0.5, 20.5)
    np.testing.assert_allclose(fig.axes[1].lines[0].get_ydata(), trace.weights[4, 1, 0, :21])
    assert "rows 0-20 of 128" in fig.get_suptitle()
    for kwargs, name in ((dict(rows="used"), "rows"), (dict(rows=(3, 1)), "rows"),
                         (dict(scale="symlog"), "scale")):
        with pytest.raises(ValueError, match=f"^{name}: expected"):
            plot_addressing(run["trace"], **kwargs)


@pytest.mark.parametrize("used, span", [
    ([5], (4, 6)),
    ([0, 1, 2], (0, 3)),                 # cut at row 0, as a span that does not go round
    ([126, 127], (125, 127)),
    ([0, 127], (126, 129)),              # 126, 127, 0, 1: round the end
    ([0, 1, 120, 121], (119, 130)),
    ([0, 64], (0, 65)),                  # two gaps of 63 rows: the span that does not go round
    (list(range(0, 128, 2)), (0, 127)),  # no gap to leave out
    ([], (0, 127)),
])
def test_the_span_of_the_rows_in_use(used, span):
    from ntm_numpy.plotting._common import _row_span, _rows_index, _span_text

    in_use = np.zeros(128, bool)
    in_use[used] = True
    assert _row_span("used", in_use, 128) == span
    rows = _rows_index(*span, 128)
    assert set(used) <= set(rows) and len(set(rows)) == len(rows)
    assert _span_text(*span, 128) == (f"{span[0]}-{span[1]}" if span[1] < 128 else
                                      f"{span[0]}-127, 0-{span[1] - 128}")
