"""The command line never destroys a result and turns every failure into one line."""
import signal
import subprocess
import sys

import numpy as np
import pytest

import ntm_numpy
from ntm_numpy.cli import EXIT_RUNTIME, EXIT_USAGE, main
from ntm_numpy.training.loop import train

from support import wait_for_steps

TINY = ["--batch-size", "2", "--controller-size", "8", "--memory-rows", "8",
        "--memory-width", "4", "--eval-every", "2", "--no-plots"]
TINY_API = dict(task="copy", batch_size=2, controller_size=8, memory_rows=8, memory_width=4,
                eval_every=2)


@pytest.fixture
def run(tmp_path):
    """A finished 4-step run trained through the command line: its folder."""
    out = tmp_path / "run"
    assert main(["train", "copy", "--updates", "4", *TINY, "--out", str(out)]) == 0
    return out


def one_line_error(capsys, *words):
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("ntm-numpy: error:")]
    assert len(lines) == 1, err
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


# ------------------------------------------------------------------ overwrites
def test_train_refuses_a_folder_holding_a_checkpoint(run, capsys):
    ck = run / "checkpoint.npz"
    before = ck.read_bytes()
    capsys.readouterr()
    assert main(["train", "copy", "--updates", "2", *TINY, "--out", str(run)]) == EXIT_USAGE
    one_line_error(capsys, "--out", "--resume", "--overwrite")
    assert ck.read_bytes() == before


def test_train_overwrite_flag_replaces(run, capsys):
    assert main(["train", "copy", "--updates", "2", *TINY, "--out", str(run),
                 "--overwrite"]) == 0
    assert ntm_numpy.load(run / "checkpoint.npz", return_checkpoint=True)[1].meta["step"] == 2


def test_train_refuses_the_default_folder_holding_a_run(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["train", "copy", "--updates", "2", *TINY]) == 0
    before = (tmp_path / "runs" / "copy" / "checkpoint.npz").read_bytes()
    assert main(["train", "copy", "--updates", "2", *TINY]) == EXIT_USAGE
    one_line_error(capsys, "runs/copy", "--resume")
    assert (tmp_path / "runs" / "copy" / "checkpoint.npz").read_bytes() == before


@pytest.mark.parametrize("make", ["file", "dir_named_checkpoint"])
def test_train_checks_its_output_before_training(tmp_path, capsys, make, monkeypatch):
    import ntm_numpy.training.loop as train_module

    monkeypatch.setattr(train_module, "train", lambda *a, **k: pytest.fail("trained"))
    out = tmp_path / "out"
    if make == "file":
        out.write_text("not a folder")
    else:
        (out / "checkpoint.npz").mkdir(parents=True)
    assert main(["train", "copy", "--updates", "2", *TINY, "--out", str(out)]) == EXIT_USAGE
    one_line_error(capsys, "--out")


def test_evaluate_refuses_to_write_over_its_checkpoint(run, capsys):
    ck = run / "checkpoint.npz"
    before = ck.read_bytes()
    capsys.readouterr()
    code = main(["evaluate", str(ck), "--lengths", "2", "--sequences", "2", "--out", str(ck)])
    assert code == EXIT_USAGE
    one_line_error(capsys, "--out", "input")
    assert ck.read_bytes() == before


def test_evaluate_refuses_to_replace_a_file_that_is_not_a_png(run, tmp_path, capsys):
    other = tmp_path / "notes.txt"
    other.write_text("my notes")
    capsys.readouterr()
    assert main(["evaluate", str(run / "checkpoint.npz"), "--lengths", "2", "--sequences",
                 "2", "--out", str(other)]) == EXIT_USAGE
    one_line_error(capsys, "--out", "not a PNG")
    assert other.read_text() == "my notes"


