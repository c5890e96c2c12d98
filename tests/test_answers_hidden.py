"""Answers stay hidden in the student edition (issue 28, item 5).

Each leak a tester found is a test here:

* the checkers refuse the package's own function however a solution reaches it: a clone
  (``types.FunctionType(f.__code__, f.__globals__)``), a copy exec'd from
  ``inspect.getsource`` (renamed, in another module), ``DEFAULT_OPS[...]``,
  ``model.ops[...]``, a lambda closing over it, a package function that calls it; a
  solution that catches the refusal or removes the checker's hook is refused too, and
  the student's legitimate solutions, calling the helpers they may use, still pass;
* questions 05.1 and 05.2 refuse the package's own functions;
* no answer is written in the package (the question module's docstring showed 01.2's);
* no notebook prints a package function's source (notebook 04 printed a buggy function
  whose comment gave the fix), and the cells above question 08.1 do not print its
  answer (nor the T that answers 08.2);
* the instructor edition's hidden tests are other checks than the visible ones (other
  seeds, sizes and edge cases) that the reference solutions pass and a solution fitted
  to the visible sizes fails.
"""
import ast
import contextlib
import inspect
import io
import json
import re
import sys
import textwrap
import types
from pathlib import Path

import numpy as np
import pytest

from ntm_numpy import activations, addressing, controller, memory, recurrence, reference_step
from ntm_numpy.cell import NTMCell
from ntm_numpy.course import capstone, editions, refusal
from ntm_numpy.course.exercise_table import EXERCISES, get_exercise, other_cases
from ntm_numpy.course.exercises import check, check_forward, package_function
from ntm_numpy.course.questions import QUESTIONS, answer, hidden_options
from ntm_numpy.course.refusal import RefusedSolution, forbid, refusing, same_code
from ntm_numpy.losses import sigmoid_cross_entropy_forward
from ntm_numpy.model import NTM
from ntm_numpy.reference_step import DEFAULT_OPS
from ntm_numpy.tasks import bit_errors_per_sequence

import exercise_solutions as sol

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "ntm_numpy"


def clone(f):
    """A new function object running ``f``'s code object."""
    copy = types.FunctionType(f.__code__, f.__globals__, "my_copy", f.__defaults__)
    copy.__kwdefaults__ = f.__kwdefaults__
    return copy


def exec_copy(f, name="my_copy"):
    """``f`` re-created from its source under another name, in a namespace of its own
    that holds what its code needs (as a student's notebook would)."""
    src = textwrap.dedent(inspect.getsource(f)).replace(f"def {f.__name__}(", f"def {name}(")
    namespace = dict(f.__globals__, __name__="student_notebook")
    exec(compile(src, "<student cell>", "exec"), namespace)
    return namespace[name]


def ways_to_reach(package):
    """Solutions that run the package's function ``package`` by every route the tester
    found, by name."""
    ops_name = f"{package.__name__}"
    model = capstone.tiny_model()
    routes = {
        "the function itself": package,
        "a clone (types.FunctionType)": clone(package),
        "an exec of inspect.getsource, renamed": exec_copy(package),
        "a lambda closing over it": (lambda f: lambda *a: f(*a))(package),
        "a call through a clone": (lambda c: lambda *a: c(*a))(clone(package)),
    }
    if ops_name in DEFAULT_OPS:
        routes["DEFAULT_OPS[...]"] = lambda *a: DEFAULT_OPS[ops_name](*a)
        routes["model.ops[...]"] = lambda *a: model.ops[ops_name](*a)
        routes["a dict built at import"] = (lambda d: lambda *a: d["op"](*a))({"op": package})
    return routes


# ----------------------------------------------------------------------------------------
# The checkers refuse the package's own function, however it is reached
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", EXERCISES)
def test_check_refuses_every_route_to_the_package_backward(name):
    package = package_function(name, "backward")
    for how, fn in ways_to_reach(package).items():
        res = check(name, fn, trials=1)
        assert res.status == "refused", (how, str(res))
        assert f"the package's own {refusal.qualname_of(package)}" in str(res), (how, str(res))
    assert sys.getprofile() is None  # the hook is gone after each check


