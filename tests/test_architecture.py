"""The layout is the architecture (docs/architecture.md): every module sits in one layer
of the figure's LAYERS, imports point down (or within a layer) only, no module is too
long to read in one sitting, and the models have one loop over time each way."""
import ast
import importlib.util
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "ntm_numpy"

#: The longest module, in lines.
MAX_MODULE_LINES = 700


def _layers():
    spec = importlib.util.spec_from_file_location(
        "make_architecture_figures", ROOT / "docs" / "make_architecture_figures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.LAYERS


def _part_of(path):
    """``ntm_numpy/training/loop.py`` -> ``training/``; ``ntm_numpy/model.py`` -> itself."""
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] + "/" if len(rel.parts) > 1 else rel.parts[0]


def _modules():
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _imported_parts(path):
    """The parts of the package (as :func:`_part_of` names them) that ``path`` imports."""
    package = list(path.relative_to(PACKAGE).parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - node.level + 1]
            module = base + (node.module.split(".") if node.module else [])
            targets = [module] if node.module else [module + [a.name] for a in node.names]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("ntm_numpy."):
            targets = [node.module.split(".")[1:]]
        elif isinstance(node, ast.Import):
            targets = [a.name.split(".")[1:] for a in node.names
                       if a.name.startswith("ntm_numpy.")]
        else:
            continue
        for parts in targets:
            if parts:
                found.add(parts[0] + ("/" if (PACKAGE / parts[0]).is_dir() else ".py"))
    return found


def test_every_module_is_in_one_layer_of_the_architecture_figure():
    placed = [m for _, _, modules in _layers() for m in modules]
    assert len(placed) == len(set(placed))
    parts = {_part_of(p) for p in _modules()} - {"__init__.py"}
    assert parts == set(placed), (sorted(parts - set(placed)), sorted(set(placed) - parts))


def test_imports_point_down_only():
    layer = {m: i for i, (_, _, modules) in enumerate(_layers()) for m in modules}
    upward = []
    for path in _modules():
        part = _part_of(path)
        if part == "__init__.py":
            continue
        for target in _imported_parts(path):
            if target in layer and target != part and layer[target] < layer[part]:
                upward.append(f"{path.relative_to(ROOT)} imports {target}")
    assert upward == []


def test_no_module_is_longer_than_one_sitting():
    long = {str(p.relative_to(ROOT)): n for p in _modules()
            if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES}
    assert long == {}


@pytest.mark.parametrize("name", ["model.py", "baseline.py", "cell.py", "reference_step.py",
                                  "fused_step.py", "training/loop.py", "training/step.py"])
def test_the_models_loop_over_time_only_in_recurrence(name):
    source = (PACKAGE / name).read_text()
    assert not re.search(r"for t in (range|reversed)\(", source)
    assert re.search(r"for t in range\(T\)", (PACKAGE / "recurrence.py").read_text())
    assert re.search(r"for t in reversed\(range\(T\)\)", (PACKAGE / "recurrence.py").read_text())


def test_no_private_attribute_of_another_library_is_used():
    private = re.compile(r"\b(?:parser|action|executor|anim|animation|sub|args|ctypes)\."
                         r"_[a-z]\w*")
    found = [f"{p.relative_to(ROOT)}: {m.group(0)}" for p in _modules()
             for m in private.finditer(p.read_text())]
    found += [f"{p.relative_to(ROOT)}: {w}" for p in _modules()
              for w in ("_SubParsersAction", "_add_action", "_processes", "_interval",
                        "import ctypes", "__annotations__[")
              if w in p.read_text()]
    assert found == []


def test_the_architecture_page_shows_both_figures():
    page = (ROOT / "docs" / "architecture.md").read_text()
    for name in ("architecture_parts.png", "architecture_data_path.png"):
        assert f"images/{name}" in page
        assert (ROOT / "docs" / "images" / name).exists()
    assert "python docs/make_architecture_figures.py" in page
    assert os.path.getsize(ROOT / "docs" / "images" / "architecture_parts.png") > 10_000


def test_every_module_has_a_page_in_the_api_reference():
    documented = set()
    for page in (ROOT / "docs" / "api").glob("*.md"):
        documented |= set(re.findall(r"^::: (ntm_numpy[\w.]*)", page.read_text(), re.M))
    missing = []
    for path in _modules():
        rel = path.relative_to(PACKAGE).with_suffix("")
        parts = [p for p in rel.parts if p != "__init__"]
        name = ".".join(["ntm_numpy", *parts])
        if not parts or any(p.startswith("_") for p in parts):
            continue  # the package itself is docs/api.md's prose; private modules are not API
        if name not in documented:
            missing.append(name)
    assert missing == []
