"""Tests of ntm_numpy.training: determinism, resume, checkpoints, learning, evaluate, convergence."""
import dataclasses
import math
import os
import warnings

import numpy as np
import pytest

import ntm_numpy
import ntm_numpy.training.evaluation
import ntm_numpy.training.loop
from ntm_numpy.baseline import LSTMBaseline
from ntm_numpy.constants import ADAM_EPS, ADAM_LR, RMSPROP_LR
from ntm_numpy.model import NTM
from ntm_numpy.tasks import TASKS, get_task, ngram_optimal_predictions
from ntm_numpy.training.config import (
    CONVERGED_BIT_ERRORS,
    SECTIONS,
    SETTLE_VALIDATIONS,
    TASK_DEFAULTS,
    ModelConfig,
    OptimizerConfig,
    ScheduleConfig,
    TaskConfig,
    TrainConfig,
    recorded_settings,
    setting_fields,
)
from ntm_numpy.training.evaluation import (
    NGRAM_SCORES,
    SCORES,
    bit_errors_on,
    checkpoint_settled_index,
    convergence,
    evaluate,
    evaluate_scores,
    evaluation_batches,
    scores_on,
    settled_index,
    task_measure,
    task_scores,
)
from ntm_numpy.training.loop import _validation_set, train

from support import TINY, rewrite_checkpoint

HISTORY_KEYS = ("step", "sequences", "time", "loss", "bit_errors", "val_step",
                "val_sequences", "val_time", "val_bit_errors", "val_cost", "stage_end",
                "restart_step")
#: History entries that do not depend on wall-clock time.
TIMELESS_KEYS = tuple(k for k in HISTORY_KEYS if k not in ("time", "val_time"))


def assert_same_params(a, b):
    assert list(a) == list(b)
    for k in a:
        assert a[k].dtype == b[k].dtype, k
        assert np.array_equal(a[k], b[k]), k


def timeless(history):
    return {k: list(history[k]) for k in TIMELESS_KEYS}


# ---------------------------------------------------------------------------- determinism
def test_same_seed_gives_identical_runs():
    r1 = train(updates=6, stream=False, seed=3, **TINY)
    r2 = train(updates=6, stream=False, seed=3, **TINY)
    assert r1.step == r2.step == 6
    assert r1.sequences == r2.sequences == 12
    assert_same_params(r1.model.params, r2.model.params)
    assert timeless(r1.history) == timeless(r2.history)
    assert set(r1.history) == set(HISTORY_KEYS)
    assert r1.history["val_step"] == [3, 6]
    assert not r1.interrupted


def test_different_seed_differs():
    r1 = train(updates=6, stream=False, seed=3, **TINY)
    r2 = train(updates=6, stream=False, seed=4, **TINY)
    assert any(not np.array_equal(r1.model.params[k], r2.model.params[k])
               for k in r1.model.params)
    assert r1.history["loss"] != r2.history["loss"]


def test_config_object_and_overrides_are_equivalent():
    config = TrainConfig(updates=3, **TINY)
    r1 = train(config, stream=False)
    r2 = train(TrainConfig(**TINY), stream=False, updates=3)
    assert r2.config.updates == 3
    assert_same_params(r1.model.params, r2.model.params)


# ---------------------------------------------------------------------------- resume
class _StopAt:
    def __init__(self, step):
        self.step = step
        self.calls = []

    def __call__(self, step, history):
        self.calls.append(step)
        if step == self.step:
            raise KeyboardInterrupt


def test_resume_continues_exactly(tmp_path):
    full_dir, cut_dir = tmp_path / "full", tmp_path / "cut"
    full = train(updates=6, out_dir=full_dir, checkpoint_every=3, log_every=1, stream=False,
                 **TINY)
    assert not full.interrupted and full.step == 6

    stop = _StopAt(3)
    cut = train(updates=6, out_dir=cut_dir, checkpoint_every=3, log_every=1, stream=False,
                callback=stop, **TINY)
    assert cut.interrupted is True
    assert cut.step == 3 and stop.calls == [1, 2, 3]
    path = cut_dir / "checkpoint.npz"
    assert path.exists()
    _, ckpt = ntm_numpy.load(path, return_checkpoint=True)
    assert ckpt.meta["step"] == 3
    assert ckpt.meta["sequences"] == 6

    resumed = train(resume=path, updates=6, out_dir=cut_dir, checkpoint_every=3, log_every=1,
                    stream=False, **TINY)
    assert not resumed.interrupted
    assert resumed.step == 6 and resumed.sequences == 12
    assert_same_params(full.model.params, resumed.model.params)
    # the history continues from the checkpoint's
    assert resumed.history["step"] == [1, 2, 3, 4, 5, 6]
    assert resumed.history["val_step"] == [3, 6]
    assert timeless(resumed.history) == timeless(full.history)
    assert all(b >= a for a, b in zip(resumed.history["time"], resumed.history["time"][1:]))
    # and the final checkpoint is the same as the uninterrupted run's
    m_full = ntm_numpy.load(full_dir / "checkpoint.npz")
    m_cut, ck = ntm_numpy.load(path, return_checkpoint=True)
    assert ck.meta["step"] == 6
    assert_same_params(m_full.params, m_cut.params)