@pytest.mark.parametrize("name", ["read", "shift", "content_weighting", "lstm_step"])
def test_check_forward_refuses_every_route_to_the_package_forward(name):
    package = package_function(name, "forward")
    for how, fn in ways_to_reach(package).items():
        res = check_forward(name, lambda *a, fn=fn: fn(*a)[0], trials=1)
        assert res.status == "refused", (how, str(res))


def test_a_copy_in_another_module_under_another_name_is_the_same_code():
    copy = exec_copy(addressing.shift_backward, "perfectly_original")
    assert copy.__module__ == "student_notebook" and copy is not addressing.shift_backward
    assert same_code(copy, addressing.shift_backward)
    assert not same_code(sol.shift_backward, addressing.shift_backward)
    assert not same_code(addressing.shift_forward, addressing.shift_backward)
    res = check("shift", copy)
    assert res.status == "refused" and "addressing.shift_backward" in str(res)


def test_catching_the_refusal_or_removing_the_hook_is_refused():
    def catches(dr, cache):
        try:
            return memory.read_backward(dr, cache)
        except Exception:  # noqa: BLE001 - the student's attempt
            return memory.read_backward(dr, cache)

    def catches_and_writes_its_own(dr, cache):
        with contextlib.suppress(Exception):
            memory.read_backward(dr, cache)
        return sol.read_backward(dr, cache)

    def removes_the_hook(dr, cache):
        sys.setprofile(None)
        return memory.read_backward(dr, cache)

    for fn in (catches, catches_and_writes_its_own):
        res = check("read", fn)
        assert res.status == "refused" and "memory.read_backward" in str(res), str(res)
    res = check("read", removes_the_hook)
    assert res.status == "refused" and "removed the checker's guard" in str(res), str(res)
    assert sys.getprofile() is None


def test_a_package_function_that_calls_the_refused_one_is_refused():
    # content_weighting_forward calls cosine_similarity_forward
    def cosine_via_content(memory_, key):
        w, cache = addressing.content_weighting_forward(memory_, key, np.ones((key.shape[0], 1)))
        return cache.cosine.K

    res = check_forward("cosine_similarity", cosine_via_content)
    assert res.status == "refused" and "addressing.cosine_similarity_forward" in str(res)

    # the whole model's backward calls read_backward (and every other op)
    model, task = capstone.tiny_model(), capstone.copy_task()

    def read_via_the_model(dr, cache):
        x = np.zeros((2, 1, task.input_size))
        model.backward(np.zeros((2, 1, task.output_size)), model.forward(x)[1])
        return sol.read_backward(dr, cache)

    res = check("read", read_via_the_model, trials=1)
    assert res.status == "refused" and "memory.read_backward" in str(res), str(res)


def test_the_package_finite_differences_are_refused_in_a_backward():
    from ntm_numpy.gradcheck import numerical_gradient

    def numerical_read(dr, cache):
        mem, w = cache
        return (numerical_gradient(lambda m: memory.read_forward(m, w)[0], mem, dr),
                numerical_gradient(lambda v: memory.read_forward(mem, v)[0], w, dr))

    res = check("read", numerical_read)
    assert res.status == "refused" and "gradcheck.numerical_gradient" in str(res)


def test_the_helpers_a_student_may_use_still_work():
    # forwards, activations and the backward passes of the other operations
    def content(dw_c, cache):
        cos_cache, beta, w = cache
        _, softmax_cache = activations.softmax_forward(beta * cos_cache.K, axis=-1)
        dz = activations.softmax_backward(dw_c, softmax_cache)
        dz = dz[0] if isinstance(dz, tuple) else dz
        dmemory, dkey = addressing.cosine_similarity_backward(dz * beta, cos_cache)
        return dmemory, dkey, np.sum(dz * cos_cache.K, axis=1, keepdims=True)

    assert check("content_weighting", content).passed

    def content_forward(memory_, key, beta):
        K, _ = addressing.cosine_similarity_forward(memory_, key)
        return activations.softmax_forward(beta * K, axis=-1)[0]

    assert check_forward("content_weighting", content_forward).passed

    def lstm_forward(x, h_prev, c_prev, Wx, Wh, b):
        (h, c), _ = controller.lstm_gates_forward(x @ Wx + h_prev @ Wh + b, c_prev)
        return h, c

    assert check_forward("lstm_step", lstm_forward).passed
    for name in EXERCISES:  # the reference solutions, self-contained
        assert check(name, sol.SOLUTIONS[name]).passed, name
        assert check_forward(name, sol.FORWARD_SOLUTIONS[name]).passed, name


