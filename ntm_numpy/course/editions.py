"""The course's two editions: the student edition and the instructor edition.

The notebooks of the repository (``notebooks/``) are the course as students get it:
every exercise and question cell is a blank, every check cell prints a verdict, and the
cells carry nbgrader metadata (answer cells ``solution``, check cells locked ``grade``
cells with points). Two commands build what a course hands out::

    python -m ntm_numpy course student-edition DIR      # what students get
    python -m ntm_numpy course instructor-edition DIR   # the nbgrader source version

* The **student edition** is the notebooks with blanks, cleared of outputs, and a
  ``README.md``; the checkers are the installed package
  (``ntm_numpy.course.exercises``, ``ntm_numpy.course.questions``,
  ``ntm_numpy.course.capstone``). It holds no reference solution: the command refuses a
  notebook whose answer cell is not blank, and strips any nbgrader solution region or
  hidden test it finds.
* The **instructor edition** fills every answer cell with its reference solution between
  ``### BEGIN SOLUTION`` and ``### END SOLUTION`` and adds to every check cell an
  ``assert`` between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``: a check the
  student has not run, with another seed and other sizes (drawn when the edition is
  written, from ``hidden_seed``; the smallest sizes and, for the shift, more offsets
  than rows among them) and the exercise's edge cases at those sizes, kept only if the
  reference solution passes it. A value answer (a number, a set of names) has one right
  value: its hidden assert checks that value again. This is the source version of an
  nbgrader assignment (``nbgrader generate_assignment`` turns it back into the student
  edition, ``nbgrader autograde`` grades with the hidden asserts). The reference
  solutions are read from a Python file (by default the repository's
  ``tests/exercise_solutions.py``; they are not part of the installed package).

``docs/instructors.md`` says how to hand the course out and grade it.
"""
import importlib.util
import inspect
import re
import secrets
import textwrap
from pathlib import Path

import numpy as np

__all__ = ["write_student_edition", "write_instructor_edition", "blank_problems"]

_REPO = Path(__file__).resolve().parents[2]  # ntm_numpy/course/editions.py -> the clone

STUDENT_README = """\
# Neural Turing Machines in NumPy: the course (student edition)

Install the package (it holds the checkers) and Jupyter, then open the notebooks in
order, 01 to 08:

```bash
python -m pip install ntm_numpy jupyter     # or, from a clone: python -m pip install -e .
jupyter notebook
```

Every exercise cell ends in `raise NotImplementedError` (or assigns `None`): replace
it with your code or answer and run the check cell below it. The checks compare your
code with numerical derivatives or with the package, on random inputs and edge cases;
they never show a solution. Stuck on a backward pass? `print(hint(name, 1))` tells you
where to look, `print(hint(name, 2))` the shape of the answer.

The syllabus, with the objectives, prerequisites and time of each notebook:
docs/course.md of the ntm_numpy repository.
"""

_SOLUTION = re.compile(r"^([ \t]*)### BEGIN SOLUTION\n.*?^[ \t]*### END SOLUTION\n?", re.M | re.S)
_HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS\n.*?^[ \t]*### END HIDDEN TESTS\n?",
                     re.M | re.S)


def _nbformat():
    try:
        import nbformat
    except ImportError:  # pragma: no cover - the dev extras install it
        raise ImportError("writing the course editions needs nbformat: "
                          "python -m pip install nbformat") from None
    return nbformat


def _source_dir(source):
    source = Path(source) if source is not None else _REPO / "notebooks"
    if not source.is_dir() or not list(source.glob("*.ipynb")):
        raise ValueError(f"source: expected a folder of the course notebooks, got {source} "
                         "(from an installed package, pass the notebooks/ folder of a clone)")
    return source


def _answer_tags(cell):
    tags = cell.metadata.get("tags", [])
    return tags if tags[:1] in (["exercise"], ["question"]) and len(tags) > 1 else None


def _is_blank(source):
    lines = [ln for ln in source.strip().splitlines() if ln.strip()]
    if not lines:
        return True
    last = lines[-1].strip()
    return last == "raise NotImplementedError" or re.fullmatch(
        r"\w+ = None\s+### YOUR ANSWER", last) is not None


_BLANK = r"\1### YOUR CODE HERE ###\n\1raise NotImplementedError\n"


