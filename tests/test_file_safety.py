"""Only regular files are read as checkpoints, in bounded time and memory: a link to a
device, a FIFO, a directory, an oversized file and a header nested too deeply are each
refused with a CheckpointError (issue: reliability, round 2).

The reads that would never end run in a subprocess with a memory limit and a timeout,
so that a regression fails the test instead of exhausting the machine.
"""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from ntm_numpy import constants
from ntm_numpy.checkpoint import CheckpointError, load_checkpoint
from ntm_numpy.model import NTM

#: what the subprocess may allocate: far less than reading /dev/zero would take
MEMORY_LIMIT = 1 << 30

LOAD = textwrap.dedent("""
    import resource, sys
    resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
    from ntm_numpy.checkpoint import CheckpointError, load_checkpoint
    try:
        load_checkpoint(sys.argv[1])
    except CheckpointError as err:
        print("refused:", err)
""")


def _load_in_subprocess(path, timeout=60):
    code = LOAD.format(limit=MEMORY_LIMIT)
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                          text=True, timeout=timeout)
    return done.stdout + done.stderr


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_a_link_to_a_device_is_refused_without_reading_it(tmp_path):
    link = tmp_path / "checkpoint.npz"
    link.symlink_to("/dev/zero")
    out = _load_in_subprocess(link)
    assert "refused:" in out and "expected a regular file, got a device" in out, out


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo")
def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "checkpoint.npz"
    os.mkfifo(fifo)
    out = _load_in_subprocess(fifo, timeout=30)  # a blocking open would never return
    assert "refused:" in out and "got a FIFO" in out, out


def test_a_directory_is_refused(tmp_path):
    with pytest.raises(CheckpointError, match="expected a regular file, got a directory"):
        load_checkpoint(tmp_path)


def test_a_file_over_the_size_ceiling_is_refused_before_it_is_read(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    NTM(3, 2, controller_size=4, memory_rows=4, memory_width=2).save(path)
    monkeypatch.setattr(constants, "MAX_CHECKPOINT_BYTES", os.path.getsize(path) - 1)
    with pytest.raises(CheckpointError, match="bytes, more than the"):
        load_checkpoint(path)


def test_the_ceiling_is_well_above_the_largest_shipped_model():
    folder = os.path.join(os.path.dirname(constants.__file__), "pretrained")
    largest = max(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder)
                  if f.endswith(".npz"))
    assert constants.MAX_CHECKPOINT_BYTES > 1000 * largest


@pytest.mark.parametrize("depth", [constants.MAX_CHECKPOINT_HEADER_DEPTH + 1, 5000])
def test_a_header_nested_too_deeply_is_refused(tmp_path, depth):
    path = tmp_path / "deep.npz"
    np.savez(path, __header__=np.array("[" * depth + "]" * depth))
    with pytest.raises(CheckpointError, match="nests more than"):
        load_checkpoint(path)


def test_the_headers_written_here_nest_well_within_the_bound(tmp_path):
    from ntm_numpy.checkpoint import _json_depth
    from ntm_numpy.training import train

    train(task="copy", updates=4, eval_every=2, checkpoint_every=2, batch_size=2,
          controller_size=4, memory_rows=4, memory_width=2, out_dir=tmp_path, stream=False)
    train(task="copy", updates=6, resume=tmp_path / "checkpoint.npz", lr=1e-3,
          out_dir=tmp_path, stream=False)
    header = json.loads(str(np.load(tmp_path / "checkpoint.npz")["__header__"][()]))
    assert _json_depth(header) <= constants.MAX_CHECKPOINT_HEADER_DEPTH // 2


def test_a_save_killed_midway_leaves_a_temporary_file_the_next_save_removes(tmp_path):
    path = tmp_path / "checkpoint.npz"
    model = NTM(3, 2, controller_size=4, memory_rows=4, memory_width=2)
    model.save(path)
    code = textwrap.dedent(f"""
        import time
        from ntm_numpy import checkpoint
        from ntm_numpy.model import NTM
        real = checkpoint._write_npz
        def slow(f, arrays):
            real(f, arrays)
            print("writing", flush=True)
            time.sleep(60)
        checkpoint._write_npz = slow
        NTM(3, 2, controller_size=4, memory_rows=4, memory_width=2).save({str(path)!r})
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    proc.kill()
    proc.wait()
    left = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert len(left) == 1 and f".{proc.pid}." in left[0]
    load_checkpoint(path)  # the previous checkpoint is intact
    model.save(path)
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.npz"]


def test_a_save_leaves_the_temporary_files_of_live_writers_alone(tmp_path):
    path = tmp_path / "checkpoint.npz"
    live = tmp_path / f".checkpoint.npz.{os.getpid()}.abc.tmp"
    other = tmp_path / f".other.npz.{2**22 + 12345}.abc.tmp"
    live.write_bytes(b"being written")
    other.write_bytes(b"another file's")
    NTM(3, 2, controller_size=4, memory_rows=4, memory_width=2).save(path)
    assert live.exists() and other.exists()


# ------------------------------------------------------- gradient checks of bad numbers
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_gradient_checks_refuse_non_finite_numbers(bad):
    from ntm_numpy.gradcheck import check_backward, numerical_gradient, rel_error
    from ntm_numpy.memory import read_backward, read_forward

    x = np.array([1.0, bad, 2.0])
    with pytest.raises(ValueError, match="^x: expected finite values"):
        numerical_gradient(np.sin, x)
    with pytest.raises(ValueError, match="^a: expected finite values"):
        rel_error(x, np.ones(3))
    with pytest.raises(ValueError, match="^b: expected finite values"):
        rel_error(np.ones(3), x)
    with pytest.raises(ValueError, match=r"^inputs\[1\]: expected finite values"):
        check_backward(read_forward, read_backward,
                       [np.ones((1, 3, 2)), np.array([[0.2, bad, 0.3]])])
    with pytest.raises(ValueError, match="^f: expected finite outputs"):
        numerical_gradient(lambda v: np.where(v > 1.5, np.inf, v), np.array([1.0, 1.5]))


@pytest.mark.parametrize("name", [["copy"], {"copy": 1}, None, 3])
def test_load_pretrained_names_its_argument_for_anything_but_a_name(name):
    import ntm_numpy

    with pytest.raises(ValueError, match=r"^name: expected one of \['associative_recall'"):
        ntm_numpy.load_pretrained(name)
