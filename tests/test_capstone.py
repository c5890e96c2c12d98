"""Tests of the capstone: ``ntm_numpy.course.capstone``, ``.bptt``, ``.bptt_check``,
``.generalisation`` and ``notebooks/08_capstone_bptt.ipynb``.

(a) ``first_divergence`` finds the latest step and the first key where two lists of
    carried gradients differ;
(b) ``check_model`` with primitives only passes the reference solutions
    (``tests/exercise_solutions.py``), and for a wrong one names the op, the first carried
    gradient that goes wrong and its time step; blanks are "not implemented"; the
    package's own functions are refused;
(c) the student's backpropagation through time (``step_backward``, ``ntm_backward``):
    the package's functions with those signatures give ``NTM.backward``'s gradients and
    carried gradients; the check passes the reference solutions, and for the typical
    wrong ones (a dropped memory carry, no path into the previous weighting, ``=``
    instead of ``+=`` where a value feeds two consumers, a wrong LSTM cell carry, an
    off-by-one time index in the loop, a weight gradient not summed over the steps, a
    wrong primitive) its first line names the first carried gradient, the time step and
    the part that makes them differ; blanks, errors and the package's own step and loop
    are reported as such;
(d) notebook 04's last cell writes ``my_backward_ops.py`` and notebook 08 loads it
    (``save_backward_ops``, ``load_backward_ops``), or says which notebook writes it;
(e) the notebook runs three ways: blank (every check says "not implemented yet" and the
    training is skipped), with the reference solutions injected (the NTM trained on
    them copies 2 and 4 times the longest training length for at least 3 seeds, the
    LSTM baseline for none), and with one wrong step (the first line names it).
"""
import copy
import inspect
import os
import re
import textwrap
from pathlib import Path

import numpy as np
import pytest

from ntm_numpy import memory
from ntm_numpy.course import bptt, capstone
from ntm_numpy.course.capstone import (
    CARRIED,
    OPS,
    Carried,
    check_model,
    first_divergence,
    load_backward_ops,
    save_backward_ops,
)

import exercise_solutions as sol
from support import TEST_KERNEL, on_reference_machine

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "08_capstone_bptt.ipynb"
T_CHECK = 2 * capstone.CHECK_LENGTH + 1  # the checks' copy sequence: 9 steps


# ----------------------------------------------------------------------------------------
# (a), (b) the primitives in the package's model
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
    res = check_model(dict(sol.CAPSTONE_OPS))
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
    ops = dict(sol.CAPSTONE_OPS, **{op: wrong})
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
    partial = dict(sol.CAPSTONE_OPS, shift_backward=blank)
    res = check_model(partial)
    assert res.status == "not implemented" and res.blank == ["shift_backward"]
    assert res.divergence is None  # the others were checked, with the package's shift
    assert "not implemented yet: shift_backward (the package's ops stand in" in str(res)


def test_the_package_functions_are_refused():
    ops = dict(sol.CAPSTONE_OPS, read_backward=memory.read_backward)
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
    with pytest.raises(TypeError, match="step_backward"):
        check_model(step_backward="not a function")


# ----------------------------------------------------------------------------------------
# (c) the student's step and loop
# ----------------------------------------------------------------------------------------
def test_carried_is_what_ntm_backward_returns():
    assert Carried._fields == tuple(CARRIED)
    model = capstone.tiny_model()
    x, dlogits = capstone._sequence(0)
    _, cache = model.forward(x)
    grads, carried = model.backward(dlogits, cache, return_carried=True)
    # the package's step and loop with the student's signatures: the same gradients,
    # and each step receives exactly carried[t]
    received = {}

    def recording(step, c, m):
        received[[id(s) for s in cache.steps].index(id(step))] = c
        return bptt.package_step_backward(step, c, m)

    mine = bptt.package_ntm_backward(dlogits, cache, model, recording)
    assert set(mine) == set(grads)
    for k in grads:
        np.testing.assert_allclose(mine[k], grads[k], rtol=1e-12, atol=1e-14)
    assert sorted(received) == list(range(len(carried)))
    for t, c in received.items():
        assert isinstance(c, Carried)
        for k in CARRIED:
            np.testing.assert_allclose(getattr(c, k), carried[t][k], rtol=1e-12, atol=1e-14)
    zero = bptt.zero_carried(cache)
    assert all(not np.any(v) for v in zero) and zero.memory.shape == carried[0]["memory"].shape
    out = bptt.output_backward(dlogits, cache, model)
    T = len(cache.steps)
    np.testing.assert_allclose(out.read[T - 1], carried[T - 1]["read"])  # nothing after T-1
    np.testing.assert_allclose(out.controller[T - 1], carried[T - 1]["controller"])


