"""Inference without backward caches: ``predict``, ``forward(keep_cache=False)``, ``trace``,
and memory that does not grow with the sequence length (issue: never run out of memory)."""
import tracemalloc

import numpy as np
import pytest

from ntm_numpy.baseline import LSTMBaseline
from ntm_numpy.model import NTM
from ntm_numpy.tasks import get_task
from ntm_numpy.training.evaluation import evaluate

TRACE_FIELDS = ("memory", "content", "gated", "shifted", "weights", "key", "beta", "g",
                "gamma", "shift", "erase", "add", "reads")


def small_ntm(controller="lstm", R=1, W=1, dtype=np.float64, memory_init="constant",
              step="reference"):
    return NTM(5, 4, controller_size=7, memory_rows=9, memory_width=3, read_heads=R,
               write_heads=W, shift_range=1, controller=controller, memory_init=memory_init,
               seed=3, dtype=dtype, implementation=step)


@pytest.mark.parametrize("step", ["reference", "fused"])
@pytest.mark.parametrize("controller", ["lstm", "feedforward"])
@pytest.mark.parametrize("R, W", [(1, 1), (2, 1), (1, 2)])
@pytest.mark.parametrize("B", [1, 4])
def test_predict_equals_forward_exactly(controller, R, W, B, step):
    model = small_ntm(controller, R, W, step=step)
    x = np.random.default_rng(B).standard_normal((13, B, 5))
    logits, _ = model.forward(x)
    predicted = model.predict(x)
    assert predicted.dtype == np.float64 and predicted.shape == (13, B, 4)
    np.testing.assert_array_equal(predicted, logits)
    again, cache = model.forward(x, keep_cache=False)
    assert cache is None
    np.testing.assert_array_equal(again, logits)


@pytest.mark.parametrize("memory_init", ["random", "learned"])
def test_predict_equals_forward_with_other_initial_memories(memory_init):
    model = small_ntm(memory_init=memory_init)
    x = np.random.default_rng(0).standard_normal((6, 3, 5))
    np.testing.assert_array_equal(model.predict(x), model.forward(x)[0])


@pytest.mark.parametrize("step", ["reference", "fused"])
def test_trace_equals_the_trace_of_the_caches(step):
    model = small_ntm(R=2, W=1, step=step)
    x = np.random.default_rng(1).standard_normal((7, 2, 5))
    logits, cache = model.forward(x)
    ref = cache.trace()
    got_logits, trace = model.trace(x, return_logits=True)
    np.testing.assert_array_equal(got_logits, logits)
    assert trace.read_heads == ref.read_heads == 2
    for name in TRACE_FIELDS:
        np.testing.assert_array_equal(getattr(trace, name), getattr(ref, name), err_msg=name)
    assert model.trace(x).memory.shape == (8, 2, 9, 3)


def test_lstm_baseline_predict_equals_forward():
    model = LSTMBaseline(5, 4, hidden_size=6, dtype=np.float64)
    x = np.random.default_rng(2).standard_normal((9, 3, 5))
    np.testing.assert_array_equal(model.predict(x), model.forward(x)[0])
    logits, cache = model.forward(x, keep_cache=False)
    assert cache is None
    np.testing.assert_array_equal(logits, model.forward(x)[0])


def test_predict_checks_its_input():
    model = small_ntm()
    with pytest.raises(ValueError, match="x"):
        model.predict(np.zeros((3, 2, 4)))
    with pytest.raises(ValueError, match="x"):
        LSTMBaseline(5, 4, hidden_size=6).predict(np.zeros((3, 2)))


def _peak_bytes(fn):
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        fn()
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("step", ["reference", "fused"])
def test_predict_memory_does_not_grow_with_length(step):
    """Peak memory at T = 400 exceeds T = 25 by no more than the inputs and logits."""
    model = NTM(9, 8, controller_size=32, memory_rows=64, memory_width=16, dtype=np.float32,
                implementation=step)
    B = 8
    peaks = {}
    for T in (25, 400):
        x = np.random.default_rng(0).random((T, B, 9)).astype(np.float32)
        peaks[T] = _peak_bytes(lambda x=x: model.predict(x))
    io_bytes = (400 - 25) * B * (9 + 8) * 4  # the longer run's extra inputs and logits
    assert peaks[400] - peaks[25] <= 2 * io_bytes + 64 * 1024, peaks


def test_evaluate_memory_does_not_grow_with_length():
    model = NTM(9, 8, controller_size=32, memory_rows=64, memory_width=16, dtype=np.float32)
    task = get_task("copy")
    peaks = {}
    for length in (10, 120):
        peaks[length] = _peak_bytes(
            lambda length=length: evaluate(model, task, [length], sequences=8, batch_size=8,
                                           seed=0))
    # a copy sequence is 2 * length + 2 steps; inputs, targets, mask and logits per step
    io_bytes = 2 * (120 - 10) * 8 * (9 + 8 + 8 + 1) * 4
    assert peaks[120] - peaks[10] <= 2 * io_bytes + 64 * 1024, peaks
