"""Data-parallel updates (ntm_numpy.training.parallel, ``train(workers=n)``, ``--workers``).

The shares of a batch must give the gradients of the whole batch (up to rounding, in
float64 to 1e-12); a run with workers must be deterministic, resume bit for bit, and
leave a complete checkpoint however it stops: by a signal to its whole process group
(a Ctrl-C in a terminal) or by the death of a worker.
"""
import multiprocessing
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import ntm_numpy
from ntm_numpy.tasks import get_task
from ntm_numpy.training.config import TrainConfig
from ntm_numpy.training.loop import train
from ntm_numpy.training.parallel import BatchWorkers, WorkerError, batch_slices

from support import wait_for_steps

TINY = dict(task="copy", batch_size=4, controller_size=8, memory_rows=8, memory_width=4,
            eval_every=2, implementation="fused")


@pytest.mark.parametrize("batch, n", [(1, 1), (4, 2), (5, 2), (7, 3), (16, 16)])
def test_batch_slices_cover_the_batch_in_order(batch, n):
    parts = batch_slices(batch, n)
    assert len(parts) == n
    assert [i for p in parts for i in range(batch)[p]] == list(range(batch))
    sizes = [p.stop - p.start for p in parts]
    assert max(sizes) - min(sizes) <= 1 and min(sizes) >= 1


@pytest.mark.parametrize("batch, n, words", [(4, 5, ["workers", "at most", "4", "5"]),
                                             (4, 0, ["workers", "0"])])
def test_batch_slices_refuse_more_shares_than_sequences(batch, n, words):
    with pytest.raises(ValueError) as err:
        batch_slices(batch, n)
    for w in words:
        assert w in str(err.value)


@pytest.mark.parametrize("kwargs", [dict(model="ntm", implementation="fused"),
                                    dict(model="ntm", implementation="reference", read_heads=2),
                                    dict(model="lstm", hidden_size=16)])
