"""Keep the BLAS library to one thread while training.

The NTM multiplies small matrices (a batch of 1-64 rows against a 100 x 400 weight,
one step at a time). A multi-threaded BLAS gains nothing on such products, and when
another process competes for the cores its threads wait on each other: on a 2-core
machine with one core busy, a batch-16 step was measured 7 times slower with two BLAS
threads than with one. :func:`single_blas_thread` sets the thread count of the OpenBLAS
that NumPy loaded to 1 for the duration of a ``with`` block (the way ``threadpoolctl``
does it, without the dependency), and restores it afterwards. Where no OpenBLAS is
found (NumPy built against another BLAS), it does nothing.
"""
import contextlib
import ctypes

_SETTERS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
            "openblas_set_num_threads64_", "openblas_set_num_threads")
_GETTERS = tuple(name.replace("set_", "get_") for name in _SETTERS)


def _openblas():
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "openblas" in line.lower()}
    except OSError:
        return None
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for setter, getter in zip(_SETTERS, _GETTERS):
            if hasattr(lib, setter) and hasattr(lib, getter):
                return getattr(lib, setter), getattr(lib, getter)
    return None


@contextlib.contextmanager
def single_blas_thread():
    """Context manager: OpenBLAS uses one thread inside the block (no-op without OpenBLAS)."""
    import numpy  # noqa: F401  (make sure the BLAS library is loaded)

    funcs = _openblas()
    if funcs is None:
        yield
        return
    setter, getter = funcs
    before = getter()
    setter(1)
    try:
        yield
    finally:
        setter(before)
