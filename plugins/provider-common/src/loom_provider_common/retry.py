"""What an HTTP error response says about trying again."""

from __future__ import annotations

import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """The delay a response asks for: ``retry-after-ms``, else ``retry-after``
    (seconds or an HTTP date); None when absent or unreadable. Never negative.

    ``headers`` must look names up case-insensitively (as HTTP client header
    objects do) or hold lower-case names.
    """
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def retryable_status(status: int) -> bool:
    """Whether trying again may help for this HTTP status (408, 409, 429, 5xx)."""
    return status in (408, 409, 429) or status >= 500


def should_retry(headers: Mapping[str, str], default: bool) -> bool:
    """``default``, unless the server decided with ``x-should-retry: true|false``."""
    value = headers.get("x-should-retry")
    if value in ("true", "false"):
        return value == "true"
    return default
