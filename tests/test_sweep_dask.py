"""A sweep's seeds on an existing distributed engine: a dask.distributed LocalCluster,
through ``client.get_executor()`` (the Python API) and ``ntm-numpy sweep --scheduler``."""
import numpy as np
import pytest

import ntm_numpy
from ntm_numpy.cli import main
from ntm_numpy.training import TrainConfig, train
from ntm_numpy.training.sweep import run_sweep

distributed = pytest.importorskip("distributed")

TINY = dict(task="copy", updates=4, batch_size=2, controller_size=8, memory_rows=8,
            memory_width=4, eval_every=2, task_settings={"max_length": 3})


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        yield client


def test_a_two_seed_sweep_runs_on_a_dask_cluster(client, tmp_path):
    results = run_sweep(TrainConfig(**TINY), [0, 1], str(tmp_path),
                        executor=client.get_executor(), lengths=[2, 3], sequences=4,
                        stream=False, progress=False)
    assert [r["seed"] for r in results] == [0, 1]
    for r in results:  # each seed is the run train makes with that seed, bit for bit
        direct = train(TrainConfig(**{**TINY, "seed": r["seed"]}), stream=False)
        model = ntm_numpy.load(tmp_path / f"seed_{r['seed']}" / "checkpoint.npz")
        for name, value in direct.model.params.items():
            np.testing.assert_array_equal(model.params[name], value)
    assert (tmp_path / "summary.md").exists()


def test_the_command_line_points_a_sweep_at_a_scheduler(client, tmp_path, capsys):
    argv = ["sweep", "copy", "--seeds", "0-1", "--scheduler", client.scheduler.address,
            "--out", str(tmp_path), "--lengths", "2", "--sequences", "4", "--updates", "4",
            "--batch-size", "2", "--controller-size", "8", "--memory-rows", "8",
            "--memory-width", "4", "--eval-every", "2"]
    assert main(argv) == 0
    assert "median" in capsys.readouterr().out  # the summary table
    assert (tmp_path / "summary.md").exists()
    assert sorted(p.name for p in tmp_path.glob("seed_*")) == ["seed_0", "seed_1"]


def test_an_unreachable_scheduler_is_a_message(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("ntm_numpy.cli.DASK_CONNECT_SECONDS", 2)
    argv = ["sweep", "copy", "--seeds", "0", "--scheduler", "tcp://127.0.0.1:9",
            "--out", str(tmp_path / "s"), "--updates", "2"]
    assert main(argv) == 2
    assert "--scheduler: cannot reach a dask scheduler at 'tcp://127.0.0.1:9'" in \
        capsys.readouterr().err
