"""The notebooks in ``notebooks/`` run from top to bottom, draw figures, are committed
without outputs, and hold no model code of their own.

Each notebook is executed in a fresh ``python3`` kernel with nbclient, from the
``notebooks/`` folder, with ``MPLBACKEND=Agg`` in the kernel's environment. The
gradient-checking notebook is left to ``tests/test_exercises.py``, which runs it with the
exercise solutions injected (its exercises define ``*_backward`` functions on purpose).
"""
import pathlib
import re

import pytest
from support import TEST_KERNEL

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOKS_DIR = pathlib.Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(p for p in NOTEBOOKS_DIR.glob("*.ipynb") if "gradient_checking" not in p.name)

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
def test_notebook_uses_the_package_and_defines_no_model_code(path):
    nb = nbformat.read(path, as_version=4)
    source = "\n".join(c.source for c in _code_cells(nb))
    assert PACKAGE_IMPORT.search(source), f"{path.name}: no code cell imports from ntm_numpy"
    defined = [m.group(0).strip() for m in MODEL_CODE.finditer(source)]
    assert not defined, f"{path.name}: defines model code {defined}; import it from ntm_numpy"


@parametrize
def test_notebook_executes_and_draws(path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")  # inherited by the kernel
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
