"""Restructuring the package changes no result.

A few updates of several training configurations (both time-step implementations, both
optimisers, the feed-forward controller with a learned memory, the LSTM baseline and
two worker processes) must give bit for bit the parameters they gave before the
package was reorganised. The digests below were computed with the code as it was
before the move (commit 87c1a12) on the NumPy and OpenBLAS recorded in ``MADE_WITH``,
but for the four cases that run the fused step: the fused step sums the memory's row
norms and the write's gradient in another order since (docs/results/speed.md), and
their digests were computed again with that change alone;
a different BLAS build or CPU kernel may round matrix products differently, so the
comparison is only made where those match.
"""
import hashlib

import numpy as np
import pytest

from ntm_numpy.training.loop import train

from support import REFERENCE_MACHINE

#: what the digests were computed with: NumPy's version and its BLAS (threadpoolctl)
MADE_WITH = REFERENCE_MACHINE

CASES = {
    "copy_fused": dict(task="copy", implementation="fused", updates=4, batch_size=4, eval_every=2,
                       memory_rows=16, seed=3),
    "copy_reference_f64": dict(task="copy", implementation="reference", updates=3, batch_size=3,
                               eval_every=3, dtype="float64", memory_rows=12, seed=1),
    "repeat_copy_rmsprop": dict(task="repeat_copy", implementation="fused", updates=3, batch_size=4,
                                eval_every=3, optimizer="rmsprop", seed=2,
                                # the task's default run's settings since, at their values then
                                controller_size=100, clip_norm=1.0,
                                task_settings_after_converged={}),
    "priority_sort_ff": dict(task="priority_sort", implementation="fused", updates=3, batch_size=2,
                             eval_every=3, controller="feedforward", controller_size=32,
                             read_heads=2, write_heads=2, memory_init="learned", seed=0,
                             # the settings the task's default run sets since, at the
                             # values they had then
                             head_init="zero", lr=2e-3),
    "ngrams_lstm": dict(task="ngrams", model="lstm", hidden_size=24, updates=3, batch_size=2,
                        eval_every=3, seed=4),
    "assoc_workers": dict(task="associative_recall", implementation="fused", updates=2, batch_size=4,
                          eval_every=2, workers=2, seed=5),
}

DIGESTS = {
    "copy_fused": "5b17bbb700f9fa4fff1a4c0226ebb1052b569e286f90a3d8f3b73faaa1867682",
    "copy_reference_f64": "5d3884f1e976bf5ce6e814924676274724c683d3944dfbb3fb37b439a1ebaebf",
    "repeat_copy_rmsprop": "6c214fbffafaee79b89af92bd478828bd9b40d2bbfd851440f7f2ac79df9860b",
    "priority_sort_ff": "b46848e9a035251e5592b8c29a2d9c9aaf3f9423cbeaf76ea32131e66649b5e6",
    "ngrams_lstm": "91ee16680c558c0a50b4fdc8651a67a52ecfa05bb907877e2e0d6b819c75ecbb",
    "assoc_workers": "d8a8d033e3d008eb8ab1674fadbc44ad1c1f3d72d6f05e2661a5855508a44d53",
}


def params_digest(params):
    """SHA-256 of the parameters, name by name in sorted order."""
    h = hashlib.sha256()
    for name in sorted(params):
        h.update(name.encode())
        h.update(np.ascontiguousarray(params[name]).tobytes())
    return h.hexdigest()


def _blas():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    info = [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
    return (info[0]["internal_api"], info[0]["version"], info[0].get("architecture")) if info else None


@pytest.mark.parametrize("name", sorted(CASES))
def test_training_gives_the_parameters_it_gave_before(name):
    if np.__version__ != MADE_WITH["numpy"] or _blas() != MADE_WITH["blas"]:
        pytest.skip(f"digests made with {MADE_WITH}; here numpy {np.__version__}, {_blas()}")
    result = train(stream=False, **CASES[name])
    assert params_digest(result.model.params) == DIGESTS[name]


def test_the_digest_sees_one_changed_bit():
    params = {"a": np.zeros(3, np.float32)}
    before = params_digest(params)
    params["a"][1] = np.nextafter(np.float32(0), np.float32(1))
    assert params_digest(params) != before
