"""Tests of the course editions (``ntm_numpy.course.editions``, ``ntm-numpy course ...``).

The student edition holds the notebooks with blanks and no reference solution: every
non-trivial line of every solution in ``tests/exercise_solutions.py`` is searched for
in every file it writes. The instructor edition holds them all, between nbgrader's
solution markers, with a hidden assert in every check cell; executed top to bottom,
every one of those asserts holds.
"""
import inspect
import os
import re
import textwrap
from pathlib import Path

import pytest

from ntm_numpy.cli import main
from ntm_numpy.course import editions

import exercise_solutions as sol
from support import TEST_KERNEL

nbformat = pytest.importorskip("nbformat")
ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def solution_lines():
    """Every line of a reference solution that could give it away."""
    funcs = list(sol.SOLUTIONS.values()) + list(sol.CAPSTONE_SOLUTIONS.values()) \
        + [sol._FUNCTIONS[name] for name, src in sol.ANSWERS.values() if src is None]
    lines = set()
    for f in funcs:
        body = textwrap.dedent(inspect.getsource(f)).splitlines()[1:]
        for ln in body:
            ln = ln.strip()
            given = ln.endswith(("= cache", "= gates", "= cos_cache", "= dout"))  # the blanks'
            if len(ln) > 20 and not ln.startswith(("#", "return ")) and not given:
                lines.add(ln)
    for _, src in sol.ANSWERS.values():
        if src:
            lines.add(src.split("=", 1)[1].strip())
    return lines


def all_text(paths):
    """Every file's text; for notebooks the raw file and the cells' sources (the file
    escapes quotes)."""
    parts = []
    for p in paths:
        parts.append(p.read_text(encoding="utf-8"))
        if p.suffix == ".ipynb":
            parts += [c.source for c in nbformat.read(p, as_version=4).cells]
    return "\n".join(parts)


def test_student_edition_has_blanks_and_no_solution(tmp_path):
    written = editions.write_student_edition(tmp_path / "student")
    names = sorted(p.name for p in written)
    assert names == sorted([p.name for p in NOTEBOOKS] + ["README.md"])
    text = all_text(written)
    found = [ln for ln in solution_lines() if ln in text]
    assert not found, f"reference solution lines in the student edition: {found[:5]}"
    assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text
    for p in written:
        if p.suffix == ".ipynb":
            nb = nbformat.read(p, as_version=4)
            assert editions.blank_problems(nb) == []
            assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
            tagged = [c for c in nb.cells if "nbgrader" in c.metadata]
            assert len(tagged) >= 4  # two answer cells and two check cells at least
    assert "hint(name, 1)" in (tmp_path / "student" / "README.md").read_text()
    # the sanity of the search itself: the instructor edition does contain them
    inst = editions.write_instructor_edition(tmp_path / "instructor")
    inst_text = all_text(inst)
    missing = [ln for ln in solution_lines() if ln not in inst_text]
    assert not missing, missing


def test_student_edition_refuses_answers_and_strips_solution_regions(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    nb = nbformat.read(ROOT / "notebooks" / "02_memory.ipynb", as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("tags") == ["question", "02.1"])
    cell.source = "# QUESTION 02.1\ndef my_read_forward(memory, w):\n    return memory[:, 0]\n"
    nbformat.write(nb, src / "02_memory.ipynb")
    with pytest.raises(ValueError, match=r"02_memory.ipynb has answers in the cells \['02.1'\]"):
        editions.write_student_edition(tmp_path / "out", src)
    # an nbgrader source notebook (solution regions, hidden tests) is blanked
    editions.write_instructor_edition(src, ROOT / "notebooks", overwrite=True)
    out = editions.write_student_edition(tmp_path / "out2", src)
    nb = nbformat.read(next(p for p in out if p.name == "02_memory.ipynb"), as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("tags") == ["question", "02.1"])
    assert cell.source.rstrip().endswith("raise NotImplementedError")
    assert "HIDDEN" not in "".join(c.source for c in nb.cells)


def test_editions_never_overwrite_unasked(tmp_path):
    editions.write_student_edition(tmp_path)
    before = (tmp_path / "01_why_memory.ipynb").read_bytes()
    with pytest.raises(ValueError, match="already holds 01_why_memory.ipynb"):
        editions.write_student_edition(tmp_path)
    with pytest.raises(ValueError, match="already holds"):
        editions.write_instructor_edition(tmp_path)
    assert (tmp_path / "01_why_memory.ipynb").read_bytes() == before
    with pytest.raises(ValueError, match="source: expected a folder of the course notebooks"):
        editions.write_student_edition(tmp_path / "x", tmp_path / "nowhere")
    with pytest.raises(ValueError, match="solutions: expected the reference solutions"):
        editions.write_instructor_edition(tmp_path / "y", solutions=tmp_path / "none.py")


def test_cli_course_commands(tmp_path, capsys):
    assert main(["course", "student-edition", str(tmp_path / "s")]) == 0
    out = capsys.readouterr().out
    assert "student edition: 8 notebooks" in out and str(tmp_path / "s") in out
    assert main(["course", "instructor-edition", str(tmp_path / "i")]) == 0
    assert "instructor edition: 8 notebooks" in capsys.readouterr().out
    assert main(["course", "student-edition", str(tmp_path / "s")]) == 2
    assert "already holds" in capsys.readouterr().err


def test_instructor_edition_runs_and_every_hidden_assert_holds(tmp_path):
    nbclient = pytest.importorskip("nbclient")
    written = editions.write_instructor_edition(tmp_path)
    total = 0
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MPLBACKEND", "Agg")
        mp.setenv("PYTHONPATH", os.pathsep.join(
            [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
        for path in written:
            nb = nbformat.read(path, as_version=4)
            hidden = sum("### BEGIN HIDDEN TESTS" in c.source for c in nb.cells)
            solutions = sum("### BEGIN SOLUTION" in c.source for c in nb.cells)
            assert hidden >= 2 and solutions >= 2, path.name
            total += hidden
            # run where they were written: notebook 04 writes my_backward_ops.py there,
            # which notebook 08 loads
            nbclient.NotebookClient(nb, timeout=300, kernel_name=TEST_KERNEL, resources={
                "metadata": {"path": str(tmp_path)}}).execute()
            passes = [o.get("text", "") for c in nb.cells for o in c.get("outputs", [])
                      if c.metadata.get("nbgrader", {}).get("grade")]
            assert not any(re.search(r"FAIL|not implemented yet|not answered", t)
                           for t in passes), path.name
    # the exercises of 04 (8) and 08 (2 operations, the step, the loop), 2 questions in
    # each of 7 notebooks, 08's whole-model check
    assert total == 8 + 4 + 2 * 7 + 1
