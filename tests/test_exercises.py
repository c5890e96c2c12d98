"""Tests of the gradient-check exercises: ``ntm_numpy.course.exercises`` and the notebook
``notebooks/04_gradient_checking.ipynb``.

(a) every reference solution (``tests/exercise_solutions.py``) passes ``check``;
(b) deliberately wrong solutions are caught, naming the wrong input, and malformed
    answers (wrong count, shape, None, NaN, exceptions, not implemented) get clear
    messages instead of tracebacks;
(c) the notebook as shipped (blanks) executes top to bottom, each check reporting
    "not implemented yet";
(d) with every ``# EXERCISE:`` cell replaced by its reference solution, the notebook
    executes and every check prints PASS; with one wrong solution it prints FAIL naming
    the input.
"""
import copy
import inspect
import os
import re
import tempfile
from pathlib import Path

import numpy as np
import pytest

from ntm_numpy.course import exercises as ex
from ntm_numpy.course.exercises import EXERCISES, ExerciseResult, check, describe

import exercise_solutions as sol
from support import TEST_KERNEL

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "04_gradient_checking.ipynb"


# ----------------------------------------------------------------------------------------
# (a) the reference solutions pass
# ----------------------------------------------------------------------------------------
def test_exercise_list():
    assert EXERCISES == (
        "interpolation", "read", "write", "cosine_similarity", "content_weighting",
        "shift", "sharpen", "lstm_step",
    )
    assert set(sol.SOLUTIONS) == set(EXERCISES)
    for name, func in sol.SOLUTIONS.items():
        assert func.__name__ == f"{name}_backward"


@pytest.mark.parametrize("name", EXERCISES)
def test_reference_solution_passes(name):
    res = check(name, sol.SOLUTIONS[name])
    assert isinstance(res, ExerciseResult)
    assert res.passed and res, str(res)
    assert res.status == "pass" and res.wrong_inputs == [] and res.problems == {}
    assert list(res.rel_errors) == list(ex.get_exercise(name).input_names)
    assert all(0 <= e < 1e-7 for e in res.rel_errors.values()), res.rel_errors
    n_edges = len(ex.get_exercise(name).edges)
    assert n_edges >= 1
    assert re.fullmatch(
        rf"{name}_backward: PASS \(max relative error [0-9.e+-]+; 3 random trials, "
        rf"{n_edges} edge cases\)", str(res)
    ), str(res)
    assert res.report() == str(res)


@pytest.mark.parametrize("name", EXERCISES)
def test_package_backward_is_refused_and_not_exposed(name):
    e = ex.get_exercise(name)
    assert not hasattr(e, "reference")
    package = ex.package_function(name, "backward")
    res = check(name, package, trials=1)
    assert res.status == "refused" and not res.passed
    module = package.__module__.replace("ntm_numpy.", "")
    assert str(res) == (f"{name}_backward: FAIL — refused — {name}_backward calls the "
                        f"package's own {module}.{name}_backward (or runs a copy of its "
                        "code); the exercise is to write it yourself")


@pytest.mark.parametrize("name", EXERCISES)
def test_solutions_are_self_contained_rederivations(name):
    func = sol.SOLUTIONS[name]
    src = inspect.getsource(func)
    # only numpy: the source must run as a notebook cell, and must not call the package
    assert set(inspect.getclosurevars(func).globals) <= {"np"}, src
    assert "ntm_numpy" not in src and "_backward(" not in src.split("\n", 1)[1]
    cell = sol.solution_cell(name)
    assert cell.startswith(f"# EXERCISE: {name}_backward\ndef {name}_backward(")


@pytest.mark.parametrize("name", EXERCISES)
def test_describe_and_cache_fields(name):
    e = ex.get_exercise(name)
    text = describe(name)
    assert text.startswith(f"{name}: ")
    for n, shape in e.inputs + e.outputs:
        assert f"{n} {shape}" in text
    assert f"{name}_backward(" in text and e.forward.__name__ in text
    # the documented cache fields are those of the forward's real cache
    out, cache = e.forward(*ex.make_inputs(name))
    assert type(cache) is e.cache_type
    assert e.cache.startswith(e.cache_type.__name__ + "(")
    for field in cache._fields:
        assert re.search(rf"\b{field}\b", e.cache), (field, e.cache)
    for sub in cache:
        if isinstance(sub, tuple):  # nested caches: ContentCache.cosine, LSTMStepCache.gates
            for field in sub._fields:
                assert re.search(rf"\b{field}\b", e.cache), (field, e.cache)