def test_capstone_check_op_refuses_clones_and_copies():
    for op in ("lstm_gates_backward", "head_params_backward", "write_backward"):
        package = DEFAULT_OPS[op]
        for how, fn in ways_to_reach(package).items():
            status, text = capstone.check_op(op, fn)
            assert status == "refused", (op, how, text)
        assert capstone.check_op(op, sol.CAPSTONE_SOLUTIONS[op])[0] == "pass"


def test_refusing_lists_of_functions_for_the_whole_model():
    whole = [reference_step.step_backward, NTMCell.step_backward, recurrence.backward_loop,
             NTM.backward]
    assert refusal.qualname_of(NTMCell.step_backward) == "cell.NTMCell.step_backward"
    model, task = capstone.tiny_model(), capstone.copy_task()
    x = np.random.default_rng(0).standard_normal((3, 2, task.input_size))
    dlogits = np.random.default_rng(1).standard_normal((3, 2, task.output_size))

    def sneaky_read(dr, cache):  # runs the whole model's backward inside an op
        capstone.tiny_model().backward(dlogits, capstone.tiny_model().forward(x)[1])
        return sol.read_backward(dr, cache)

    # the checker's own call of the model's backward is allowed; the student's op is not
    ok = capstone.tiny_model({"read_backward": refusing(sol.read_backward, whole)})
    grads = ok.backward(dlogits, ok.forward(x)[1])
    ref = model.backward(dlogits, model.forward(x)[1])
    assert all(np.allclose(grads[k], ref[k]) for k in ref)
    bad = capstone.tiny_model({"read_backward": refusing(sneaky_read, whole)})
    with pytest.raises(RefusedSolution, match="NTM.backward|step_backward|backward_loop"):
        bad.backward(dlogits, bad.forward(x)[1])
    assert sys.getprofile() is None
    with pytest.raises(TypeError, match="functions"):
        with forbid([42]):
            pass


def test_forbid_nests_and_restores_a_profile_function():
    seen = []

    def profiler(frame, event, arg):
        seen.append(event)

    sys.setprofile(profiler)
    try:
        for refused in (memory.read_backward, memory.write_backward):
            with pytest.raises(RefusedSolution) as info:
                with forbid([memory.read_backward]):  # the outer guard
                    with forbid(memory.write_backward):  # the inner one
                        refused(None, None)  # refused on entry, before its body runs
            assert info.value.qualname == refusal.qualname_of(refused)
            assert sys.getprofile() is profiler  # restored
        seen.clear()
        memory.read_backward  # noqa: B018 - still the package's function, still profiled
        with forbid(memory.read_backward):
            pass
        assert sys.getprofile() is profiler
    finally:
        sys.setprofile(None)


# ----------------------------------------------------------------------------------------
# Questions 05.1 and 05.2 refuse the package's functions
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("qid, package", [("05.1", bit_errors_per_sequence),
                                          ("05.2", sigmoid_cross_entropy_forward)])
def test_sequence_questions_refuse_the_package(qid, package):
    def unwrap(f):  # the loss returns (loss, cache)
        return (lambda *a: f(*a)[0]) if qid == "05.2" else f

    for how, fn in ways_to_reach(package).items():
        res = answer(qid, unwrap(fn))
        assert res.status == "refused" and not res, (how, str(res))
        assert "the package's own" in str(res)
    if qid == "05.1":  # through another package function that calls it
        from ntm_numpy.tasks import bit_errors

        res = answer(qid, lambda logits, y, mask: np.full(logits.shape[1],
                                                          bit_errors(logits, y, mask)))
        assert res.status == "refused", str(res)
    assert answer(qid, {"05.1": sol.bit_errors_per_sequence, "05.2": sol.loss}[qid])


