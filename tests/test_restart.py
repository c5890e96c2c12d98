"""A run that is stuck starts again (``restart_after``): new initial parameters, a new
optimiser state and learning-rate schedule, the same data stream and count of updates."""
import json
import signal

import numpy as np
import pytest

import ntm_numpy
from ntm_numpy.training.config import (
    LR_FINAL_FRACTION,
    RESTART_SEED_STRIDE,
    TrainConfig,
    learning_rate,
)
from ntm_numpy.training.evaluation import convergence, last_start
from ntm_numpy.training.loop import train

from support import TINY

#: restart at update 6 whatever the validation says (every run is above 0 wrong bits)
ALWAYS = dict(restart_after=6, restart_above=0.0)


def _assert_same_params(a, b):
    assert set(a) == set(b)
    for name, value in a.items():
        np.testing.assert_array_equal(value, b[name], err_msg=name)


def test_a_run_below_the_threshold_is_the_run_without_restarts():
    plain = train(updates=12, stream=False, **TINY)
    kept = train(updates=12, stream=False, restart_after=6, restart_above=1e9, **TINY)
    assert kept.history["restart_step"] == []
    _assert_same_params(kept.model.params, plain.model.params)


def test_a_restart_starts_from_the_restart_seeds_parameters_and_a_new_optimiser(tmp_path):
    # the checkpoint of update 6 is written just after the restart at update 6
    run = train(updates=6 + 3, out_dir=tmp_path, stream=False, checkpoint_every=6,
                log_every=1, callback=_stop_at(6), **TINY, **ALWAYS)
    assert run.interrupted and run.history["restart_step"] == [6]
    model, ckpt = ntm_numpy.load(tmp_path / "checkpoint.npz", return_checkpoint=True)
    fresh = TrainConfig(**TINY, seed=RESTART_SEED_STRIDE).make_model()
    _assert_same_params(model.params, fresh.params)
    # Adam has taken no step since the restart, and holds no moments
    assert [(k, int(v)) for k, v in ckpt.state.items() if k.endswith(".step")] == [("adam.step", 0)]
    assert all(not np.any(v) for k, v in ckpt.state.items() if not k.endswith(".step"))
    config = TrainConfig.from_flat(ckpt.meta["train_config"])
    assert config.seed == 0 and config.lr_start_step == 6
    # the schedule starts again from the full rate, over the updates left
    assert learning_rate(config, 6, False) == pytest.approx(config.lr)
    assert learning_rate(config, 8, False) == pytest.approx(config.lr * LR_FINAL_FRACTION)


def test_the_data_stream_goes_on_across_a_restart():
    # the same batches as the run without a restart: the loss of update 7, the first
    # after the restart, is that of the restart seed's parameters on the 7th batch
    seen = []
    run = train(updates=7, stream=False, log_every=1, **TINY, **ALWAYS,
                callback=lambda step, history: seen.append(history["loss"][-1]))
    plain_rng = np.random.default_rng([0, 1])
    task = TrainConfig(**TINY).make_task()
    for _ in range(6):
        task.batch(plain_rng, TINY["batch_size"])
    x, y, mask = task.batch(plain_rng, TINY["batch_size"])
    from ntm_numpy.losses import sigmoid_cross_entropy_forward

    model = TrainConfig(**TINY, seed=RESTART_SEED_STRIDE).make_model()
    loss, _ = sigmoid_cross_entropy_forward(model.forward(x.astype(model.dtype))[0], y, mask)
    assert run.history["restart_step"] == [6]
    assert seen[-1] == pytest.approx(float(loss), rel=1e-5)


def _stop_at(step_to_stop):
    def stop(step, history):
        if step == step_to_stop:
            raise KeyboardInterrupt
    return stop


def test_a_run_stopped_after_its_restart_resumes_bit_for_bit(tmp_path):
    whole = train(updates=15, stream=False, **TINY, **ALWAYS)
    cut = train(updates=15, out_dir=tmp_path, stream=False, log_every=1,
                callback=_stop_at(9), **TINY, **ALWAYS)
    assert cut.interrupted and cut.stop_signal == signal.SIGINT
    rest = train(resume=tmp_path / "checkpoint.npz", stream=False)
    assert rest.history["restart_step"] == whole.history["restart_step"] == [6]
    _assert_same_params(rest.model.params, whole.model.params)


def test_restarts_bounds_the_number_and_each_start_is_checked_once():
    two = train(updates=21, stream=False, restarts=2, **TINY, **ALWAYS)
    assert two.history["restart_step"] == [6, 12]  # not at 18: two is the most
    one = train(updates=21, stream=False, **TINY, **ALWAYS)
    assert one.history["restart_step"] == [6]
    # not at the run's last update: a restart with no update left would be lost
    none = train(updates=6, stream=False, **TINY, **ALWAYS)
    assert none.history["restart_step"] == []