def test_get_exercise_and_argument_errors():
    assert ex.get_exercise("read_backward").name == "read"
    with pytest.raises(ValueError, match="expected one of 'interpolation', 'read', 'write'"):
        check("reed", sol.read_backward)
    with pytest.raises(ValueError, match="expected one of"):
        describe(3)
    with pytest.raises(TypeError, match="expected a function"):
        check("read", None)
    with pytest.raises(ValueError, match="trials"):
        check("read", sol.read_backward, trials=0)
    with pytest.raises(ValueError, match="upstream"):
        check("read", sol.read_backward, upstream="zeros")


def test_inputs_are_valid():
    for name in EXERCISES:
        e = ex.get_exercise(name)
        for case in range(len(e.cases)):
            xs = ex.make_inputs(name, seed=case, case=case)
            assert all(x.dtype == np.float64 for x in xs)
            d = dict(zip(e.input_names, xs))
            for k in ("w", "w_c", "w_prev", "w_g", "s"):
                if k in d:
                    assert np.all(d[k] > 0) and np.allclose(d[k].sum(axis=1), 1.0)
            if "beta" in d:
                assert np.all(d["beta"] > 0)
            if "g" in d and name == "interpolation":
                assert np.all((d["g"] > 0) & (d["g"] < 1))
            if "gamma" in d:
                assert np.all(d["gamma"] >= 1)
            if "e" in d:
                assert np.all((d["e"] > 0) & (d["e"] < 1))
    shift_cases = ex.get_exercise("shift").cases
    assert all(c["S"] % 2 == 1 for c in shift_cases)
    assert any(c["S"] > c["N"] for c in shift_cases)


def test_check_is_deterministic_and_seeded():
    a = check("content_weighting", sol.content_weighting_backward, seed=5)
    b = check("content_weighting", sol.content_weighting_backward, seed=5)
    c = check("content_weighting", sol.content_weighting_backward, seed=6)
    assert a.rel_errors == b.rel_errors
    assert a.rel_errors != c.rel_errors and c.passed


# ----------------------------------------------------------------------------------------
# (b) wrong solutions are caught, and the wrong input is named
# ----------------------------------------------------------------------------------------
def read_wrong_sign(dr, cache):
    dmemory, dw = sol.read_backward(dr, cache)
    return dmemory, -dw


def write_no_erase_in_dw(dnew_memory, cache):
    memory, w, e, a, keep = cache
    dmemory, _, de, da = sol.write_backward(dnew_memory, cache)
    dw = np.einsum("bnm,bm->bn", dnew_memory, a)  # forgot - sum_m dnew * memory * e
    return dmemory, dw, de, da


def cosine_key_norm_constant(dK, cache):
    memory, key, mem_norm, key_norm, K = cache
    dmemory, _ = sol.cosine_similarity_backward(dK, cache)
    dkey = np.einsum("bn,bnm->bm", dK / (mem_norm * key_norm), memory)  # forgot |k|'s term
    return dmemory, dkey


def content_dbeta_before_softmax(dw_c, cache):
    cos_cache, beta, w = cache
    dmemory, dkey, _ = sol.content_weighting_backward(dw_c, cache)
    dbeta = np.sum(dw_c * cos_cache.K, axis=1, keepdims=True)  # skipped the softmax
    return dmemory, dkey, dbeta


def interpolation_dg_not_summed(dw_g, cache):
    w_c, w_prev, g = cache
    dw_c, dw_prev, _ = sol.interpolation_backward(dw_g, cache)
    return dw_c, dw_prev, dw_g * (w_c - w_prev)  # (B, N): forgot to sum over rows


