"""Animations of ``ntm_numpy.plotting``: frames rendered as images (one per time step,
changing from frame to frame and showing the step's data), GIF files, the notebook
HTML, and ``ntm-numpy plot --animate``."""
import re

import numpy as np
import pytest

from ntm_numpy import plotting
from ntm_numpy.baseline import LSTMBaseline
from ntm_numpy.cli import main
from ntm_numpy.model import NTM
from ntm_numpy.tasks import copy_batch

Image = pytest.importorskip("PIL.Image")  # matplotlib depends on Pillow

pytestmark = pytest.mark.filterwarnings("ignore:Animation was deleted without rendering")

LENGTH = 3  # copy length, so T = 2 * LENGTH + 1 steps


@pytest.fixture(scope="module")
def run():
    model = NTM(input_size=9, output_size=8, controller_size=8, memory_rows=10,
                memory_width=4, read_heads=1, write_heads=1, seed=0)
    x, y, mask = copy_batch(np.random.default_rng(0), 2, min_length=LENGTH, max_length=LENGTH)
    logits, cache = model.forward(x)
    return x, y, mask, logits, cache.trace()


def render_frames(anim):
    """Every frame of ``anim`` drawn by its own update function, as RGB arrays."""
    fig = anim._fig
    frames = []
    for t in range(anim._save_count):
        anim._func(t)
        fig.canvas.draw()
        frames.append(np.asarray(fig.canvas.buffer_rgba())[..., :3].copy())
    return frames


def gif_frames(path):
    im = Image.open(path)
    frames = []
    for i in range(im.n_frames):
        im.seek(i)
        frames.append(np.asarray(im.convert("RGB")))
    return frames


def assert_each_frame_differs(frames):
    for t in range(1, len(frames)):
        changed = np.mean(np.any(frames[t] != frames[t - 1], axis=-1))
        assert changed > 1e-3, f"frame {t} is (nearly) the same as frame {t - 1}"


@pytest.mark.parametrize("make", [
    lambda r: plotting.animate_memory(r[4], x=r[0], logits=r[3], mask=r[2]),
    lambda r: plotting.animate_memory(r[4], batch_index=1, rows=(2, 7)),
    lambda r: plotting.animate_addressing(r[4], head=1),
], ids=["memory", "memory_rows", "addressing"])
def test_one_frame_per_step_each_different(run, make):
    T = run[0].shape[0]
    anim = make(run)
    frames = render_frames(anim)
    assert len(frames) == T
    assert_each_frame_differs(frames)


def test_memory_frame_shows_that_steps_memory(run):
    _, _, _, _, trace = run
    anim = plotting.animate_memory(trace)
    fig = anim._fig
    mem_ax = next(ax for ax in fig.axes if ax.get_title().startswith("memory after"))
    for t in (0, trace.weights.shape[0] - 1):
        anim._func(t)
        assert mem_ax.get_title() == f"memory after step {t}"
        np.testing.assert_array_equal(mem_ax.images[0].get_array(), trace.memory[t + 1, 0])
        w_ax = next(ax for ax in fig.axes if ax.get_title() == "write head 0 weighting")
        shown = w_ax.images[0].get_array()
        # steps up to t drawn, the later ones masked
        np.testing.assert_array_equal(shown[:, : t + 1], trace.weights[: t + 1, 1, 0].T)
        assert np.ma.getmaskarray(shown)[:, t + 1:].all()
        assert not np.ma.getmaskarray(shown)[:, : t + 1].any()


def test_addressing_frame_shows_that_steps_stages(run):
    _, _, _, _, trace = run
    anim = plotting.animate_addressing(trace, head=0)
    axes = anim._fig.axes
    t = 4
    anim._func(t)
    heights = [np.array([r.get_height() for r in ax.patches]) for ax in axes[:5]]
    for ax_heights, stage in zip(heights, [trace.content, trace.gated, trace.shifted,
                                           trace.weights, trace.shift]):
        np.testing.assert_allclose(ax_heights, stage[t, 0, 0])
    assert f"{float(trace.beta[t, 0, 0]):.3g}" in axes[0].get_title()


def test_gif_has_every_frame(run, tmp_path):
    _, _, _, _, trace = run
    path = plotting.save_animation(plotting.animate_memory(trace), tmp_path / "a" / "m.gif",
                                   dpi=40)
    assert path == tmp_path / "a" / "m.gif"
    with open(path, "rb") as f:
        assert f.read(6) in (b"GIF87a", b"GIF89a")
    frames = gif_frames(path)
    assert len(frames) == trace.weights.shape[0]
    assert_each_frame_differs(frames)


def test_animation_html_is_offline_and_holds_every_frame(run):
    _, _, _, _, trace = run
    html = plotting.animation_html(plotting.animate_addressing(trace), dpi=30)
    assert not re.search(r"""(src|href)=["']?https?://""", html), "links outside the page"
    assert "fa fa-" not in html
    frames = re.findall(r"frames\[\d+\] = \"data:image/png;base64,", html)
    assert len(frames) == trace.weights.shape[0]


