"""The task's default run: the settings ``ntm-numpy train TASK`` adds for a task and a
model (``TASK_DEFAULTS[task]["settings"]``), given settings first, records read as
written."""
import os
import re

import pytest

from ntm_numpy.cli import main, train_config_from_command
from ntm_numpy.tasks import TASKS
from ntm_numpy.training.config import (
    TASK_DEFAULTS,
    ModelConfig,
    TrainConfig,
    default_run_settings,
    setting_fields,
)
from ntm_numpy.training.options import render_train_command

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: Settings that differ from every field's own default, for a task under test.
PLANTED = {"controller_size": 37, "read_heads": 2, "batch_size": 8}


@pytest.fixture
def planted(monkeypatch):
    """priority_sort's NTM run with PLANTED as its defaults, its LSTM run with 40 units."""
    monkeypatch.setitem(TASK_DEFAULTS["priority_sort"], "settings",
                        {"ntm": dict(PLANTED), "lstm": {"hidden_size": 40}})


@pytest.mark.parametrize("task", TASKS)
def test_every_task_has_a_default_run_for_each_model(task):
    names = {f.name for _, f in setting_fields()}
    for model in ("ntm", "lstm"):
        settings = default_run_settings(task, model)
        assert set(settings) <= names, task
        config = TrainConfig(task=task, model=model)
        for name, value in settings.items():
            assert getattr(config, name) == value, (task, model, name)


def test_default_run_settings_refuse_unknown_task_or_model():
    with pytest.raises(ValueError, match="task: expected one of"):
        default_run_settings("sort")
    with pytest.raises(ValueError, match="model: expected one of"):
        default_run_settings("copy", "gru")


def test_the_task_default_run_fills_what_is_not_given(planted):
    config = TrainConfig(task="priority_sort")
    assert (config.controller_size, config.read_heads, config.batch_size) == (37, 2, 8)
    mixed = TrainConfig(task="priority_sort", controller_size=100)
    assert (mixed.controller_size, mixed.read_heads) == (100, 2)  # given first
    lstm = TrainConfig(task="priority_sort", model="lstm")
    assert (lstm.hidden_size, lstm.controller_size, lstm.batch_size) == (40, 100, 16)
    # a whole section given is taken as it is; the other sections still get the task's
    whole = TrainConfig(task="priority_sort", model_section=ModelConfig())
    assert (whole.controller_size, whole.batch_size) == (100, 8)
    assert TrainConfig(task="copy").controller_size == 100  # other tasks untouched


def test_a_record_is_read_as_written(planted):
    """from_flat (a checkpoint's settings) does not take the task's default run for a
    setting the record leaves out: the field's own default, as when it was written."""
    flat = TrainConfig(task="copy", task_settings_after_converged={}).to_flat()
    flat["task"] = "priority_sort"
    del flat["read_heads"]
    config = TrainConfig.from_flat(flat)
    assert (config.controller_size, config.read_heads, config.batch_size) == (100, 1, 16)


def test_the_command_line_takes_the_task_default_run(planted):
    config = train_config_from_command("ntm-numpy train priority_sort --seed 4")
    assert config == TrainConfig(task="priority_sort", seed=4, implementation="fused")
    assert config.controller_size == 37
    other = train_config_from_command("ntm-numpy train priority_sort --controller-size 100")
    assert (other.controller_size, other.read_heads) == (100, 2)


def test_a_rendered_command_says_what_differs_from_the_task_default_run(planted):
    default = render_train_command({"task": "priority_sort", **PLANTED, "seed": 0})
    assert default == "ntm-numpy train priority_sort --seed 0"
    other = render_train_command({"task": "priority_sort", **PLANTED, "controller_size": 100,
                                  "seed": 0})
    assert other == "ntm-numpy train priority_sort --controller-size 100 --seed 0"
    assert train_config_from_command(other).controller_size == 100


def test_a_sweep_takes_the_task_default_run(planted, tmp_path, monkeypatch):
    import ntm_numpy.training.sweep as sweep

    seen = []
    monkeypatch.setattr(sweep, "run_sweep", lambda config, *a, **k: seen.append(config) or [])
    monkeypatch.setattr("ntm_numpy.cli._print_sweep", lambda *a, **k: None, raising=False)
    main(["sweep", "priority_sort", "--seeds", "0", "--updates", "1",
          "--out", str(tmp_path / "s")])
    assert seen and seen[0].controller_size == 37 and seen[0].updates == 1


def test_the_docs_table_of_updates_per_task_is_the_default_runs():
    """docs/training.md's table of per-task defaults gives each default run's updates, the
    NTM's then the LSTM's."""
    with open(os.path.join(REPO, "docs", "training.md")) as f:
        text = f.read()
    for task in TASK_DEFAULTS:
        row = re.search(rf"^\| `{task}` \| (\d+); (\d+) \|", text, re.M)
        assert row, task
        assert (int(row[1]), int(row[2])) == (TrainConfig(task=task).updates,
                                              TrainConfig(task=task, model="lstm").updates)
