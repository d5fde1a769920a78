"""Turn the Anthropic SDK's exceptions into Loom's typed provider errors.

=============================================  ==========================================
SDK / transport error                          Loom error
=============================================  ==========================================
400 "prompt is too long", 413                  ContextOverflowError (not retryable)
408, 409, 429, 5xx, 529 overloaded             ProviderError(retryable=True)
other 4xx (400, 401, 403, 404, ...)            ProviderError(retryable=False)
connection refused/reset, timeouts             ProviderError(retryable=True)
a stream that ends before ``message_stop``     ProviderError(retryable=True)
=============================================  ==========================================

``retry_after`` comes from ``retry-after-ms`` or ``retry-after``; an
``x-should-retry`` header, when the server sends one, decides ``retryable``.
"""

from __future__ import annotations

from typing import Any

import anthropic
import httpx2
from loom.errors import ContextOverflowError, ProviderError
from loom_provider_common.retry import retry_after_seconds, retryable_status, should_retry

#: Status implied by an error ``type`` sent inside a 200 SSE stream.
_TYPE_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}


def _status_error(error: anthropic.APIStatusError, provider: str) -> ProviderError:
    status = error.status_code
    kind = error.type or ""
    if status < 400:  # an error event inside a streamed 200 response
        status = _TYPE_STATUS.get(kind, 500)
    message = error.api_message or error.message
    headers = error.response.headers
    retryable = should_retry(headers, retryable_status(status))
    text = f"{provider}: HTTP {status}{' ' + kind if kind else ''}: {message}"
    details: dict[str, Any] = {"provider": provider, "status": status,
                               "retry_after": retry_after_seconds(headers)}
    if status == 413 or (status == 400 and "prompt is too long" in message.lower()):
        return ContextOverflowError(text, retryable=False, **details)
    return ProviderError(text, retryable=retryable, **details)


def classify_error(error: BaseException, provider: str = "anthropic") -> ProviderError | None:
    """The typed Loom error for an exception raised while calling Anthropic, or None."""
    if isinstance(error, ProviderError):
        return error
    if isinstance(error, anthropic.APIStatusError):
        return _status_error(error, provider)
    if isinstance(error, anthropic.APITimeoutError):
        return ProviderError(f"{provider}: the request timed out", provider=provider,
                             retryable=True)
    if isinstance(error, anthropic.APIConnectionError):
        cause = error.__cause__
        why = f" ({type(cause).__name__}: {cause})" if cause else ""
        return ProviderError(f"{provider}: connection failed{why}", provider=provider,
                             retryable=True)
    if isinstance(error, httpx2.TransportError):
        return ProviderError(
            f"{provider}: the connection broke mid-response ({type(error).__name__}: {error})",
            provider=provider, retryable=True)
    if isinstance(error, anthropic.APIResponseValidationError):
        return ProviderError(f"{provider}: unexpected response: {error}", provider=provider,
                             status=error.status_code)
    if isinstance(error, anthropic.AnthropicError):
        return ProviderError(f"{provider}: {type(error).__name__}: {error}", provider=provider)
    return None
