"""The OpenAI server: Chat Completions, Responses and the models list on one port."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from .openai_chat import ChatCompletionsAdapter
from .openai_responses import ResponsesAdapter
from .script import Script
from .server import WireServer

__all__ = ["OpenAIServer"]


class OpenAIServer(WireServer):
    """Serves the OpenAI API: ``POST /v1/chat/completions``, ``POST /v1/responses``,
    ``GET /v1/models`` and ``GET /v1/models/{id}``.

    Both generation endpoints share one script. Pass :attr:`base_url` to
    ``openai.OpenAI(base_url=..., api_key=...)``. ``models`` lists the model ids
    reported by ``/v1/models``.
    """

    def __init__(
        self,
        script: Script | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        validate: bool = True,
        api_key: str | None = None,
        context_window: int | None = None,
        models: Sequence[str] = ("gpt-4o-mini", "gpt-4o", "o4-mini"),
    ) -> None:
        super().__init__(
            script, host=host, port=port, validate=validate, api_key=api_key, context_window=context_window
        )
        self.models = tuple(models)
        self.chat = ChatCompletionsAdapter()
        self.responses = ResponsesAdapter()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``, as the OpenAI SDK expects it."""
        return f"{self.url}/v1"

    def _add_routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/chat/completions", self._chat_completions)
        app.router.add_post("/v1/responses", self._responses)
        app.router.add_get("/v1/models", self._list_models)
        app.router.add_get("/v1/models/{model:.+}", self._get_model)

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {self.api_key}"

    async def _chat_completions(self, request: web.Request) -> web.StreamResponse:
        return await self._serve_generation(self.chat, request)

    async def _responses(self, request: web.Request) -> web.StreamResponse:
        return await self._serve_generation(self.responses, request)

    def _model(self, model_id: str) -> dict[str, Any]:
        return {
            "id": model_id,
            "object": "model",
            "created": int(time.time()),
            "owned_by": "loom-wire-servers",
        }

    async def _list_models(self, request: web.Request) -> web.StreamResponse:
        return await self._serve_simple(
            self.chat, request, lambda _: {"object": "list", "data": [self._model(m) for m in self.models]}
        )

    async def _get_model(self, request: web.Request) -> web.StreamResponse:
        model_id = request.match_info["model"]

        def lookup(_: Any) -> dict[str, Any]:
            if model_id not in self.models:
                raise self.chat.make_error(
                    404,
                    f"The model '{model_id}' does not exist or you do not have access to it.",
                    code="model_not_found",
                )
            return self._model(model_id)

        return await self._serve_simple(self.chat, request, lookup)
