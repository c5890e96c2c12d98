"""Shared test configuration: hypothesis profiles.

``ci`` (the default) keeps the whole suite within a few minutes on 2 cores;
``thorough`` draws many more examples, for local runs::

    HYPOTHESIS_PROFILE=thorough python -m pytest
"""
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

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