@pytest.mark.parametrize("qid", ["02.1", "03.1"])
def test_forward_questions_refuse_a_copy(qid):
    name = {"02.1": "read", "03.1": "shift"}[qid]
    copy = exec_copy(package_function(name, "forward"))
    res = answer(qid, lambda *a: copy(*a)[0])
    assert res.status == "refused" and "runs a copy of its code" in str(res), str(res)


# ----------------------------------------------------------------------------------------
# No answer is written in the package
# ----------------------------------------------------------------------------------------
def _value_answers():
    """qid -> the right answer of every value question, as the judges compute it."""
    from ntm_numpy.course import questions as q

    return {"01.1": q._bits_to_hold(20, bits=8), "01.2": q._copy_T(120),
            "07.1": q._repeat_copy_T(), "07.2": q._recall_T(),
            "08.1": q._zero_at_last_step(), "08.2": q._write_backward_calls()}


def test_no_right_answer_is_shown_in_the_package_text():
    answers = _value_answers()
    assert all(answer(qid, v) for qid, v in answers.items())
    calls = re.compile(r'answer\(\s*"(\d\d\.\d)"\s*,\s*([^()]+?)\s*\)')
    for path in PACKAGE.rglob("*.py"):
        for qid, literal in calls.findall(path.read_text(encoding="utf-8")):
            try:
                value = ast.literal_eval(literal)
            except ValueError:
                continue  # a name, not a literal
            assert not answer(qid, value), f"{path.name} shows the answer to {qid}: {literal}"


def test_the_question_module_computes_its_answers():
    """No literal (or constant expression) in questions.py is the answer to a question,
    and no prompt or hint states one."""
    from ntm_numpy.course import questions as q

    answers = _value_answers()
    numbers = {v for v in answers.values() if isinstance(v, int) and v >= 20}
    tree = ast.parse(inspect.getsource(q))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            assert node.value not in numbers, node.value
        if isinstance(node, ast.BinOp):
            try:
                value = eval(compile(ast.Expression(node), "<expr>", "eval"), {})  # noqa: S307
            except Exception:  # noqa: BLE001 - not a constant expression
                continue
            assert value not in numbers, ast.unparse(node)
        if isinstance(node, (ast.Set, ast.Tuple, ast.List)):
            items = {e.value for e in node.elts if isinstance(e, ast.Constant)}
            assert items != answers["08.1"], ast.unparse(node)
    for question in QUESTIONS.values():
        text = question.prompt + " " + question.hint
        assert not re.search(r"\b2 ?L ?\+ ?1\b|R ?L ?\+ ?1", text), (question.qid, text)
        for n in numbers:
            assert str(n) not in text, (question.qid, n)


# ----------------------------------------------------------------------------------------
# The notebooks
# ----------------------------------------------------------------------------------------
def _cells(name):
    return json.loads((ROOT / "notebooks" / name).read_text(encoding="utf-8"))["cells"]


def test_no_notebook_prints_package_source():
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for cell in _cells(path.name):
            src = "".join(cell["source"])
            if cell["cell_type"] == "code":
                assert not re.search(r"getsource|getsourcelines|getsourcefile|\?\?", src), (
                    path.name, src)
    # the teaching function's own text does not give the fix either
    from ntm_numpy.course.exercises import buggy_shift_backward

    src = inspect.getsource(buggy_shift_backward)
    assert "should be" not in src and "back_index instead" not in src
    assert "opposite" not in (buggy_shift_backward.__doc__ or "")