def test_a_run_that_reached_the_threshold_once_is_not_stuck():
    # a seed whose validation at update 3 is better than at update 6, the check
    for seed in range(20):
        vals = train(updates=9, stream=False, seed=seed, **TINY).history["val_bit_errors"][:2]
        if vals[0] < vals[1]:
            break
    else:
        pytest.fail("no seed of 20 has a validation that gets worse")
    between = (vals[0] + vals[1]) / 2
    run = train(updates=9, stream=False, seed=seed, restart_after=6, restart_above=between,
                **TINY)
    assert run.history["val_bit_errors"][:2] == vals and run.history["restart_step"] == []
    below_both = train(updates=9, stream=False, seed=seed, restart_after=6,
                       restart_above=vals[0] / 2, **TINY)
    assert below_both.history["restart_step"] == [6]


def test_the_cost_can_be_the_measure():
    high = train(updates=9, stream=False, restart_after=6, restart_measure="cost",
                 restart_above=1e9, **TINY)
    low = train(updates=9, stream=False, restart_after=6, restart_measure="cost",
                restart_above=0.0, **TINY)
    assert high.history["restart_step"] == [] and low.history["restart_step"] == [6]


def test_convergence_and_settling_count_from_the_last_start():
    history = dict(val_step=[3, 6, 9, 12], val_sequences=[6, 12, 18, 24],
                   val_time=[1.0, 2.0, 3.0, 4.0], val_bit_errors=[0.0, 5.0, 3.0, 0.05],
                   val_cost=[1.0, 9.0, 7.0, 0.5], stage_end=[3, 9], restart_step=[6])
    start = last_start(history)
    assert start["val_step"] == [9, 12] and start["val_bit_errors"] == [3.0, 0.05]
    assert start["stage_end"] == [9]
    assert history["val_step"] == [3, 6, 9, 12]  # the history itself is left alone
    conv, worst = convergence(start)
    assert conv["step"] == 12 and worst == pytest.approx(0.05)
    assert last_start({**history, "restart_step": []}) is not None
    assert convergence({**history, "restart_step": []})[0]["step"] == 3


@pytest.mark.parametrize("settings, message", [
    (dict(restart_after=5), r"^restart_after: expected a multiple of eval_every \(3\)"),
    (dict(restart_after=-3), r"^restart_after: expected an integer >= 0, got -3"),
    (dict(restart_after=3, restarts=-1), r"^restarts: expected an integer >= 0"),
    (dict(restart_after=3, restart_above=float("nan")), r"^restart_above: expected a finite"),
    (dict(restart_after=3, restart_above="1"), r"^restart_above: expected a finite"),
    (dict(restart_after=3, restart_measure="loss"), r"^restart_measure: expected one of"),
])
def test_bad_restart_settings_are_refused_by_name(settings, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**TINY, **settings)


def test_the_command_line_restarts_and_says_so(tmp_path, capsys):
    from ntm_numpy.cli import main

    out = tmp_path / "run"
    code = main(["train", "copy", "--updates", "9", "--batch-size", "2",
                 "--controller-size", "8", "--memory-rows", "8", "--memory-width", "4",
                 "--eval-every", "3", "--val-batches", "1", "--val-batch-size", "2",
                 "--restart-after", "6", "--restart-above", "0", "--no-plots",
                 "--out", str(out)])
    assert code == 0
    err = capsys.readouterr().err
    assert "update 6: the best validation bit errors since the start" in err
    assert "seed 1000000" in err
    assert "restarted at update 6" in err
    assert json.loads((out / "summary.json").read_text())["restart_step"] == [6]


def test_a_restart_starts_the_curriculum_again(monkeypatch):
    import ntm_numpy.training.loop as loop

    monkeypatch.setattr(loop, "CURRICULUM_BIT_ERRORS", 1e9)  # each validation passes a stage
    stages = [{"max_length": 1}, {"max_length": 2}, {"max_length": 3}]
    run = train(updates=15, stream=False, task_stages=stages, **TINY, **ALWAYS)
    # stages end at 3 and 6; the restart at 6 goes back to the first stage, which then
    # ends at 9, 12 and 15 (without the restart the three would be passed by update 9)
    assert run.history["restart_step"] == [6]
    assert run.history["stage_end"] == [3, 6, 9, 12, 15]


def test_restart_seed_refuses_what_is_not_a_restart():
    from ntm_numpy.training.defaults import restart_seed

    assert restart_seed(3, 2) == 3 + 2 * RESTART_SEED_STRIDE
    with pytest.raises(ValueError, match="^k: expected an integer >= 1, got 0"):
        restart_seed(3, 0)
    with pytest.raises(ValueError, match="^seed: expected a non-negative integer"):
        restart_seed(-1, 1)
