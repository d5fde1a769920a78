"""What every provider built on an official SDK shares: its options and its clients.

:class:`SDKProvider` holds the options common to the provider plugins (name,
model, API key, base URL, timeout, SDK retries, price overrides, context
window), keeps one SDK client per running event loop, and builds itself from
its validated settings. A subclass supplies what differs: its settings model,
its price table, its defaults, how to build its SDK client and how to close it,
and of course ``complete``.

This module imports no provider SDK.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from types import EllipsisType
from typing import Any, ClassVar, Generic, Self, TypedDict, TypeVar

from loom.errors import ProviderError
from loom.requests import Usage
from pydantic import BaseModel

from loom_provider_common.clients import ClientPerLoop
from loom_provider_common.pricing import ModelPrice, PriceTable, with_cost

C = TypeVar("C")
S = TypeVar("S", bound=BaseModel)


class ProviderOptions(TypedDict, total=False):
    """The constructor keywords every :class:`SDKProvider` takes (see its docstring)."""

    api_key: str | EllipsisType | None
    model: str
    base_url: str | None
    timeout: float
    max_retries: int
    prices: Mapping[str, ModelPrice | Mapping[str, float]] | None
    context_window: int | None
    name: str


class SDKProvider(ABC, Generic[C, S]):
    """Base of a provider plugin whose calls go through an SDK client of type ``C``,
    configured by the settings model ``S``.

    ``api_key=None`` (or ``...``) and ``base_url=None`` leave them to the SDK
    (its environment variables). ``timeout`` is in seconds; ``max_retries`` is
    the SDK's own retry count (0: retrying is the retry plugin's job).
    ``prices`` overrides the default price table (model → :class:`ModelPrice`
    or a dict of its fields); ``context_window`` overrides the table's window.
    ``model`` and ``name`` default to the class's ``default_model`` and
    ``default_name``.

    A subclass sets ``settings_type``, ``price_table``, ``default_model`` and
    ``default_name`` and implements ``_new_client`` and ``_close_client``.
    """

    #: The pydantic model of ``[settings.<name>]`` (an ``S``).
    settings_type: ClassVar[type[BaseModel]]
    #: Default prices and context windows by model-name prefix.
    price_table: ClassVar[PriceTable]
    default_model: ClassVar[str]
    default_name: ClassVar[str]

    def __init__(
        self,
        *,
        api_key: str | EllipsisType | None = None,
        model: str | None = None,
        base_url: str | None = None,
        timeout: float = 600.0,
        max_retries: int = 0,
        prices: Mapping[str, ModelPrice | Mapping[str, float]] | None = None,
        context_window: int | None = None,
        name: str | None = None,
    ) -> None:
        self.name = self.default_name if name is None else name
        self.model = self.default_model if model is None else model
        self.api_key = None if api_key is Ellipsis else api_key
        self.base_url = base_url
        self.timeout = timeout
        self.max_retries = max_retries
        self.prices = {k: ModelPrice.model_validate(v) for k, v in (prices or {}).items()}
        self._context_window = context_window
        self._clients = ClientPerLoop(self._new_client, self._close_client)

    @classmethod
    def from_settings(cls, settings: S | None = None) -> Self:
        """Build from validated ``[settings.<name>]`` (the defaults when None)."""
        return cls(**(settings or cls.settings_type()).model_dump())

    @property
    def context_window(self) -> int:
        """The model's context window in tokens."""
        return self._context_window or self.price_table.context_window_for(self.model)

    @abstractmethod
    def _new_client(self) -> C:
        """A new SDK client with this provider's options."""

    @abstractmethod
    def _close_client(self, client: C) -> Awaitable[object]:
        """Close ``client``'s HTTP connections."""

    def _client_options(self) -> dict[str, Any]:
        """Keyword arguments for an SDK client that takes ``timeout``, ``max_retries``
        and, when set, ``api_key`` and ``base_url`` (as Anthropic's and OpenAI's do)."""
        options: dict[str, Any] = {"timeout": self.timeout, "max_retries": self.max_retries}
        if self.api_key is not None:
            options["api_key"] = self.api_key
        if self.base_url is not None:
            options["base_url"] = self.base_url
        return options

    def client(self) -> C:
        """The SDK client for the running event loop (one per loop)."""
        return self._clients.get()

    async def aclose(self) -> None:
        """Close the HTTP connections of the current event loop's client."""
        await self._clients.aclose()

    @contextmanager
    def _typed_errors(self, classify: Callable[[BaseException, str], ProviderError | None]
                      ) -> Iterator[None]:
        """Raise an exception from the block as the :class:`~loom.errors.ProviderError`
        ``classify`` makes of it (chained to it); unchanged when it makes none."""
        try:
            yield
        except Exception as exc:
            typed = classify(exc, self.name)
            if typed is None or typed is exc:
                raise
            raise typed from exc

    def _with_cost(self, usage: Usage, *models: str) -> Usage:
        """``usage`` with its cost, priced as the first of ``models`` that has a price
        (the user's ``prices`` first): pass the model that answered, then the one asked for."""
        return with_cost(usage, self.price_table.price_for(*models, overrides=self.prices))
