"""The sweep's own worker processes die with it: none is left training after the sweep
is killed (SIGKILL), and a SIGTERM ends a sweep whose worker is stopped (SIGSTOP).

Each test runs a small sweep in a subprocess and bounds every wait; together they take
about half a minute.
"""
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc for children")

SWEEP = textwrap.dedent("""
    import sys
    from ntm_numpy.training import sweep
    from ntm_numpy.training.config import TrainConfig

    sweep.STOP_GRACE_SECONDS = float(sys.argv[2])
    config = TrainConfig(task="copy", updates=100000, batch_size=2, controller_size=8,
                         memory_rows=8, memory_width=4, eval_every=1000,
                         checkpoint_every=5, task_settings={"max_length": 3})
    sweep.run_sweep(config, seeds=[0, 1], out=sys.argv[1], jobs=2, lengths=[3],
                    progress=False, plot=False)
""")


def _children(pid):
    """The pids of the live processes whose parent is ``pid``."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry))
    return found


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _start_sweep(out, grace):
    proc = subprocess.Popen([sys.executable, "-c", SWEEP, str(out), str(grace)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    # wait until both runs have written a checkpoint: the workers are training
    while time.monotonic() < deadline:
        if all((out / f"seed_{s}" / "checkpoint.npz").exists() for s in (0, 1)):
            break
        assert proc.poll() is None, proc.stderr.read().decode()
        time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("the sweep's runs did not start within 60 s")
    return proc


def _workers(proc):
    """The sweep's worker processes (its children that run Python with the pool)."""
    workers = []
    for pid in _children(proc.pid):
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            if b"resource_tracker" not in f.read():
                workers.append(pid)
    return workers


def test_a_killed_sweep_leaves_no_worker_training(tmp_path):
    proc = _start_sweep(tmp_path, grace=60)
    workers = _workers(proc)
    assert len(workers) == 2
    proc.kill()
    proc.wait(timeout=10)
    deadline = time.monotonic() + 30
    while any(_alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = [p for p in workers if _alive(p)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert left == [], "workers went on training after their sweep was killed"


def test_sigterm_ends_a_sweep_whose_worker_is_stopped(tmp_path):
    proc = _start_sweep(tmp_path, grace=2)
    workers = _workers(proc)
    assert len(workers) == 2
    os.kill(workers[0], signal.SIGSTOP)
    try:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            pytest.fail("SIGTERM did not end the sweep within 30 s")
        assert "did not stop within" in proc.stderr.read().decode()
    finally:
        for pid in workers:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
    # the run that was not stopped saved its checkpoint; the stopped one keeps its last
    for seed in (0, 1):
        assert (tmp_path / f"seed_{seed}" / "checkpoint.npz").exists()
