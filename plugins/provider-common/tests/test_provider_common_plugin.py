"""SDKPlugin: a provider plugin's record and error classification, without importing its SDK."""

from __future__ import annotations

import json

from loom.errors import ProviderError
from loom_provider_common.plugin import SDKPlugin
from pydantic import BaseModel


class Settings(BaseModel):
    model: str = "m"


def classify(error: BaseException, provider: str) -> ProviderError | None:
    return ProviderError(f"{provider}: {error}", provider=provider)


# The "SDK" is the json module: its base error stands for the SDK's.
PLUGIN = SDKPlugin("example", "example_pkg.provider:ExampleProvider", Settings, "An example",
                   sdk_error="json:JSONDecodeError", classify=f"{__name__}:classify")


def test_the_record_names_the_class_and_its_factory_without_importing_them() -> None:
    [record] = PLUGIN.loom_register_providers()
    assert (record.name, record.class_name, record.cls, record.factory) == (
        "example", "ExampleProvider", "example_pkg.provider:ExampleProvider",
        "example_pkg.provider:ExampleProvider.from_settings")
    assert record.settings is Settings and record.description == "An example"


def test_sdk_errors_are_classified_for_any_provider_name() -> None:
    typed = PLUGIN.loom_classify_error(json.JSONDecodeError("bad", "{", 0), "")
    assert isinstance(typed, ProviderError) and typed.provider == "example"
    typed = PLUGIN.loom_classify_error(json.JSONDecodeError("bad", "{", 0), "other")
    assert typed is not None and typed.provider == "other"


def test_other_errors_only_for_this_provider() -> None:
    assert PLUGIN.loom_classify_error(OSError("reset"), "other") is None
    typed = PLUGIN.loom_classify_error(OSError("reset"), "example")
    assert typed is not None and "reset" in str(typed)


def test_nothing_is_classified_while_the_sdk_is_not_imported() -> None:
    absent = SDKPlugin("example", "example_pkg.provider:ExampleProvider", Settings, "An example",
                       sdk_error="loom_absent_sdk_module:Error", classify=f"{__name__}:classify")
    assert absent.loom_classify_error(OSError("reset"), "example") is None
