"""One run per output folder (ntm_numpy.training.lock): a second writer is refused with
a message naming the folder and the process that holds it; the kernel releases the
lock when its holder dies, however it dies."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from ntm_numpy.training import train
from ntm_numpy.training.lock import LOCK_NAME, FolderInUse, folder_lock

fcntl = pytest.importorskip("fcntl")

TINY = dict(task="copy", batch_size=2, controller_size=4, memory_rows=4, memory_width=2,
            eval_every=5, checkpoint_every=5, task_settings={"max_length": 3})

HOLD = textwrap.dedent("""
    import sys, time
    from ntm_numpy.training.lock import folder_lock
    with folder_lock(sys.argv[1]):
        print("locked", flush=True)
        time.sleep(60)
""")


def _hold_in_subprocess(folder):
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(folder)], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_a_second_writer_is_refused_with_the_holders_pid(tmp_path):
    holder = _hold_in_subprocess(tmp_path)
    try:
        with pytest.raises(FolderInUse) as info:
            with folder_lock(tmp_path):
                pass
        message = str(info.value)
        assert message.startswith("out_dir: ") and str(tmp_path) in message
        assert f"process {holder.pid}" in message
        # training into that folder is refused before anything is written
        with pytest.raises(FolderInUse):
            train(updates=5, out_dir=tmp_path, stream=False, **TINY)
        assert not (tmp_path / "checkpoint.npz").exists()
    finally:
        holder.kill()
        holder.wait()


def test_the_lock_is_released_when_its_holder_is_killed(tmp_path):
    holder = _hold_in_subprocess(tmp_path)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    with folder_lock(tmp_path):  # no stale lock
        assert (tmp_path / LOCK_NAME).read_text().strip() == str(os.getpid())


def test_two_trainings_started_together_into_one_folder(tmp_path):
    code = textwrap.dedent(f"""
        from ntm_numpy.training import train
        train(updates=400, out_dir={str(tmp_path)!r}, stream=False, **{TINY!r})
    """)
    procs = [subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    errors = [p.communicate(timeout=300)[1] for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes[0] == 0 and codes[1] != 0, errors
    refused = next(e for p, e in zip(procs, errors) if p.returncode != 0)
    assert "FolderInUse" in refused or "already holds a run's checkpoint" in refused, refused


def test_the_lock_ends_with_the_run(tmp_path):
    train(updates=5, out_dir=tmp_path, stream=False, **TINY)
    started = time.monotonic()
    with folder_lock(tmp_path):
        pass
    assert time.monotonic() - started < 5


def test_a_sweep_and_the_command_line_are_refused_a_folder_in_use(tmp_path, capsys):
    from ntm_numpy.cli import main
    from ntm_numpy.training.sweep import run_sweep

    holder = _hold_in_subprocess(tmp_path)
    try:
        with pytest.raises(FolderInUse, match=f"^out: .*process {holder.pid}"):
            run_sweep(seeds=[0], out=tmp_path, stream=False, progress=False, updates=2, **{
                k: v for k, v in TINY.items() if k != "task"})
        assert not (tmp_path / "sweep.json").exists()
        assert main(["train", "copy", "--updates", "2", "--out", str(tmp_path)]) == 2
        err = capsys.readouterr().err.splitlines()[-1]
        assert err.startswith(f"ntm-numpy: error: --out: '{tmp_path}' is in use by another "
                              f"run (process {holder.pid}")
    finally:
        holder.kill()
        holder.wait()
