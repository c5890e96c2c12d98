"""Keep the BLAS library to one thread while training.

The NTM multiplies small matrices (a batch of 1-64 rows against a 100 x 400 weight,
one step at a time). A multi-threaded BLAS gains nothing on such products, and when
another process competes for the cores its threads wait on each other: on a 2-core
machine with one core busy, a batch-16 step was measured 7 times slower with two BLAS
threads than with one. :func:`single_blas_thread` limits every BLAS library NumPy loaded
to one thread for the duration of a ``with`` block and restores the counts afterwards,
through threadpoolctl (the scikit-learn team's library for exactly this).
"""
import contextlib

from threadpoolctl import threadpool_limits


@contextlib.contextmanager
def single_blas_thread():
    """Context manager: the BLAS libraries use one thread inside the block.

    Nested blocks are allowed; each restores the counts it found. Where NumPy's BLAS is
    one threadpoolctl does not know, the block changes nothing.
    """
    import numpy  # noqa: F401  (make sure the BLAS library is loaded)

    with threadpool_limits(limits=1, user_api="blas"):
        yield