def shift_forward_offsets(dw_s, cache):
    gathered, s, back_index = cache
    B, N, S = gathered.shape
    w_g = gathered[:, :, S // 2]
    dw_g = np.zeros_like(dw_s)
    ds = np.zeros_like(s)
    for j in range(S):
        o = j - S // 2
        ds[:, j] = np.sum(dw_s * np.roll(w_g, o, axis=1), axis=1)
        dw_g += s[:, j : j + 1] * np.roll(dw_s, o, axis=1)  # should be -o
    return dw_g, ds


def shift_kernel_overwrites(dw_s, cache):
    """Right when S <= N; with S > N two offsets share a row and '=' drops one."""
    gathered, s, back_index = cache
    B, N, S = gathered.shape
    kernel = np.zeros((B, N))
    for j in range(S):
        kernel[:, (j - S // 2) % N] = s[:, j]  # should be +=
    dw_g = np.zeros_like(dw_s)
    for k in range(N):
        dw_g += kernel[:, k : k + 1] * np.roll(dw_s, -k, axis=1)
    ds = np.einsum("bn,bns->bs", dw_s, gathered)
    return dw_g, ds


def sharpen_no_log_term(dout, cache):
    # self-contained (only np): the notebook test injects it into an exercise cell
    w, gamma, scale, scaled, powered, total, out = cache
    dp = (dout - np.sum(dout * out, axis=1, keepdims=True)) / total
    dw = dp * gamma * scaled ** (gamma - 1.0) / scale
    return dw, np.sum(dp * powered, axis=1, keepdims=True)  # forgot * log(scaled)


def lstm_no_forget_gate_in_dc_prev(dout, cache):
    dh, dc = dout
    x, h_prev, Wx, Wh, gates = cache
    c_prev, i, f, o, g, tanh_c = gates
    grads = list(sol.lstm_step_backward(dout, cache))
    grads[2] = dc + dh * o * (1.0 - tanh_c**2)  # forgot the factor f
    return tuple(grads)


WRONG = [
    ("read", read_wrong_sign, ["w"]),
    ("write", write_no_erase_in_dw, ["w"]),
    ("cosine_similarity", cosine_key_norm_constant, ["key"]),
    ("content_weighting", content_dbeta_before_softmax, ["beta"]),
    ("shift", shift_forward_offsets, ["w_g"]),
    ("shift", ex.buggy_shift_backward, ["w_g"]),
    ("sharpen", sharpen_no_log_term, ["gamma"]),
    ("lstm_step", lstm_no_forget_gate_in_dc_prev, ["c_prev"]),
]


@pytest.mark.parametrize("name, wrong, bad", WRONG, ids=[w[1].__name__ for w in WRONG])
def test_wrong_solution_is_caught(name, wrong, bad):
    res = check(name, wrong)
    assert not res.passed and not res and res.status == "fail"
    assert res.wrong_inputs == bad, str(res)
    names = ex.get_exercise(name).input_names
    assert res.right_inputs == [n for n in names if n not in bad]
    assert res.rel_errors[bad[0]] > 1e-3
    text = str(res)
    right = ", ".join(f"'{n}'" for n in res.right_inputs)
    verb = "is" if len(res.right_inputs) == 1 else "are"
    assert text.startswith(
        f"{name}_backward: FAIL — gradient of '{bad[0]}' is wrong (relative error "
    ), text
    assert res.summary().endswith(f"); {right} {verb} right"), text


def test_report_wording_for_write():
    text = check("write", write_no_erase_in_dw).summary()
    assert re.fullmatch(
        r"write_backward: FAIL — gradient of 'w' is wrong \(relative error [0-9.e+-]+\); "
        r"'memory', 'e', 'a' are right",
        text,
    ), text


def test_several_wrong_inputs_are_all_named():
    def backward(dnew_memory, cache):
        dmemory, dw, de, da = sol.write_backward(dnew_memory, cache)
        return dmemory, -dw, 2 * de, da

    res = check("write", backward)
    assert res.wrong_inputs == ["w", "e"]
    assert "gradients of 'w', 'e' are wrong (relative errors " in str(res)
    assert res.summary().endswith("'memory', 'a' are right")


def test_wrong_shape_is_reported():
    res = check("interpolation", interpolation_dg_not_summed)
    assert res.wrong_inputs == ["g"] and np.isnan(res.rel_errors["g"])
    assert "gradient of 'g' has shape (2, 5), expected (2, 1) (the shape of g)" in str(res)
    assert res.summary().endswith("'w_c', 'w_prev' are right")


def test_failure_only_with_more_offsets_than_rows_names_the_case():
    res = check("shift", shift_kernel_overwrites)
    assert res.wrong_inputs == ["w_g"]
    assert "N=3, S=5 (S > N" in res.case and "trial 2 of 3" in res.case
    assert "first wrong with B=2, N=3, S=5" in str(res)
    assert check("shift", shift_kernel_overwrites, trials=1).passed  # S <= N only


def test_ones_upstream_hides_bugs_that_random_finds():
    assert check("shift", ex.buggy_shift_backward, upstream="ones").passed

    def lstm_swapped(dout, cache):  # mixes up dh and dc
        dh, dc = dout
        return sol.lstm_step_backward((dc, dh), cache)

    assert check("lstm_step", lstm_swapped, upstream="ones").passed
    assert not check("lstm_step", lstm_swapped).passed


def test_not_implemented():
    def blank(dr, cache):
        memory, w = cache
        ### YOUR CODE HERE ###
        raise NotImplementedError

    res = check("read", blank)
    assert not res.passed and res.status == "not implemented"
    assert str(res).startswith("read_backward: not implemented yet")
    assert res.wrong_inputs == [] and all(np.isnan(v) for v in res.rel_errors.values())


def test_wrong_number_of_gradients():
    res = check("write", lambda d, c: sol.write_backward(d, c)[:3])
    assert res.status == "error" and not res.passed
    assert str(res) == (
        "write_backward: FAIL — returned 3 gradients — expected a tuple of "
        "4 gradients (dmemory, dw, de, da)"
    )
    res = check("read", lambda d, c: sol.read_backward(d, c)[1])
    assert "returned a single array of shape (2, 5) — expected a tuple of 2" in str(res)
    res = check("read", lambda d, c: {"w": 0})
    assert "returned a dict" in str(res)


def test_missing_return():
    def backward(dr, cache):
        sol.read_backward(dr, cache)

    res = check("read", backward)
    assert res.status == "error"
    assert "returned None" in str(res) and "`return` missing" in str(res)


def test_none_and_nan_gradients():
    res = check("read", lambda d, c: (sol.read_backward(d, c)[0], None))
    assert res.wrong_inputs == ["w"] and "gradient of 'w' is None" in str(res)
    assert np.isnan(res.rel_errors["w"]) and res.rel_errors["memory"] < 1e-7

    def nan_memory(dr, cache):
        dmemory, dw = sol.read_backward(dr, cache)
        return np.full_like(dmemory, np.nan), dw

    res = check("read", nan_memory)
    assert res.wrong_inputs == ["memory"]
    assert "gradient of 'memory' contains NaN or inf (40 of 40 entries)" in str(res)
    assert res.summary().endswith("'w' is right")

    res = check("read", lambda d, c: (sol.read_backward(d, c)[0], "oops"))
    assert res.wrong_inputs == ["w"] and "is not a numeric array (got str)" in str(res)


def test_exception_in_student_code_is_reported_not_raised():
    def backward(dr, cache):
        memory, w = cache
        dmemory = w[:, :, None] * dr[:, None, :]
        dw = memory @ dr  # wrong: (B, N, M) @ (B, M) does not broadcast
        return dmemory, dw

    res = check("read", backward)
    assert res.status == "error" and not res.passed
    text = str(res)
    assert text.startswith("read_backward: FAIL — raised ValueError: ")
    assert "(line 4 of the function: dw = memory @ dr" in text
    assert "[with B=2, N=5, M=4, trial 1 of 3]" in text
    assert "\n" not in text and "Traceback" not in text


def test_student_mutating_its_arguments_does_not_corrupt_the_check():
    def backward(dr, cache):
        grads = sol.read_backward(dr, cache)
        dr *= 100.0
        cache.memory[...] = 0.0
        return grads

    assert check("read", backward).passed


def test_step_sweep_is_v_shaped():
    steps = np.logspace(-12, -2, 11)
    central = ex.step_sweep("content_weighting", steps)
    forward = ex.step_sweep("content_weighting", steps, scheme="forward")
    for name in ("memory", "key", "beta"):
        c, f = central[name], forward[name]
        k = int(np.argmin(c))
        assert 1e-8 <= steps[k] <= 1e-4  # minimum near eps ** (1/3)
        assert c[k] < 1e-8 and c[0] > 100 * c[k] and c[-1] > 100 * c[k]
        assert f[-1] > 10 * c[-1]  # O(h) vs O(h^2) at large h
    with pytest.raises(ValueError, match="scheme"):
        ex.step_sweep("read", steps, scheme="backward")


# ----------------------------------------------------------------------------------------
# (c), (d) the notebook
# ----------------------------------------------------------------------------------------
try:
    import nbclient
    import nbformat
except ImportError:  # pragma: no cover - the dev extras install both
    nbclient = nbformat = None


def _exercise_cells(nb):
    return {c.metadata["tags"][1]: c for c in nb.cells if "exercise" in c.metadata.get("tags", [])}


def _check_outputs(nb):
    """Exercise name -> the text printed by its check cell."""
    out = {}
    for c in nb.cells:
        tags = c.metadata.get("tags", [])
        if c.cell_type == "code" and "check" in tags:
            out[tags[1]] = "".join(o.get("text", "") for o in c.outputs if o.output_type == "stream")
    return out


def _errors(nb):
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
            if o.output_type == "error"]


def _run(nb, folder=None):
    """``nb`` executed in ``folder`` (default a new temporary folder: the notebook's last
    cell writes ``my_backward_ops.py`` where it runs, not into ``notebooks/``)."""
    nb = copy.deepcopy(nb)
    folder = tempfile.mkdtemp(prefix="nb04-") if folder is None else folder
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MPLBACKEND", "Agg")
        mp.setenv("PYTHONPATH", os.pathsep.join(
            [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        ))
        client = nbclient.NotebookClient(
            nb, timeout=120, kernel_name=TEST_KERNEL,
            resources={"metadata": {"path": str(folder)}},
        )
        client.execute()
    return nb


@pytest.fixture(scope="module")
def blank_nb():
    if nbformat is None:
        pytest.skip("needs nbformat and nbclient")
    return nbformat.read(NOTEBOOK, as_version=4)


def _with_solutions(nb, **replace):
    nb = copy.deepcopy(nb)
    for name, cell in _exercise_cells(nb).items():
        cell.source = sol.solution_cell(name, replace.get(name))
    return nb


def test_notebook_is_shipped_blank_and_well_formed(blank_nb):
    nbformat.validate(blank_nb)
    assert blank_nb.nbformat == 4
    assert blank_nb.metadata.kernelspec.name == "python3"
    code_cells = [c for c in blank_nb.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code_cells)
    cells = _exercise_cells(blank_nb)
    assert list(cells) == list(EXERCISES)
    for k, cell in enumerate(blank_nb.cells):
        tags = cell.metadata.get("tags", [])
        if "exercise" not in tags:
            # no model logic outside the exercise cells
            assert cell.cell_type == "markdown" or not re.search(r"^\s*def ", cell.source, re.M)
            continue
        name = tags[1]
        lines = cell.source.splitlines()
        assert tags == ["exercise", name]
        assert lines[0] == f"# EXERCISE: {name}_backward"
        assert re.fullmatch(rf"def {name}_backward\(\w+, cache\):", lines[1])
        assert lines[-2:] == ["    ### YOUR CODE HERE ###", "    raise NotImplementedError"]
        nxt = blank_nb.cells[k + 1]
        assert nxt.source == f'print(check("{name}", {name}_backward))'
        assert nxt.metadata["tags"] == ["check", name]
    # every exercise cell marker is tagged (tests find cells either way)
    marked = [c for c in code_cells if c.source.startswith("# EXERCISE:")]
    assert len(marked) == len(EXERCISES)
    text = "\n".join(c.source for c in blank_nb.cells if c.cell_type == "markdown")
    for eq in ("eq (2)", "eqs (3)-(4)", "eq (6)", "eq (5)", "eq (7)", "eq (8)", "eq (9)"):
        assert eq in text
    # tiered hints only: no derivation hints in the markdown
    assert "*Hints.*" not in text
    for formula in ("\\bar z_i = w_i", "\\frac{\\partial K_i}{\\partial u}",
                    "\\bar c = \\bar c_{\\text{next}}", "\\bar g = \\sum_i"):
        assert formula not in text, formula
    for name in EXERCISES:
        assert f'`print(hint("{name}", 1))`' in text
    # tagged for nbgrader: exercise cells are solution cells, check cells locked tests
    for name, cell in cells.items():
        assert cell.metadata["nbgrader"]["solution"] is True
        assert cell.metadata["nbgrader"]["grade_id"] == f"{name}_backward"
    assert "display(fig)" in "\n".join(c.source for c in code_cells)  # the figure is shown


def test_blank_notebook_executes_and_reports_not_implemented(blank_nb):
    nb = _run(blank_nb)
    assert _errors(nb) == []
    out = _check_outputs(nb)
    assert list(out) == list(EXERCISES)
    for name, text in out.items():
        assert text.startswith(f"{name}_backward: not implemented yet"), text
    # the demonstration of section 3 ran: the buggy shift passes with ones, fails otherwise
    demo = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                   for o in c.outputs)
    assert "check(upstream='ones'):   shift_backward: PASS" in demo
    # the step-sweep figure appears in the executed notebook
    assert any("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code"
               for o in c.outputs)
    assert "shift_backward: FAIL — gradient of 'w_g' is wrong" in demo


def test_notebook_with_solutions_passes_every_check(blank_nb, tmp_path):
    nb = _run(_with_solutions(blank_nb), tmp_path)
    assert _errors(nb) == []
    out = _check_outputs(nb)
    assert list(out) == list(EXERCISES)
    for name, text in out.items():
        assert text.startswith(f"{name}_backward: PASS (max relative error "), text
    # the last cell saved them for the capstone, which loads them back
    from ntm_numpy.course.capstone import NOTEBOOK_04_OPS, OPS_FILE, load_backward_ops

    saved = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    assert saved.startswith("Saved 8 of 8 backward passes to "), saved
    ops, report = load_backward_ops(tmp_path / OPS_FILE)
    assert sorted(ops) == sorted(NOTEBOOK_04_OPS) and "FAIL" not in report, report


def test_notebook_with_a_wrong_solution_reports_fail(blank_nb):
    nb = _run(_with_solutions(blank_nb, sharpen=sharpen_no_log_term))
    assert _errors(nb) == []
    out = _check_outputs(nb)
    assert out["sharpen"].startswith(
        "sharpen_backward: FAIL — gradient of 'gamma' is wrong (relative error "
    ), out["sharpen"]
    assert "'w' is right" in out["sharpen"]
    for name in EXERCISES:
        if name != "sharpen":
            assert "PASS" in out[name], out[name]


# ----------------------------------------------------------------------------------------
# (e) the stricter checker: edge cases, dtypes, diagnosis, refusal, forwards, hints
# ----------------------------------------------------------------------------------------
def sharpen_unguarded_log(dout, cache):
    """Right on strictly positive w; NaN where w has exact zeros (log 0)."""
    w, gamma, scale, scaled, powered, total, out = cache
    dp = (dout - np.sum(dout * out, axis=1, keepdims=True)) / total
    dw = dp * gamma * scaled ** (gamma - 1.0) / scale
    return dw, np.sum(dp * powered * np.log(scaled), axis=1, keepdims=True)


def cosine_unsmoothed_norm(dK, cache):
    """Uses the plain norm |u| in the second term: NaN at a zero memory row."""
    memory, key, mem_norm, key_norm, K = cache
    dmemory, dkey = sol.cosine_similarity_backward(dK, cache)
    plain = np.linalg.norm(memory, axis=2)
    u_hat = memory / plain[:, :, None]  # 0/0 at a zero row
    dmemory = (dK / (mem_norm * key_norm))[:, :, None] * key[:, None, :] \
        - (dK * K / mem_norm)[:, :, None] * u_hat / mem_norm[:, :, None] * plain[:, :, None]
    return dmemory, dkey


def interpolation_divides_by_g(dw_g, cache):
    """Recovers w_c from w_g: fine for 0 < g < 1, inf at g = 0."""
    w_c, w_prev, g = cache
    dw_c, dw_prev, _ = sol.interpolation_backward(dw_g, cache)
    w_g = g * w_c + (1 - g) * w_prev
    dg = np.sum(dw_g * (w_g - w_prev) / g, axis=1, keepdims=True)
    return dw_c, dw_prev, dg


def lstm_divides_by_c_prev(dout, cache):
    """Forms dc_prev as dc * (f c_prev) / c_prev: NaN on the first step (c_prev = 0)."""
    grads = list(sol.lstm_step_backward(dout, cache))
    c_prev = cache.gates.c_prev
    f = cache.gates.f
    grads[2] = grads[2] / f * (f * c_prev) / c_prev
    return tuple(grads)


EDGE_ONLY = [
    ("sharpen", sharpen_unguarded_log, "gamma", "exact zeros in w, gamma = 2"),
    ("cosine_similarity", cosine_unsmoothed_norm, "memory", "a zero memory row"),
    ("interpolation", interpolation_divides_by_g, "g", "g at exactly 0 and 1"),
    ("lstm_step", lstm_divides_by_c_prev, "c_prev", "the first step: h_prev = c_prev = 0"),
]


@pytest.mark.parametrize("name, wrong, bad, edge", EDGE_ONLY,
                         ids=[w[1].__name__ for w in EDGE_ONLY])
def test_edge_case_only_bugs_fail_and_name_the_edge(name, wrong, bad, edge):
    assert check(name, wrong, edges=False).passed  # right on generic inputs
    res = check(name, wrong)
    assert res.status == "fail" and bad in res.wrong_inputs, str(res)
    assert res.edge == edge
    assert f"(right on generic inputs, wrong on the edge case: {edge})" in str(res)


def test_sharpen_unguarded_log_is_nan_on_the_docs_example():
    # gradients.md's own example, [0, .5, .5, 0]
    from ntm_numpy.addressing import sharpen_forward
    _, cache = sharpen_forward(np.array([[0.0, 0.5, 0.5, 0.0]]), np.array([[2.0]]))
    with np.errstate(all="ignore"):
        _, dgamma = sharpen_unguarded_log(np.array([[1.0, -2.0, 0.5, 3.0]]), cache)
    assert np.isnan(dgamma).all()
    assert check("sharpen", sol.sharpen_backward).passed


@pytest.mark.parametrize("dtype, words", [
    (complex, "is complex (complex128)"), (np.int64, "has the integer dtype int64"),
    (object, "has dtype object"),
])
def test_non_real_float_gradients_are_wrong(dtype, words):
    def backward(dr, cache):
        dmemory, dw = sol.read_backward(dr, cache)
        return dmemory, dw.astype(dtype)

    res = check("read", backward)
    assert not res.passed and res.wrong_inputs == ["w"], str(res)
    assert f"gradient of 'w' {words}" in str(res)


def test_complex_gradient_with_zero_imaginary_part_is_still_wrong():
    res = check("interpolation", lambda d, c: tuple(
        np.asarray(x, dtype=complex) for x in sol.interpolation_backward(d, c)))
    assert res.wrong_inputs == ["w_c", "w_prev", "g"]


def test_known_shapes_are_diagnosed():
    rng = np.random.default_rng(0)
    n = rng.standard_normal((3, 5))
    assert "sign is flipped" in ex.known_shape(-n, n)
    assert "constant factor: about 0.5 " in ex.known_shape(0.5 * n, n)
    assert "rolled by +1 along axis 1" in ex.known_shape(np.roll(n, 1, axis=1), n)
    assert "rolled by -1 along axis 0" in ex.known_shape(np.roll(n, -1, axis=0), n)
    sq = rng.standard_normal((2, 4, 4))
    assert "transposed" in ex.known_shape(np.swapaxes(sq, 1, 2), sq)
    assert "transposed" in ex.known_shape(n.T, n)  # a shape mismatch
    assert ex.known_shape(n + rng.standard_normal(n.shape), n) == ""


def shift_rolled_wrong_way(dw_s, cache):
    gathered, s, back_index = cache
    dw_g, ds = sol.shift_backward(dw_s, cache)
    return np.roll(dw_g, 1, axis=1), ds


def test_failure_report_has_table_and_hint():
    res = check("read", read_wrong_sign)
    assert res.hints == {"w": "the sign is flipped (it equals minus the right gradient)"}
    lines = str(res).splitlines()
    assert lines[0] == res.summary()
    assert lines[1] == "  hint for dw: the sign is flipped (it equals minus the right gradient)"
    assert lines[2] == "  dw, the entries that differ most:"
    assert lines[3].split() == ["index", "analytic", "numerical", "difference"]
    # each row: index, analytic, numerical, difference; analytic == -numerical here
    row = lines[4].split(")")[1].split()
    a, num, diff = map(float, row)
    assert np.isclose(a, -num, rtol=1e-4) and np.isclose(diff, a - num, rtol=1e-2)
    assert lines[-1].strip() == "(10 of 10 entries differ)"
    res = check("interpolation", lambda d, c: (3 * sol.interpolation_backward(d, c)[0],
                                               *sol.interpolation_backward(d, c)[1:]))
    assert "constant factor: about 3 times" in res.hints["w_c"]


def test_rolled_by_one_is_diagnosed_in_a_check():
    res = check("shift", shift_rolled_wrong_way)
    assert res.wrong_inputs == ["w_g"]
    assert "rolled by +1 along axis 1" in res.hints["w_g"]


def test_refused_however_the_package_backward_is_reached():
    from ntm_numpy import addressing
    from ntm_numpy.addressing import shift_backward as imported

    def via_module(dw_s, cache):
        return addressing.shift_backward(dw_s, cache)

    def via_name(dw_s, cache):
        return imported(dw_s, cache)

    def helper(dw_s, cache):
        return imported(dw_s, cache)

    def via_helper(dw_s, cache):
        return helper(dw_s, cache)

    for func in (via_module, via_name, via_helper, imported):
        res = check("shift", func)
        assert res.status == "refused", (func, str(res))
        assert "calls the package's own addressing.shift_backward" in str(res)
    # the package function is restored afterwards
    assert addressing.shift_backward is imported
    # calling the package's backward of *another* exercise is allowed
    def content(dw_c, cache):
        cos_cache, beta, w = cache
        dz = w * (dw_c - np.sum(w * dw_c, axis=1, keepdims=True))
        dmemory, dkey = addressing.cosine_similarity_backward(dz * beta, cos_cache)
        return dmemory, dkey, np.sum(dz * cos_cache.K, axis=1, keepdims=True)

    assert check("content_weighting", content).passed


@pytest.mark.parametrize("name", EXERCISES)
def test_forward_exercises(name):
    res = ex.check_forward(name, sol.FORWARD_SOLUTIONS[name])
    assert res.passed, str(res)
    assert str(res).startswith(f"{name}_forward: PASS (max relative error ")
    package = ex.package_function(name, "forward")
    refused = ex.check_forward(name, lambda *a: package(*a)[0])
    assert refused.status == "refused" and "calls the package's own" in str(refused)


def test_forward_exercise_failures():
    def blank(w_g, s):
        raise NotImplementedError

    assert str(ex.check_forward("shift", blank)).startswith("shift_forward: not implemented")

    def wrong_direction(w_g, s):
        return sol.shift_forward(w_g, s[:, ::-1])

    res = ex.check_forward("shift", wrong_direction)
    assert res.status == "fail" and "w_s is wrong (relative error" in str(res)
    assert "yours" in str(res) and "package" in str(res)

    def with_cache(memory, w):
        return sol.read_forward(memory, w), None

    assert "no cache" in str(ex.check_forward("read", with_cache))

    def sharpen_no_scale(w, gamma):  # underflows nowhere here, but NaN at an all-zero max?
        p = w ** gamma
        return p / p.sum(axis=1, keepdims=True)

    assert ex.check_forward("sharpen", sharpen_no_scale).passed


@pytest.mark.parametrize("name", EXERCISES)
def test_hints_are_tiered_and_hold_no_code(name):
    h1, h2 = ex.hint(name, 1), ex.hint(name, 2)
    assert h1.startswith(f"{name}_backward, hint 1: Where to look:")
    assert h2.startswith(f"{name}_backward, hint 2: Shape of the answer:")
    for text in (h1, h2):
        # no gradient formulas (d<name> = ...) and no code
        assert not re.search(r"\bd\w+\s*=|\\bar|\bnp\.|\w\(.*\)\s*\*", text), text
    with pytest.raises(ValueError, match="level"):
        ex.hint(name, 3)


# ----------------------------------------------------------------------------------------
# (f) solutions written from docs/gradients.md pass, edge cases included
# ----------------------------------------------------------------------------------------
def _docs_read(dr, cache):
    memory, w = cache  # "Read, eq (2)"
    dmemory = w[:, :, None] * dr[:, None, :]
    dw = (memory @ dr[:, :, None])[:, :, 0]
    return dmemory, dw


def _docs_write(dnew, cache):
    memory, w, e, a, keep = cache  # "Write, eqs (3)-(4)"
    dmemory = dnew * keep
    dkeep = dnew * memory
    dw = (dnew @ a[:, :, None] - dkeep @ e[:, :, None])[:, :, 0]
    wrow = w[:, None, :]
    de = -(wrow @ dkeep)[:, 0, :]
    da = (wrow @ dnew)[:, 0, :]
    return dmemory, dw, de, da


def _docs_cosine(dK, cache):
    memory, key, mem_norm, key_norm, K = cache  # "Cosine similarity, eq (6)"
    ddot = dK / (mem_norm * key_norm)
    dKK = dK * K
    dmemory = ddot[:, :, None] * key[:, None, :] - (dKK / mem_norm**2)[:, :, None] * memory
    dkey = (ddot[:, None, :] @ memory)[:, 0, :] \
        - (dKK.sum(axis=1, keepdims=True) / key_norm**2) * key
    return dmemory, dkey


def _docs_content(dw, cache):
    cos_cache, beta, w = cache  # "Content weighting, eq (5)"
    dz = w * (dw - (dw * w).sum(axis=1, keepdims=True))
    dbeta = (dz * cos_cache.K).sum(axis=1, keepdims=True)
    dK = dz * beta
    return (*_docs_cosine(dK, cos_cache), dbeta)


def _docs_interpolation(dw_g, cache):
    w_c, w_prev, g = cache  # "Interpolation, eq (7)"
    return g * dw_g, (1.0 - g) * dw_g, (dw_g * (w_c - w_prev)).sum(axis=1, keepdims=True)


def _docs_shift(dw_s, cache):
    gathered, s, bwd = cache  # "Shift, eq (8)"
    ds = (dw_s[:, None, :] @ gathered)[:, 0, :]
    dw_g = (dw_s[:, bwd] @ s[:, :, None])[:, :, 0]
    return dw_g, ds


def _docs_sharpen(dout, cache):
    w, gamma, scale, scaled, powered, total, out = cache  # "Sharpening, eq (9)"
    dpowered = (dout - (dout * out).sum(axis=1, keepdims=True)) / total
    dw = dpowered * gamma * scaled ** (gamma - 1.0) / scale
    logu = np.log(np.where(scaled > 0, scaled, 1.0))
    dgamma = (dpowered * powered * logu).sum(axis=1, keepdims=True)
    return dw, dgamma


def _docs_lstm(dout, cache):
    dh, dc_out = dout  # "LSTM gates" and "The affine layer"
    x, h_prev, Wx, Wh, gates = cache
    c_prev, i, f, o, g, tanh_c = gates
    do = dh * tanh_c
    dc = dc_out + dh * o * (1.0 - tanh_c * tanh_c)
    df, di, dg, dc_prev = dc * c_prev, dc * g, dc * i, dc * f
    dz = np.concatenate([di * i * (1 - i), df * f * (1 - f), do * o * (1 - o),
                         dg * (1 - g * g)], axis=1)
    return dz @ Wx.T, dz @ Wh.T, dc_prev, x.T @ dz, h_prev.T @ dz, dz.sum(axis=0)


FROM_DOCS = {"read": _docs_read, "write": _docs_write, "cosine_similarity": _docs_cosine,
             "content_weighting": _docs_content, "interpolation": _docs_interpolation,
             "shift": _docs_shift, "sharpen": _docs_sharpen, "lstm_step": _docs_lstm}


@pytest.mark.parametrize("name", EXERCISES)
def test_solutions_written_from_the_docs_pass(name):
    res = check(name, FROM_DOCS[name])
    assert res.passed, str(res)
    assert res.edges == len(ex.get_exercise(name).edges) >= 1