def test_export_refuses_its_input_and_existing_files(run, tmp_path, capsys):
    ck = run / "checkpoint.npz"
    before = ck.read_bytes()
    capsys.readouterr()
    assert main(["export", str(ck), str(ck)]) == EXIT_USAGE
    one_line_error(capsys, "out", "being exported")
    assert ck.read_bytes() == before
    # the checkpoint still resumes
    assert main(["train", "copy", *TINY, "--updates", "5", "--resume", str(ck)]) == 0
    small = tmp_path / "small.npz"
    small.write_bytes(b"precious")
    capsys.readouterr()
    assert main(["export", str(ck), str(small)]) == EXIT_USAGE
    one_line_error(capsys, "out", "--overwrite")
    assert small.read_bytes() == b"precious"
    assert main(["export", str(ck), str(small), "--overwrite"]) == 0
    assert ntm_numpy.load(small, return_checkpoint=True)[1].state == {}


def test_export_to_a_missing_folder_is_a_message(run, tmp_path, capsys):
    capsys.readouterr()
    assert main(["export", str(run / "checkpoint.npz"),
                 str(tmp_path / "nope" / "x.npz")]) == EXIT_USAGE
    one_line_error(capsys, "out", "does not exist")


def test_plot_refuses_a_file_as_its_folder(run, tmp_path, capsys):
    target = tmp_path / "afile"
    target.write_text("x")
    capsys.readouterr()
    assert main(["plot", str(run / "checkpoint.npz"), "--out", str(target)]) == EXIT_USAGE
    one_line_error(capsys, "--out")


# ---------------------------------------------------------------------- resume
def test_resume_refuses_another_task_and_names_the_flags(run, capsys):
    ck = str(run / "checkpoint.npz")
    capsys.readouterr()
    assert main(["train", "repeat_copy", "--resume", ck, "--updates", "6"]) == EXIT_USAGE
    one_line_error(capsys, "task", "'copy'", "'repeat_copy'")
    assert main(["train", "copy", "--resume", ck, "--memory-rows", "16"]) == EXIT_USAGE
    one_line_error(capsys, "--memory-rows", "memory_rows=8", "16")
    assert main(["train", "copy", "--resume", ck, "--updates", "2"]) == EXIT_USAGE
    one_line_error(capsys, "--updates", "update 4")


def test_resume_applies_lr_and_batch_size_and_says_so(run, capsys):
    ck = run / "checkpoint.npz"
    capsys.readouterr()
    assert main(["train", "copy", "--resume", str(ck), "--updates", "6", "--lr", "0.005",
                 "--batch-size", "3", "--no-plots"]) == 0
    err = capsys.readouterr().err
    assert f"resumed {ck} at update 4 of 6" in err
    _, ckpt = ntm_numpy.load(ck, return_checkpoint=True)
    tc = ckpt.meta["train_config"]
    assert ckpt.meta["step"] == 6 and tc["batch_size"] == 3 and tc["lr"] == 0.005
    assert tc["lr_start_step"] == 4 and ckpt.meta["sequences"] == 4 * 2 + 2 * 3


def test_resume_default_flags_do_not_count_as_given(run, capsys):
    """Flags left at their defaults (e.g. --batch-size 16) do not conflict on resume."""
    assert main(["train", "copy", "--resume", str(run / "checkpoint.npz"), "--updates", "5",
                 "--no-plots"]) == 0
    _, ckpt = ntm_numpy.load(run / "checkpoint.npz", return_checkpoint=True)
    assert ckpt.meta["train_config"]["batch_size"] == 2


# ---------------------------------------------------------------------- messages
@pytest.mark.parametrize("argv, words", [
    (["train", "copy", "--seed", "-1", "--updates", "1"], ["--seed", "-1"]),
    (["train", "copy", "--memory-rows", str(10**12), "--updates", "1"], ["memory_rows=10"]),
    (["train", "copy", "--lr", "nan", "--updates", "1"], ["--lr"]),
])
def test_bad_training_values_name_the_flag(tmp_path, capsys, argv, words):
    assert main([*argv, "--out", str(tmp_path / "o")]) == EXIT_USAGE
    one_line_error(capsys, *words)
    assert not (tmp_path / "o").exists()  # nothing was created


def test_evaluate_memory_rows_zero_is_refused(run, capsys):
    capsys.readouterr()
    assert main(["evaluate", str(run / "checkpoint.npz"), "--memory-rows", "0",
                 "--lengths", "2"]) == EXIT_USAGE
    one_line_error(capsys, "--memory-rows", "0")


