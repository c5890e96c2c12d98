"""Training that never loses a run: honest resume, signals, divergence, output folders."""
import math
import os
import signal
import time

import numpy as np
import pytest

import ntm_numpy
import ntm_numpy.training.loop as train_module
from ntm_numpy.training.config import (
    LR_FINAL_FRACTION,
    RESUME_CHANGEABLE,
    TrainConfig,
    learning_rate,
)
from ntm_numpy.training.loop import TrainingDiverged, train

from support import TINY


def lrs_of(config, steps, converged=False):
    return [learning_rate(config, s, converged) for s in steps]


@pytest.fixture
def finished(tmp_path):
    """A finished 4-step run: (its result, its checkpoint path)."""
    result = train(updates=4, out_dir=tmp_path / "run", stream=False, **TINY)
    return result, tmp_path / "run" / "checkpoint.npz"


# ---------------------------------------------------------------- what may change
@pytest.mark.parametrize("key, value", [
    ("task", "repeat_copy"), ("memory_rows", 16), ("controller_size", 4), ("seed", 1),
    ("dtype", "float64"), ("optimizer", "rmsprop"), ("model", "lstm"), ("eps", 1e-8),
    ("task_settings", {"max_length": 5}), ("val_batch_size", 4),
])
def test_resume_refuses_settings_it_cannot_apply(finished, key, value):
    _, path = finished
    saved = ntm_numpy.load(path, return_checkpoint=True)[1].meta["train_config"][key]
    with pytest.raises(ValueError) as info:
        train(resume=path, stream=False, updates=6, **{key: value})
    msg = str(info.value)
    assert msg.startswith(f"{key}:") and repr(saved) in msg and repr(value) in msg


def test_resume_applies_the_settings_it_accepts(finished):
    _, path = finished
    result = train(resume=path, updates=6, batch_size=3, lr=1e-2, clip=5.0, clip_norm=None,
                   eval_every=2, checkpoint_every=7, lr_schedule="constant",
                   lr_after_converged=0.5, stream=False)
    c = result.config
    assert (c.batch_size, c.lr, c.clip, c.clip_norm, c.eval_every, c.checkpoint_every,
            c.lr_schedule, c.lr_after_converged) == (3, 1e-2, 5.0, None, 2, 7, "constant", 0.5)
    assert result.step == 6 and result.sequences == 4 * 2 + 2 * 3  # the new batch size
    assert set(RESUME_CHANGEABLE) >= {"updates", "lr", "batch_size"}


def test_resume_refuses_fewer_steps_than_done(finished):
    _, path = finished
    with pytest.raises(ValueError, match=r"^updates: .*update 4.*at least 4, got 2"):
        train(resume=path, updates=2, stream=False)


def test_resume_logs_what_was_resumed(finished, tmp_path):
    import io

    _, path = finished
    stream = io.StringIO()
    train(resume=path, updates=5, batch_size=3, stream=stream, log_every=1, out_dir=path.parent)
    first = stream.getvalue().splitlines()[0]
    assert first.startswith(f"resumed {path} at update 4 of 5")
    assert "batch_size 2 -> 3" in first and "updates 4 -> 5" in first
    _, ckpt = ntm_numpy.load(path, return_checkpoint=True)
    assert ckpt.meta["resumes"][-1]["step"] == 4
    assert ckpt.meta["resumes"][-1]["changes"]["batch_size"] == [2, 3]


# ------------------------------------------------------------- learning-rate schedule
def test_extending_a_finished_run_does_not_jump_the_learning_rate(finished):
    result, path = finished
    end_rate = learning_rate(result.config, 3, False)  # the last update's rate
    resumed = train(resume=path, updates=10, stream=False)
    c = resumed.config
    assert c.lr_start_step == 4
    rates = lrs_of(c, range(4, 10))
    # continues from where the old schedule was (at most the one-step cosine decrease
    # away), then falls along a cosine over the extension
    assert rates[0] == pytest.approx(learning_rate(result.config, 4, False))
    assert rates[0] <= end_rate * 1.0001
    assert all(b <= a for a, b in zip(rates, rates[1:]))
    assert rates[-1] == pytest.approx(rates[0] * LR_FINAL_FRACTION)


def test_a_new_lr_on_resume_starts_a_schedule_over_the_extension(finished):
    _, path = finished
    resumed = train(resume=path, updates=10, lr=1e-3, stream=False)
    rates = lrs_of(resumed.config, range(4, 10))
    assert rates[0] == pytest.approx(1e-3)
    assert rates[-1] == pytest.approx(1e-3 * LR_FINAL_FRACTION)


def test_the_schedule_of_a_fresh_run_is_unchanged():
    c = TrainConfig(updates=101, lr=1.0)
    assert learning_rate(c, 0, False) == 1.0
    assert learning_rate(c, 50, False) == pytest.approx(0.5 * (1 + LR_FINAL_FRACTION))
    assert learning_rate(c, 100, False) == pytest.approx(LR_FINAL_FRACTION)


def test_resume_without_changes_is_still_bit_for_bit(tmp_path):
    full = train(updates=6, stream=False, **TINY)

    def stop(step, history):
        if step == 3:
            raise KeyboardInterrupt

    cut = train(updates=6, out_dir=tmp_path, stream=False, callback=stop, log_every=1, **TINY)
    assert cut.interrupted and cut.stop_signal == signal.SIGINT
    resumed = train(resume=tmp_path / "checkpoint.npz", updates=6, lr=full.config.lr,
                    stream=False, **TINY)
    assert resumed.config.lr_start_step == 0
    for k in full.model.params:
        np.testing.assert_array_equal(resumed.model.params[k], full.model.params[k])


