"""Repository-wide test set-up: no test may reach a real provider.

Every test runs inside :func:`loom.testing.no_real_providers`: a connection
or DNS lookup to anything but loopback fails the test with
``RealProviderBlocked``. Local wire-protocol servers, MCP servers and
PostgreSQL all listen on 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from loom.testing import no_real_providers


@pytest.fixture(autouse=True)
def _no_real_providers() -> Iterator[None]:
    with no_real_providers():
        yield
