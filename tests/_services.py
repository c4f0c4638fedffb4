"""Servers and programs some tests need beyond the venv: PostgreSQL and Chromium.

``make test`` installs both where they are missing (``tools/test-services.sh``); a test
whose service is still missing fails and says why, so a green run has run every test.
"""

from __future__ import annotations

from typing import NoReturn

import pytest


def unavailable(reason: str) -> NoReturn:
    """Fail the test with ``reason``: a service it needs is missing."""
    pytest.fail(f"{reason} (`make test` installs it: tools/test-services.sh)")