def _sol_loop_and_step(**replace):
    return {**sol.CAPSTONE_OPS, "step_backward": sol.step_backward,
            "ntm_backward": sol.ntm_backward, **replace}


def test_reference_solutions_pass_the_bptt_check():
    res = check_model(_sol_loop_and_step())
    assert res.passed and res.status == "pass", str(res)
    first = str(res).splitlines()[0]
    assert first.startswith("PASS: your ntm_backward, your step_backward and your 8 primitives")
    assert max(res.param_errors.values()) < 1e-12
    assert all(e <= 1e-12 for row in res.received for e in row.values())
    assert str(res).endswith("Model gradient: PASS")
    # each alone, the package's around it; and the keyword spelling
    assert check_model({"step_backward": sol.step_backward}).passed
    assert check_model({"ntm_backward": sol.ntm_backward}).passed
    assert check_model(step_backward=sol.step_backward, ntm_backward=sol.ntm_backward,
                       seed=7).passed


def buggy(func, old, new):
    """``func`` (a reference solution) with one line changed, compiled in the solutions'
    namespace: a student's function with a typical bug."""
    src = textwrap.dedent(inspect.getsource(func))
    assert old in src, old
    namespace = dict(vars(sol))
    exec(compile(src.replace(old, new), f"<{func.__name__} with a bug>", "exec"), namespace)
    return namespace[func.__name__]


#: typical wrong steps: (what, the line changed, its wrong version, the carried gradient
#: and the time step the check must name first)
STEP_BUGS = [
    ("the memory carry dropped", "dmemory = carried.memory",
     "dmemory = np.zeros_like(carried.memory)", "memory", T_CHECK - 3),
    ("no path into the previous weighting", "dw_prev.reshape(K, B, N), dr_prev,",
     "np.zeros((K, B, N)), dr_prev,", "weighting", T_CHECK - 2),
    ("= instead of += where M_{t-1} feeds the writes and the reads",
     "dmemory = dmemory + dmem_read.reshape(R, B, N, M).sum(axis=0)",
     "dmemory = dmem_read.reshape(R, B, N, M).sum(axis=0)", "memory", T_CHECK - 3),
    ("the cell gradient passed on without the gates", "                   dc_prev)",
     "                   carried.cell)", "cell", T_CHECK - 2),
]


@pytest.mark.parametrize("what, old, new, key, t", STEP_BUGS, ids=[b[0] for b in STEP_BUGS])
def test_a_wrong_step_is_diagnosed(what, old, new, key, t):
    res = check_model(_sol_loop_and_step(step_backward=buggy(sol.step_backward, old, new)))
    assert res.status == "fail", str(res)
    first = str(res).splitlines()[0]
    assert first.startswith(f"FAIL: '{key}' ({CARRIED[key]}) is the first carried gradient "
                            f"that differs, at t = {t} (scanning from t = {T_CHECK - 1} down to 0")
    assert first.endswith("made by your step_backward."), first
    assert res.divergence[:2] == (t, key) and res.culprits == ["step_backward"]
    # every step after t received the package's gradients
    assert all(e <= 1e-10 for s in range(t + 1, T_CHECK) for e in res.received[s].values())
    # the step table: fed the package's gradients, step t+1 is the first to return a
    # wrong one
    rows = dict(res.step_rows)
    assert rows[t + 1][key] > 1e-6
    assert all(e <= 1e-10 for s in range(t + 2, T_CHECK) for e in rows[s].values())
    assert "your ntm_backward (the loop): agrees with the package's" in str(res)
    assert str(res).endswith("Model gradient: FAIL")


