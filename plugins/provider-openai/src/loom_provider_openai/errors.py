"""Turn the OpenAI SDK's exceptions into Loom's typed provider errors.

=============================================  ==========================================
SDK / transport error                          Loom error
=============================================  ==========================================
``context_length_exceeded`` (or an             ContextOverflowError (not retryable)
OpenAI-compatible server's "maximum context
length" / "context size" message)
408, 409, 429, 5xx                             ProviderError(retryable=True)
other 4xx (400, 401, 403, 404, ...)            ProviderError(retryable=False)
connection refused/reset, timeouts             ProviderError(retryable=True)
a stream that ends before its finish           ProviderError(retryable=True)
=============================================  ==========================================

``retry_after`` comes from ``retry-after-ms`` or ``retry-after``; an
``x-should-retry`` header, when the server sends one, decides ``retryable``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx2
import openai
from loom.errors import ContextOverflowError, ProviderError
from loom_provider_common.retry import retry_after_seconds, retryable_status, should_retry

_OVERFLOW_HINTS = ("context_length_exceeded", "maximum context length", "context window",
                   "exceed_context_size", "available context size", "prompt is too long")


def is_overflow(code: str | None, message: str) -> bool:
    """Whether an error code or message says the prompt does not fit the window."""
    text = f"{code or ''} {message}".lower()
    return any(hint in text for hint in _OVERFLOW_HINTS)


def _api_error(error: openai.APIError, provider: str) -> ProviderError:
    status = getattr(error, "status_code", None)
    headers: Mapping[str, str] = {}
    response = getattr(error, "response", None)
    if response is not None:
        headers = response.headers
    if status is None:  # an error sent inside a streamed 200 response
        retryable = error.type in ("server_error", "rate_limit_exceeded", None)
    else:
        retryable = retryable_status(status)
    retryable = should_retry(headers, retryable)
    body = error.body
    message = body.get("message") if isinstance(body, Mapping) else None
    message = message if isinstance(message, str) and message else error.message
    code = f" {error.code}" if error.code else ""
    where = f"HTTP {status}" if status is not None else "stream error"
    text = f"{provider}: {where}{code}: {message}"
    details: dict[str, Any] = {"provider": provider, "status": status,
                               "retry_after": retry_after_seconds(headers)}
    if is_overflow(error.code, message) and status in (None, 400, 413):
        return ContextOverflowError(text, retryable=False, **details)
    return ProviderError(text, retryable=retryable, **details)


def classify_error(error: BaseException, provider: str = "openai") -> ProviderError | None:
    """The typed Loom error for an exception raised while calling OpenAI, or None."""
    if isinstance(error, ProviderError):
        return error
    if isinstance(error, openai.APITimeoutError):
        return ProviderError(f"{provider}: the request timed out", provider=provider,
                             retryable=True)
    if isinstance(error, openai.APIConnectionError):
        cause = error.__cause__
        why = f" ({type(cause).__name__}: {cause})" if cause else ""
        return ProviderError(f"{provider}: connection failed{why}", provider=provider,
                             retryable=True)
    if isinstance(error, openai.APIResponseValidationError):
        return ProviderError(f"{provider}: unexpected response: {error}", provider=provider,
                             status=error.status_code)
    if isinstance(error, openai.APIError):
        return _api_error(error, provider)
    if isinstance(error, httpx2.TransportError):
        return ProviderError(
            f"{provider}: the connection broke mid-response ({type(error).__name__}: {error})",
            provider=provider, retryable=True)
    if isinstance(error, openai.OpenAIError):
        return ProviderError(f"{provider}: {error}", provider=provider)
    return None