def test_the_cells_above_question_08_1_do_not_print_its_answer():
    cells = _cells("08_capstone_bptt.ipynb")
    stop = next(i for i, c in enumerate(cells) if "**Question 08.1.**" in "".join(c["source"]))
    above = ["".join(c["source"]) for c in cells[:stop] if c["cell_type"] == "code"]
    # the cells that compute, run after the imports cell's names (the model, NumPy)
    code = "\n".join(src for src in above if not re.search(r"^(import|from) ", src, re.M))
    namespace = {k: getattr(capstone, k) for k in capstone.__all__ if hasattr(capstone, k)}
    namespace.update(np=np, capstone=capstone, model=capstone.tiny_model(),
                     display=lambda *args: None)
    out = io.StringIO()
    with contextlib.redirect_stdout(out), np.errstate(all="ignore"):
        exec(compile(code, "<notebook 08>", "exec"), namespace)
    text = out.getvalue()
    T = len(namespace["carried"])
    right = _value_answers()["08.1"]
    assert f"t = {T - 1}" not in text and f"t = {T}" not in text, text  # T answers 08.2
    for line in text.splitlines():
        if "'memory'" in line:
            values = dict(re.findall(r"'(\w+)': '([^']*)'", line))
            zeros = {k for k, v in values.items() if float(v) == 0}
            assert zeros != right, line
    # its last column answers 08.1's memory, and its width (T) 08.2
    assert not any("plot_memory_and_gradient(" in src for src in above)


def test_notebook_06_says_and_prints_the_heads_choices_only_after_its_questions():
    cells = _cells("06_inside_a_trained_ntm.ipynb")
    last_check = max(i for i, c in enumerate(cells) if c.get("id") in ("06-1-check", "06-2-check"))
    above = ["".join(c["source"]) for c in cells[:last_check]]
    prose = " ".join(" ".join(src.split()) for src, c in zip(above, cells) if c["cell_type"] == "markdown")
    # 06.1 is the write head's row at step 0, 06.2 its usual shift during the input
    assert "from row 0" not in prose and "on row 0" not in prose and "shift $+1$" not in prose
    assert "($+1$)" not in prose
    code = "\n".join(src for src, c in zip(above, cells) if c["cell_type"] == "code")
    # the cell that prints the heads' rows and shifts comes after the questions
    assert not re.search(r"\bwrite_rows\b|\bwrite_shift\b", code)
    below = " ".join("".join(c["source"]) for c in cells[last_check:])
    assert "write_rows" in below and "walks up the memory" in below


# ----------------------------------------------------------------------------------------
# The hidden tests are other checks than the visible ones
# ----------------------------------------------------------------------------------------
def test_other_cases_differ_from_the_visible_ones():
    for name in EXERCISES:
        ex = get_exercise(name)
        for seed in range(5):
            cases = other_cases(name, seed)
            assert len(cases) == 3 and not set(map(str, cases)) & set(map(str, ex.cases))
            assert cases[-1]["B"] == 1  # the smallest sizes are an edge case of their own
            if name == "shift":
                assert cases[0]["S"] > cases[0]["N"]
    with pytest.raises(ValueError, match="S must be odd"):
        check("shift", sol.shift_backward, sizes=[{"B": 1, "N": 4, "S": 2}])
    with pytest.raises(ValueError, match="keys"):
        check("read", sol.read_backward, sizes=[{"B": 1, "N": 4}])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_reference_solutions_pass_the_hidden_checks(seed):
    for name in EXERCISES:
        res = check(name, sol.SOLUTIONS[name], seed=seed, sizes=other_cases(name, seed))
        assert res.passed, (name, str(res))
    for qid, q in QUESTIONS.items():
        if q.takes_function:
            var = sol.ANSWERS[qid][0]
            res = answer(qid, sol._FUNCTIONS[var], **hidden_options(qid, seed))
            assert res, (qid, str(res))
        else:
            assert hidden_options(qid, seed) == {}