def test_shares_give_the_gradients_of_the_whole_batch(kwargs):
    config = TrainConfig(task="copy", dtype="float64", controller_size=16, memory_rows=12,
                         memory_width=6, seed=3, **kwargs)
    model = config.make_model()
    x, y, mask = get_task("copy").batch(np.random.default_rng(4), 7, dtype=np.float64)
    with BatchWorkers(model, 1) as whole, BatchWorkers(model, 3) as shared:
        logits1, loss1, grads1 = whole(x, y, mask)
        logits3, loss3, grads3 = shared(x, y, mask)
        # the parameters are read at every call: a change reaches the workers
        model.params = {k: v * 0.5 for k, v in model.params.items()}
        logits_half, _, _ = shared(x, y, mask)
        logits_half1, _, _ = whole(x, y, mask)
    assert logits3.shape == logits1.shape
    np.testing.assert_allclose(logits3, logits1, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(logits_half, logits_half1, rtol=1e-12, atol=1e-12)
    assert not np.allclose(logits_half, logits1)
    assert loss3 == pytest.approx(loss1, rel=1e-12)
    assert set(grads3) == set(grads1)
    for k in grads1:
        scale = np.abs(grads1[k]).max() + 1e-300
        assert np.abs(grads3[k] - grads1[k]).max() <= 1e-12 * scale, k


def test_a_failed_share_leaves_no_reply_behind(monkeypatch):
    import ntm_numpy.training.parallel as parallel

    config = TrainConfig(task="copy", dtype="float64", controller_size=8, memory_rows=8,
                         memory_width=4, implementation="fused")
    model = config.make_model()
    task = get_task("copy")
    x1, y1, m1 = task.batch(np.random.default_rng(1), 4, dtype=np.float64)
    x2, y2, m2 = task.batch(np.random.default_rng(2), 4, dtype=np.float64)
    real = parallel.batch_gradients
    with BatchWorkers(model, 2) as shared:
        # this process's share fails; the worker's share of that batch is still taken
        monkeypatch.setattr(parallel, "batch_gradients", lambda *a, **k: 1 / 0)
        with pytest.raises(ZeroDivisionError):
            shared(x1, y1, m1)
        monkeypatch.setattr(parallel, "batch_gradients", real)
        logits, _, _ = shared(x2, y2, m2)
    np.testing.assert_allclose(logits, model.forward(x2)[0], rtol=1e-12, atol=1e-12)


def test_no_worker_process_is_left_behind():
    model = TrainConfig(**TINY).make_model()
    before = set(multiprocessing.active_children())
    with BatchWorkers(model, 3):
        assert len(set(multiprocessing.active_children()) - before) == 2
    assert set(multiprocessing.active_children()) - before == set()


def test_replaced_primitives_are_refused_with_workers():
    from ntm_numpy.memory import write_backward

    model = TrainConfig(**dict(TINY, implementation="reference")).make_model()
    model.ops["write_backward"] = lambda *a: write_backward(*a)
    with pytest.raises(ValueError, match="workers"):
        BatchWorkers(model, 2)
    BatchWorkers(model, 1).close()  # one process needs no copy of the model


@pytest.mark.parametrize("workers, words", [(0, ["workers", "0"]),
                                            (5, ["workers", "batch_size (4)", "5"])])
def test_config_checks_workers(workers, words):
    with pytest.raises(ValueError) as err:
        TrainConfig(**TINY, workers=workers)
    for w in words:
        assert w in str(err.value)


def test_a_run_with_workers_equals_one_process_up_to_rounding_and_records_them(tmp_path):
    settings = dict(TINY, updates=6, dtype="float64")
    one = train(stream=False, **settings)
    two = train(stream=False, out_dir=tmp_path / "two", workers=2, **settings)
    again = train(stream=False, workers=2, **settings)
    for k in one.model.params:
        np.testing.assert_allclose(two.model.params[k], one.model.params[k], rtol=1e-9,
                                   atol=1e-12)
        np.testing.assert_array_equal(again.model.params[k], two.model.params[k])
    _, ckpt = ntm_numpy.load(tmp_path / "two" / "checkpoint.npz", return_checkpoint=True)
    assert ckpt.meta["train_config"]["workers"] == 2


def test_resuming_with_workers_continues_bit_for_bit(tmp_path):
    settings = dict(TINY, updates=6, dtype="float64", workers=2)

    def stop_at_3(step, history):
        if step == 3:
            raise KeyboardInterrupt  # what a Ctrl-C does, at a known step

    full = train(stream=False, **settings)
    stopped = train(stream=False, out_dir=tmp_path / "r", log_every=1, callback=stop_at_3,
                    **settings)
    assert stopped.interrupted and stopped.step == 3
    resumed = train(resume=tmp_path / "r" / "checkpoint.npz", stream=False)
    assert resumed.config.workers == 2 and resumed.step == 6
    for k in full.model.params:
        np.testing.assert_array_equal(resumed.model.params[k], full.model.params[k])


def test_a_dead_worker_stops_training_and_keeps_the_last_update(tmp_path):
    others = set(multiprocessing.active_children())

    def kill_workers(step, history):
        if step == 3:
            for proc in set(multiprocessing.active_children()) - others:
                proc.kill()
                proc.join()

    with pytest.raises(WorkerError, match="worker process stopped"):
        train(stream=False, out_dir=tmp_path / "run", log_every=1, callback=kill_workers,
              **dict(TINY, updates=100, checkpoint_every=1000, workers=2))
    _, ckpt = ntm_numpy.load(tmp_path / "run" / "checkpoint.npz", return_checkpoint=True)
    assert ckpt.meta["step"] == 3 and int(ckpt.state["adam.step"]) == 3


def test_the_checkpoint_a_dead_worker_leaves_resumes_bit_for_bit(tmp_path):
    settings = dict(TINY, updates=8, dtype="float64", workers=2, checkpoint_every=1000)
    full = train(stream=False, **settings)
    others = set(multiprocessing.active_children())

    def kill_a_worker(step, history):
        if step == 3:
            for proc in set(multiprocessing.active_children()) - others:
                os.kill(proc.pid, signal.SIGKILL)
                proc.join()

    with pytest.raises(WorkerError) as info:
        train(stream=False, out_dir=tmp_path / "run", log_every=1, callback=kill_a_worker,
              **settings)
    message = str(info.value)
    assert "during update 4" in message and "the checkpoint of update 3" in message
    resumed = train(resume=tmp_path / "run" / "checkpoint.npz", out_dir=tmp_path / "run",
                    stream=False)
    assert resumed.step == 8
    for k in full.model.params:
        np.testing.assert_array_equal(resumed.model.params[k], full.model.params[k], err_msg=k)


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="needs process groups")
def test_ctrl_c_to_the_process_group_leaves_a_checkpoint_and_no_worker(tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "ntm_numpy", "train", "copy", "--updates", "100000",
           "--batch-size", "4", "--controller-size", "8", "--memory-rows", "8",
           "--memory-width", "4", "--no-plots", "--workers", "2", "--log-every", "1",
           "--eval-every", "1000", "--out", str(out)]
    # a session of its own: the signal goes to the whole group, as a terminal's Ctrl-C does
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        assert wait_for_steps(proc, 3) >= 3, "training did not start"
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        gone = time.time() + 10
        while time.time() < gone:
            try:
                os.killpg(proc.pid, 0)  # a process of the group is still there
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            pytest.fail("a worker process outlived the training process")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 128 + signal.SIGINT, err
    assert "SIGINT: stopped at update" in err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err  # no worker died
    _, ckpt = ntm_numpy.load(out / "checkpoint.npz", return_checkpoint=True)
    k = ckpt.meta["step"]
    assert k >= 3 and int(ckpt.state["adam.step"]) == k
    assert ckpt.meta["train_config"]["workers"] == 2
