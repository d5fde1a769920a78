"""Test configuration that must hold under this package's and the repository's pytest settings."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    # google-genai subclasses aiohttp.ClientSession, which aiohttp reports when the SDK's
    # async transport is first imported; that warning is about the SDK, not this package.
    config.addinivalue_line(
        "filterwarnings", "ignore:Inheritance class AiohttpClientSession:DeprecationWarning"
    )
