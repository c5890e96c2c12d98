"""Shared test configuration: hypothesis profiles, and OpenBLAS's kernels.

``ci`` (the default) keeps the whole suite within a few minutes on 2 cores;
``thorough`` draws many more examples, for local runs::

    HYPOTHESIS_PROFILE=thorough python -m pytest
"""
import os
import platform
import sys


def _round_as_the_reference_machine():
    """Have OpenBLAS use its Haswell kernels on any x86-64 processor that has them (AVX2
    and FMA), before NumPy loads it: the figures that tests hold training runs to exact
    values were measured with those kernels (``support.REFERENCE_MACHINE``), and a BLAS
    that picks other kernels (SkylakeX's, say) rounds the runs differently. A value of
    ``OPENBLAS_CORETYPE`` already set is kept; elsewhere such tests skip themselves."""
    if "numpy" in sys.modules or "OPENBLAS_CORETYPE" in os.environ:
        return
    if platform.machine() not in ("x86_64", "AMD64"):
        return
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line.split(":", 1)[1].split() for line in f
                          if line.startswith("flags")), [])
    except OSError:
        return
    if {"avx2", "fma"} <= set(flags):
        os.environ["OPENBLAS_CORETYPE"] = "Haswell"


_round_as_the_reference_machine()

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile(
    "ci",
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "thorough",
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

np.seterr(all="raise", under="ignore")


@pytest.fixture(scope="module", autouse=True)
def _report_worst_relative_errors(request):
    """With NTM_REPORT_RELERR set, print the worst relative errors of the module's checks."""
    yield
    if os.environ.get("NTM_REPORT_RELERR"):
        import support

        name = request.module.__name__
        for check, value in sorted(support.WORST.get(name, {}).items()):
            print(f"\n[relerr] {name} {check}: {value:.2e}")


@pytest.fixture(scope="session", autouse=True)
def _test_kernelspec(tmp_path_factory):
    """Install the notebook tests' kernel (``support.TEST_KERNEL``) for ``sys.executable``
    in a temporary Jupyter path, so that notebooks import the ntm_numpy under test (a
    user-wide "python3" kernelspec may point at another environment)."""
    try:
        from ipykernel.kernelspec import install
    except ImportError:  # the notebook tests skip themselves without their dependencies
        yield
        return
    prefix = tmp_path_factory.mktemp("jupyter")
    from support import TEST_KERNEL

    install(kernel_name=TEST_KERNEL, prefix=str(prefix))
    old = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = os.pathsep.join(
        [str(prefix / "share" / "jupyter")] + ([old] if old else []))
    yield
    if old is None:
        os.environ.pop("JUPYTER_PATH", None)
    else:
        os.environ["JUPYTER_PATH"] = old


@pytest.fixture(scope="session")
def executed_notebooks(tmp_path_factory):
    """A folder ``notebooks/`` where the notebook tests leave the notebooks they executed,
    for the site test to build from instead of executing them a second time."""
    folder = tmp_path_factory.mktemp("executed") / "notebooks"
    folder.mkdir()
    return folder
