"""Helpers shared by the tests: hypothesis strategies, a gradient check with a
floor for flat gradients, the record of the worst relative errors reached, and a wait
for the progress lines of a training process.

Run with ``NTM_REPORT_RELERR=1 python -m pytest -s`` to print, per test module, the
largest relative error each gradient check reached.
"""
import io
import json
import time

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ntm_numpy.gradcheck import check_backward

#: ``rel_error`` floor of the gradient checks. rel_error divides by the gradient's largest
#: entry; where the whole gradient is tiny or exactly zero (M = 1, N = 1, saturated
#: units), the central difference's round-off (1e-16 * |f| / h, about 1e-11..1e-9) would
#: read as a large error with the default 1e-8 floor. With 1e-2 the check is the plain
#: relative error on generic inputs (gradients of size 0.1-10) and an absolute 1e-8 bound
#: on flat ones.
FLAT_FLOOR = 1e-2

#: Jupyter kernel of the notebook tests, installed by conftest.py for the interpreter
#: running pytest.
TEST_KERNEL = "ntm-numpy-tests"

#: A tiny NTM training run: every call of train() with these settings takes well under
#: a second.
TINY = dict(task="copy", batch_size=2, controller_size=8, memory_rows=8, memory_width=4,
            eval_every=3, val_batches=1, val_batch_size=2)

#: module name -> {check name -> worst relative error}
WORST = {}


def recorder(module):
    """A function ``record(name, errors)`` that keeps the worst error per check of ``module``."""
    worst = WORST.setdefault(module, {})

    def record(name, errors):
        worst[name] = max(worst.get(name, 0.0), max(errors))

    return record


def floats(lo, hi):
    """Bounded finite floats, no subnormals."""
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False)


def arrays(shape, lo=-3.0, hi=3.0):
    """float64 arrays of ``shape`` with entries in [lo, hi]."""
    return hnp.arrays(np.float64, shape, elements=floats(lo, hi))


def gradcheck(forward, backward, inputs, rng, floor=FLAT_FLOOR):
    """:func:`ntm_numpy.gradcheck.check_backward` with a random upstream gradient drawn
    from ``rng`` and the :data:`FLAT_FLOOR`; every input must get a gradient."""
    errors = check_backward(forward, backward, inputs, rng=rng, floor=floor)
    assert not any(np.isnan(e) for e in errors), "backward returned None for an input"
    return errors


def counting_ops():
    """``(ops, calls)``: every primitive of the reference step wrapped to count its calls
    in the dict ``calls`` (name -> count) before calling the package's own."""
    from ntm_numpy.reference_step import DEFAULT_OPS

    calls = {}

    def counting(name):
        def fn(*args):
            calls[name] = calls.get(name, 0) + 1
            return DEFAULT_OPS[name](*args)
        return fn

    return {name: counting(name) for name in DEFAULT_OPS}, calls


def rewrite_checkpoint(path, header_fn=None, arrays_fn=None):
    """Re-pack the checkpoint ``path`` (compressed, so the zip CRCs stay valid) with
    changes: ``header_fn(header, arrays)`` edits the parsed JSON header (and may edit the
    members), then ``arrays_fn(arrays)`` edits the dict of members."""
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    if header_fn:
        header = json.loads(str(arrays["__header__"][()]))
        header_fn(header, arrays)
        arrays["__header__"] = np.array(json.dumps(header))
    if arrays_fn:
        arrays_fn(arrays)
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    path.write_bytes(buf.getvalue())


def wait_for_steps(proc, count=3, timeout=60):
    """Read a training process's stderr until ``count`` progress lines have come (or
    ``timeout`` seconds have passed); returns how many came."""
    deadline = time.time() + timeout
    seen = 0
    while seen < count and time.time() < deadline:
        if proc.stderr.readline().startswith("update"):
            seen += 1
    return seen


#: The machine the figures that tests hold training runs to were measured on: NumPy's
#: version and its BLAS (threadpoolctl: internal API, version, architecture). Training
#: trajectories depend on the BLAS's rounding, so such figures hold only there.
REFERENCE_MACHINE = {"numpy": "2.4.6", "blas": ("openblas", "0.3.31.188.0", "Haswell")}


def this_machine():
    """NumPy's version and the BLAS of this process, as :data:`REFERENCE_MACHINE` gives them."""
    from threadpoolctl import threadpool_info

    info = [i for i in threadpool_info() if i["user_api"] == "blas"]
    blas = (info[0]["internal_api"], info[0]["version"], info[0].get("architecture")) if info else None
    return {"numpy": np.__version__, "blas": blas}


def on_reference_machine():
    """Whether training runs here round as on :data:`REFERENCE_MACHINE`."""
    return this_machine() == REFERENCE_MACHINE
