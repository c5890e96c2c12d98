"""Checkpoints written before the package was reorganised still load, evaluate and
resume. ``tests/data/run_from_0.1.0_at_update_2.npz`` was written by the code at commit
87c1a12 (its header holds the flat configuration with ``steps`` and ``step``)::

    from ntm_numpy.train import train      # at 87c1a12
    train(steps=6, out_dir="run", log_every=2, task="copy", step="fused", batch_size=2,
          controller_size=6, memory_rows=8, memory_width=4, eval_every=2,
          checkpoint_every=2, seed=7, task_settings={"max_length": 3})

keeping the checkpoint of update 2. That code, run to the end, ended with the parameters
whose digest is :data:`OLD_CODE_FINAL_DIGEST`, kept in
``tests/data/run_from_0.1.0_final_params.npz`` (the same call at 87c1a12, with OpenBLAS's
Haswell kernels, then ``np.savez(path, **result.model.params)``). A resume here must end
there too: bit for bit until the fused step's rounding changed (fdd122f), within
rounding since (about 1e-9 on these float32 parameters, which move by about 2e-3 over
the four updates: a resume that lost the optimiser's state or the batches' stream
would end that far off).
"""
import shutil
import warnings
from pathlib import Path

import numpy as np

import ntm_numpy
from ntm_numpy.training import evaluate, train

from test_same_results import params_digest

OLD = Path(__file__).parent / "data" / "run_from_0.1.0_at_update_2.npz"
OLD_FINAL = Path(__file__).parent / "data" / "run_from_0.1.0_final_params.npz"
OLD_CODE_FINAL_DIGEST = "923008cead5a21f68d74bc5e3cf56ed66e9c05d1da616762ecbe9dabe3bd2389"


def test_an_old_checkpoint_loads_and_evaluates_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # old names in a header are mapped silently
        model, ckpt = ntm_numpy.load(OLD, return_checkpoint=True)
        scores = evaluate(model, "copy", [2, 3], sequences=4)
    assert ckpt.meta["step"] == 2 and "steps" in ckpt.meta["train_config"]
    assert set(scores) == {2, 3} and all(np.isfinite(v) for v in scores.values())


def test_an_old_checkpoint_resumes_to_the_parameters_the_old_code_reached(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(OLD, run / "checkpoint.npz")
    result = train(resume=run / "checkpoint.npz", out_dir=run, log_every=2, stream=False)
    assert result.step == 6 and result.config.updates == 6
    assert result.config.implementation == "fused"
    with np.load(OLD_FINAL) as f:
        old_final = {name: f[name] for name in f.files}
    assert params_digest(old_final) == OLD_CODE_FINAL_DIGEST  # what the old code reached
    assert sorted(result.model.params) == sorted(old_final)
    for name, value in old_final.items():
        np.testing.assert_allclose(result.model.params[name], value, rtol=0, atol=1e-6,
                                   err_msg=name)
