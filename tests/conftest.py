"""Test-wide settings.

Hypothesis: ``make test`` explores new examples on every run; CI (``.ci/run`` sets
``HYPOTHESIS_PROFILE=ci``) replays a fixed, derandomised set so a red build is
reproducible. Neither keeps an example database in the working tree.
"""

import os

from hypothesis import settings

settings.register_profile("dev", database=None, deadline=None)
settings.register_profile("ci", database=None, deadline=None, derandomize=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