def test_a_wrong_lstm_cell_carry_is_named_first_where_it_enters():
    # the gradient arriving at c_t ignored: dz at t = T-2 is wrong, so is what it sends
    wrong = buggy(sol.step_backward, "((dh, carried.cell), step.controller)",
                  "((dh, np.zeros_like(carried.cell)), step.controller)")
    res = check_model(_sol_loop_and_step(step_backward=wrong))
    first = str(res).splitlines()[0]
    t = T_CHECK - 3
    assert first.startswith(f"FAIL: 'read' ({CARRIED['read']}) is the first carried gradient "
                            f"that differs, at t = {t}")
    assert "so do 'controller', 'cell' at that step" in first
    assert first.endswith("made by your step_backward.")
    rows = dict(res.step_rows)
    assert rows[T_CHECK - 1]["cell"] <= 1e-10 and rows[T_CHECK - 2]["dz"] > 1e-3


LOOP_BUGS = [
    ("an off-by-one time index", "out.read[t]", "out.read[t - 1]",
     f"FAIL: 'read' ({CARRIED['read']}) is the first carried gradient that differs, at "
     f"t = {T_CHECK - 1}"),
    ("a weight gradient not summed over the steps", 'grads["heads_W"] += cache.h[t].T @ draw',
     'grads["heads_W"] = cache.h[t].T @ draw',
     "FAIL: every carried gradient agrees with the package's, but the gradients of heads_W "
     "differ"),
    ("h_t for h_{t-1}", "cache.state[t][:, :H].T @ dz", "cache.state[t + 1][:, :H].T @ dz",
     "FAIL: every carried gradient agrees with the package's, but the gradients of "
     "controller_Wh differ"),
]


@pytest.mark.parametrize("what, old, new, start", LOOP_BUGS, ids=[b[0] for b in LOOP_BUGS])
def test_a_wrong_loop_is_diagnosed(what, old, new, start):
    wrong = buggy(sol.ntm_backward, old, new)
    for mine in (_sol_loop_and_step(ntm_backward=wrong), {"ntm_backward": wrong}):
        res = check_model(mine)
        first = str(res).splitlines()[0]
        assert first.startswith(start), first
        assert first.endswith("made by your ntm_backward (the loop)."), first
        assert res.culprits[:1] == ["ntm_backward"]


def test_a_wrong_primitive_is_named_by_the_bptt_check():
    res = check_model(_sol_loop_and_step(write_backward=write_da_halved))
    first = str(res).splitlines()[0]
    assert first.startswith(f"FAIL: 'read' ({CARRIED['read']}) is the first carried gradient")
    assert first.endswith("made by your write_backward."), first
    assert "write_backward: FAIL" in str(res)


def test_blank_errors_and_bad_returns_of_the_step_and_loop():
    def step_blank(step, carried, model):
        raise NotImplementedError

    res = check_model({"step_backward": step_blank})
    assert res.status == "not implemented"
    assert str(res).splitlines()[0].startswith("not implemented yet: step_backward")
    assert str(res).endswith("Model gradient: not implemented yet")

    def step_typo(step, carried, model):
        return model.ops["read_backward"](carried.read, step.read)  # (R, B, M) for (R*B, M)

    res = check_model({"step_backward": step_typo})
    first = str(res).splitlines()[0]
    assert res.status == "error" and first.startswith("FAIL: step_backward: raised")
    assert re.search(r"\(in step_backward, line \d+: return model\.ops\[", first), first

    def step_two(step, carried, model):
        return sol.step_backward(step, carried, model)[:2]

    res = check_model({"step_backward": step_two})
    assert "step_backward returned tuple" in str(res).splitlines()[0] or \
        "expected a tuple (back, dz, draw)" in str(res).splitlines()[0]

    def loop_list(dlogits, cache, model, step_backward):
        return [sol.ntm_backward(dlogits, cache, model, step_backward)]

    res = check_model({"ntm_backward": loop_list})
    assert "ntm_backward returned list; expected a dict" in str(res).splitlines()[0]