def test_resume_can_raise_steps(tmp_path):
    train(updates=3, out_dir=tmp_path, stream=False, **TINY)
    resumed = train(resume=tmp_path / "checkpoint.npz", updates=5, stream=False, **TINY)
    assert resumed.step == 5 and resumed.config.updates == 5


def _training_lengths(monkeypatch, **settings):
    """Run TINY copy training with every validation counted as converged; return the
    largest sequence length of each training batch."""
    monkeypatch.setattr(ntm_numpy.training.evaluation, "CONVERGED_BIT_ERRORS", math.inf)
    original = ntm_numpy.tasks.Task.batch
    lengths = []

    def spy(self, rng, batch_size, **overrides):
        x, y, mask = original(self, rng, batch_size, **overrides)
        if batch_size == TINY["batch_size"] and not overrides.keys() - {"dtype"}:
            lengths.append(int(mask.sum(0).max()))  # copy: T = 2L + 1, L outputs masked
        return x, y, mask

    monkeypatch.setattr(ntm_numpy.tasks.Task, "batch", spy)
    train(updates=30, stream=False, seed=0, **{**TINY, "val_batch_size": 4, **settings})
    return lengths


def test_task_settings_after_converged_apply_from_the_first_converged_validation(monkeypatch):
    lengths = _training_lengths(monkeypatch, task_settings={"max_length": 3},
                                task_settings_after_converged={"min_length": 6,
                                                               "max_length": 8})
    assert len(lengths) == 30
    # the first validation (after update 3) counts as converged: updates 4 on are longer
    assert all(1 <= n <= 3 for n in lengths[:3])
    assert all(6 <= n <= 8 for n in lengths[3:])


def test_settled_index():
    vals = [0.5, 0.05, 0.2, 0.05, 0.05, 0.01, 0.3]
    assert settled_index(vals, 1) == 1
    assert settled_index(vals, 2) == 4
    assert settled_index(vals, 3) == 5
    assert settled_index(vals, 4) is None
    assert settled_index([], 1) is None
    assert settled_index(vals, 2, threshold=0.3) == 2  # 0.05 and 0.2
    with pytest.raises(ValueError, match="^validations"):
        settled_index(vals, 0)
    with pytest.raises(ValueError, match="^settle_validations"):
        TrainConfig(settle_validations=0)


def test_settle_validations_delays_the_switch(monkeypatch):
    # validations after updates 3, 6, 9, ...: below 0.1, above, then below for good
    scripted = iter([0.0, 0.5] + [0.0] * 20)
    monkeypatch.setattr(ntm_numpy.training.loop, "scores_on", lambda model, batches: (next(scripted), 1.0))
    settled = []
    real_rate = ntm_numpy.training.config.learning_rate

    def rate(config, step, converged):
        settled.append(converged)
        return real_rate(config, step, converged)

    monkeypatch.setattr(ntm_numpy.training.loop, "learning_rate", rate)
    original = ntm_numpy.tasks.Task.batch
    lengths = []

    def spy(self, rng, batch_size, **overrides):
        x, y, mask = original(self, rng, batch_size, **overrides)
        if batch_size == TINY["batch_size"]:
            lengths.append(int(mask.sum(0).max()))
        return x, y, mask

    monkeypatch.setattr(ntm_numpy.tasks.Task, "batch", spy)
    result = train(updates=18, stream=False, seed=0, settle_validations=2,
                   **{**TINY, "val_batch_size": 4, "task_settings": {"max_length": 3},
                      "task_settings_after_converged": {"min_length": 6, "max_length": 8}})
    # converged at the first validation, settled at the 4th (two in a row, updates 9, 12)
    assert result.converged["step"] == 3
    assert settled == [False] * 12 + [True] * 6
    assert all(1 <= n <= 3 for n in lengths[:12]) and all(6 <= n <= 8 for n in lengths[12:])


def test_task_settings_after_converged_empty_changes_nothing(monkeypatch):
    lengths = _training_lengths(monkeypatch, task_settings={"max_length": 3})
    assert len(lengths) == 30 and max(lengths) <= 3


def test_default_curriculum_only_for_the_default_copy_settings():
    assert TrainConfig(task="copy").task_settings_after_converged == {"max_length": 60}
    assert TrainConfig(task="copy", task_settings={"max_length": 5}
                       ).task_settings_after_converged == {}
    assert TrainConfig(task="copy", task_settings_after_converged={}
                       ).task_settings_after_converged == {}
    for task in ("repeat_copy", "associative_recall", "ngrams", "priority_sort"):
        # repeat copy's NTM goes on to 1-20 repeats: a setting of its default run, which
        # switches at the first validation below 0.1 like any curriculum given
        expected = {"max_repeats": 20, "repeat_scale": 10} if task == "repeat_copy" else {}
        assert TrainConfig(task=task).task_settings_after_converged == expected
        assert TrainConfig(task=task, model="lstm").task_settings_after_converged == {}
        assert TrainConfig(task=task).settle_validations == SETTLE_VALIDATIONS == 1


