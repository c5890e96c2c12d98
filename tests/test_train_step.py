"""One update (ntm_numpy.training.step.train_step) and the one loop over time
(ntm_numpy.recurrence) that every model runs."""
import numpy as np
import pytest

from ntm_numpy.baseline import LSTMBaseline
from ntm_numpy.constants import CLIP_VALUE
from ntm_numpy.losses import sigmoid_cross_entropy_backward, sigmoid_cross_entropy_forward
from ntm_numpy.model import NTM
from ntm_numpy.optim import clip_elementwise, clip_global_norm, make_optimizer
from ntm_numpy.recurrence import forward_loop
from ntm_numpy.tasks import bit_errors_per_sequence, get_task
from ntm_numpy.training import train_step
from ntm_numpy.training.step import NotFinite

SIZES = dict(controller_size=6, memory_rows=7, memory_width=4, read_heads=2, write_heads=1)


def _batch(seed=0, B=3):
    return get_task("copy", max_length=4).batch(np.random.default_rng(seed), B)


@pytest.mark.parametrize("clip_norm", [None, 0.5])
@pytest.mark.parametrize("kind", ["ntm", "lstm"])
def test_train_step_is_forward_loss_backward_clip_update(kind, clip_norm):
    make = ((lambda: NTM(9, 8, seed=1, **SIZES)) if kind == "ntm"
            else (lambda: LSTMBaseline(9, 8, hidden_size=5, seed=1)))
    model, by_hand = make(), make()
    opt, opt_by_hand = make_optimizer("adam", lr=0.01), make_optimizer("adam", lr=0.01)
    x, y, mask = _batch()
    # the update written out, step by step
    logits, cache = by_hand.forward(x)
    loss, lcache = sigmoid_cross_entropy_forward(logits, y, mask)
    grads = by_hand.backward(sigmoid_cross_entropy_backward(1.0, lcache)[0], cache)
    grads = clip_elementwise(grads, CLIP_VALUE)
    if clip_norm is not None:
        grads, _ = clip_global_norm(grads, clip_norm)
    opt_by_hand.step(by_hand.params, grads)
    result = train_step(model, opt, (x, y, mask), clip_norm=clip_norm)
    assert result.loss == pytest.approx(float(loss), rel=1e-12)
    assert result.bit_errors == pytest.approx(
        float(bit_errors_per_sequence(logits, y, mask).mean()))
    np.testing.assert_array_equal(result.logits, logits)
    for name in model.params:
        np.testing.assert_array_equal(model.params[name], by_hand.params[name], err_msg=name)


def test_train_step_trains_through_the_backward_it_is_given():
    model = NTM(9, 8, seed=2, **SIZES)
    before = {k: v.copy() for k, v in model.params.items()}
    calls = []

    def only_output_bias(dlogits, cache):
        calls.append(dlogits.shape)
        grads = {k: np.zeros_like(v) for k, v in model.params.items()}
        grads["output_b"] = np.ones_like(grads["output_b"])
        return grads

    train_step(model, make_optimizer("adam", lr=0.1), _batch(), backward=only_output_bias)
    assert len(calls) == 1
    changed = {k for k in model.params if not np.array_equal(model.params[k], before[k])}
    assert changed == {"output_b"}


def test_a_non_finite_output_stops_the_update_before_the_parameters_change():
    model = NTM(9, 8, seed=3, **SIZES)
    model.params["output_b"][0] = np.inf
    before = {k: v.copy() for k, v in model.params.items()}
    with np.errstate(all="ignore"), pytest.raises(NotFinite, match="outputs are not finite"):
        train_step(model, make_optimizer("adam"), _batch())
    for name, value in before.items():
        np.testing.assert_array_equal(model.params[name], value)


def test_gradients_and_backward_together_are_refused():
    model = NTM(9, 8, seed=0, **SIZES)
    with pytest.raises(ValueError, match="^backward"):
        train_step(model, make_optimizer("adam"), _batch(), backward=model.backward,
                   gradients=lambda x, y, mask: None)


def test_the_loop_refuses_an_unknown_keep():
    model = LSTMBaseline(3, 2, hidden_size=4)
    with pytest.raises(ValueError, match="^keep: expected one of"):
        forward_loop(None, np.zeros((2, 1, 3)), keep="everything")
    assert model.predict(np.zeros((2, 1, 3))).shape == (2, 1, 2)


@pytest.mark.parametrize("model", [NTM(3, 2, **SIZES), LSTMBaseline(3, 2, hidden_size=4)],
                         ids=["ntm", "lstm"])
def test_backward_without_a_forward_cache_says_so(model):
    with pytest.raises(ValueError, match="^cache: expected the"):
        model.backward(np.zeros((2, 1, 2)), None)


def test_the_loop_calls_the_packages_primitives_without_their_checks_but_students_as_given():
    from ntm_numpy.reference_step import CHECKED_OPS, DEFAULT_OPS, Ops

    assert {"read_forward", "write_forward", "content_weighting_forward",
            "interpolation_forward", "shift_forward", "sharpen_forward",
            "lstm_gates_forward"} <= CHECKED_OPS

    def mine(memory, w):
        return DEFAULT_OPS["read_forward"](memory, w)

    calls = Ops({"read_forward": mine}).for_the_loop()
    assert calls["read_forward"] is mine  # a replacement is called exactly as given
    unchecked = calls["write_forward"]
    assert unchecked.func is DEFAULT_OPS["write_forward"] and unchecked.keywords == {
        "check": False}
    # called directly, a primitive still checks its inputs
    with pytest.raises(ValueError, match="^w: expected"):
        DEFAULT_OPS["read_forward"](np.zeros((2, 3, 4)), np.zeros((2, 5)))