def test_a_loop_that_ignores_the_step_it_is_given_is_told():
    def loop_global_step(dlogits, cache, model, step_backward):
        return sol.ntm_backward(dlogits, cache, model, buggy(  # not the step it was given
            sol.step_backward, "dmemory = carried.memory",
            "dmemory = np.zeros_like(carried.memory)"))

    res = check_model(_sol_loop_and_step(ntm_backward=loop_global_step))
    assert "ntm_backward called step_backward 0 times" in str(res)
    assert "never called the step_backward it was given" in str(res)


@pytest.mark.parametrize("where", ["step", "loop"])
def test_the_package_step_and_loop_are_refused(where):
    from ntm_numpy import recurrence, reference_step

    def step_package(step, carried, model):
        return bptt.package_step_backward(step, carried, model)

    def step_reference(step, carried, model):
        d, p = step.dims, model.params
        B = step.memory.shape[0]
        draw, dz = np.empty((B, p["heads_W"].shape[1])), np.empty((B, 4 * d.H))
        out = reference_step.step_backward(carried.memory, carried.weighting, carried.read,
                                           carried.controller, carried.cell, p["heads_W"],
                                           step, d, draw, dz)
        return out

    def loop_model(dlogits, cache, model, step_backward):
        return model.backward(dlogits, cache)

    def loop_recurrence(dlogits, cache, model, step_backward):
        return recurrence.backward_loop(model._cell("reference", cache.recurrent_W), dlogits,
                                        cache.unrolled)

    cases = ({"step": [(step_package, "course.bptt.package_step_backward"),
                       (step_reference, "reference_step.step_backward")],
              "loop": [(loop_model, "model.NTM.backward"),
                       (loop_recurrence, "recurrence.backward_loop")]})[where]
    for fn, qualname in cases:
        res = check_model({f"{'step' if where == 'step' else 'ntm'}_backward": fn})
        first = str(res).splitlines()[0]
        assert res.status == "fail" and first.startswith("FAIL: refused"), first
        assert f"calls the package's own {qualname}" in first, first
    # the package's functions passed as the student's
    assert "refused" in str(check_model({"step_backward": bptt.package_step_backward}))
    assert "refused" in str(check_model({"ntm_backward": bptt.package_ntm_backward}))


# ----------------------------------------------------------------------------------------
# (d) the file notebook 04 writes and notebook 08 reads
# ----------------------------------------------------------------------------------------
STUDENT_04 = """\
import numpy as np
from exercise_solutions import (content_weighting_backward, cosine_similarity_backward,
                                interpolation_backward, lstm_step_backward, shift_backward,
                                write_backward)

SCALE = 1.0


def _scaled(x):
    return SCALE * x


def read_backward(dr, cache):
    memory, w = cache
    return _scaled(np.einsum("bn,bm->bnm", w, dr)), np.einsum("bnm,bm->bn", memory, dr)


def sharpen_backward(dout, cache):
    raise NotImplementedError
"""


def test_save_and_load_the_backward_ops(tmp_path):
    import importlib.util

    (tmp_path / "student_04.py").write_text(STUDENT_04)
    spec = importlib.util.spec_from_file_location("student_04", tmp_path / "student_04.py")
    student = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(student)
    path = tmp_path / "my_backward_ops.py"
    report = save_backward_ops(vars(student), path)
    assert report.startswith(f"Saved 8 of 8 backward passes to {path.resolve()}, with your "
                             "helpers _scaled."), report
    assert "Still blank (notebook 08 uses the package's in their place): sharpen_backward" \
        in report
    text = path.read_text()
    assert text.startswith("# my_backward_ops.py: your backward passes of notebook 04")
    assert "import numpy as np" in text and "SCALE = 1.0" in text
    assert "def _scaled(x):" in text and "def shift_backward(dw_s, cache):" in text
    ops, report = load_backward_ops(path)
    assert sorted(ops) == sorted(set(capstone.NOTEBOOK_04_OPS) - {"sharpen_backward"})
    assert "sharpen_backward: still blank in notebook 04" in report
    for name in ops:
        assert f"{name}: PASS" in report, report
    # the functions of the reference solutions' module, saved and loaded back
    save_backward_ops(vars(sol), path)
    ops, report = load_backward_ops(path)
    assert sorted(ops) == sorted(capstone.NOTEBOOK_04_OPS) and "FAIL" not in report
    # a missing file says which notebook writes it; a broken one says to write it again
    ops, text = load_backward_ops(tmp_path / "nowhere.py")
    assert ops == {} and "Notebook 04 (04_gradient_checking.ipynb) writes it" in text
    (tmp_path / "broken.py").write_text("def read_backward(:\n")
    ops, text = load_backward_ops(tmp_path / "broken.py")
    assert ops == {} and "could not be imported (SyntaxError" in text


