"""Every code block marked ```python in README.md, docs/*.md and docs/results/*.md runs.

Blocks of one page run in order in one namespace (a page may build on its earlier
blocks), in a temporary working directory, with matplotlib on the Agg backend. Blocks
that are not meant to run are marked ```text or ```bash.
"""
import pathlib
import re

import matplotlib
import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PAGES = ([ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
         + sorted((ROOT / "docs" / "results").glob("*.md")))
NAMES = [p.relative_to(ROOT / "docs").as_posix() if p.parent != ROOT else p.name
         for p in PAGES]
BLOCK = re.compile(r"^```python[ \t]*\n(.*?)^```", re.S | re.M)


def python_blocks(page):
    return BLOCK.findall(page.read_text(encoding="utf-8"))


def test_the_docs_have_runnable_examples():
    assert sum(len(python_blocks(p)) for p in PAGES) >= 10


@pytest.mark.parametrize("page", PAGES, ids=NAMES)
def test_python_blocks_run(page, tmp_path, monkeypatch):
    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__docs__"}
    for i, block in enumerate(python_blocks(page)):
        code = compile(block, f"{page.name}[block {i}]", "exec")
        with np.errstate(all="raise", under="ignore"):
            exec(code, namespace)


def test_relative_links_resolve():
    link = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
    for page in PAGES:
        for target in link.findall(page.read_text(encoding="utf-8")):
            if re.match(r"^[a-z]+://", target):
                continue
            assert (page.parent / target).exists(), f"{page.name}: broken link {target}"
