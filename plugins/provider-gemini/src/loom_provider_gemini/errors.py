"""Turn the google-genai SDK's exceptions into Loom's typed provider errors.

=============================================  ==========================================
SDK / transport error                          Loom error
=============================================  ==========================================
400 "input token count ... exceeds the         ContextOverflowError (not retryable)
maximum number of tokens"
408, 409, 429 RESOURCE_EXHAUSTED, 5xx          ProviderError(retryable=True)
other 4xx (400, 401, 403, 404, ...)            ProviderError(retryable=False)
connection refused/reset, timeouts             ProviderError(retryable=True)
(httpx2 or aiohttp, whichever the SDK uses)
a stream that ends without a finish reason     ProviderError(retryable=True)
=============================================  ==========================================

``retry_after`` comes from the ``Retry-After`` header or, failing that, the
``RetryInfo.retryDelay`` detail of the error body.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from typing import Any

import httpx2
from google.genai import errors as genai_errors
from loom.errors import ContextOverflowError, ProviderError
from loom_provider_common.retry import retry_after_seconds, retryable_status

_OVERFLOW = re.compile(r"input token count.*exceeds the maximum|exceeds the maximum number of "
                       r"tokens|context (window|length)", re.IGNORECASE | re.DOTALL)


def _retry_delay(details: Any) -> float | None:
    """``RetryInfo.retryDelay`` (e.g. ``"2.5s"``) from an error body, in seconds."""
    error = details.get("error", details) if isinstance(details, Mapping) else {}
    items = error.get("details") if isinstance(error, Mapping) else None
    for item in items if isinstance(items, list) else []:
        if isinstance(item, Mapping) and str(item.get("@type", "")).endswith("RetryInfo"):
            match = re.fullmatch(r"\s*([\d.]+)s\s*", str(item.get("retryDelay", "")))
            if match:
                return float(match.group(1))
    return None


def _api_error(error: genai_errors.APIError, provider: str) -> ProviderError:
    status = int(error.code or 0)
    headers = getattr(error.response, "headers", None) or {}
    message = error.message or str(error)
    retry_after = retry_after_seconds(headers)
    if retry_after is None:
        retry_after = _retry_delay(error.details)
    text = f"{provider}: HTTP {status}{' ' + error.status if error.status else ''}: {message}"
    details: dict[str, Any] = {"provider": provider, "status": status or None,
                               "retry_after": retry_after}
    if status == 400 and _OVERFLOW.search(message):
        return ContextOverflowError(text, retryable=False, **details)
    return ProviderError(text, retryable=retryable_status(status), **details)


def _transport_errors() -> tuple[type[BaseException], ...]:
    """Connection errors of the HTTP clients the SDK may use (httpx2, or aiohttp
    when it is installed)."""
    aiohttp = sys.modules.get("aiohttp")
    extra = (aiohttp.ClientError,) if aiohttp is not None else ()
    return (httpx2.TransportError, ConnectionError, *extra)


def classify_error(error: BaseException, provider: str = "gemini") -> ProviderError | None:
    """The typed Loom error for an exception raised while calling Gemini, or None."""
    if isinstance(error, ProviderError):
        return error
    if isinstance(error, genai_errors.APIError):
        return _api_error(error, provider)
    if isinstance(error, (httpx2.TimeoutException, TimeoutError)):
        return ProviderError(f"{provider}: the request timed out", provider=provider,
                             retryable=True)
    if isinstance(error, _transport_errors()):
        return ProviderError(
            f"{provider}: the connection failed or broke ({type(error).__name__}: {error})",
            provider=provider, retryable=True)
    return None