def test_training_on_the_students_gradients_and_the_comparison():
    from matplotlib.figure import Figure

    from ntm_numpy.course import generalisation

    # the student's loop, step and ops train the same model as the package's backward
    mine, _ = generalisation.train_copy(dict(sol.CAPSTONE_OPS), step_backward=sol.step_backward,
                                        ntm_backward=sol.ntm_backward, steps=5, seed=1)
    package, history = generalisation.train_copy(steps=5, seed=1, log_every=5)
    for k, v in package.params.items():
        np.testing.assert_allclose(mine.params[k], v, rtol=1e-9, atol=1e-12)
    assert history["step"] == [5] and len(history["loss"]) == 1

    def blank(*args):
        raise NotImplementedError

    ops = dict(sol.CAPSTONE_OPS, shift_backward=blank)  # a blank op: the package's runs
    res = generalisation.compare(ops, step_backward=sol.step_backward,
                                 ntm_backward=sol.ntm_backward, seeds=(0, 1), steps=3)
    L0, L = capstone.CAPSTONE["task"]["min_length"], capstone.CAPSTONE["task"]["max_length"]
    assert res.lengths == list(range(L0, L + 1)) + [2 * L, 4 * L]
    assert res.ntm.shape == res.lstm.shape == (2, len(res.lengths))
    assert res.stand_ins == ["shift_backward"] and len(res.models) == 2
    assert abs(res.lstm_params - res.ntm_params) / res.ntm_params < 0.05
    text = res.summary()
    assert "The package's shift_backward stood in for yours." in text
    assert re.search(r"^NTM: \d of 2 seeds get fewer than 2% of the bits wrong", text, re.M)
    assert re.search(r"^  LSTM seed 1: ", text, re.M)
    assert isinstance(generalisation.plot_comparison(res), Figure)
    counts = res.counts()
    assert counts == {"ntm": int(res.generalises(res.ntm).sum()),
                      "lstm": int(res.generalises(res.lstm).sum())}


# ----------------------------------------------------------------------------------------
# (e) the notebook, three ways
# ----------------------------------------------------------------------------------------
nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")


