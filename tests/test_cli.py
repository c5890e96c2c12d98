"""Tests of the command line, ``ntm-numpy train | evaluate | plot`` (ntm_numpy.cli.main)."""
import json
import os
import shutil
import subprocess
import sys

import pytest

import ntm_numpy
from ntm_numpy import plotting
from ntm_numpy.cli import EXIT_INTERRUPTED, build_parser, main
from ntm_numpy.pretrained import pretrained_path
from ntm_numpy.tasks import TASKS, get_task
from ntm_numpy.training.config import TrainConfig
from ntm_numpy.training.loop import train
from ntm_numpy.training.reports import (
    LENGTH_LABELS,
    LENGTH_SETTINGS,
    checkpoint_settled,
    longest_training_length,
)

TINY_ARGS = ["--updates", "4", "--batch-size", "2", "--controller-size", "8", "--memory-rows",
             "8", "--memory-width", "4", "--eval-every", "2"]

NTM_PNGS = ("training_curves.png", "sequence.png", "summary.png", "memory.png",
            "weightings.png", "erase_add.png", "generalisation.png")
MEMORY_PNGS = ("summary.png", "memory.png", "weightings.png", "erase_add.png")
SUMMARY_KEYS = {"task", "steps", "sequences", "seconds", "interrupted", "converged",
                "worst_val_after_converged", "final_val_bit_errors", "restart_step"}

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def assert_pngs(directory, names):
    for name in names:
        path = os.path.join(directory, name)
        assert os.path.isfile(path), name
        assert os.path.getsize(path) > 0, name
        with open(path, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n", name


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One tiny NTM trained through the CLI, shared by the evaluate/plot tests."""
    out = tmp_path_factory.mktemp("cli_train")
    code = main(["train", "copy", *TINY_ARGS, "--out", str(out), "--lengths", "2", "4"])
    return code, out


def test_train_writes_checkpoint_summary_and_plots(trained):
    code, out = trained
    assert code == 0
    ckpt = out / "checkpoint.npz"
    assert ckpt.is_file() and ckpt.stat().st_size > 0
    model, ck = ntm_numpy.load(ckpt, return_checkpoint=True)
    assert isinstance(model, ntm_numpy.NTM)
    assert model.config["controller_size"] == 8 and model.config["memory_rows"] == 8
    assert ck.meta["step"] == 4
    with open(out / "summary.json") as f:
        summary = json.load(f)
    assert set(summary) == SUMMARY_KEYS
    assert summary["task"] == "copy"
    assert summary["steps"] == 4 and summary["sequences"] == 8
    assert summary["interrupted"] is False
    assert summary["seconds"] >= 0
    assert summary["converged"] is None or isinstance(summary["converged"], dict)
    assert isinstance(summary["final_val_bit_errors"], float)
    assert_pngs(out, NTM_PNGS)


def test_train_progress_on_stderr(tmp_path, capsys):
    code = main(["train", "copy", "--updates", "2", "--batch-size", "2", "--controller-size",
                 "4", "--memory-rows", "4", "--memory-width", "2", "--eval-every", "2",
                 "--log-every", "1", "--no-plots", "--out", str(tmp_path)])
    assert code == 0
    err = capsys.readouterr().err
    assert "update" in err and "checkpoint" in err
    assert not any(name.endswith(".png") for name in os.listdir(tmp_path))
    assert (tmp_path / "checkpoint.npz").is_file()


def test_evaluate_prints_a_table_and_writes_the_png(trained, tmp_path, capsys):
    _, out = trained
    png = tmp_path / "gen.png"
    code = main(["evaluate", str(out / "checkpoint.npz"), "--lengths", "2", "3",
                 "--sequences", "4", "--out", str(png)])
    assert code == 0
    captured = capsys.readouterr()
    lines = [line.split() for line in captured.out.strip().splitlines()]
    assert lines[0][0] == "length"
    rows = lines[1:]
    assert [int(r[0]) for r in rows] == [2, 3]
    assert all(float(r[1]) >= 0 for r in rows)
    assert png.is_file() and png.stat().st_size > 0
    assert str(png) in captured.err


@pytest.fixture
def curves(monkeypatch):
    """The calls of plotting.plot_generalisation made while a test runs: (args, kwargs)."""
    calls = []
    real = plotting.plot_generalisation

    def spy(*args, **kwargs):
        calls.append((args, kwargs))
        return real(*args, **kwargs)

    monkeypatch.setattr(plotting, "plot_generalisation", spy)
    return calls


def test_evaluate_prints_costs_and_the_ngram_optimum(tmp_path, capsys, curves):
    train(task="ngrams", task_settings={"length": 30}, updates=2, batch_size=2,
          controller_size=4, memory_rows=4, memory_width=3, val_batches=1, val_batch_size=2,
          out_dir=tmp_path, stream=False)
    code = main(["evaluate", str(tmp_path / "checkpoint.npz"), "--lengths", "30", "40",
                 "--sequences", "6", "--out", str(tmp_path / "gen.png")])
    assert code == 0
    # the curve is the cost above the estimator, with the stream length trained on marked
    ((lengths, values), kwargs), = curves
    assert kwargs["measure"] == "cost_above_optimum_bits"
    assert kwargs["train_max_length"] == 30
    assert kwargs["xlabel"] == "stream length (bits)"
    lines = capsys.readouterr().out.strip().splitlines()
    assert "Bayes-optimal cost" in lines[0]
    model = ntm_numpy.load(tmp_path / "checkpoint.npz")
    scores = ntm_numpy.training.evaluation.evaluate_scores(model, ntm_numpy.tasks.get_task("ngrams"),
                                             [30, 40], sequences=6)
    for line, (length, s) in zip(lines[1:], scores.items()):
        cols = [float(c) for c in line.split()]
        assert cols[0] == length
        assert cols[1:4] == pytest.approx([s["bit_errors"], s["cost_bits"],
                                           s["optimal_cost_bits"]], abs=6e-4)
        assert cols[4] == pytest.approx(s["cost_bits"] - s["optimal_cost_bits"], abs=1e-3)
    assert list(lengths) == [30, 40]
    assert list(values) == pytest.approx([s["cost_above_optimum_bits"] for s in scores.values()])


def test_evaluate_measure(trained, tmp_path, capsys, curves):
    _, out = trained
    ckpt = str(out / "checkpoint.npz")
    png = tmp_path / "cost.png"
    assert main(["evaluate", ckpt, "--lengths", "2", "3", "--sequences", "4", "--out",
                 str(png), "--measure", "cost_bits"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.strip().splitlines()[1:]]
    ((_, values), kwargs), = curves
    assert kwargs["measure"] == "cost_bits"
    assert list(values) == pytest.approx([float(r[2]) for r in rows], abs=6e-4)
    assert kwargs["train_max_length"] == 20  # copy's lengths 1-20; this run did not converge
    # copy has no Bayes-optimal estimator: refused before any evaluation, nothing written
    png = tmp_path / "above.png"
    code = main(["evaluate", ckpt, "--lengths", "2", "--sequences", "4", "--out", str(png),
                 "--measure", "cost_above_optimum_bits"])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert "--measure" in captured.err and "cost_above_optimum_bits" in captured.err
    assert not png.exists() and len(curves) == 1


def test_longest_training_length():
    copy = TrainConfig(task="copy")  # the default curriculum: lengths 1-60 once settled
    assert copy.task_settings_after_converged == {"max_length": 60}
    task = copy.make_task()
    assert longest_training_length(task, copy.to_flat(), settled=False) == 20
    assert longest_training_length(task, copy.to_flat(), settled=True) == 60
    assert longest_training_length(task) == 20
    assert longest_training_length(get_task("associative_recall", max_items=4)) == 4
    assert longest_training_length(get_task("ngrams")) == 200
    assert longest_training_length(get_task("priority_sort")) == 20
    # every task has its length setting, which its tasks' parameters hold, and a label
    assert set(LENGTH_SETTINGS) == set(LENGTH_LABELS) == set(TASKS)
    for name, key in LENGTH_SETTINGS.items():
        assert key in get_task(name).params


def test_checkpoint_settled():
    config = TrainConfig(task="copy", settle_validations=2).to_flat()
    history = {"val_step": [10, 20, 30], "val_sequences": [1, 2, 3]}
    assert not checkpoint_settled({"train_config": config,
                                   "history": {**history, "val_bit_errors": [30, 0.05, 0.2]}})
    assert checkpoint_settled({"train_config": config,
                               "history": {**history, "val_bit_errors": [30, 0.05, 0.0]}})
    # a checkpoint from before settle_validations: the first validation below 0.1
    old = {k: v for k, v in config.items() if k != "settle_validations"}
    assert checkpoint_settled({"train_config": old,
                               "history": {**history, "val_bit_errors": [30, 0.05, 0.2]}})
    # exports keep no history: their record says
    assert checkpoint_settled({"settled": {"step": 30}, "converged": {"step": 20}})
    assert not checkpoint_settled({"settled": None, "converged": {"step": 20}})
    assert not checkpoint_settled({})
    # an export from before the record ``settled`` (such as the repeat-copy model
    # shipped before the current one) has only ``converged``: it went on to lengths 1-20
    old_export = {"converged": {"step": 20},
                  "train_config": {**old, "task": "repeat_copy",
                                   "task_settings_after_converged": {"max_length": 20}}}
    assert checkpoint_settled(old_export)
    task = get_task("repeat_copy")
    assert longest_training_length(task, old_export["train_config"], True) == 20
    # the shipped repeat-copy model records when it settled; it trained on lengths 1-10 only
    _, ckpt = ntm_numpy.load(pretrained_path("repeat_copy"), return_checkpoint=True)
    assert "history" not in ckpt.meta and checkpoint_settled(ckpt.meta)
    assert ckpt.meta["settled"]["step"] == ckpt.meta["converged"]["step"]
    assert longest_training_length(task, ckpt.meta["train_config"], True) == 10


def test_train_curve_marks_the_training_range(tmp_path, capsys, curves):
    assert main(["train", "ngrams", *TINY_ARGS, "--task-setting", "length=12", "--lengths",
                 "12", "24", "--out", str(tmp_path)]) == 0
    ((lengths, _), kwargs), = curves
    assert list(lengths) == [12, 24]
    assert kwargs == {"measure": "cost_above_optimum_bits", "train_max_length": 12,
                      "xlabel": "stream length (bits)"}
    assert_pngs(tmp_path, ["generalisation.png"])


def test_evaluate_default_png_next_to_checkpoint(trained, tmp_path, capsys):
    _, out = trained
    ckpt = tmp_path / "checkpoint.npz"
    shutil.copy(out / "checkpoint.npz", ckpt)
    assert main(["evaluate", str(ckpt), "--lengths", "2", "--sequences", "2"]) == 0
    assert_pngs(tmp_path, ["checkpoint_evaluation.png"])
    assert str(tmp_path / "checkpoint_evaluation.png") in capsys.readouterr().err
    # two checkpoints in one folder get a curve each
    shutil.copy(ckpt, tmp_path / "other.npz")
    assert main(["evaluate", str(tmp_path / "other.npz"), "--lengths", "2", "--sequences",
                 "2"]) == 0
    assert_pngs(tmp_path, ["checkpoint_evaluation.png", "other_evaluation.png"])


def test_evaluate_leaves_the_runs_plots_alone(trained, tmp_path, capsys):
    """Training wrote generalisation.png at its own lengths; evaluate writes its own
    file and replaces an earlier one only when told to."""
    _, out = trained
    for name in ("checkpoint.npz", "generalisation.png"):
        shutil.copy(out / name, tmp_path / name)
    run_curve = (tmp_path / "generalisation.png").read_bytes()
    curve = "checkpoint_evaluation.png"
    args = ["evaluate", str(tmp_path / "checkpoint.npz"), "--sequences", "2"]
    assert main([*args, "--lengths", "2"]) == 0
    first = (tmp_path / curve).read_bytes()
    capsys.readouterr()
    assert main([*args, "--lengths", "3", "5"]) == 2
    err = capsys.readouterr().err
    assert "--out" in err and "--overwrite" in err and "already exists" in err
    assert (tmp_path / curve).read_bytes() == first
    assert main([*args, "--lengths", "3", "5", "--overwrite"]) == 0
    assert (tmp_path / curve).read_bytes() != first
    assert (tmp_path / "generalisation.png").read_bytes() == run_curve


def test_evaluate_with_more_memory_rows(trained, tmp_path, capsys):
    _, out = trained
    code = main(["evaluate", str(out / "checkpoint.npz"), "--lengths", "2", "--sequences", "2",
                 "--memory-rows", "16", "--out", str(tmp_path / "g.png")])
    assert code == 0
    rows = capsys.readouterr().out.strip().splitlines()[1:]
    assert len(rows) == 1 and float(rows[0].split()[1]) >= 0


def test_plot_writes_the_pngs(trained, tmp_path):
    _, out = trained
    code = main(["plot", str(out / "checkpoint.npz"), "--length", "3", "--out", str(tmp_path)])
    assert code == 0
    assert_pngs(tmp_path, ["sequence.png", *MEMORY_PNGS])
    # plot draws one sequence: no training curves, no generalisation curve
    assert not (tmp_path / "training_curves.png").exists()
    assert not (tmp_path / "generalisation.png").exists()


def test_plot_shows_the_heads_asked_for(tmp_path, capsys):
    """--read-head/--write-head choose the heads of summary.png; other heads' plots and
    every other PNG stay as they are; an index the model lacks is refused up front."""
    out = tmp_path / "run"
    assert main(["train", "copy", *TINY_ARGS, "--read-heads", "2", "--write-heads", "2",
                 "--out", str(out), "--no-plots"]) == 0
    ckpt = str(out / "checkpoint.npz")
    pngs = {}
    for heads in ([], ["--read-head", "1"], ["--write-head", "1"]):
        where = tmp_path / ("plots" + "".join(heads))
        assert main(["plot", ckpt, "--length", "3", "--out", str(where), *heads]) == 0
        pngs[tuple(heads)] = {name: (where / name).read_bytes()
                              for name in ("sequence.png", *MEMORY_PNGS)}
    default = pngs[()]
    for heads in (("--read-head", "1"), ("--write-head", "1")):
        assert pngs[heads]["summary.png"] != default["summary.png"], heads
        for name in ("sequence.png", "memory.png", "weightings.png", "erase_add.png"):
            assert pngs[heads][name] == default[name], (heads, name)
    capsys.readouterr()
    for flag, value in (("--read-head", "2"), ("--write-head", "-1")):
        bad = tmp_path / f"bad{flag}"
        assert main(["plot", ckpt, "--out", str(bad), flag, value]) == 2
        err = capsys.readouterr().err
        assert flag in err and "[0, 2)" in err and value in err and "Traceback" not in err
        assert not bad.exists()


def test_plot_head_options_refuse_a_model_without_heads(tmp_path, capsys):
    out = tmp_path / "lstm"
    assert main(["train", "copy", "--model", "lstm", "--hidden-size", "8", "--updates", "2",
                 "--batch-size", "2", "--eval-every", "2", "--out", str(out),
                 "--no-plots"]) == 0
    capsys.readouterr()
    assert main(["plot", str(out / "checkpoint.npz"), "--out", str(tmp_path / "p"),
                 "--read-head", "0"]) == 2
    err = capsys.readouterr().err
    assert "--read-head" in err and "NTM" in err and "LSTMBaseline" in err


def test_plot_leaves_the_runs_plots_alone(trained, tmp_path, capsys):
    """Without --out, plot writes into NAME_plots next to the checkpoint, not over the
    plots training wrote; images already there are replaced only with --overwrite."""
    _, out = trained
    for name in ("checkpoint.npz", "sequence.png", *MEMORY_PNGS):
        shutil.copy(out / name, tmp_path / name)
    before = {name: (tmp_path / name).read_bytes() for name in ("sequence.png", *MEMORY_PNGS)}
    args = ["plot", str(tmp_path / "checkpoint.npz")]
    assert main([*args, "--length", "2"]) == 0
    plots = tmp_path / "checkpoint_plots"
    assert_pngs(plots, ["sequence.png", *MEMORY_PNGS])
    first = (plots / "sequence.png").read_bytes()
    capsys.readouterr()
    assert main([*args, "--length", "4"]) == 2
    err = capsys.readouterr().err
    assert "--out" in err and "--overwrite" in err and "sequence.png" in err
    assert (plots / "sequence.png").read_bytes() == first
    assert main([*args, "--length", "4", "--overwrite"]) == 0
    assert (plots / "sequence.png").read_bytes() != first
    assert {name: (tmp_path / name).read_bytes() for name in before} == before


def test_evaluate_missing_file(tmp_path, capsys):
    missing = tmp_path / "nope.npz"
    code = main(["evaluate", str(missing), "--lengths", "2", "--sequences", "2"])
    assert code == 2
    err = capsys.readouterr().err
    assert "error" in err and "nope.npz" in err
    assert "Traceback" not in err


def test_evaluate_truncated_checkpoint(trained, tmp_path, capsys):
    _, out = trained
    data = (out / "checkpoint.npz").read_bytes()
    bad = tmp_path / "truncated.npz"
    bad.write_bytes(data[: len(data) // 2])
    code = main(["evaluate", str(bad), "--lengths", "2", "--sequences", "2"])
    assert code == 2
    err = capsys.readouterr().err
    assert "error" in err and "truncated.npz" in err
    assert "Traceback" not in err
    assert not (tmp_path / "truncated_evaluation.png").exists()


def test_plot_missing_file(tmp_path, capsys):
    assert main(["plot", str(tmp_path / "nope.npz")]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_evaluate_bad_lengths(trained, tmp_path, capsys):
    _, out = trained
    with pytest.raises(SystemExit) as info:  # refused when the command line is parsed
        main(["evaluate", str(out / "checkpoint.npz"), "--lengths", "0", "--sequences", "2",
              "--out", str(tmp_path / "g.png")])
    assert info.value.code == 2
    assert "argument --lengths: expected a length from 1" in capsys.readouterr().err
    assert not (tmp_path / "g.png").exists()


def test_train_bad_value(tmp_path, capsys):
    code = main(["train", "copy", "--updates", "2", "--batch-size", "0", "--out", str(tmp_path)])
    assert code == 2
    assert "--batch-size" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [
    ["train", "nosuchtask"],
    ["evaluate", "x.npz", "--task", "nosuchtask"],
    [],
    ["frobnicate"],
])
def test_argparse_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert "usage" in capsys.readouterr().err


def test_keyboard_interrupt_exit_code(tmp_path, monkeypatch, capsys):
    import ntm_numpy.training.loop as train_module

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(train_module, "train", interrupted)
    assert main(["train", "copy", "--updates", "2", "--out", str(tmp_path)]) == EXIT_INTERRUPTED


def test_python_dash_m_help():
    proc = subprocess.run([sys.executable, "-m", "ntm_numpy", "--help"], capture_output=True,
                          text=True, timeout=60, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert "train" in proc.stdout and "evaluate" in proc.stdout and "plot" in proc.stdout


def test_console_script_help():
    exe = shutil.which("ntm-numpy")
    if exe is None:
        pytest.skip("the ntm-numpy console script is not on PATH")
    proc = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "usage: ntm-numpy" in proc.stdout


def test_train_lstm_baseline(tmp_path, capsys):
    code = main(["train", "copy", "--model", "lstm", "--hidden-size", "8", "--updates", "4",
                 "--batch-size", "2", "--eval-every", "2", "--out", str(tmp_path),
                 "--lengths", "2", "3"])
    assert code == 0
    model = ntm_numpy.load(tmp_path / "checkpoint.npz")
    assert isinstance(model, ntm_numpy.LSTMBaseline)
    assert model.config["hidden_size"] == 8
    assert_pngs(tmp_path, ["training_curves.png", "sequence.png", "generalisation.png"])
    for name in MEMORY_PNGS:
        assert not (tmp_path / name).exists(), name
    # evaluate and plot work on the baseline's checkpoint too
    assert main(["evaluate", str(tmp_path / "checkpoint.npz"), "--lengths", "2",
                 "--sequences", "2"]) == 0
    plots = tmp_path / "plots"
    plots.mkdir()
    assert main(["plot", str(tmp_path / "checkpoint.npz"), "--out", str(plots)]) == 0
    assert os.listdir(plots) == ["sequence.png"]


def test_train_resume_via_cli(tmp_path, capsys):
    args = ["train", "copy", "--batch-size", "2", "--controller-size", "4", "--memory-rows",
            "4", "--memory-width", "2", "--eval-every", "2", "--no-plots", "--out",
            str(tmp_path)]
    assert main([*args, "--updates", "2"]) == 0
    assert main([*args, "--updates", "4", "--resume", str(tmp_path / "checkpoint.npz")]) == 0
    _, ck = ntm_numpy.load(tmp_path / "checkpoint.npz", return_checkpoint=True)
    assert ck.meta["step"] == 4
    with open(tmp_path / "summary.json") as f:
        assert json.load(f)["steps"] == 4


def test_evaluate_and_plot_use_the_training_task_settings(tmp_path, capsys):
    train(task="copy", updates=2, batch_size=2, controller_size=4, memory_rows=4, memory_width=2,
          eval_every=2, val_batches=1, val_batch_size=2, stream=False, out_dir=tmp_path,
          task_settings=dict(bits=4, max_length=3))
    ckpt = str(tmp_path / "checkpoint.npz")
    assert main(["evaluate", ckpt, "--lengths", "2", "--sequences", "2"]) == 0
    assert main(["plot", ckpt, "--out", str(tmp_path)]) == 0


def test_task_settings_flags_reach_the_checkpoint(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "copy", *TINY_ARGS, "--task-setting", "max_length=5",
                 "--task-setting-after-converged", "max_length=9", "--no-plots",
                 "--out", str(out)]) == 0
    _, ckpt = ntm_numpy.load(out / "checkpoint.npz", return_checkpoint=True)
    config = ckpt.meta["train_config"]
    assert config["task_settings"] == {"max_length": 5}
    assert config["task_settings_after_converged"] == {"max_length": 9}
    capsys.readouterr()
    assert main(["train", "copy", *TINY_ARGS, "--task-setting-after-converged", "max_length",
                 "--out", str(tmp_path / "bad")]) == 2
    assert "--task-setting-after-converged: expected KEY=VALUE" in capsys.readouterr().err
    assert not (tmp_path / "bad" / "checkpoint.npz").exists()


def test_ctrl_c_stops_cleanly_with_a_checkpoint_that_resumes(tmp_path):
    """A real SIGINT to a training process: exit code 130, a checkpoint at a whole step."""
    import signal
    import subprocess
    import sys
    import time

    import ntm_numpy

    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "ntm_numpy", "train", "copy", "--updates", "100000",
           "--batch-size", "2", "--controller-size", "8", "--memory-rows", "8",
           "--memory-width", "4", "--eval-every", "1000", "--log-every", "1",
           "--out", str(out), "--no-plots"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # wait until training has logged a few steps, then interrupt
        deadline = time.time() + 60
        seen = 0
        while seen < 3 and time.time() < deadline:
            line = proc.stderr.readline()
            if line.startswith("update") or "\rupdate" in line:
                seen += 1
        assert seen >= 3, "training did not start"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    model, ckpt = ntm_numpy.load(out / "checkpoint.npz", return_checkpoint=True)
    assert 3 <= ckpt.meta["step"] < 100000
    assert ckpt.meta["sequences"] == 2 * ckpt.meta["step"]
    # the optimiser has taken exactly as many steps as the checkpoint says
    assert int(ckpt.state["adam.step"]) == ckpt.meta["step"]


def test_export_drops_the_optimiser_state_and_keeps_the_model(trained, tmp_path):
    import numpy as np

    import ntm_numpy

    _, run_dir = trained
    src = run_dir / "checkpoint.npz"
    out = tmp_path / "small.npz"
    assert main(["export", str(src), str(out)]) == 0
    model, ckpt = ntm_numpy.load(out, return_checkpoint=True)
    original, full = ntm_numpy.load(src, return_checkpoint=True)
    assert ckpt.state == {} and full.state != {}
    assert "history" not in ckpt.meta and ckpt.meta["train_config"] == full.meta["train_config"]
    # what the history said of convergence stays: the tiny run neither converged nor settled
    assert ckpt.meta["converged"] is None and ckpt.meta["settled"] is None
    assert checkpoint_settled(ckpt.meta) == checkpoint_settled(full.meta) is False
    assert out.stat().st_size < src.stat().st_size
    for k in original.params:
        np.testing.assert_array_equal(model.params[k], original.params[k])
    # the exported file still tells evaluate which task it was trained on
    assert main(["evaluate", str(out), "--lengths", "2", "--sequences", "2",
                 "--out", str(tmp_path / "g.png")]) == 0


def test_train_takes_every_ntm_option_and_the_implementation(tmp_path, capsys):
    """The NTM's options (declared once in NTM_OPTIONS) are flags of ``train``, and reach
    the model: here a learned initial memory, a feed-forward controller, the reference
    implementation of the time step."""
    from ntm_numpy.cli import build_parser
    from ntm_numpy.model import NTM_OPTIONS, load

    args = build_parser().parse_args(["train", "copy"])
    for name, opt in NTM_OPTIONS.items():
        assert getattr(args, name) == opt.default
    assert args.implementation == "fused"  # the command's default; Python's is "reference"
    out = tmp_path / "run"
    code = main(["train", "copy", "--updates", "2", "--batch-size", "2", "--controller-size",
                 "4", "--memory-rows", "6", "--memory-width", "3", "--memory-init", "learned",
                 "--controller", "feedforward", "--implementation", "reference",
                 "--eval-every", "1", "--no-plots", "--out", str(out)])
    assert code == 0
    model, ckpt = load(out / "checkpoint.npz", return_checkpoint=True)
    assert model.config["memory_init"] == "learned" and "memory_init" in model.params
    assert model.config["controller"] == "feedforward"
    assert ckpt.meta["train_config"]["implementation"] == "reference"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "copy", "--memory-init", "zeros"])
    assert "--memory-init" in capsys.readouterr().err


def test_deprecated_flags_are_aliases_that_warn(tmp_path, capsys):
    out = tmp_path / "run"
    with pytest.warns(DeprecationWarning) as warned:
        code = main(["train", "copy", "--steps", "2", "--step", "reference", "--batch-size",
                     "2", "--controller-size", "4", "--memory-rows", "4", "--memory-width", "2",
                     "--eval-every", "2", "--no-plots", "--out", str(out)])
    assert code == 0
    assert sorted(str(w.message).split()[0] for w in warned) == ["--step", "--steps"]
    err = capsys.readouterr().err
    assert "ntm-numpy: warning: --steps is deprecated" in err and "use --updates" in err
    assert "ntm-numpy: warning: --step is deprecated" in err and "use --implementation" in err
    _, ckpt = ntm_numpy.load(out / "checkpoint.npz", return_checkpoint=True)
    config = ckpt.meta["train_config"]
    assert config["updates"] == 2 and config["implementation"] == "reference"
    assert "steps" not in config and "step" not in config
    text = " ".join(build_parser().commands["train"].format_help().split())
    assert "--steps is a deprecated alias" in text and "--step is a deprecated alias" in text


def test_train_and_sweep_have_one_option_per_setting():
    from ntm_numpy.training.config import setting_fields
    from ntm_numpy.training.options import has_option

    parser = build_parser()
    train_options = parser.commands["train"].options
    flags = {a.dest: a.option_strings[0] for a in train_options if a.option_strings}
    settings = {f.name for _, f in setting_fields() if has_option(f)}
    assert settings - {"task"} <= set(flags) and "lr_start_step" not in flags
    assert flags["batch_size"] == "--batch-size" and flags["updates"] == "--updates"
    assert flags["task_settings"] == "--task-setting"
    assert flags["implementation"] == "--implementation"
    sweep = {a.dest for a in parser.commands["sweep"].options}
    assert settings - {"seed"} <= sweep and "seed" not in sweep
    assert {"task", "seeds", "jobs"} <= sweep


def test_the_package_uses_no_private_argparse():
    import pathlib
    import re

    private = re.compile(r"\._actions\b|_SubParsersAction|\._add_action\b|"
                         r"\._option_string_actions|\._get_optional_actions|\._registries")
    for path in pathlib.Path(ntm_numpy.__file__).parent.rglob("*.py"):
        assert not private.search(path.read_text()), path


def test_render_train_command_parses_back():
    from ntm_numpy.cli import train_config_from_command
    from ntm_numpy.training.options import render_train_command

    settings = dict(task="repeat_copy", updates=30, lr=1e-8, clip_norm=None, batch_size=4,
                    implementation="reference", controller="feedforward",
                    task_settings={"max_length": 5},
                    task_settings_after_converged={"max_repeats": 20, "repeat_scale": 10})
    command = render_train_command({**settings, "seed": 3}, out="runs/a b")
    assert command.startswith("ntm-numpy train repeat_copy ")
    assert "--lr 1e-8" in command and "--clip-norm 0" in command
    assert command.endswith("--seed 3 --out 'runs/a b'")
    assert train_config_from_command(command) == TrainConfig(**settings, seed=3)
    # a setting at the command line's default is left out (the seed is always written)
    assert render_train_command({"task": "copy", "implementation": "fused", "seed": 0}) == \
        "ntm-numpy train copy --seed 0"
    with pytest.raises(ValueError, match="^lr_start_step"):
        render_train_command({"task": "copy", "lr_start_step": 3})
    assert render_train_command({"task": "copy", "updates": None}) == "ntm-numpy train copy"
    with pytest.raises(ValueError, match="^batch_size: None"):
        render_train_command({"task": "copy", "batch_size": None})


def test_the_options_table_of_the_docs_is_generated_from_the_settings():
    from ntm_numpy.training.options import options_table

    with open(os.path.join(REPO, "docs", "training.md")) as f:
        assert options_table() in f.read()