def blank_problems(nb):
    """The answer cells of notebook ``nb`` that are not blank: a list of their tags."""
    return [tags[1] for c in nb.cells if c.cell_type == "code" and (tags := _answer_tags(c))
            and not _is_blank(_SOLUTION.sub(_BLANK, c.source))]


def _prepare(out, overwrite, names):
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"out: expected a folder, got the file {out}")
    clash = [n for n in names if (out / n).exists()]
    if clash and not overwrite:
        raise ValueError(f"out: {out} already holds {', '.join(clash)}; choose another "
                         "folder or pass overwrite=True (--overwrite) to replace them")
    out.mkdir(parents=True, exist_ok=True)
    return out


def _clear(nb):
    for c in nb.cells:
        if c.cell_type == "code":
            c.outputs, c.execution_count = [], None


def write_student_edition(out, source=None, *, overwrite=False):
    """Write the student edition of the course into folder ``out``.

    Parameters
    ----------
    out : path of the folder (created if missing)
    source : folder of the course notebooks (default: the repository's ``notebooks/``)
    overwrite : replace notebooks of the same name already in ``out`` (default: refuse)

    Returns
    -------
    list of Path, the files written

    Raises ValueError when a notebook's answer cell holds an answer (outside an nbgrader
    solution region, which is blanked), naming the notebook and the cell.
    """
    nbformat = _nbformat()
    source = _source_dir(source)
    paths = sorted(source.glob("*.ipynb"))
    books = []
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        for c in nb.cells:
            if c.cell_type != "code":
                continue
            c.source = _HIDDEN.sub("", c.source)
            if _answer_tags(c):
                c.source = _SOLUTION.sub(_BLANK, c.source)
        bad = blank_problems(nb)
        if bad:
            raise ValueError(f"source: {path.name} has answers in the cells {bad}; the "
                             "student edition ships blanks only")
        _clear(nb)
        books.append((path.name, nb))
    out = _prepare(out, overwrite, [name for name, _ in books] + ["README.md"])
    written = []
    for name, nb in books:
        nbformat.write(nb, out / name)
        written.append(out / name)
    (out / "README.md").write_text(STUDENT_README, encoding="utf-8")
    written.append(out / "README.md")
    return written


