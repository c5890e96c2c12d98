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