# ------------------------------------------------------------------ output folders
def test_training_into_a_folder_with_a_checkpoint_is_refused(finished):
    _, path = finished
    before = path.read_bytes()
    with pytest.raises(ValueError, match="^out_dir: .*already holds.*resume.*overwrite"):
        train(updates=2, out_dir=path.parent, stream=False, **TINY)
    assert path.read_bytes() == before
    train(updates=2, out_dir=path.parent, stream=False, overwrite=True, **TINY)
    assert ntm_numpy.load(path, return_checkpoint=True)[1].meta["step"] == 2


def test_output_folder_problems_are_found_before_training(tmp_path, monkeypatch):
    monkeypatch.setattr(train_module.TrainConfig, "make_model",
                        lambda self: pytest.fail("the model was built before the check"))
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="^out_dir: .*existing file"):
        train(updates=2, out_dir=tmp_path / "file", stream=False, **TINY)
    (tmp_path / "run" / "checkpoint.npz").mkdir(parents=True)
    with pytest.raises(ValueError, match="^out_dir: .*is a directory"):
        train(updates=2, out_dir=tmp_path / "run", stream=False, **TINY)


# ------------------------------------------------------------------------ signals
def test_signals_during_the_final_save_wait_for_it(tmp_path, monkeypatch):
    real = train_module._checkpoint

    def save_while_signalled(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C in the middle of the save
        time.sleep(0.05)
        real(*args, **kwargs)

    monkeypatch.setattr(train_module, "_checkpoint", save_while_signalled)
    result = train(updates=3, out_dir=tmp_path, stream=False, **TINY)
    assert result.interrupted and result.stop_signal == signal.SIGINT
    _, ckpt = ntm_numpy.load(tmp_path / "checkpoint.npz", return_checkpoint=True)
    assert ckpt.meta["step"] == 3


def test_a_signal_ends_the_run_at_the_end_of_the_update(tmp_path):
    def term_at_two(step, history):
        if step == 2:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)

    result = train(updates=50, out_dir=tmp_path, stream=False, log_every=1,
                   callback=term_at_two, **TINY)
    assert result.stop_signal == signal.SIGINT and result.step == 2
    _, ckpt = ntm_numpy.load(tmp_path / "checkpoint.npz", return_checkpoint=True)
    assert ckpt.meta["step"] == 2 and int(ckpt.state["adam.step"]) == 2


# ---------------------------------------------------------------------- divergence
def test_a_diverged_run_stops_with_a_message_and_keeps_the_last_checkpoint(tmp_path):
    train(updates=2, out_dir=tmp_path, stream=False, **TINY)
    ck = tmp_path / "checkpoint.npz"
    before = ck.read_bytes()
    with pytest.raises(TrainingDiverged) as info:
        train(resume=ck, updates=6, lr=1e300, checkpoint_every=1, stream=False)
    msg = str(info.value)
    assert "diverged at update" in msg and "lower learning rate" in msg and "1e+300" in msg
    assert "update 2" in msg  # the checkpoint kept
    assert ck.read_bytes() == before
    assert math.isfinite(float(ntm_numpy.load(ck).params["output_b"][0]))


def test_a_diverged_run_resumed_into_a_new_folder_names_only_files_that_exist(tmp_path):
    train(updates=2, out_dir=tmp_path / "a", stream=False, **TINY)
    ck = tmp_path / "a" / "checkpoint.npz"
    with pytest.raises(TrainingDiverged) as info:
        train(resume=ck, updates=6, lr=1e300, checkpoint_every=1000, out_dir=tmp_path / "b",
              stream=False)
    msg = str(info.value)
    assert f"no checkpoint was written to {tmp_path / 'b' / 'checkpoint.npz'}" in msg
    assert f"the checkpoint resumed, {ck}, is untouched" in msg
    assert not (tmp_path / "b" / "checkpoint.npz").exists() and ck.exists()


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP on this platform")
def test_an_ignored_sighup_stays_ignored(tmp_path):
    """Under nohup, closing the terminal must not stop training."""
    def hangup_at_two(step, history):
        if step == 2:
            os.kill(os.getpid(), signal.SIGHUP)
            time.sleep(0.05)

    old = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        result = train(updates=4, out_dir=tmp_path, stream=False, log_every=1,
                       callback=hangup_at_two, **TINY)
        assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, old)
    assert result.step == 4 and not result.interrupted


def test_a_resumed_run_logs_the_same_losses_as_an_uninterrupted_one(tmp_path):
    settings = dict(TINY, updates=8, checkpoint_every=6, dtype="float64")
    saved = {}

    def keep_the_checkpoint_of_update_6(step, history):
        if step == 8:  # called before this update's save: the file is update 6's
            saved["bytes"] = (tmp_path / "a" / "checkpoint.npz").read_bytes()

    full = train(out_dir=tmp_path / "a", log_every=4, stream=False,
                 callback=keep_the_checkpoint_of_update_6, **settings)
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "checkpoint.npz").write_bytes(saved["bytes"])
    resumed = train(resume=tmp_path / "b" / "checkpoint.npz", log_every=4, stream=False)
    assert resumed.history["step"] == full.history["step"] == [4, 8]
    assert resumed.history["loss"] == full.history["loss"]
    assert resumed.history["bit_errors"] == full.history["bit_errors"]