def test_default_curriculum_waits_for_settled_validations():
    assert TrainConfig(task="copy").settle_validations == TASK_DEFAULTS["copy"][
        "settle_validations"] == 5
    assert TrainConfig(task="copy", model="lstm").settle_validations == 5
    # given the same curriculum explicitly: the same run
    assert TrainConfig(task="copy", task_settings_after_converged={"max_length": 60}
                       ).settle_validations == 5
    # another curriculum, or none, switches at the first validation below 0.1, as before
    for settings in ({"task_settings_after_converged": {"max_length": 20}},
                     {"task_settings_after_converged": {}},
                     {"task_settings": {"max_length": 20}}):
        assert TrainConfig(task="copy", **settings).settle_validations == 1
    assert TrainConfig(task="copy", settle_validations=5).settle_validations == 5


def test_resumed_runs_from_before_the_curriculum_keep_none(tmp_path):
    train(updates=3, out_dir=tmp_path, stream=False, **TINY)
    ckpt = tmp_path / "checkpoint.npz"

    def drop(header, arrays):
        del header["meta"]["train_config"]["task_settings_after_converged"]

    rewrite_checkpoint(ckpt, header_fn=drop)
    resumed = train(resume=ckpt, updates=4, stream=False)
    assert resumed.config.task_settings_after_converged == {}


def test_resumed_runs_from_before_settle_validations_switch_at_the_first(tmp_path):
    train(updates=3, out_dir=tmp_path, stream=False, task="copy")
    ckpt = tmp_path / "checkpoint.npz"
    _, saved = ntm_numpy.load(ckpt, return_checkpoint=True)
    assert saved.meta["train_config"]["settle_validations"] == 5  # copy's default curriculum

    def drop(header, arrays):
        del header["meta"]["train_config"]["settle_validations"]

    rewrite_checkpoint(ckpt, header_fn=drop)
    resumed = train(resume=ckpt, updates=4, stream=False)
    assert resumed.config.settle_validations == 1
    assert resumed.config.task_settings_after_converged == {"max_length": 60}


