"""Servers and programs some tests need beyond the venv: PostgreSQL and Chromium.

``.ci/run`` installs and starts both and sets ``CREDITRISK_REQUIRE_SERVICES=1``: there a
missing one fails its tests, so a green CI run has run every one of them. On a
developer's machine without them, those tests skip and say why.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

REQUIRE_ENV = "CREDITRISK_REQUIRE_SERVICES"


def unavailable(reason: str) -> NoReturn:
    """Fail where CI provides every service, else skip, with ``reason``."""
    if os.environ.get(REQUIRE_ENV):
        pytest.fail(f"{reason} ({REQUIRE_ENV} is set: this run must provide it)")
    pytest.skip(reason)
