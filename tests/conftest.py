"""Test-wide settings.

Hypothesis: ``make test`` explores new examples on every run; CI (``.ci/run`` sets
``HYPOTHESIS_PROFILE=ci``) replays a fixed, derandomised set so a red build is
reproducible. Neither keeps an example database in the working tree.

``tables`` and ``model``: the packaged sample and the reference model, one of each per
test module (a module that needs other tables or another model defines its own).

Spark: one local SparkSession (``local[2]``) for the whole test session, started on
first use (about 6 s) and stopped at the end.

The command line's Rich consoles print 200 columns wide: at the default 80 a long
temporary path (pytest-xdist's workers add ``popen-gwN/`` to each) wraps inside a word,
and what a test looks for in the output depends on where the path happened to break.
"""

import os

os.environ["COLUMNS"] = "200"  # before creditrisk.cli makes its consoles

import pytest
from hypothesis import settings

settings.register_profile("dev", database=None, deadline=None)
settings.register_profile("ci", database=None, deadline=None, derandomize=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture(scope="module")
def tables():
    """The packaged sample's event tables (10,000 enterprises, 2018-2025)."""
    import creditrisk as cr

    return cr.load_sample()


@pytest.fixture(scope="module")
def model():
    """The reference model shipped with the package (models/sample)."""
    import creditrisk as cr

    return cr.RiskModel.load(cr.sample_model_path())


@pytest.fixture(scope="session")
def spark():
    """The test session's SparkSession: local[2], UTC, Arrow (jobs.spark.local_session)."""
    from creditrisk.jobs.spark import local_session

    session = local_session("local[2]")
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
