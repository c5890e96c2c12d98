"""Tests of the capstone: ``ntm_numpy.course.capstone`` and ``notebooks/08_capstone_bptt.ipynb``.

(a) ``first_divergence`` finds the latest step and the first key where two lists of
    carried gradients differ;
(b) ``check_model`` passes the reference solutions (``tests/exercise_solutions.py``),
    and for a wrong op names the op, the first carried gradient that goes wrong and its
    time step; blanks are "not implemented"; the package's own functions are refused;
(c) the notebook runs three ways: blank (every check says "not implemented yet" and the
    training is skipped), with the reference solutions injected (it trains to below one
    bit error per sequence on lengths 1-4), and with one wrong solution (it names it).
"""
import copy
import os
import re
from pathlib import Path

import numpy as np
import pytest

from ntm_numpy import memory
from ntm_numpy.course import capstone
from ntm_numpy.course.capstone import CARRIED, OPS, check_model, first_divergence

import exercise_solutions as sol
from support import TEST_KERNEL

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "08_capstone_bptt.ipynb"


# ----------------------------------------------------------------------------------------
# (a), (b) the checker
# ----------------------------------------------------------------------------------------
def _carried(T=4, seed=0):
    rng = np.random.default_rng(seed)
    return [{k: rng.standard_normal((2, 3)) for k in CARRIED} for _ in range(T)]


def test_first_divergence_scans_from_the_last_step():
    ref = _carried()
    assert first_divergence(copy.deepcopy(ref), ref) is None
    wrong = copy.deepcopy(ref)
    wrong[1]["read"] *= 1.5
    wrong[2]["cell"] = wrong[2]["cell"] + 1e-3  # later in time: found first
    t, key, err = first_divergence(wrong, ref)
    assert (t, key) == (2, "cell") and err > 1e-7
    wrong[2]["memory"] = -wrong[2]["memory"]  # same step, earlier key
    assert first_divergence(wrong, ref)[:2] == (2, "memory")
    wrong = copy.deepcopy(ref)
    wrong[0]["weighting"] = np.full((2, 3), np.nan)
    assert first_divergence(wrong, ref)[:2] == (0, "weighting")
    with pytest.raises(ValueError, match="carried"):
        first_divergence(ref[:2], ref)


def test_reference_solutions_pass_the_model_check():
    res = check_model(dict(sol.CAPSTONE_SOLUTIONS))
    assert res.passed and res.status == "pass", str(res)
    assert set(res.ops) == set(OPS) and all(s == "pass" for s, _ in res.ops.values())
    assert max(res.param_errors.values()) < 1e-10
    assert res.divergence is None and res.culprits == []
    assert str(res).endswith("Model gradient: PASS")


def write_da_halved(dnew_memory, cache):
    # self-contained (only np): the notebook test injects it into an exercise cell
    memory, w, e, a, keep = cache
    G = dnew_memory
    dmemory = G * keep
    dw = np.einsum("bnm,bm->bn", G, a) - np.einsum("bnm,bnm,bm->bn", G, memory, e)
    de = -np.einsum("bnm,bnm,bn->bm", G, memory, w)
    da = 0.5 * np.einsum("bnm,bn->bm", G, w)  # the bug: a factor 1/2
    return dmemory, dw, de, da


def interpolation_no_prev(dw_g, cache):
    """Forgets the path into the previous weighting: dL/dw_{t-1} is lost."""
    dw_c, dw_prev, dg = sol.interpolation_backward(dw_g, cache)
    return dw_c, np.zeros_like(dw_prev), dg


def lstm_no_carousel(dout, cache):
    dz, dc_prev = sol.lstm_gates_backward(dout, cache)
    return dz, np.zeros_like(dc_prev)


@pytest.mark.parametrize("op, wrong, key", [
    ("write_backward", write_da_halved, "read"),
    ("interpolation_backward", interpolation_no_prev, "weighting"),
    ("lstm_gates_backward", lstm_no_carousel, "cell"),
])
def test_a_wrong_op_is_named_with_the_carried_gradient_and_step(op, wrong, key):
    ops = dict(sol.CAPSTONE_SOLUTIONS, **{op: wrong})
    res = check_model(ops)
    assert res.status == "fail" and not res.passed
    assert res.culprits == [op], str(res)
    t, got_key, err = res.divergence
    assert got_key == key and err > 1e-6, str(res)
    # independently: the package's model with only this op replaced differs first there
    x, dlogits = capstone._sequence(0)
    ref = capstone.tiny_model()
    mine = capstone.tiny_model({op: wrong})
    carried = [m.backward(dlogits, m.forward(x)[1], return_carried=True)[1] for m in (mine, ref)]
    T = x.shape[0]
    for s in range(T - 1, t, -1):  # every later step agrees
        for k in CARRIED:
            assert np.allclose(carried[0][s][k], carried[1][s][k], rtol=1e-9, atol=1e-12)
    assert not np.allclose(carried[0][t][key], carried[1][t][key], rtol=1e-6, atol=1e-9)
    text = str(res)
    assert f"the first carried gradient that goes wrong: '{key}'" in text
    assert f"at t = {t} (of 0..{T - 1}" in text
    assert f"the op that makes it wrong: {op}" in text
    assert text.endswith("Model gradient: FAIL")