def test_a_solution_fitted_to_the_visible_sizes_fails_the_hidden_check():
    visible = {c["N"] for c in get_exercise("read").cases}

    def fitted(dr, cache):
        dmemory, dw = sol.read_backward(dr, cache)
        return (dmemory, dw) if cache.memory.shape[1] in visible else (dmemory, 0 * dw)

    assert check("read", fitted).passed
    sizes = other_cases("read", 7)
    assert not check("read", fitted, seed=7, sizes=sizes).passed

    def fitted_loss(logits, y, mask):
        return sol.loss(logits, y, mask) if logits.shape[2] == 4 else 0.0

    assert answer("05.2", fitted_loss)
    assert not answer("05.2", fitted_loss, **hidden_options("05.2", 7))


def test_the_instructor_edition_hides_other_checks(tmp_path):
    pytest.importorskip("nbformat")
    import nbformat

    editions.write_instructor_edition(tmp_path, hidden_seed=11)
    hidden = 0
    for path in sorted(tmp_path.glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if "### BEGIN HIDDEN TESTS" not in cell.source:
                continue
            hidden += 1
            visible, rest = cell.source.split("### BEGIN HIDDEN TESTS\n")
            test = rest.split("### END HIDDEN TESTS")[0]
            m = re.search(r'(check|answer|check_op)\("([\w.]+)"', test)
            if m and (m[1] != "answer" or QUESTIONS[m[2]].takes_function):
                assert "seed=" in test, test
                if m[1] != "check_op":
                    assert "sizes=" in test, test
                calls = re.findall(r"\b(?:check|answer|check_op)\([^\n]*\)", visible)
                assert all(c not in test for c in calls), (visible, test)
            elif "check_model" in visible:
                assert re.search(r"check_model\(\w+, seed=\d+\)", test), test
    # the exercises of 04 (8) and 08 (2 operations, the step, the loop), 2 questions in
    # each of 7 notebooks, 08's whole-model check (as tests/test_course.py counts them)
    assert hidden == 8 + 4 + 2 * 7 + 1
    # a second edition draws other seeds unless told the same one
    again = tmp_path / "again"
    editions.write_instructor_edition(again, hidden_seed=11)
    same = tmp_path / "same"
    editions.write_instructor_edition(same)
    text = {d: "".join(p.read_text() for p in sorted(d.glob("*.ipynb")))
            for d in (tmp_path, again, same)}
    assert text[tmp_path] == text[again] and text[tmp_path] != text[same]


def test_the_hidden_asserts_hold_for_the_reference_and_catch_a_fitted_solution(tmp_path):
    pytest.importorskip("nbformat")
    import nbformat

    editions.write_instructor_edition(tmp_path, hidden_seed=3)
    nb = nbformat.read(tmp_path / "04_gradient_checking.ipynb", as_version=4)
    tests = [c.source.split("### BEGIN HIDDEN TESTS\n")[1].split("### END")[0]
             for c in nb.cells if "### BEGIN HIDDEN TESTS" in c.source]
    assert len(tests) == len(EXERCISES)
    visible_n = {c["N"] for c in get_exercise("read").cases}

    def fitted(dr, cache):  # right on the visible sizes only
        dmemory, dw = sol.read_backward(dr, cache)
        return (dmemory, dw) if cache.memory.shape[1] in visible_n else (dmemory, 0 * dw)

    assert check("read", fitted).passed
    for test in tests:
        name, var = re.search(r'check\("(\w+)", (\w+)', test).groups()
        exec(test, {"check": check, var: sol.SOLUTIONS[name]})  # holds
        if name == "read":
            with pytest.raises(AssertionError, match="read_backward: FAIL"):
                exec(test, {"check": check, var: fitted})


def test_code_written_from_the_derivation_is_not_a_copy():
    """Two lines written from docs/gradients.md compile to the very instructions of
    memory.read_backward; without its docstring they are the student's own."""
    def read_backward(dr, cache):
        memory_, w = cache
        dmemory = w[:, :, None] * dr[:, None, :]
        dw = (memory_ @ dr[:, :, None])[:, :, 0]
        return dmemory, dw

    assert not same_code(read_backward, memory.read_backward)
    assert check("read", read_backward).passed
    assert same_code(exec_copy(memory.read_backward), memory.read_backward)
