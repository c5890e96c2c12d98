"""One run per output folder: an advisory lock that the kernel releases with its process.

A training run (:func:`ntm_numpy.training.train` with ``out_dir``) and a sweep
(:func:`ntm_numpy.training.sweep.run_sweep`) hold :func:`folder_lock` on the folder they
write into for as long as they write. A second writer gets :class:`FolderInUse`, whose
message names the folder and the process that holds it, before it has written anything.
The lock is ``fcntl.flock`` on the file :data:`LOCK_NAME` in the folder, which holds the
holder's process id; the kernel releases it when that process ends, however it ends
(even by SIGKILL), so a lock is never left stale. The file itself stays, empty of
meaning once unlocked. Readers (``ntm-numpy evaluate``, ``plot``) take no lock: saves are
atomic, so they read the last complete checkpoint.

Where ``fcntl`` does not exist (Windows), no lock is taken.
"""
import contextlib
import os

try:
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX
    fcntl = None

#: The lock file a writer holds in its output folder.
LOCK_NAME = ".ntm-numpy.lock"


class FolderInUse(ValueError):
    """Another process holds the lock of the output folder."""


def _holder(fd):
    """The process id written into the lock file, or "unknown"."""
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 64).decode("ascii", "replace").strip()
    except OSError:
        text = ""
    return text if text.isdigit() else "unknown"


@contextlib.contextmanager
def folder_lock(folder, *, name="out_dir"):
    """Hold the lock of ``folder`` (an existing directory) inside the ``with`` block.

    Parameters
    ----------
    folder : str or path-like, the output folder
    name : the argument or flag the folder was given by, for the message

    Raises
    ------
    FolderInUse
        (a ValueError) another process holds it; the message names the folder and the
        holder's process id.
    """
    if fcntl is None:  # pragma: no cover
        yield
        return
    folder = os.fspath(folder)
    path = os.path.join(folder, LOCK_NAME)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FolderInUse(
                f"{name}: {folder!r} is in use by another run (process {_holder(fd)} is "
                "writing into it); wait for it to finish or choose another folder") from None
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        yield
    finally:
        os.close(fd)  # closing the file releases the lock