def test_blank_and_partial_ops():
    def blank(*args):
        raise NotImplementedError

    res = check_model({op: blank for op in OPS})
    assert res.status == "not implemented" and res.blank == list(OPS)
    assert "Model gradient: not implemented yet" in str(res)
    partial = dict(sol.CAPSTONE_SOLUTIONS, shift_backward=blank)
    res = check_model(partial)
    assert res.status == "not implemented" and res.blank == ["shift_backward"]
    assert res.divergence is None  # the others were checked, with the package's shift
    assert "not implemented yet: shift_backward (the package's ops stand in" in str(res)


def test_the_package_functions_are_refused():
    ops = dict(sol.CAPSTONE_SOLUTIONS, read_backward=memory.read_backward)
    res = check_model(ops)
    assert res.status == "fail" and res.ops["read_backward"][0] == "refused"
    assert "calls the package's own memory.read_backward" in str(res)

    def lstm(dout, cache):
        return capstone.controller.lstm_gates_backward(dout, cache)

    status, text = capstone.check_op("lstm_gates_backward", lstm)
    assert status == "refused" and "controller.lstm_gates_backward" in text


def test_check_model_argument_errors():
    with pytest.raises(ValueError, match="unknown op names"):
        check_model({"cosine_backward": sol.read_backward})
    with pytest.raises(TypeError, match="ops"):
        check_model([sol.read_backward])
    with pytest.raises(ValueError, match="name"):
        capstone.check_op("nope", sol.read_backward)


# ----------------------------------------------------------------------------------------
# (c) the notebook, three ways
# ----------------------------------------------------------------------------------------
nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")


def _run(nb):
    nb = copy.deepcopy(nb)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MPLBACKEND", "Agg")
        mp.setenv("PYTHONPATH", os.pathsep.join(
            [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
        nbclient.NotebookClient(nb, timeout=240, kernel_name=TEST_KERNEL, resources={
            "metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    return nb


def _text(nb, tag):
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                   and tag in c.metadata.get("tags", []) for o in c.outputs)


def _images(nb):
    return sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code"
               for o in c.outputs)


def _with(nb, **replace):
    nb = copy.deepcopy(nb)
    for c in nb.cells:
        tags = c.metadata.get("tags", [])
        if tags[:1] == ["exercise"]:
            c.source = sol.capstone_cell(tags[1], replace.get(tags[1]))
    return nb


@pytest.fixture(scope="module")
def blank_nb():
    return nbformat.read(NOTEBOOK, as_version=4)


def test_capstone_shipped_blank(blank_nb):
    nbformat.validate(blank_nb)
    ex = [c for c in blank_nb.cells if c.metadata.get("tags", [""])[0] == "exercise"]
    assert [c.metadata["tags"][1] for c in ex] == list(OPS)
    for c in ex:
        assert c.source.rstrip().endswith("raise NotImplementedError")
    assert all(not c.get("outputs") for c in blank_nb.cells if c.cell_type == "code")


def test_capstone_blank_says_not_implemented(blank_nb):
    nb = _run(blank_nb)
    model = _text(nb, "model-check")
    assert "Model gradient: not implemented yet" in model
    for op in OPS:
        assert f"{op}: not implemented yet" in _text(nb, "check") + model
    assert "Training skipped" in _text(nb, "train")
    assert _images(nb) >= 1


def test_capstone_with_reference_solutions_trains(blank_nb):
    nb = _run(_with(blank_nb))
    assert "Model gradient: PASS" in _text(nb, "model-check")
    out = _text(nb, "train")
    mean = float(re.search(r"mean over lengths 1-4: ([0-9.]+)", out).group(1))
    assert mean < 1.0, out  # below one bit error per sequence on lengths 1-4
    assert _images(nb) >= 2


def test_capstone_with_a_wrong_solution_names_it(blank_nb):
    nb = _run(_with(blank_nb, write_backward=write_da_halved))
    model = _text(nb, "model-check")
    assert "the op that makes it wrong: write_backward" in model
    assert "the first carried gradient that goes wrong: 'read'" in model
    assert "Model gradient: FAIL" in model
    assert "write_backward: FAIL — gradient of 'a' is wrong" in _text(nb, "check")
    assert "Training skipped" in _text(nb, "train")
