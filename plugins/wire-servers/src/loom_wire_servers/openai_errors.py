"""Error bodies shared by the OpenAI Chat Completions and Responses protocols."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .protocol import ProtocolAdapter, WireError, new_id, retry_headers, should_retry_header

__all__ = ["OpenAIErrorMixin"]

_TYPES_AND_CODES: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
    500: ("server_error", None),
    503: ("server_error", "service_unavailable"),
}
_MESSAGES = {
    400: "Invalid request.",
    401: "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.",
    403: "Country, region, or territory not supported.",
    404: "The model does not exist or you do not have access to it.",
    429: "Rate limit reached for requests. Please try again later.",
    500: "The server had an error while processing your request. Sorry about that!",
    503: "The engine is currently overloaded, please try again later.",
}


class OpenAIErrorMixin(ProtocolAdapter):
    """``{"error": {"message", "type", "param", "code"}}`` bodies and ``x-request-id``."""

    def make_error(
        self,
        status: int,
        message: str,
        *,
        error_type: str | None = None,
        code: str | None = None,
        param: str | None = None,
        retry_after: float | None = None,
        should_retry: bool | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> WireError:
        default_type, default_code = _TYPES_AND_CODES.get(
            status, ("server_error" if status >= 500 else "invalid_request_error", None)
        )
        body: dict[str, Any] = {
            "error": {
                "message": message,
                "type": error_type or default_type,
                "param": param,
                "code": code if code is not None else default_code,
            }
        }
        all_headers = {
            "x-request-id": new_id("req_", 32),
            **retry_headers(retry_after, with_ms=True),
            **should_retry_header(should_retry),
            **(headers or {}),
        }
        return WireError(status, body, all_headers)

    def default_message(self, status: int) -> str:
        return _MESSAGES.get(status, f"HTTP {status}")

    def response_headers(self) -> dict[str, str]:
        return {"x-request-id": new_id("req_", 32), "openai-processing-ms": "1"}
