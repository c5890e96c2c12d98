"""docs/reliability.md names a test for every guarantee: each must exist."""
import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _tests_in(path):
    return {n.name for n in ast.walk(ast.parse(path.read_text()))
            if isinstance(n, ast.FunctionDef) and n.name.startswith("test")}


def test_every_test_the_reliability_page_names_exists():
    page = (ROOT / "docs" / "reliability.md").read_text()
    named = re.findall(r"`(tests/\w+\.py)(?:::(\w+))?`|`::(\w+)`", page)
    assert len(named) > 30
    missing, current = [], None
    for file, test, sibling in named:
        if file:
            current = ROOT / file
            assert current.exists(), file
        name = test or sibling
        if name and name not in _tests_in(current):
            missing.append(f"{current.name}::{name}")
    assert missing == []