@pytest.mark.parametrize("value, match", [
    ({"max_len": 40}, "task_settings_after_converged: max_len"),
    ({"max_length": 0}, "task_settings_after_converged: .*max_length"),
    ("max_length=40", "task_settings_after_converged: expected a dict"),
])
def test_task_settings_after_converged_are_checked(value, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(task="copy", task_settings_after_converged=value)


def test_resume_of_a_checkpoint_without_validation_costs(tmp_path):
    # checkpoints written before the validation cost was recorded resume with None there
    train(updates=3, out_dir=tmp_path, stream=False, **TINY)  # TINY validates every 3 updates
    ckpt = tmp_path / "checkpoint.npz"

    def drop_cost(header, arrays):
        del header["meta"]["history"]["val_cost"]

    rewrite_checkpoint(ckpt, header_fn=drop_cost)
    resumed = train(resume=ckpt, updates=6, stream=False, **TINY)
    costs = resumed.history["val_cost"]
    assert resumed.history["val_step"] == [3, 6]
    assert costs[0] is None and isinstance(costs[1], float) and costs[1] > 0


def test_resume_without_steps_keeps_the_saved_number_of_steps(tmp_path):
    train(updates=3, out_dir=tmp_path, stream=False, **TINY)

    def stop_after_saved_steps(step, history):
        if step > 3:  # keep the test fast whatever happens
            raise KeyboardInterrupt

    resumed = train(resume=tmp_path / "checkpoint.npz", stream=False, log_every=1,
                    callback=stop_after_saved_steps)
    assert resumed.config.updates == 3
    assert resumed.step == 3 and not resumed.interrupted


def test_resume_rejects_a_checkpoint_not_written_by_training(tmp_path):
    model = TrainConfig(**TINY).make_model()
    path = tmp_path / "plain.npz"
    model.save(path)
    with pytest.raises(ValueError, match="^resume"):
        train(resume=path, updates=3, stream=False)


# ---------------------------------------------------------------------------- checkpoint
def test_training_checkpoint_contents(tmp_path):
    result = train(updates=4, out_dir=tmp_path, checkpoint_every=2, stream=False, seed=5, **TINY)
    path = tmp_path / "checkpoint.npz"
    model, ckpt = ntm_numpy.load(path, return_checkpoint=True)
    assert isinstance(model, NTM)
    assert_same_params(model.params, result.model.params)
    # optimizer state: Adam's step counter and one set of slots per parameter
    assert ckpt.state
    steps = [k for k in ckpt.state if k.endswith(".step")]
    assert len(steps) == 1 and int(ckpt.state[steps[0]]) == 4
    for name in model.params:
        assert any(k.endswith("." + name) for k in ckpt.state), name
    meta = ckpt.meta
    assert meta["step"] == 4 and meta["sequences"] == 8
    assert meta["elapsed"] >= 0
    assert meta["optimizer"]["name"] == "adam"
    assert isinstance(meta["rng_state"], dict) and "state" in meta["rng_state"]
    restored = TrainConfig.from_dict(meta["train_config"])
    assert restored == result.config
    assert restored.seed == 5 and restored.updates == 4
    assert set(meta["history"]) == set(HISTORY_KEYS)
    assert meta["history"]["val_step"] == [3, 4]


def test_no_out_dir_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    train(updates=2, stream=False, **TINY)
    assert os.listdir(tmp_path) == []


def test_progress_goes_to_the_stream():
    import io

    out = io.StringIO()
    train(updates=2, stream=out, log_every=1, **TINY)
    text = out.getvalue()
    assert "update" in text and "2/2" in text


# ---------------------------------------------------------------------------- learning
def test_ntm_learns_a_tiny_copy_task():
    config = TrainConfig(task="copy", updates=800, batch_size=16, lr=1e-2, controller_size=32,
                         memory_rows=8, memory_width=6, eval_every=100, val_batches=2,
                         val_batch_size=16, seed=0, task_settings=dict(bits=4, max_length=3))
    task = config.make_task()
    untrained = config.make_model()
    start = bit_errors_on(untrained, _validation_set(config, task, untrained.dtype))
    result = train(config, stream=False)
    end = result.history["val_bit_errors"][-1]
    assert start > 2.0
    assert end < 0.5 * start
    assert end < 1.0
    assert result.history["loss"][-1] < result.history["loss"][0]


def test_lstm_baseline_trains_through_the_same_loop(tmp_path):
    config = TrainConfig(task="copy", model="lstm", hidden_size=32, updates=300, batch_size=16,
                         lr=1e-2, eval_every=100, val_batches=2, val_batch_size=16, seed=0,
                         task_settings=dict(bits=4, max_length=3))
    untrained = config.make_model()
    assert isinstance(untrained, LSTMBaseline)
    start = bit_errors_on(untrained, _validation_set(config, config.make_task(),
                                                     untrained.dtype))
    result = train(config, out_dir=tmp_path, stream=False)
    assert isinstance(result.model, LSTMBaseline)
    assert result.step == 300
    assert result.history["val_bit_errors"][-1] < 0.75 * start
    loaded = ntm_numpy.load(tmp_path / "checkpoint.npz")
    assert isinstance(loaded, LSTMBaseline)
    assert_same_params(loaded.params, result.model.params)


def test_float64_training():
    result = train(updates=3, dtype="float64", stream=False, **TINY)
    assert result.model.dtype == np.float64
    for v in result.model.params.values():
        assert v.dtype == np.float64
        assert np.all(np.isfinite(v))
    assert all(math.isfinite(v) for v in result.history["loss"])


def test_rmsprop_and_clip_norm():
    result = train(updates=3, optimizer="rmsprop", clip_norm=1.0, stream=False, **TINY)
    assert result.config.lr == 1e-4
    assert all(np.all(np.isfinite(v)) for v in result.model.params.values())


def test_zero_steps():
    result = train(updates=0, stream=False, **TINY)
    assert result.step == 0 and result.history["step"] == []
    assert result.converged is None and result.worst_after_converged is None


# ---------------------------------------------------------------------------- evaluate
class _Oracle:
    """A stub model that replays the task's batches and outputs +-5 logits from y."""

    def __init__(self, task, lengths, sequences, batch_size, seed, sign=1.0):
        self.dtype = np.dtype(np.float64)
        self.expected = []
        for length in lengths:
            rng = np.random.default_rng([seed, length])
            left = sequences
            while left > 0:
                b = min(batch_size, left)
                self.expected.append(task.batch(rng, b, length=length, dtype=self.dtype))
                left -= b
        self.sign = sign
        self.calls = 0

    def predict(self, x):  # evaluate runs inference without caches
        ex, ey, _ = self.expected[self.calls]
        self.calls += 1
        assert np.array_equal(x, ex)
        return self.sign * np.where(ey > 0.5, 5.0, -5.0)


def test_evaluate_perfect_model_gives_zero():
    task = get_task("copy")
    oracle = _Oracle(task, [2, 5], sequences=5, batch_size=2, seed=7)
    errs = evaluate(oracle, task, [2, 5], sequences=5, batch_size=2, seed=7)
    assert errs == {2: 0.0, 5: 0.0}
    assert oracle.calls == 6  # 3 batches (2 + 2 + 1) per length


def test_evaluate_inverted_model_gets_every_bit_wrong():
    task = get_task("copy")
    oracle = _Oracle(task, [3], sequences=4, batch_size=32, seed=1, sign=-1.0)
    errs = evaluate(oracle, "copy", [3], sequences=4, batch_size=32, seed=1)
    assert errs == {3: 3 * 8.0}


def test_evaluate_scores_cost_of_known_logits():
    # +-5 logits on the right side cost log2(1 + e^-5) bits per output bit, on the wrong
    # side log2(1 + e^5): copy of length 3 scores 3 * 8 output bits per sequence
    task = get_task("copy")
    right = _Oracle(task, [3], sequences=4, batch_size=3, seed=1)
    wrong = _Oracle(task, [3], sequences=4, batch_size=3, seed=1, sign=-1.0)
    scores = evaluate_scores(right, task, [3], sequences=4, batch_size=3, seed=1)
    assert scores[3]["bit_errors"] == 0.0
    assert scores[3]["cost_bits"] == pytest.approx(24 * math.log2(1 + math.exp(-5)), rel=1e-12)
    assert "optimal_cost_bits" not in scores[3]
    costs = evaluate(wrong, task, [3], sequences=4, batch_size=3, seed=1, metric="cost_bits")
    assert costs[3] == pytest.approx(24 * math.log2(1 + math.exp(5)), rel=1e-12)


class _BayesOracle:
    """A stub model whose outputs are the logits of the Bayes-optimal N-gram predictions."""

    dtype = np.dtype(np.float64)

    def predict(self, x):
        p = ngram_optimal_predictions(x)
        return np.log(p) - np.log1p(-p)


def test_evaluate_scores_ngrams_against_the_optimum():
    task = get_task("ngrams")
    scores = evaluate_scores(_BayesOracle(), task, [40, 60], sequences=5, batch_size=2, seed=3)
    for length in (40, 60):
        s = scores[length]
        # the estimator's own cost on the same sequences, whatever the batching
        assert s["cost_bits"] == pytest.approx(s["optimal_cost_bits"], rel=1e-9)
        # at most one bit per prediction, and some learning from the counts
        assert 0 < s["optimal_cost_bits"] < length - 1
    fair = evaluate_scores(_FairCoin(), task, [40], sequences=5, batch_size=2, seed=3)[40]
    assert fair["cost_bits"] == pytest.approx(39.0, rel=1e-12)  # 1 bit per prediction
    assert fair["optimal_cost_bits"] == scores[40]["optimal_cost_bits"]
    # the fair coin pays what it costs beyond the estimator; the estimator pays nothing
    assert fair["cost_above_optimum_bits"] == pytest.approx(39.0 - fair["optimal_cost_bits"],
                                                            rel=1e-12)
    assert abs(scores[60]["cost_above_optimum_bits"]) < 1e-9
    above = evaluate(_FairCoin(), task, [40], sequences=5, batch_size=2, seed=3,
                     metric="cost_above_optimum_bits")
    assert above == {40: fair["cost_above_optimum_bits"]}


class _FairCoin:
    dtype = np.dtype(np.float64)

    def predict(self, x):
        return np.zeros_like(x)


def test_evaluate_bad_metric():
    model = TrainConfig(**TINY).make_model()
    with pytest.raises(ValueError, match="^metric"):
        evaluate(model, "copy", [2], sequences=2, metric="loss")
    # only the N-gram task has a Bayes-optimal estimator to compare with
    for metric in NGRAM_SCORES:
        with pytest.raises(ValueError, match=f"^metric.*{metric}"):
            evaluate(model, "copy", [2], sequences=2, metric=metric)


def test_task_scores_are_what_evaluate_scores_gives():
    for task, model, length in ((get_task("copy"), TrainConfig(**TINY).make_model(), 3),
                                (get_task("ngrams"), _FairCoin(), 12)):
        scores = evaluate_scores(model, task, [length], sequences=2)
        assert set(task_scores(task)) == set(scores[length])
    assert task_scores(get_task("ngrams")) == SCORES + NGRAM_SCORES
    assert task_scores(get_task("priority_sort")) == SCORES


def test_settled_index_of_a_checkpoint():
    history = {"val_bit_errors": [30.0, 0.05, 0.2, 0.0, 0.0]}
    assert checkpoint_settled_index({"history": history,
                                     "train_config": {"settle_validations": 2}}) == 4
    # recorded before settle_validations existed: the first validation below 0.1
    assert checkpoint_settled_index({"history": history, "train_config": {}}) == 1
    assert checkpoint_settled_index({"train_config": {"settle_validations": 2}}) is None
    assert recorded_settings({"seed": 3})["settle_validations"] == 1
    assert recorded_settings({"settle_validations": 5})["settle_validations"] == 5


def test_task_measure():
    assert task_measure("ngrams") == "cost_above_optimum_bits"
    assert task_measure(get_task("priority_sort")) == "cost_bits"
    for name in ("copy", "repeat_copy", "associative_recall"):
        assert task_measure(name) == "bit_errors"
    for name in TASKS:  # every measure is a score evaluate_scores gives for the task
        assert task_measure(name) in SCORES + (NGRAM_SCORES if name == "ngrams" else ())
    with pytest.raises(ValueError, match="^task"):
        task_measure("sort")


def test_validation_cost_is_the_cross_entropy_in_bits():
    result = train(updates=4, stream=False, seed=2, **TINY)
    config = result.config
    val_set = _validation_set(config, config.make_task(), result.model.dtype)
    errors, cost = scores_on(result.model, val_set)
    assert result.history["val_bit_errors"][-1] == errors
    assert result.history["val_cost"][-1] == cost
    assert len(result.history["val_cost"]) == len(result.history["val_step"])
    # the cost written out: -sum(y log2 p + (1-y) log2 (1-p)) over masked outputs, per sequence
    total, count = 0.0, 0
    for x, y, mask in val_set:
        p = 1 / (1 + np.exp(-result.model.predict(x).astype(np.float64)))
        bits = -(y * np.log2(p) + (1 - y) * np.log2(1 - p)) * mask[:, :, None]
        total += bits.sum()
        count += x.shape[1]
    assert cost == pytest.approx(total / count, rel=1e-5)


def test_evaluate_real_model():
    model = TrainConfig(**TINY).make_model()
    errs = evaluate(model, "copy", [1, 2, 4], sequences=3, batch_size=2)
    assert list(errs) == [1, 2, 4]
    assert all(v >= 0 for v in errs.values())
    assert all(v <= 8 * length for length, v in errs.items())
    assert errs == evaluate(model, "copy", [1, 2, 4], sequences=3, batch_size=2)


def _repeat_counts(batches, scale):
    """The repeat count of every sequence, read off the count channel of its input."""
    counts = []
    for x, _, mask in batches:
        start = int(np.argmax(mask[:, 0] > 0))  # the count comes on the step before the output
        counts.extend(np.rint(x[start - 1, :, -1] * scale).astype(int).tolist())
    return counts


@pytest.mark.parametrize("sequences, batch_size", [(64, 32), (25, 4), (10, 16), (3, 2)])
def test_evaluation_batches_spread_repeat_copy_over_every_repeat_count(sequences, batch_size):
    # repeat copy draws one repeat count per batch: left to it, 64 sequences in batches
    # of 32 would test two of the ten counts
    task = get_task("repeat_copy")
    batches = evaluation_batches(task, 7, sequences=sequences, batch_size=batch_size)
    assert all(x.shape[1] <= batch_size for x, _, _ in batches)
    counts = _repeat_counts(batches, task.params["repeat_scale"])
    assert len(counts) == sequences
    per_count = np.bincount(counts, minlength=11)[1:]
    assert per_count.max() - per_count.min() <= 1, per_count
    assert per_count.sum() == sequences
    if sequences < 10:  # the smallest counts first
        assert sorted(set(counts)) == list(range(1, sequences + 1))
    for batch in batches:  # one count per batch, and the sequence length that goes with it
        (r,) = set(_repeat_counts([batch], task.params["repeat_scale"]))
        assert batch[0].shape[0] == 7 + 1 + r * 7 + 1


def test_evaluation_batches_other_tasks_draw_as_training_at_the_given_length():
    task = get_task("copy")
    batches = evaluation_batches(task, 5, sequences=5, batch_size=2, seed=3)
    assert [x.shape[:2] for x, _, _ in batches] == [(11, 2), (11, 2), (11, 1)]
    rng = np.random.default_rng([3, 5])  # the documented seeding
    x0, _, _ = task.batch(rng, 2, length=5)
    np.testing.assert_array_equal(batches[0][0], x0)


@pytest.mark.parametrize("kwargs, name", [
    (dict(lengths=[2, 0]), "lengths"),
    (dict(lengths=[-1]), "lengths"),
    (dict(lengths=[2], sequences=0), "sequences"),
    (dict(lengths=[2], batch_size=0), "batch_size"),
])
def test_evaluate_bad_arguments(kwargs, name):
    model = TrainConfig(**TINY).make_model()
    with pytest.raises(ValueError, match=f"^{name}"):
        evaluate(model, "copy", **kwargs)


# ---------------------------------------------------------------------------- convergence
def _history(vals):
    return dict(val_bit_errors=list(vals), val_step=[10 * (i + 1) for i in range(len(vals))],
                val_sequences=[160 * (i + 1) for i in range(len(vals))],
                val_time=[1.5 * (i + 1) for i in range(len(vals))])


def test_convergence_first_value_below_threshold_and_worst_after():
    conv, worst = convergence(_history([5.0, 0.5, 0.05, 0.3, 0.0, 0.2]))
    assert conv == dict(step=30, sequences=480, time=4.5, stable_step=None,
                        stable_sequences=None, stable_time=None)
    assert worst == 0.3


def test_convergence_stable_from_the_last_crossing():
    conv, worst = convergence(_history([5.0, 0.05, 0.3, 0.02, 0.0, 0.01]))
    assert conv["step"] == 20 and worst == 0.3
    assert (conv["stable_step"], conv["stable_sequences"], conv["stable_time"]) == (40, 640, 6.0)


def test_convergence_never():
    assert convergence(_history([5.0, 0.5, 0.1])) == (None, None)
    assert convergence(_history([])) == (None, None)


def test_convergence_threshold_is_strict_and_adjustable():
    assert CONVERGED_BIT_ERRORS == 0.1
    assert convergence(_history([0.1]))[0] is None
    conv, worst = convergence(_history([0.9, 0.4]), threshold=1.0)
    assert conv["step"] == 10 and worst == 0.9


# ---------------------------------------------------------------------------- TrainConfig
@pytest.mark.parametrize("kwargs, name", [
    (dict(task="nope"), "task"),
    (dict(updates=-1), "updates"),
    (dict(updates=1.5), "updates"),
    (dict(batch_size=0), "batch_size"),
    (dict(lr=0), "lr"),
    (dict(lr=-1e-3), "lr"),
    (dict(lr=float("nan")), "lr"),
    (dict(optimizer="sgd"), "optimizer"),
    (dict(dtype="float16"), "dtype"),
    (dict(model="gru"), "model"),
    (dict(eval_every=0), "eval_every"),
    (dict(val_batches=0), "val_batches"),
    (dict(checkpoint_every=0), "checkpoint_every"),
    (dict(clip=0.0), "clip"),
])
def test_train_config_validation(kwargs, name):
    with pytest.raises(ValueError, match=f"^{name}"):
        TrainConfig(**kwargs)


def test_train_config_defaults_and_from_dict():
    c = TrainConfig()
    assert c.updates == TASK_DEFAULTS["copy"]["updates"]
    assert c.lr == ADAM_LR and c.eps == ADAM_EPS
    assert TrainConfig(optimizer="rmsprop").lr == RMSPROP_LR
    assert TrainConfig(task="repeat_copy", model="lstm").updates == \
        TASK_DEFAULTS["repeat_copy"]["updates"]
    assert TrainConfig(task="repeat_copy").updates == \
        TASK_DEFAULTS["repeat_copy"]["settings"]["ntm"]["updates"]
    with pytest.raises(ValueError, match="unknown"):
        TrainConfig.from_dict({"task": "copy", "bogus": 1})


def test_train_rejects_bad_log_every():
    with pytest.raises(ValueError, match="^log_every"):
        train(updates=1, stream=False, log_every=0, **TINY)


def test_learning_rate_schedule():
    from ntm_numpy.training.config import LR_AFTER_CONVERGED, LR_FINAL_FRACTION, learning_rate

    c = TrainConfig(updates=101, lr=1e-2)
    assert learning_rate(c, 0, False) == pytest.approx(1e-2)
    assert learning_rate(c, 50, False) == pytest.approx(1e-2 * (LR_FINAL_FRACTION + 1) / 2)
    assert learning_rate(c, 100, False) == pytest.approx(1e-2 * LR_FINAL_FRACTION)
    rates = [learning_rate(c, i, False) for i in range(101)]
    assert all(a >= b for a, b in zip(rates, rates[1:]))
    assert learning_rate(c, 10, True) == pytest.approx(LR_AFTER_CONVERGED * rates[10])
    flat = TrainConfig(updates=101, lr=1e-2, lr_schedule="constant")
    assert {learning_rate(flat, i, False) for i in range(101)} == {1e-2}


def test_train_config_has_every_ntm_option_with_the_models_default():
    """TrainConfig's architecture fields come from NTM_OPTIONS, whose defaults are the
    NTM constructor's."""
    import dataclasses
    import inspect

    from ntm_numpy.model import NTM, NTM_OPTIONS

    fields = {f.name: f.default for f in dataclasses.fields(ModelConfig)}
    signature = inspect.signature(NTM).parameters
    for name, opt in NTM_OPTIONS.items():
        assert fields[name] == opt.default == signature[name].default, name
    config = TrainConfig(**{**TINY, "memory_init": "random", "shift_range": 2})
    model = config.make_model()
    assert model.config["memory_init"] == "random" and model.config["shift_range"] == 2
    assert model.implementation == config.implementation == "reference"
    assert TrainConfig(**TINY, implementation="fused").make_model().implementation == "fused"
    with pytest.raises(ValueError, match="^implementation: expected one of"):
        TrainConfig(**TINY, implementation="fast")


def test_reference_and_fused_training_runs_agree():
    """A few updates with each step from the same seed (float64): the same parameters to
    rounding, since the two steps compute the same maths."""
    base = dict(TINY, dtype="float64", updates=3)
    a = train(TrainConfig(**base, implementation="reference"), stream=False).model.params
    b = train(TrainConfig(**base, implementation="fused"), stream=False).model.params
    for name in a:
        np.testing.assert_allclose(a[name], b[name], rtol=1e-8, atol=1e-10, err_msg=name)


# ------------------------------------------------------- sections, flat form and aliases
def test_train_config_holds_four_sections_and_reads_flat():
    c = TrainConfig(task="copy", controller_size=50, updates=100)
    assert [f.name for f in dataclasses.fields(TrainConfig)] == list(SECTIONS)
    assert c.model_section == ModelConfig(controller_size=50)
    assert c.schedule_section.updates == c.updates == 100
    assert (c.task, c.model, c.optimizer, c.controller_size) == ("copy", "ntm", "adam", 50)
    # whole sections (by attribute or by their short names), flat settings on top of them
    assert TrainConfig(model=ModelConfig(controller_size=50),
                       schedule=ScheduleConfig(updates=100)) == c
    assert TrainConfig(model_section=ModelConfig(), controller_size=50, updates=100) == c
    assert TrainConfig(task=TaskConfig(task="copy"), updates=100, controller_size=50) == c
    section = ScheduleConfig()
    TrainConfig(schedule_section=section, updates=3)
    assert section == ScheduleConfig()  # sections given are copied, not filled in
    with pytest.raises(AttributeError):
        c.batch_size = 3  # flat settings are read-only: a section changes through itself
    with pytest.raises(TypeError, match="bogus"):
        TrainConfig(bogus=1)
    with pytest.raises(TypeError, match="model_section: expected a ModelConfig"):
        TrainConfig(model_section=TaskConfig())


def test_train_config_round_trips_nested_and_flat():
    c = TrainConfig(task="repeat_copy", read_heads=2, lr=1e-3, task_settings={"max_length": 5},
                    batch_size=4)
    nested = dataclasses.asdict(c)
    assert set(nested) == set(SECTIONS) and nested["task_section"]["task"] == "repeat_copy"
    assert TrainConfig.from_dict(nested) == c
    flat = c.to_flat()
    assert list(flat) == [f.name for _, f in setting_fields()]
    assert TrainConfig.from_flat(flat) == TrainConfig.from_dict(flat) == c
    assert dataclasses.replace(c, batch_size=8) == TrainConfig.from_flat({**flat, "batch_size": 8})
    with pytest.raises(ValueError, match=r"unknown training settings \['bogus'\]"):
        TrainConfig.from_dict({"model_section": {"bogus": 1}})


def test_every_setting_has_help_and_the_sections_document_them():
    for _, f in setting_fields():
        assert f.metadata["help"], f.name
    for cls in (ModelConfig, TaskConfig, OptimizerConfig, ScheduleConfig):
        assert "Attributes" in cls.__doc__
        for f in dataclasses.fields(cls):
            assert f"{f.name} : " in cls.__doc__
    assert TrainConfig.batch_size.__doc__ == "sequences per update"
    assert TrainConfig.lr_schedule.__doc__.startswith("'cosine' (from ``lr``")


def test_the_former_names_are_deprecated_aliases(tmp_path):
    with pytest.warns(DeprecationWarning, match="'steps' is deprecated.*'updates'"):
        c = TrainConfig(steps=7, **TINY)
    with pytest.warns(DeprecationWarning, match="'step' is deprecated.*'implementation'"):
        assert TrainConfig(step="fused", **TINY).implementation == "fused"
    assert c.updates == 7
    with pytest.warns(DeprecationWarning, match="TrainConfig.steps"):
        assert c.steps == 7
    with pytest.warns(DeprecationWarning, match="TrainConfig.step"):
        assert c.step == "reference"
    with pytest.raises(ValueError, match="^steps: a deprecated alias of updates"):
        TrainConfig(steps=3, updates=4)
    with pytest.warns(DeprecationWarning):
        assert TrainConfig.from_dict({"task": "copy", "steps": 3}).updates == 3
    with pytest.warns(DeprecationWarning, match="'steps'"):
        result = train(steps=2, stream=False, out_dir=tmp_path, **TINY)
    assert result.step == 2 and result.config.updates == 2
    with pytest.warns(DeprecationWarning, match="'steps'"):
        assert train(resume=tmp_path / "checkpoint.npz", steps=3, stream=False).step == 3


def test_checkpoints_from_before_the_rename_resume_without_a_warning(tmp_path):
    train(updates=2, out_dir=tmp_path, stream=False, implementation="fused", **TINY)
    ckpt = tmp_path / "checkpoint.npz"

    def former_names(header, arrays):
        tc = header["meta"]["train_config"]
        tc["steps"], tc["step"] = tc.pop("updates"), tc.pop("implementation")

    rewrite_checkpoint(ckpt, header_fn=former_names)
    _, old = ntm_numpy.load(ckpt, return_checkpoint=True)
    assert {"steps", "step"} <= set(old.meta["train_config"])
    settings = recorded_settings(old.meta["train_config"])
    assert settings["updates"] == 2 and settings["implementation"] == "fused"
    assert "steps" not in settings and "step" not in settings
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        resumed = train(resume=ckpt, updates=3, stream=False, out_dir=tmp_path)
    assert resumed.step == 3 and resumed.config.implementation == "fused"
    _, new = ntm_numpy.load(ckpt, return_checkpoint=True)
    assert new.meta["train_config"]["updates"] == 3 and "steps" not in new.meta["train_config"]
