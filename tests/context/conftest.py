"""Fixtures for the context compression tests: no network, the compression plugins."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType

import loom_compress_auto
import loom_compress_collapse
import loom_compress_common
import loom_compress_micro
import loom_compress_reactive
import loom_compress_renewal
import loom_compress_snip
import pytest
from loom.testing import no_real_providers

#: Every compression plugin module, as the entry points would load them.
COMPRESSION_PLUGINS: list[ModuleType] = [
    loom_compress_common,
    loom_compress_snip,
    loom_compress_micro,
    loom_compress_collapse,
    loom_compress_auto,
    loom_compress_reactive,
    loom_compress_renewal,
]


@pytest.fixture(autouse=True)
def _no_network() -> Iterator[None]:
    with no_real_providers():
        yield


@pytest.fixture
def compression_plugins() -> list[ModuleType]:
    """The compression plugin modules."""
    return list(COMPRESSION_PLUGINS)
