"""Tests of the seed sweep (ntm_numpy.training.sweep and ``ntm-numpy sweep``): tiny runs only."""
import concurrent.futures
import csv
import json
import math
import os

import numpy as np
import pytest

import ntm_numpy
from ntm_numpy.cli import main
from ntm_numpy.training import sweep, sweep_results
from ntm_numpy.training.config import TrainConfig
from ntm_numpy.training.loop import train

TINY = dict(task="copy", updates=4, batch_size=2, controller_size=8, memory_rows=8,
            memory_width=4, eval_every=2, val_batches=1, val_batch_size=4)
LENGTHS = [2, 3]


class CountingExecutor(concurrent.futures.ThreadPoolExecutor):
    """A local executor that remembers which seeds it was given."""

    def __init__(self):
        super().__init__(max_workers=2)
        self.seeds = []

    def submit(self, fn, config, *args, **kwargs):
        self.seeds.append(config["seed"])
        return super().submit(fn, config, *args, **kwargs)


def _sweep(out, seeds, executor, **kw):
    return sweep.run_sweep(TrainConfig(**{**TINY, **kw}), seeds, str(out), executor=executor,
                           lengths=LENGTHS, sequences=4, stream=False, progress=False,
                           log_every=1)


def _png(path):
    with open(path, "rb") as f:
        return f.read(8) == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("text, seeds", [("0-5", [0, 1, 2, 3, 4, 5]), ("3", [3]),
                                         ("0,3,7-8", [0, 3, 7, 8]), (" 1 , 4-5", [1, 4, 5])])
def test_parse_seeds(text, seeds):
    assert sweep.parse_seeds(text) == seeds


@pytest.mark.parametrize("text", ["a", "5-3", "1,1", "0-2,2", "-1", ""])
def test_parse_seeds_rejects(text):
    with pytest.raises(ValueError, match="seeds"):
        sweep.parse_seeds(text)


def test_each_seed_is_the_run_train_makes_with_that_seed(tmp_path):
    with CountingExecutor() as ex:
        results = _sweep(tmp_path, [0, 1], ex)
    assert sorted(ex.seeds) == [0, 1]
    assert [r["seed"] for r in results] == [0, 1]
    for r in results:
        direct = train(TrainConfig(**{**TINY, "seed": r["seed"]}), stream=False)
        assert r["curves"]["val_bit_errors"] == direct.history["val_bit_errors"]
        assert r["steps"] == 4 and r["sequences"] == 8
        errs = ntm_numpy.training.evaluation.evaluate(direct.model, "copy", LENGTHS, sequences=4)
        assert r["generalisation"] == {str(k): v for k, v in errs.items()}
        costs = ntm_numpy.training.evaluation.evaluate(direct.model, "copy", LENGTHS, sequences=4,
                                         metric="cost_bits")
        assert r["generalisation_cost"] == {str(k): v for k, v in costs.items()}
        assert r["final_val_cost"] == direct.history["val_cost"][-1]
        assert "optimal_cost" not in r
        model = ntm_numpy.load(tmp_path / f"seed_{r['seed']}" / "checkpoint.npz")
        for k, v in direct.model.params.items():
            np.testing.assert_array_equal(model.params[k], v)
    # the two seeds differ (otherwise the comparison above proves little)
    assert results[0]["curves"]["val_bit_errors"] != results[1]["curves"]["val_bit_errors"]


