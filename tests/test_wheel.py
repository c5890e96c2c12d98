"""The built package: ``python -m build --wheel``, installed into a fresh virtual
environment, works from there, and holds the shipped models and nothing else.

The source tree is copied first (without ``.git``, virtual environments and build
output), with a ``runs/`` folder of results added to the copy, so that the build
neither writes into the checkout nor can pass by luck: the wheel must leave out tests/,
runs/ and anything but the package. The fresh environment gets the wheel with
``--no-deps``; NumPy and matplotlib come from the test environment's site-packages
through a ``.pth`` file (listed after the environment's own site-packages, which do not
include an editable ntm_numpy), so that the test needs no download. Every command runs
outside the source tree, and the test checks that ``ntm_numpy`` is imported from the
environment.
"""
import os
import pathlib
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile

import pytest

from ntm_numpy.pretrained import PRETRAINED

ROOT = pathlib.Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"
SKIP_IN_COPY = shutil.ignore_patterns(".git", ".venv*", "venv", "site", "build", "dist",
                                      "*.egg-info", "__pycache__", ".pytest_cache",
                                      ".hypothesis", ".cache", "runs")

pytestmark = pytest.mark.slow


def _run(cmd, **kw):
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True,
                          timeout=900, **kw)
    assert proc.returncode == 0, (f"{' '.join(map(str, cmd))} exited {proc.returncode}:\n"
                                  f"{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    return proc


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    try:
        import build  # noqa: F401
    except ImportError:
        if IN_CI:
            pytest.fail("the build package is missing (it is in the dev extra)")
        pytest.skip("the build package is not installed: pip install -e '.[dev]'")
    src = tmp_path_factory.mktemp("src") / "ntm_numpy_src"
    shutil.copytree(ROOT, src, ignore=SKIP_IN_COPY)
    (src / "runs" / "copy").mkdir(parents=True)  # a user's results, never to be packaged
    shutil.copy(src / "ntm_numpy" / "pretrained" / "copy.npz", src / "runs" / "copy" /
                "checkpoint.npz")
    dist = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--wheel", "--outdir", dist, src])
    wheels = list(dist.glob("ntm_numpy-*.whl"))
    assert len(wheels) == 1, f"expected one wheel, got {wheels}"
    return wheels[0]


@pytest.fixture(scope="module")
def env(wheel, tmp_path_factory):
    """A fresh virtual environment with the wheel installed; returns its bin/ folder."""
    home = tmp_path_factory.mktemp("venv") / "env"
    venv.EnvBuilder(with_pip=True).create(home)
    bindir = home / ("Scripts" if os.name == "nt" else "bin")
    python = bindir / "python"
    purelib = _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
                   ).stdout.strip()
    # numpy and matplotlib (and their dependencies) from the test environment, after the
    # environment's own packages
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    pathlib.Path(purelib, "zz_test_env_deps.pth").write_text("\n".join(sorted(deps)) + "\n")
    _run([python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", wheel])
    return bindir


def test_wheel_holds_the_package_and_the_shipped_models_only(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for file in (recipe.file for recipe in PRETRAINED.values()):
        assert f"ntm_numpy/pretrained/{file}" in names, f"{file} missing from the wheel"
    tops = {n.split("/")[0] for n in names}
    dist_info = {t for t in tops if t.endswith(".dist-info")}
    assert tops - dist_info == {"ntm_numpy"}, f"unexpected top-level entries {tops}"
    strays = [n for n in names if n.startswith(("tests/", "runs/", "notebooks/", "docs/"))
              or "/tests/" in n or "/runs/" in n or n.endswith(".pyc")]
    assert not strays, f"the wheel holds {strays[:5]}"
    npz = [n for n in names if n.endswith(".npz")]
    assert sorted(npz) == sorted(f"ntm_numpy/pretrained/{r.file}" for r in PRETRAINED.values())


def test_installed_package_is_the_wheel(env, tmp_path):
    out = _run([env / "python", "-c", "import ntm_numpy; print(ntm_numpy.__file__)"],
               cwd=tmp_path).stdout.strip()
    assert pathlib.Path(out).resolve().is_relative_to(env.parent.resolve()), out
    assert not pathlib.Path(out).resolve().is_relative_to(ROOT), out


def test_help(env, tmp_path):
    out = _run([env / "ntm-numpy", "--help"], cwd=tmp_path).stdout
    for command in ("train", "evaluate", "plot"):
        assert command in out


def test_load_every_shipped_model(env, tmp_path):
    code = (
        "import numpy as np\n"
        "from ntm_numpy.pretrained import PRETRAINED, load_pretrained\n"
        "from ntm_numpy.tasks import get_task\n"
        "for name in PRETRAINED:\n"
        "    model = load_pretrained(name)\n"
        "    task = get_task(name.replace('_lstm', ''))\n"
        "    x, y, mask = task.batch(np.random.default_rng(0), 2, dtype=model.dtype)\n"
        "    logits = model.forward(x)[0]\n"
        "    assert logits.shape == y.shape and np.isfinite(logits).all(), name\n"
        "    print(name, type(model).__name__)\n"
    )
    out = _run([env / "python", "-c", code], cwd=tmp_path).stdout.split("\n")
    assert sorted(line.split()[0] for line in out if line) == sorted(PRETRAINED)


def test_train_copy_from_the_wheel(env, tmp_path):
    run = tmp_path / "run"
    _run([env / "ntm-numpy", "train", "copy", "--updates", "50", "--out", run], cwd=tmp_path,
         env=dict(os.environ, MPLBACKEND="Agg"))
    assert (run / "checkpoint.npz").stat().st_size > 0
    assert list(run.glob("*.png")), "no plots written"