def _run(nb, folder):
    nb = copy.deepcopy(nb)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MPLBACKEND", "Agg")
        mp.setenv("PYTHONPATH", os.pathsep.join(
            [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
        nbclient.NotebookClient(nb, timeout=300, kernel_name=TEST_KERNEL, resources={
            "metadata": {"path": str(folder)}}).execute()
    return nb


def _text(nb, tag):
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                   and tag in c.metadata.get("tags", []) for o in c.outputs)


def _cell_text(nb, cell_id):
    return "".join(o.get("text", "") for c in nb.cells if c.get("id") == cell_id
                   for o in c.outputs)


def _images(nb):
    return sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code"
               for o in c.outputs)


EXERCISES_08 = ["lstm_gates_backward", "head_params_backward", "step_backward", "ntm_backward"]


def _with(nb, **replace):
    nb = copy.deepcopy(nb)
    for c in nb.cells:
        tags = c.metadata.get("tags", [])
        if tags[:1] == ["exercise"]:
            c.source = sol.capstone_cell(tags[1], replace.get(tags[1]))
    return nb


def _ops_file(folder):
    save_backward_ops(vars(sol), folder / capstone.OPS_FILE)


@pytest.fixture(scope="module")
def blank_nb():
    return nbformat.read(NOTEBOOK, as_version=4)


def test_capstone_shipped_blank(blank_nb):
    nbformat.validate(blank_nb)
    ex = [c for c in blank_nb.cells if c.metadata.get("tags", [""])[0] == "exercise"]
    assert [c.metadata["tags"][1] for c in ex] == EXERCISES_08
    for c in ex:
        assert c.source.rstrip().endswith("raise NotImplementedError")
    assert all(not c.get("outputs") for c in blank_nb.cells if c.cell_type == "code")
    text = "\n".join(c.source for c in blank_nb.cells if c.cell_type == "markdown")
    for documented in ("step_backward(step, carried, model) -> (back, dz, draw)",
                       "ntm_backward(dlogits, cache, model, step_backward) -> grads",
                       "Carried(memory, weighting, read, controller,", "output_backward(",
                       "zero_carried(cache)", "head_map_gradient(", "initial_state_gradients(",
                       "NTM.backward", "ntm_numpy.recurrence.backward_loop",
                       "NTMCell.step_backward", "ntm_numpy.reference_step.step_backward"):
        assert documented in text, documented


def test_capstone_blank_says_not_implemented(blank_nb, tmp_path):
    nb = _run(blank_nb, tmp_path)  # no my_backward_ops.py in this folder
    load = _cell_text(nb, "08-load")
    assert "my_backward_ops.py is not in this folder" in load
    assert "Notebook 04 (04_gradient_checking.ipynb) writes it" in load
    checks = _text(nb, "check")
    for op in ("lstm_gates_backward", "head_params_backward"):
        assert f"{op}: not implemented yet" in checks
    assert "not implemented yet: step_backward" in checks
    assert "not implemented yet: ntm_backward" in checks
    assert "Model gradient: not implemented yet" in _text(nb, "model-check")
    assert "Training skipped" in _text(nb, "train")
    assert _images(nb) >= 1


def test_capstone_with_reference_solutions_trains(blank_nb, tmp_path):
    _ops_file(tmp_path)
    nb = _run(_with(blank_nb), tmp_path)
    assert "read_backward: PASS" in _cell_text(nb, "08-load")
    for tag in ("check", "model-check"):
        assert "FAIL" not in _text(nb, tag) and "not implemented" not in _text(nb, tag)
    assert _text(nb, "model-check").splitlines()[0].startswith(
        "PASS: your ntm_backward, your step_backward and your 8 primitives")
    out = _text(nb, "train")
    L = capstone.CAPSTONE["task"]["max_length"]
    S = len(capstone.CAPSTONE["compare"]["seeds"])
    ntm = int(re.search(rf"^NTM: (\d+) of {S} seeds get fewer than 2% of the bits wrong at "
                        rf"every length up to {4 * L};", out, re.M).group(1))
    lstm = int(re.search(rf"^LSTM: (\d+) of {S} seeds", out, re.M).group(1))
    if on_reference_machine():  # the seeds' figures, as measured (support.REFERENCE_MACHINE)
        assert ntm >= 3 and lstm == 0, out
    assert ntm >= 1 and lstm == 0, out  # anywhere: memory helps, the LSTM never gets there
    assert _images(nb) >= 3  # section 1's heat maps, the comparison, the trained heat maps


def test_capstone_with_a_wrong_step_names_it(blank_nb, tmp_path):
    _ops_file(tmp_path)
    wrong = buggy(sol.step_backward, *STEP_BUGS[0][1:3])
    wrong_src = textwrap.dedent(inspect.getsource(sol.step_backward)).replace(
        *STEP_BUGS[0][1:3])
    nb = _with(blank_nb)
    cell = next(c for c in nb.cells if c.metadata.get("tags") == ["exercise", "step_backward"])
    cell.source = "# EXERCISE: step_backward\n" + wrong_src
    assert callable(wrong)
    nb = _run(nb, tmp_path)
    model = _text(nb, "model-check")
    first = model.splitlines()[0]
    assert first.startswith(f"FAIL: 'memory' ({CARRIED['memory']}) is the first carried "
                            f"gradient that differs, at t = {T_CHECK - 3}")
    assert first.endswith("made by your step_backward.")
    assert "Model gradient: FAIL" in model
    assert "ntm_backward" in _text(nb, "check") and "Training skipped" in _text(nb, "train")