def test_summary_table_and_plot(tmp_path):
    with CountingExecutor() as ex:
        _sweep(tmp_path, [0, 1, 2], ex)
    with open(tmp_path / "summary.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["seed"] for r in rows] == ["0", "1", "2", "median", "worst"]
    finals = [float(r["final_val"]) for r in rows[:3]]
    assert float(rows[3]["final_val"]) == pytest.approx(np.median(finals))
    assert float(rows[4]["final_val"]) == pytest.approx(max(finals))
    for length in LENGTHS:
        assert f"len_{length}" in rows[0] and f"cost_{length}" in rows[0]
        assert f"optimal_{length}" not in rows[0]  # only for the N-gram task
    costs = [float(r["final_val_cost"]) for r in rows[:3]]
    assert all(c > 0 for c in costs)
    assert float(rows[4]["final_val_cost"]) == pytest.approx(max(costs))
    md = (tmp_path / "summary.md").read_text()
    rows_md = [line for line in md.splitlines() if line.startswith("| ")]
    assert len(rows_md) == 1 + 5  # header, then 3 seeds, median and worst
    assert [line.split(" | ")[0] for line in rows_md[1:]] == [
        "| 0", "| 1", "| 2", "| median", "| worst"]
    assert "length 2" in md and "length 3" in md
    assert _png(tmp_path / "curves.png")


def test_summary_rows_by_hand():
    def run(seed, conv, stable, worst, final, gen):
        return dict(seed=seed, seconds=10.0 * (seed + 1), final_val_bit_errors=final,
                    worst_after_converged=worst, generalisation={"20": gen},
                    converged=None if conv is None else dict(
                        sequences=conv, time=conv / 1000, stable_sequences=stable,
                        stable_time=None if stable is None else stable / 1000))

    rows = sweep_results.summary_rows([run(0, 1600, 1600, 0.05, 0.0, 0.5),
                               run(1, 3200, None, 2.0, 0.3, 4.0),
                               run(2, None, None, None, 9.0, 30.0)], [20])
    assert rows[1]["stable_sequences"] == math.inf  # relapsed at the end
    assert rows[2]["converged_sequences"] == math.inf and rows[2]["worst_after"] == math.inf
    median, worst = rows[3], rows[4]
    assert median["converged_sequences"] == 3200 and worst["converged_sequences"] == math.inf
    assert median["stable_sequences"] == math.inf
    assert median["len_20"] == 4.0 and worst["len_20"] == 30.0
    assert median["final_val"] == 0.3 and worst["final_val"] == 9.0
    assert median["total_s"] == 20.0 and worst["total_s"] == 30.0
    # results written before costs were recorded: NaN, shown as "-", left out of median
    assert math.isnan(rows[0]["cost_20"]) and math.isnan(median["final_val_cost"])
    assert sweep_results._fmt("cost_20", math.nan) == "-"
    assert sweep_results._fmt("converged_sequences", math.inf) == "never"
    assert sweep_results._fmt("converged_sequences", 3200.0) == "3,200"


def test_ngram_sweep_reports_the_bayes_optimal_cost(tmp_path):
    config = dict(task="ngrams", task_settings={"length": 12}, updates=2, batch_size=2,
                  controller_size=4, memory_rows=4, memory_width=3, eval_every=2,
                  val_batches=1, val_batch_size=2)
    with CountingExecutor() as ex:
        results = sweep.run_sweep(TrainConfig(**config), [0, 1], str(tmp_path), executor=ex,
                                  lengths=[12, 20], sequences=3, stream=False,
                                  progress=False, log_every=1)
    task = ntm_numpy.tasks.get_task("ngrams", length=12)
    for r in results:
        model = ntm_numpy.load(tmp_path / f"seed_{r['seed']}" / "checkpoint.npz")
        scores = ntm_numpy.training.evaluation.evaluate_scores(model, task, [12, 20], sequences=3)
        assert r["optimal_cost"] == {str(k): v["optimal_cost_bits"] for k, v in scores.items()}
    with open(tmp_path / "summary.csv") as f:
        rows = list(csv.DictReader(f))
    assert float(rows[0]["optimal_20"]) == results[0]["optimal_cost"]["20"]
    assert "Bayes-optimal cost at 20" in (tmp_path / "summary.md").read_text()
    assert _png(tmp_path / "curves.png")


def test_ngram_optimal_cost_is_the_estimators_mean_cost():
    task = ntm_numpy.tasks.get_task("ngrams", length=30)
    x, y, mask = task.batch(np.random.default_rng(5), 40)
    probs = ntm_numpy.tasks.ngram_optimal_predictions(x)
    p_seen = np.where(y > 0.5, probs, 1 - probs)
    want = -np.log2(p_seen).sum() / 40
    assert sweep_results.ngram_optimal_cost(task, sequences=40, seed=5) == pytest.approx(want)


def test_plot_with_an_optimum_has_linear_axes_and_its_line(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    figs = []
    monkeypatch.setattr(plt, "close", figs.append)
    run = dict(seed=0, curves=dict(val_sequences=[16, 32], val_bit_errors=[60.0, 50.0],
                                   sequences=[16, 32], loss=[120.0, 95.0]))
    learnt = dict(seed=0, curves=dict(val_sequences=[16, 32], val_bit_errors=[60.0, 0.0],
                                      sequences=[16, 32], loss=[120.0, 2.0]))
    sweep_results.plot_sweep([run], tmp_path / "a.png", optimal=132.1)
    sweep_results.plot_sweep([learnt], tmp_path / "b.png")
    sweep_results.plot_sweep([run], tmp_path / "c.png")  # within a decade: linear as well
    with_optimum, falling, flat = (f.axes for f in figs)
    assert [ax.get_yscale() for ax in with_optimum] == ["linear", "linear"]
    assert [ax.get_yscale() for ax in falling] == ["symlog", "symlog"]
    assert [ax.get_yscale() for ax in flat] == ["linear", "linear"]
    assert any(line.get_ydata()[0] == 0.1 for line in falling[0].lines)
    assert any(line.get_ydata()[0] == 132.1 for line in with_optimum[1].lines)
    assert not any(line.get_ydata()[0] == 0.1 for line in with_optimum[0].lines)


def test_finished_seeds_are_skipped_and_kept(tmp_path):
    with CountingExecutor() as ex:
        _sweep(tmp_path, [0, 1], ex)
    stamps = {p: os.stat(p).st_mtime_ns for p in tmp_path.glob("seed_*/*")}
    with CountingExecutor() as ex:
        results = _sweep(tmp_path, [0, 1, 2], ex)
    assert ex.seeds == [2]
    assert [r["seed"] for r in results] == [0, 1, 2]
    for path, stamp in stamps.items():
        assert os.stat(path).st_mtime_ns == stamp, f"{path} was rewritten"


def test_other_settings_in_the_same_directory_are_refused(tmp_path):
    with CountingExecutor() as ex:
        _sweep(tmp_path, [0], ex)
        with pytest.raises(ValueError, match=r"out:.*lr: 0.002 there, 0.001 now"):
            _sweep(tmp_path, [1], ex, lr=1e-3)
    assert not (tmp_path / "seed_1").exists()


def test_an_interrupted_run_resumes_from_its_checkpoint(tmp_path):
    config = TrainConfig(**TINY)
    run_dir = tmp_path / "seed_0"
    sweep._STOP.set()  # what Ctrl-C does to runs in threads of the sweep's process
    try:
        stopped = sweep.run_one(config, str(run_dir), lengths=LENGTHS, sequences=4,
                                log_every=1, progress=False)
    finally:
        sweep._STOP.clear()
    assert stopped == {"seed": 0, "interrupted": True}
    assert not (run_dir / "result.json").exists()
    _, ckpt = ntm_numpy.load(run_dir / "checkpoint.npz", return_checkpoint=True)
    assert ckpt.meta["step"] == 1
    with CountingExecutor() as ex:
        (res,) = _sweep(tmp_path, [0], ex)
    direct = train(config, stream=False)
    assert res["steps"] == 4
    assert res["curves"]["val_bit_errors"] == direct.history["val_bit_errors"]


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="jobs"):
        sweep.run_sweep(TrainConfig(**TINY), [0], str(tmp_path), jobs=0)
    with pytest.raises(ValueError, match="seeds"):
        sweep.run_sweep(TrainConfig(**TINY), [], str(tmp_path))
    with pytest.raises(ValueError, match="lengths"):
        sweep.run_sweep(TrainConfig(**TINY), [0], str(tmp_path), lengths=[0])


def test_command_line_runs_seeds_in_processes(tmp_path, capsys):
    out = tmp_path / "sw"
    code = main(["sweep", "copy", "--seeds", "0-1", "--jobs", "2", "--out", str(out),
                 "--updates", "4", "--batch-size", "2", "--controller-size", "8",
                 "--memory-rows", "8", "--memory-width", "4", "--eval-every", "2",
                 "--lengths", "2", "3", "--sequences", "4", "--log-every", "2",
                 "--task-setting", "max_length=3"])
    assert code == 0
    captured = capsys.readouterr()
    assert "| median |" in captured.out and "| worst |" in captured.out
    with open(out / "sweep.json") as f:
        settings = json.load(f)
    assert settings["memory_rows"] == 8
    assert settings["task_settings"] == {"max_length": 3}
    assert settings["lengths"] == [2, 3]
    for seed in (0, 1):
        model, ckpt = ntm_numpy.load(out / f"seed_{seed}" / "checkpoint.npz",
                                     return_checkpoint=True)
        assert ckpt.meta["train_config"]["seed"] == seed
        assert ckpt.meta["train_config"]["batch_size"] == 2
        assert model.config["memory_width"] == 4
    assert _png(out / "curves.png")


def test_command_line_bad_seeds(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:  # refused when the command line is parsed
        main(["sweep", "copy", "--seeds", "3-1", "--out", str(tmp_path / "x")])
    assert info.value.code == 2
    assert "argument --seeds: expected ranges 'a-b' with 0 <= a <= b" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_ctrl_c_of_the_command_leaves_resumable_checkpoints(tmp_path, signame):
    """A stop signal to the sweep's own process only: it stops its workers' runs, which
    save their checkpoints."""
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "sw"
    cmd = [sys.executable, "-m", "ntm_numpy", "sweep", "copy", "--seeds", "0-2", "--jobs",
           "2", "--out", str(out), "--updates", "100000", "--batch-size", "2",
           "--controller-size", "8", "--memory-rows", "8", "--memory-width", "4",
           "--eval-every", "50", "--log-every", "10", "--lengths", "2"]
    env = {**os.environ, "MPLBACKEND": "Agg"}
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                            text=True)
    try:
        deadline = time.time() + 60
        seen = set()
        while len(seen) < 2 and time.time() < deadline:  # both runs are training
            line = proc.stderr.readline()
            for seed in (0, 1):
                if line.startswith(f"[seed {seed}] update"):
                    seen.add(seed)
        proc.send_signal(getattr(signal, signame))
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    for seed in (0, 1):
        _, ckpt = ntm_numpy.load(out / f"seed_{seed}" / "checkpoint.npz",
                                 return_checkpoint=True)
        assert 0 < ckpt.meta["step"] < 100000
        assert not (out / f"seed_{seed}" / "result.json").exists()
    assert not (out / "seed_2").exists(), "a queued run started after Ctrl-C"


def test_load_results_and_a_plot_of_two_sweeps(tmp_path):
    with CountingExecutor() as ex:
        _sweep(tmp_path / "a", [0, 1], ex)
        _sweep(tmp_path / "b", [2], ex, model="lstm", hidden_size=8)
    a, b = sweep_results.load_results(tmp_path / "a"), sweep_results.load_results(tmp_path / "b")
    assert [r["seed"] for r in a] == [0, 1] and [r["seed"] for r in b] == [2]
    path = sweep_results.plot_sweep({"NTM": a, "LSTM": b}, tmp_path / "both.png", title="two")
    assert _png(path)
    with pytest.raises(ValueError, match="out"):
        sweep_results.load_results(tmp_path)


def test_plot_of_the_validation_cost(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    figs = []
    monkeypatch.setattr(plt, "close", figs.append)
    # a curriculum: the training cost rises when the sequences get longer, the
    # validation cost (on the first settings' sequences) keeps falling
    run = dict(seed=0, curves=dict(val_sequences=[16, 32, 48], val_bit_errors=[60.0, 0.0, 0.0],
                                   val_cost=[90.0, 0.5, 0.25],
                                   sequences=[16, 32, 48], loss=[120.0, 2.0, 40.0]))
    sweep_results.plot_sweep([run], tmp_path / "v.png", cost="validation")
    sweep_results.plot_sweep([run], tmp_path / "t.png")
    (_, validation), (_, training) = (f.axes for f in figs)
    assert validation.get_ylabel() == "validation cost per sequence (bits)"
    assert training.get_ylabel() == "training cost per sequence (bits)"
    median = [ln for ln in validation.lines if ln.get_linewidth() == 2][0]
    assert list(median.get_ydata()) == [90.0, 0.5, 0.25]
    assert list(median.get_xdata()) == [0.016, 0.032, 0.048]
    with pytest.raises(ValueError, match="^cost"):
        sweep_results.plot_sweep([run], tmp_path / "x.png", cost="test")
    old = dict(run, curves={**run["curves"], "val_cost": [None, None, None]})
    with pytest.raises(ValueError, match="^cost: 'validation'.*seed 0"):
        sweep_results.plot_sweep([old], tmp_path / "y.png", cost="validation")
    assert not (tmp_path / "x.png").exists() and not (tmp_path / "y.png").exists()


def test_a_sweep_records_the_restarts_and_counts_them(tmp_path):
    # seed 0 restarts at update 2 (its validation is above 0 wrong bits); convergence is
    # of its last start, as train reports it
    with CountingExecutor() as ex:
        results = _sweep(tmp_path, [0], ex, restart_after=2, restart_above=0.0)
    direct = train(TrainConfig(**TINY, restart_after=2, restart_above=0.0), stream=False)
    assert direct.history["restart_step"] == [2]
    assert results[0]["restart_step"] == [2]
    assert results[0]["converged"] == direct.converged
    with open(tmp_path / "summary.csv") as f:
        rows = list(csv.DictReader(f))
    assert [row["restarts"] for row in rows] == ["1", "1.0", "1.0"]  # seed, median, worst
    assert "| restarts |" in (tmp_path / "summary.md").read_text().splitlines()[0]


def test_a_sweep_takes_the_workers_of_its_runs(tmp_path, monkeypatch):
    # each seed's run, with two processes per update on the sweep's own pool, is the run
    # train makes with the same workers, bit for bit
    results = sweep.run_sweep(TrainConfig(**TINY, workers=2), [1], str(tmp_path), jobs=1,
                              lengths=LENGTHS, sequences=4, stream=False, progress=False,
                              log_every=1)
    direct = train(TrainConfig(**TINY, workers=2, seed=1), stream=False)
    assert results[0]["curves"]["val_bit_errors"] == direct.history["val_bit_errors"]
    model = ntm_numpy.load(tmp_path / "seed_1" / "checkpoint.npz")
    for k, v in direct.model.params.items():
        np.testing.assert_array_equal(model.params[k], v)
    assert json.loads((tmp_path / "sweep.json").read_text())["workers"] == 2
    # by default as many runs at a time as the cores hold
    monkeypatch.setattr(sweep, "default_jobs", lambda: 4)
    seen = []
    monkeypatch.setattr(sweep, "_OwnPool", lambda jobs: seen.append(jobs) or 1 / 0)
    with pytest.raises(ZeroDivisionError):
        sweep.run_sweep(TrainConfig(**TINY, workers=2), [0, 1, 2], str(tmp_path / "b"),
                        lengths=LENGTHS, stream=False, progress=False)
    assert seen == [2]


def test_a_sweep_recorded_before_settings_existed_reads_them_as_their_defaults(tmp_path):
    with CountingExecutor() as ex:
        _sweep(tmp_path, [0], ex)
    path = tmp_path / "sweep.json"
    recorded = json.loads(path.read_text())
    assert recorded.pop("workers") == 1 and recorded.pop("restart_after") == 0
    path.write_text(json.dumps(recorded))
    with CountingExecutor() as ex:
        _sweep(tmp_path, [0, 1], ex)  # resumed: the same settings
    assert ex.seeds == [1]
    with pytest.raises(ValueError, match="workers: 1 there, 2 now"):
        with CountingExecutor() as ex:
            _sweep(tmp_path, [0, 1, 2], ex, workers=2)
    with pytest.raises(ValueError, match="restart_after: 0 there, 2 now"):
        with CountingExecutor() as ex:
            _sweep(tmp_path, [0, 1, 2], ex, restart_after=2)