def _load_solutions(solutions):
    path = Path(solutions) if solutions is not None else _REPO / "tests" / "exercise_solutions.py"
    if not path.is_file():
        raise ValueError(f"solutions: expected the reference solutions file "
                         f"(tests/exercise_solutions.py of a clone), got {path}")
    spec = importlib.util.spec_from_file_location("_course_solutions", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _body(func):
    """The body of ``func``'s source, dedented to four spaces."""
    src = textwrap.dedent(inspect.getsource(func))
    header, _, body = src.partition(":\n")
    return textwrap.indent(textwrap.dedent(body), "    ").rstrip("\n")


def _solution_source(cell, tags, sol):
    kind, name = tags[0], tags[1]
    lines = cell.source.rstrip("\n").splitlines()
    if kind == "exercise":
        funcs = {**{f"{n}_backward": f for n, f in sol.SOLUTIONS.items()},
                 **sol.CAPSTONE_SOLUTIONS}
        func = funcs[name if name.endswith("_backward") else f"{name}_backward"]
    else:
        var, answer_src = sol.ANSWERS[name]
        if answer_src is not None:
            head = lines[0]
            return (f"{head}\n{var} = None\n### BEGIN SOLUTION\n{answer_src}\n"
                    "### END SOLUTION\n")
        func = sol._FUNCTIONS[var]
    defline = next(ln for ln in lines if ln.startswith("def "))
    head = lines[: lines.index(defline) + 1]
    return "\n".join(head) + "\n    ### BEGIN SOLUTION\n" + _body(func) + \
        "\n    ### END SOLUTION\n"


def _options(options):
    return "".join(f", {k}={v!r}" for k, v in options.items())


def _sound_seed(rng, passes, what, tries=20):
    """A seed drawn from ``rng`` on which the reference solution passes the hidden check:
    central differences are loose on a few random inputs (a nearly one-hot softmax, a
    saturated gate), and a check a right answer can fail must not grade anyone."""
    for _ in range(tries):
        seed = int(rng.integers(1, 2**31))
        if passes(seed):
            return seed
    raise RuntimeError(f"{what}: the reference solution fails the hidden check on "
                       f"{tries} seeds in a row; is the solutions file right?")


def _hidden_check(m, rng, sol):
    from .exercise_table import other_cases
    from .exercises import check

    name, ref = m[1], sol.SOLUTIONS[m[1]]
    seed = _sound_seed(rng, lambda s: check(name, ref, seed=s,
                                            sizes=other_cases(name, s)).passed, name)
    options = dict(seed=seed, sizes=list(other_cases(name, seed)))
    return f'_hidden = check("{name}", {m[2]}{_options(options)})\nassert _hidden.passed, _hidden'


def _hidden_answer(m, rng, sol):
    from .questions import QUESTIONS, answer, hidden_options

    qid = m[1]
    if not QUESTIONS[qid].takes_function:  # one right value: the same check
        return f'_hidden = answer("{qid}", {m[2]})\nassert _hidden, _hidden'
    ref = sol._FUNCTIONS[sol.ANSWERS[qid][0]]
    seed = _sound_seed(rng, lambda s: answer(qid, ref, **hidden_options(qid, s)).right, qid)
    return (f'_hidden = answer("{qid}", {m[2]}{_options(hidden_options(qid, seed))})\n'
            "assert _hidden, _hidden")


def _hidden_op(m, rng, sol):
    from .capstone import check_op

    op, ref = m[1], sol.CAPSTONE_SOLUTIONS[m[1]]
    seed = _sound_seed(rng, lambda s: check_op(op, ref, seed=s)[0] == "pass", op)
    return f'_hidden = check_op("{op}", {m[2]}, seed={seed})\nassert _hidden[0] == "pass", _hidden[1]'


def _hidden_model(m, rng, sol):
    seed = int(rng.integers(1, 2**31))  # analytic against analytic: any seed is sound
    return (f"assert result.passed, result\n_hidden = check_model({m[1]}, seed={seed})\n"
            "assert _hidden.passed, _hidden")


def _hidden_test(cell, rng, sol):
    """The hidden test of a check cell, from what it prints: the same check with another
    seed and, where the check takes them, other sizes; ``sol`` the reference solutions,
    which must pass it."""
    src = cell.source
    for pattern, make in (
            (r'print\(check\("(\w+)", (\w+)\)\)', _hidden_check),
            (r'print\(answer\("([\d.]+)", (\w+)\)\)', _hidden_answer),
            (r'print\(check_op\("(\w+)", (\w+)\)\[1\]\)', _hidden_op),
            (r"result = check_model\((\w+)\)", _hidden_model)):
        m = re.search(pattern, src)
        if m:
            return (f"{src.rstrip()}\n### BEGIN HIDDEN TESTS\n{make(m, rng, sol)}\n"
                    "### END HIDDEN TESTS\n")
    return src


def write_instructor_edition(out, source=None, solutions=None, *, overwrite=False,
                             hidden_seed=None):
    """Write the instructor edition (the nbgrader source version) into folder ``out``.

    Parameters
    ----------
    out : path of the folder (created if missing)
    source : folder of the course notebooks (default: the repository's ``notebooks/``)
    solutions : Python file of the reference solutions (default: the repository's
        ``tests/exercise_solutions.py``)
    overwrite : replace notebooks of the same name already in ``out`` (default: refuse)
    hidden_seed : int, seeds the seeds and sizes of the hidden tests (default: drawn at
        random, so that they are nowhere in the package; pass one to rebuild the same)

    Returns
    -------
    list of Path, the notebooks written
    """
    nbformat = _nbformat()
    source = _source_dir(source)
    sol = _load_solutions(solutions)
    rng = np.random.default_rng(secrets.randbits(64) if hidden_seed is None else hidden_seed)
    books = []
    for path in sorted(source.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for c in nb.cells:
            if c.cell_type != "code":
                continue
            tags = _answer_tags(c)
            if tags:
                c.source = _solution_source(c, tags, sol)
            elif "nbgrader" in c.metadata and c.metadata["nbgrader"].get("grade"):
                c.source = _hidden_test(c, rng, sol)
        _clear(nb)
        books.append((path.name, nb))
    out = _prepare(out, overwrite, [name for name, _ in books])
    written = []
    for name, nb in books:
        nbformat.write(nb, out / name)
        written.append(out / name)
    return written
