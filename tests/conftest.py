"""Shared test configuration: hypothesis profiles.

``ci`` (the default) keeps the whole suite within a few minutes on 2 cores;
``thorough`` draws many more examples, for local runs::

    HYPOTHESIS_PROFILE=thorough python -m pytest
"""
import os

import numpy as np
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