@pytest.mark.parametrize("bad, match", [
    (dict(batch_index=2), "batch_index"),
    (dict(rows=(5, 5)), "rows"),
    (dict(rows="all"), "rows"),
    (dict(fps=0), "fps"),
    (dict(x=np.zeros((3, 2, 9))), "x"),
])
def test_animate_memory_rejects_bad_arguments(run, bad, match):
    with pytest.raises(ValueError, match=match):
        plotting.animate_memory(run[4], **bad)


def test_save_animation_rejects_a_figure(run, tmp_path):
    with pytest.raises(ValueError, match="anim"):
        plotting.save_animation(plotting.plot_memory(run[4]), tmp_path / "x.gif")


def test_cli_plot_animate_writes_gifs(tmp_path, capsys):
    model = NTM(input_size=9, output_size=8, controller_size=8, memory_rows=8,
                memory_width=4, seed=0)
    ckpt = tmp_path / "checkpoint.npz"
    model.save(ckpt, meta={"task": "copy"})
    out = tmp_path / "plots"
    code = main(["plot", str(ckpt), "--task", "copy", "--length", "2", "--animate",
                 "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    T = 2 * 2 + 1  # copy: L inputs, a delimiter, L outputs
    for name in ("memory.gif", "addressing_head_0.gif", "addressing_head_1.gif"):
        frames = gif_frames(out / name)
        assert len(frames) == T, name
        assert_each_frame_differs(frames)


def test_cli_plot_animate_rejects_the_lstm_baseline(tmp_path, capsys):
    ckpt = tmp_path / "lstm.npz"
    LSTMBaseline(9, 8, hidden_size=4, seed=0).save(ckpt, meta={"task": "copy"})
    code = main(["plot", str(ckpt), "--task", "copy", "--animate", "--out", str(tmp_path)])
    assert code == 2
    assert "--animate" in capsys.readouterr().err
    assert not list(tmp_path.glob("*.png"))


# --------------------------------------------------------------------------- sliders
def _explorer_inputs():
    rng = np.random.default_rng(3)
    memory = rng.standard_normal((10, 4))
    key = memory[6] + 0.3 * rng.standard_normal(4)
    return memory, key, np.eye(10)[2]


def test_explore_addressing_static_fallback_draws_the_settings(monkeypatch):
    from ntm_numpy.addressing import address_forward

    monkeypatch.setenv("NTM_NOTEBOOK_STATIC", "1")
    memory, key, w_prev = _explorer_inputs()
    fig = plotting.explore_addressing(memory, key, w_prev)
    settings = plotting.ADDRESSING_SETTINGS
    assert isinstance(fig, plotting.Figure)
    assert len(fig.axes) == 5 * len(settings)
    for i, (label, beta, g, s, gamma) in enumerate(settings):
        w, _ = address_forward(memory[None], w_prev[None], key[None], np.array([[beta]]),
                               np.array([[g]]), np.array([s]), np.array([[gamma]]))
        sharpened = [r.get_height() for r in fig.axes[5 * i + 3].patches]
        np.testing.assert_allclose(sharpened, w[0])
        assert label in fig.axes[5 * i].get_ylabel()


def test_explore_addressing_sliders_redraw(monkeypatch):
    pytest.importorskip("ipywidgets")
    monkeypatch.delenv("NTM_NOTEBOOK_STATIC", raising=False)
    calls = []
    real = plotting.plot_addressing_chain

    def record(memory, w_prev, key, beta, g, s, gamma, labels=None):
        calls.append(dict(beta=beta[0, 0], g=g[0, 0], s=s[0], gamma=gamma[0, 0]))
        return real(memory, w_prev, key, beta, g, s, gamma, labels=labels)

    monkeypatch.setattr("ntm_numpy.plotting.addressing.plot_addressing_chain", record)
    box = plotting.explore_addressing(*_explorer_inputs())
    sliders = {w.description: w for row in box.children[:2] for w in row.children}
    assert set(sliders) == {"beta", "g", "s(-1)", "s(0)", "s(+1)", "gamma"}
    assert len(calls) == 1
    sliders["g"].value = 0.9
    sliders["s(0)"].value = 0.0
    sliders["s(-1)"].value = 0.0
    assert calls[-1]["g"] == pytest.approx(0.9)
    np.testing.assert_allclose(calls[-1]["s"], [0.0, 0.0, 1.0])  # normalised to sum 1
    sliders["gamma"].value = 7.0
    assert calls[-1]["gamma"] == pytest.approx(7.0)


def test_explore_addressing_rejects_mismatched_shapes():
    memory, key, w_prev = _explorer_inputs()
    with pytest.raises(ValueError, match="key"):
        plotting.explore_addressing(memory, key[:3], w_prev, interactive=False)
    with pytest.raises(ValueError, match="w_prev"):
        plotting.explore_addressing(memory, key, w_prev[:5], interactive=False)