def test_evaluate_task_model_mismatch_is_a_message(run, capsys):
    capsys.readouterr()
    assert main(["evaluate", str(run / "checkpoint.npz"), "--task", "repeat_copy",
                 "--lengths", "2"]) == EXIT_USAGE
    one_line_error(capsys, "--task", "9 inputs", "repeat_copy")


def test_diverging_run_is_a_runtime_error_naming_the_step(tmp_path, capsys):
    code = main(["train", "copy", "--lr", "1e300", "--updates", "5", *TINY,
                 "--out", str(tmp_path / "o")])
    assert code == EXIT_RUNTIME
    one_line_error(capsys, "diverged at update", "lower learning rate")
    assert not (tmp_path / "o" / "checkpoint.npz").exists()


def test_os_error_is_one_line_with_exit_1(run, tmp_path, capsys, monkeypatch):
    import ntm_numpy.checkpoint as checkpoint

    def full(fileobj, arrays):
        raise OSError(28, "No space left on device", str(tmp_path / "small.npz"))

    monkeypatch.setattr(checkpoint, "_write_npz", full)
    capsys.readouterr()
    assert main(["export", str(run / "checkpoint.npz"), str(tmp_path / "small.npz")]) == 1
    one_line_error(capsys, "small.npz", "No space left")


def test_memory_error_is_one_line_with_exit_1(run, capsys, monkeypatch):
    import ntm_numpy.training.evaluation as train_module

    def boom(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(train_module, "evaluate_scores", boom)
    capsys.readouterr()
    assert main(["evaluate", str(run / "checkpoint.npz"), "--lengths", "2"]) == EXIT_RUNTIME
    one_line_error(capsys, "out of memory")


def test_debug_shows_the_traceback(tmp_path):
    with pytest.raises(ValueError):
        main(["--debug", "evaluate", str(tmp_path / "nope.npz")])
    with pytest.raises(ValueError):
        main(["evaluate", str(tmp_path / "nope.npz"), "--debug"])


# ---------------------------------------------------------------------- signals
@pytest.mark.parametrize("signame", ["SIGTERM", "SIGHUP", "SIGINT"])
def test_stop_signals_leave_a_checkpoint_that_resumes_bit_for_bit(tmp_path, signame):
    signum = getattr(signal, signame, None)
    if signum is None:
        pytest.skip(f"no {signame} on this platform")
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "ntm_numpy", "train", "copy", "--updates", "100000",
           *TINY, "--log-every", "1", "--eval-every", "1000", "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for_steps(proc, 3) >= 3, "training did not start"
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signum, err
    assert f"{signame}: stopped at update" in err
    model, ckpt = ntm_numpy.load(out / "checkpoint.npz", return_checkpoint=True)
    k = ckpt.meta["step"]
    assert 3 <= k < 100000 and int(ckpt.state["adam.step"]) == k
    # resuming it for two more updates equals an uninterrupted run of k + 2 updates
    settings = dict(TINY_API, updates=100000, eval_every=1000, implementation="fused")  # the CLI default

    def stop_at(n):
        def callback(step, history):
            if step == n:
                raise KeyboardInterrupt
        return callback

    resumed = train(resume=out / "checkpoint.npz", stream=False, log_every=1,
                    callback=stop_at(k + 2), **settings)
    full = train(stream=False, log_every=1, callback=stop_at(k + 2), **settings)
    assert resumed.step == full.step == k + 2
    for name in full.model.params:
        np.testing.assert_array_equal(resumed.model.params[name], full.model.params[name])


def test_train_checks_the_plot_paths_before_training(tmp_path, capsys, monkeypatch):
    import ntm_numpy.training.loop as train_module

    monkeypatch.setattr(train_module, "train", lambda *a, **k: pytest.fail("trained"))
    (tmp_path / "out" / "memory.png").mkdir(parents=True)
    assert main(["train", "copy", "--updates", "2", "--batch-size", "2",
                 "--out", str(tmp_path / "out")]) == EXIT_USAGE
    one_line_error(capsys, "--out", "memory.png", "directory")
