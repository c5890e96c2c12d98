"""The curriculum before the task (``task_stages``): stages of task settings for the
training batches, passed on their own bit errors; the validation set keeps the task's
settings; resumable bit for bit; given on the command line and rendered back."""
import numpy as np
import pytest

import ntm_numpy.training.loop as loop
from ntm_numpy.cli import train_config_from_command
from ntm_numpy.training import TrainConfig, train
from ntm_numpy.training.config import CURRICULUM_BIT_ERRORS, CURRICULUM_TARGET_SHARE
from ntm_numpy.training.options import render_train_command

from support import TINY

STAGES = [{"max_length": 1}, {"max_length": 2}]


def _lengths_drawn(monkeypatch, **settings):
    settings = {**TINY, **settings}
    """Train TINY with ``settings``; return (per update, the max_length of the task its
    batch came from; the run's history)."""
    drawn = []
    original = loop._update

    def spy(run, train_task, stage_tasks, gradients_of):
        before = run.rng.bit_generator.state
        original(run, train_task, stage_tasks, gradients_of)
        after = run.rng.bit_generator.state
        run.rng.bit_generator.state = before  # which task drew: redo the choice
        from_stage = (len(run.history["stage_end"]) < len(stage_tasks)
                      and run.rng.random() >= CURRICULUM_TARGET_SHARE)
        run.rng.bit_generator.state = after
        drawn.append(("stage", run.stage) if from_stage else ("task",))

    monkeypatch.setattr(loop, "_update", spy)
    res = train(TrainConfig(**settings), stream=False)
    return drawn, res.history


def test_stages_pass_on_their_bit_errors(monkeypatch):
    # every batch errs (an untrained model): with the threshold at 1 no stage is passed;
    # with a threshold no batch can miss, each validation passes one
    drawn, history = _lengths_drawn(monkeypatch, task_stages=STAGES, updates=9)
    assert history["stage_end"] == []
    monkeypatch.setattr(loop, "CURRICULUM_BIT_ERRORS", 1e9)
    drawn, history = _lengths_drawn(monkeypatch, task_stages=STAGES, updates=9)
    assert history["stage_end"] == [3, 6]  # eval_every = 3
    assert {d for d in drawn[6:]} == {("task",)}
    assert CURRICULUM_BIT_ERRORS == 1.0


def test_a_share_of_the_batches_comes_from_the_task(monkeypatch):
    drawn, _ = _lengths_drawn(monkeypatch, task_stages=STAGES, updates=400, eval_every=1000)
    share = sum(d == ("task",) for d in drawn) / len(drawn)
    assert abs(share - CURRICULUM_TARGET_SHARE) < 0.06, share
    assert {d for d in drawn if d != ("task",)} == {("stage", 0)}


def test_the_stage_tasks_are_the_stage_settings_on_top_of_the_task_settings():
    config = TrainConfig(task="repeat_copy", task_settings={"max_length": 4},
                         task_stages=[{"max_repeats": 1}])
    task = config.make_task(stage=0)
    assert (task.params["max_length"], task.params["max_repeats"]) == (4, 1)
    assert config.make_task().params["max_repeats"] == 10
    # the count keeps the task's scale: 1 repeat is the input 1/10 in the stage too
    assert task.params["repeat_scale"] == config.make_task().params["repeat_scale"] == 10
    x, _, _ = task.batch(np.random.default_rng(0), 2)
    assert np.allclose(x[:, :, -1].max(), 0.1)


def test_the_validation_set_keeps_the_task_settings(monkeypatch):
    seen = []
    original = loop._validation_set
    monkeypatch.setattr(loop, "_validation_set",
                        lambda config, task, dtype: seen.append(task.params) or
                        original(config, task, dtype))
    train(TrainConfig(**TINY, task_stages=STAGES, updates=3), stream=False)
    assert seen and seen[0]["max_length"] == 20


def test_a_resumed_curriculum_continues_bit_for_bit(tmp_path, monkeypatch):
    monkeypatch.setattr(loop, "CURRICULUM_BIT_ERRORS", 1e9)
    settings = dict(**TINY, task_stages=STAGES, checkpoint_every=4)
    config = TrainConfig(**settings, updates=10)
    whole = train(config, out_dir=tmp_path / "a", stream=False)

    def stop_at_4(step, history):
        if step == 4:  # mid-stage: the second stage's window holds one update
            raise KeyboardInterrupt

    cut = train(config, out_dir=tmp_path / "b", stream=False, log_every=1, callback=stop_at_4)
    assert cut.interrupted and cut.step == 4 and cut.history["stage_end"] == [3]
    rest = train(resume=tmp_path / "b" / "checkpoint.npz", stream=False)
    assert rest.history["stage_end"] == whole.history["stage_end"] == [3, 6]
    for name, value in whole.model.params.items():
        np.testing.assert_array_equal(rest.model.params[name], value, err_msg=name)


@pytest.mark.parametrize("stages, message", [
    ([{"max_length": 0}], "task_stages: stage 0: max_length"),
    ([{"bogus": 1}], "task_stages: stage 0:"),
    ({"max_length": 1}, "task_stages: expected a list of dicts"),
    (["max_length=1"], "task_stages: expected a list of dicts"),
])
def test_bad_stages_are_refused(stages, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(task="copy", task_stages=stages)


def test_the_command_line_takes_and_renders_stages():
    command = ("ntm-numpy train repeat_copy --task-stage max_repeats=1,max_length=1 "
               "--task-stage max_repeats=2 --seed 0")
    config = train_config_from_command(command)
    assert config.task_stages == [{"max_repeats": 1, "max_length": 1}, {"max_repeats": 2}]
    flat = config.to_flat()
    del flat["lr_start_step"]  # set by training; no option
    rendered = render_train_command(flat)
    assert "--task-stage max_repeats=1,max_length=1 --task-stage max_repeats=2" in rendered
    assert train_config_from_command(rendered) == config
