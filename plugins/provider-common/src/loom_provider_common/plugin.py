"""What a provider plugin's entry-point module registers, without importing its SDK.

A provider plugin describes itself once as an :class:`SDKPlugin` and binds
its hook implementations, in its entry-point module::

    PLUGIN = SDKPlugin(NAME, "my_pkg.provider:MyProvider", MySettings, "My API",
                       sdk_error="my_sdk:MyError", classify="my_pkg.errors:classify_error")
    loom_register_providers = PLUGIN.loom_register_providers
    loom_classify_error = PLUGIN.loom_classify_error

Everything that would import the SDK is named by an import string
(``"package.module:attribute"``) and imported only when needed.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from typing import Any

from loom.errors import ProviderError
from loom.hookspecs import hookimpl
from loom.records import ProviderRecord
from pydantic import BaseModel


def _load(target: str) -> Any:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


@dataclass(frozen=True)
class SDKPlugin:
    """One provider record whose class and errors live behind an SDK import.

    ``provider`` is the import string of the provider class (which has a
    ``from_settings`` class method), ``settings`` the model of
    ``[settings.<name>]``. ``sdk_error`` is the import string of the SDK's base
    exception (until its module is imported, no SDK error can exist) and
    ``classify`` that of the plugin's ``classify_error(error, provider)``.
    """

    name: str
    provider: str
    settings: type[BaseModel]
    description: str
    sdk_error: str
    classify: str

    @hookimpl
    def loom_register_providers(self) -> list[ProviderRecord]:
        """Register the provider, configured by ``[settings.<name>]``; :mod:`loom.providers`
        exports its class under the class's name."""
        return [ProviderRecord(
            name=self.name,
            factory=f"{self.provider}.from_settings",
            class_name=self.provider.rpartition(":")[2],
            cls=self.provider,
            settings=self.settings,
            description=self.description,
        )]

    @hookimpl
    def loom_classify_error(self, error: BaseException, provider: str) -> ProviderError | None:
        """Type an exception from the SDK (or, for this provider, its transport).

        None when the SDK was never imported, and for errors that are neither,
        so other plugins may classify them.
        """
        if self.sdk_error.partition(":")[0] not in sys.modules:
            return None
        if not isinstance(error, _load(self.sdk_error)) and provider != self.name:
            return None
        typed: ProviderError | None = _load(self.classify)(error, provider or self.name)
        return typed
