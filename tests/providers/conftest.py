"""Provider tests never leave this machine."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from loom.testing import no_real_providers


@pytest.fixture(autouse=True)
def _local_only() -> Iterator[None]:
    with no_real_providers():
        yield
