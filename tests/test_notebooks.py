"""The notebooks in ``notebooks/`` run from top to bottom, draw figures, are committed
without outputs, and hold no model code of their own.

Each notebook is executed in a fresh ``python3`` kernel with nbclient, from the
``notebooks/`` folder, with ``MPLBACKEND=Agg`` in the kernel's environment. The
gradient-checking notebook is left to ``tests/test_exercises.py`` and the capstone to
``tests/test_capstone.py``, which run them blank, with the reference solutions injected
and with a wrong one (their exercises define ``*_backward`` functions on purpose).

Every notebook asks checked questions (``ntm_numpy.course.questions``): an answer cell tagged
``["question", qid]`` (a blank: ``None`` or a function raising ``NotImplementedError``)
followed by a check cell tagged ``["answer-check", qid]``; shipped blank, each check
prints "not answered yet" or "not implemented yet". The answer cells may define the
forward functions the student writes.
"""
import json
import pathlib
import re

import pytest

from support import TEST_KERNEL

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOKS_DIR = pathlib.Path(__file__).resolve().parent.parent / "notebooks"
ALL_NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
NOTEBOOKS = [p for p in ALL_NOTEBOOKS
             if "gradient_checking" not in p.name and "capstone" not in p.name]

#: a function definition named like a differentiable operation of the package
MODEL_CODE = re.compile(r"^\s*def\s+\w*_(forward|backward)\s*\(", re.MULTILINE)
#: an import from the package
PACKAGE_IMPORT = re.compile(r"^\s*(import ntm_numpy\b|from ntm_numpy\b)", re.MULTILINE)

parametrize = pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)


def _code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def test_notebooks_exist():
    assert NOTEBOOKS, f"no notebooks found in {NOTEBOOKS_DIR}"


@parametrize
def test_notebook_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
             and (c.get("outputs") or c.get("execution_count") is not None)]
    assert not dirty, f"{path.name}: code cells {dirty} have outputs or execution counts"
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"


@parametrize
def test_every_cell_has_its_own_id(path):
    # nbformat 4.5 cells carry ids; nbformat only warns, for now, when one is missing
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    ids = [c.get("id") for c in cells]
    missing = [i for i, cid in enumerate(ids) if not cid]
    assert not missing, f"{path.name}: cells {missing} have no id"
    assert len(set(ids)) == len(ids), f"{path.name}: repeated cell ids"


@parametrize
def test_notebook_uses_the_package_and_defines_no_model_code(path):
    nb = nbformat.read(path, as_version=4)
    source = "\n".join(c.source for c in _code_cells(nb)
                       if "question" not in c.metadata.get("tags", []))
    assert PACKAGE_IMPORT.search(source), f"{path.name}: no code cell imports from ntm_numpy"
    defined = [m.group(0).strip() for m in MODEL_CODE.finditer(source)]
    assert not defined, f"{path.name}: defines model code {defined}; import it from ntm_numpy"


@parametrize
def test_notebook_executes_and_draws(path, monkeypatch, executed_notebooks):
    monkeypatch.setenv("MPLBACKEND", "Agg")  # inherited by the kernel
    monkeypatch.setenv("NTM_NOTEBOOK_STATIC", "1")  # widgets' static fallback
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=180, kernel_name=TEST_KERNEL,
                                     resources={"metadata": {"path": str(NOTEBOOKS_DIR)}})
    client.execute()  # raises CellExecutionError on the first failing cell
    outputs = [o for c in _code_cells(nb) for o in c.get("outputs", [])]
    errors = [f"{o.get('ename')}: {o.get('evalue')}" for o in outputs
              if o.get("output_type") == "error"]
    assert not errors, f"{path.name}: cells raised {errors}"
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert images, f"{path.name}: no figure (image/png output) was drawn"
    nbformat.write(nb, executed_notebooks / path.name)  # reused by tests/test_site.py
    # every figure a cell makes is shown (no plt.show() under Agg, which shows nothing)
    source = "\n".join(c.source for c in _code_cells(nb))
    assert "plt.show()" not in source
    checks = {c.metadata["tags"][1]: "".join(o.get("text", "") for o in c.outputs)
              for c in _code_cells(nb) if "answer-check" in c.metadata.get("tags", [])}
    for qid, text in checks.items():
        assert text.startswith((f"{qid}: not answered yet", f"{qid}: not implemented yet")), \
            text


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: p.stem)
def test_every_notebook_asks_at_least_two_checked_questions(path):
    nb = nbformat.read(path, as_version=4)
    cells = _code_cells(nb)
    asked = [c for c in cells if c.metadata.get("tags", [None])[0] in ("question", "exercise")]
    assert len(asked) >= 2, f"{path.name}: {len(asked)} checked questions or exercises"
    for k, c in enumerate(cells):
        tags = c.metadata.get("tags", [])
        if tags and tags[0] in ("question", "exercise"):
            nxt = cells[k + 1]
            kind = "answer-check" if tags[0] == "question" else "check"
            assert nxt.metadata.get("tags") == [kind, tags[1]], (path.name, tags)
            # tagged for nbgrader: the answer is a solution cell, its check a locked test
            a, t = c.metadata["nbgrader"], nxt.metadata["nbgrader"]
            assert a["solution"] and not a["grade"] and not a["locked"]
            assert t["grade"] and t["locked"] and not t["solution"] and t["points"] > 0
            assert a["schema_version"] == t["schema_version"] == 3
    ids = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells if "nbgrader" in c.metadata]
    assert len(ids) == len(set(ids))


def test_notebooks_link_the_course_path():
    order = [p.name for p in ALL_NOTEBOOKS]
    assert order[:8] == ["01_why_memory.ipynb", "02_memory.ipynb", "03_addressing.ipynb",
                         "04_gradient_checking.ipynb", "05_training_copy.ipynb",
                         "06_inside_a_trained_ntm.ipynb", "07_other_tasks.ipynb",
                         "08_capstone_bptt.ipynb"]
    link = re.compile(r"\]\(([^)\s]+)\)")
    for here, nxt in zip(ALL_NOTEBOOKS, ALL_NOTEBOOKS[1:]):
        nb = nbformat.read(here, as_version=4)
        text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        targets = link.findall(text)
        assert nxt.name in targets, f"{here.name} does not link on to {nxt.name}"
        for target in targets:
            if not re.match(r"^[a-z]+://", target):
                assert (here.parent / target.split("#")[0]).exists(), (here.name, target)
