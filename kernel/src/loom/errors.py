"""Loom's exception hierarchy.

::

    LoomError
    ├── ConfigError                 malformed or invalid configuration (names file, line, key)
    ├── PluginError                 a plugin failed; always names the plugin
    │   ├── PluginLoadError         a plugin's import failed
    │   ├── PluginValidationError   a hook implementation does not match its spec
    │   └── DuplicateRecordError    two plugins registered the same record name
    ├── StageError                  no record selected/available for a stage
    ├── ProviderError               a model call failed
    │   ├── ContextOverflowError    the prompt does not fit the model's window
    │   └── CircuitOpenError        a circuit breaker refuses calls to a provider
    ├── ToolError                   a tool could not run (fed back to the model)
    ├── RunCancelled                the run was cancelled
    └── RealProviderBlocked         loom.testing refused a connection to a real provider
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class LoomError(Exception):
    """Base class of every error Loom raises on purpose."""


class ConfigError(LoomError):
    """Configuration is malformed or invalid.

    The message names the file, the line when known, the key, and a close
    match when one exists.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        key: str | None = None,
    ) -> None:
        self.file = file
        self.line = line
        self.key = key
        where = ""
        if file:
            where = f"{file}:{line}: " if line else f"{file}: "
        super().__init__(f"{where}{message}")


class PluginError(LoomError):
    """A plugin failed. ``plugin`` names it; ``hook`` names the hook when known."""

    def __init__(self, message: str, *, plugin: str, hook: str | None = None) -> None:
        self.plugin = plugin
        self.hook = hook
        super().__init__(message)


class PluginLoadError(PluginError):
    """A plugin's module could not be imported."""


class PluginValidationError(PluginError):
    """A hook implementation does not match the hook contract."""


class DuplicateRecordError(PluginError):
    """Two plugins registered a record with the same name for the same stage."""


class StageError(LoomError):
    """A stage has no usable record (e.g. no provider selected or installed)."""


class ProviderError(LoomError):
    """A model call failed.

    ``retryable`` says whether trying again may help; ``retry_after`` is the
    delay in seconds the provider asked for, when it did; ``status`` is the
    HTTP status when there was one.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        retryable: bool = False,
        retry_after: float | None = None,
        status: int | None = None,
    ) -> None:
        self.provider = provider
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status
        super().__init__(message)


class ContextOverflowError(ProviderError):
    """The request does not fit the model's context window."""


class CircuitOpenError(ProviderError):
    """A circuit breaker is open for this provider and model: fail fast."""


class ToolError(LoomError):
    """A tool call could not run; the message is fed back to the model."""


class RunCancelled(LoomError):
    """The run was cancelled by its owner."""


class RealProviderBlocked(LoomError):
    """``loom.testing`` refused a connection that would reach a real provider."""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest choice, or ``""``."""
    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {matches[0]!r}?)" if matches else ""
