"""The async hook dispatcher.

pluggy calls implementations synchronously, which breaks ``async def``
implementations (a ``firstresult`` hook would "win" with an un-awaited
coroutine). :class:`Dispatcher` walks the implementations in pluggy's call
order (``tryfirst`` … ``trylast``, later registrations first), awaits each
result before calling the next, applies the hook's kind and names the
plugin in every error. Call plans are cached per hook and rebuilt when the
set of plugins changes.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import pluggy

from loom.errors import LoomError, PluginError, PluginValidationError
from loom.hookspecs import HOOK_KINDS
from loom.verdicts import Verdict, fold_verdicts

NotifyErrorHandler = Callable[[str, str, BaseException], Any]


@dataclass(frozen=True, slots=True)
class _Impl:
    plugin: str
    function: Callable[..., Any]
    argnames: tuple[str, ...]
    is_async: bool
    #: ``kwargs -> positional arguments`` for ``function`` (built once per plan).
    arguments: Callable[[dict[str, Any]], tuple[Any, ...]]


def _argument_getter(names: tuple[str, ...]) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    if not names:
        return lambda kwargs: ()
    if len(names) == 1:
        name = names[0]
        return lambda kwargs: (kwargs[name],)
    return itemgetter(*names)


def _awaitable(result: Any) -> bool:
    """Whether a sync implementation handed back something to await (cheap for None)."""
    return result is not None and inspect.isawaitable(result)


def _raise_for(hook: str, impl: _Impl, exc: Exception) -> PluginError:
    if isinstance(exc, PluginError):
        return exc
    return PluginError(
        f"plugin {impl.plugin!r} raised in {hook}: {type(exc).__name__}: {exc}",
        plugin=impl.plugin,
        hook=hook,
    )


class Dispatcher:
    """Calls hooks of one :class:`pluggy.PluginManager` with Loom's kinds."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self._pm = pm
        self._plans: dict[str, tuple[_Impl, ...]] = {}
        #: Optional ``(hook, plugin) -> None`` callback for every call (testing).
        self.trace: Callable[[str, str], None] | None = None

    def invalidate(self) -> None:
        """Forget cached call plans (call after registering or unregistering)."""
        self._plans.clear()

    def plan(self, hook: str) -> tuple[_Impl, ...]:
        """The implementations of ``hook`` in call order."""
        cached = self._plans.get(hook)
        if cached is not None:
            return cached
        caller = getattr(self._pm.hook, hook)
        impls = []
        for impl in reversed(caller.get_hookimpls()):
            fn = impl.function
            is_async = inspect.iscoroutinefunction(fn)
            names = tuple(impl.argnames)
            impls.append(_Impl(impl.plugin_name, fn, names, is_async, _argument_getter(names)))
        plan = tuple(impls)
        self._plans[hook] = plan
        return plan

    def has_impls(self, hook: str) -> bool:
        """Whether any plugin implements ``hook``."""
        return bool(self.plan(hook))

    def _invoke(self, hook: str, impl: _Impl, kwargs: dict[str, Any]) -> Any:
        """Call one implementation; an async one returns its coroutine, to be awaited.

        The kinds call this directly and await only what needs it, so a sync
        implementation costs no coroutine of its own.
        """
        if self.trace is not None:
            self.trace(hook, impl.plugin)
        return impl.function(*impl.arguments(kwargs))

    async def _call(self, hook: str, impl: _Impl, kwargs: dict[str, Any]) -> Any:
        result = self._invoke(hook, impl, kwargs)
        if impl.is_async or _awaitable(result):
            result = await result
        return result

    # ------------------------------------------------------------------ kinds

    def register(self, hook: str) -> list[tuple[str, Any]]:
        """Call a ``register`` hook synchronously; returns ``(plugin, record)`` pairs."""
        out: list[tuple[str, Any]] = []
        for impl in self.plan(hook):
            if impl.is_async:
                raise PluginValidationError(
                    f"plugin {impl.plugin!r}: {hook} must be a plain function, not async",
                    plugin=impl.plugin,
                    hook=hook,
                )
            try:
                records = impl.function()
            except Exception as exc:
                raise _raise_for(hook, impl, exc) from exc
            for record in records or ():
                out.append((impl.plugin, record))
        return out

    async def first(self, hook: str, **kwargs: Any) -> Any:
        """``first`` kind: the first non-None awaited result wins."""
        for impl in self.plan(hook):
            try:
                result = self._invoke(hook, impl, kwargs)
                if impl.is_async or _awaitable(result):
                    result = await result
            except Exception as exc:
                raise _raise_for(hook, impl, exc) from exc
            if result is not None:
                return result
        return None

    async def collect(self, hook: str, **kwargs: Any) -> list[Any]:
        """``collect`` kind: every non-None result in order; lists are flattened."""
        out: list[Any] = []
        for impl in self.plan(hook):
            try:
                result = self._invoke(hook, impl, kwargs)
                if impl.is_async or _awaitable(result):
                    result = await result
            except Exception as exc:
                raise _raise_for(hook, impl, exc) from exc
            if result is None:
                continue
            if isinstance(result, list | tuple):
                out.extend(r for r in result if r is not None)
            else:
                out.append(result)
        return out

    async def veto(
        self, hook: str, on_error: NotifyErrorHandler | None = None, **kwargs: Any
    ) -> tuple[Verdict, list[Verdict]]:
        """``fold`` kind, deny-wins. Returns the decision and every verdict given.

        A veto plugin that raises denies (fail closed), naming itself.
        """
        verdicts: list[Verdict] = []
        for impl in self.plan(hook):
            try:
                verdict = self._invoke(hook, impl, kwargs)
                if impl.is_async or (verdict is not None and type(verdict) is not Verdict
                                     and inspect.isawaitable(verdict)):
                    verdict = await verdict
            except Exception as exc:
                if on_error is not None:
                    on_error(impl.plugin, hook, exc)
                verdict = Verdict.deny(
                    f"veto plugin {impl.plugin!r} failed ({type(exc).__name__}: {exc}); "
                    "denied to stay safe",
                    plugin=impl.plugin,
                )
            if verdict is None:
                continue
            if not isinstance(verdict, Verdict):
                verdict = Verdict.deny(
                    f"veto plugin {impl.plugin!r} returned {type(verdict).__name__}, "
                    "not a Verdict; denied to stay safe",
                    plugin=impl.plugin,
                )
            elif not verdict.plugin:
                verdict = verdict.model_copy(update={"plugin": impl.plugin})
            verdicts.append(verdict)
            if verdict.decision == "deny":
                break
        return fold_verdicts(verdicts), verdicts

    async def wrap(
        self,
        hook: str,
        innermost: Callable[[Any], Awaitable[Any]],
        subject: Any,
        subject_name: str,
        **kwargs: Any,
    ) -> Any:
        """``wrap`` kind: middleware around ``innermost``; tryfirst is outermost.

        ``subject`` is the value passed through ``call_next`` (a request, a
        call, a step number); ``subject_name`` its argument name. Loom errors
        raised further in pass through unchanged; anything else a layer raises
        is reported as that plugin's error.
        """
        plan = self.plan(hook)
        if not plan:
            return await innermost(subject)
        return await self._layer(hook, plan, 0, innermost, subject, subject_name, kwargs)

    async def _layer(
        self,
        hook: str,
        plan: Sequence[_Impl],
        index: int,
        innermost: Callable[[Any], Awaitable[Any]],
        subject: Any,
        subject_name: str,
        kwargs: dict[str, Any],
    ) -> Any:
        impl = plan[index]
        last = index + 1 == len(plan)

        def call_next(value: Any) -> Awaitable[Any]:
            # Hands back the next layer's coroutine (no wrapper coroutine per layer).
            if last:
                return innermost(value)
            return self._layer(hook, plan, index + 1, innermost, value, subject_name, kwargs)

        args = dict(kwargs)
        args[subject_name] = subject
        args["call_next"] = call_next
        try:
            result = self._invoke(hook, impl, args)
            if impl.is_async or _awaitable(result):
                result = await result
            return result
        except LoomError:
            raise
        except Exception as exc:
            raise _raise_for(hook, impl, exc) from exc

    async def notify(
        self, hook: str, on_error: NotifyErrorHandler | None = None, **kwargs: Any
    ) -> None:
        """``notify`` kind: call every observer; errors go to ``on_error``, never up."""
        for impl in self.plan(hook):
            try:
                result = self._invoke(hook, impl, kwargs)
                if impl.is_async or _awaitable(result):
                    await result
            except Exception as exc:
                if on_error is not None:
                    on_error(impl.plugin, hook, exc)


def kind_of(hook: str) -> str:
    """The declared kind of ``hook`` (see :mod:`loom.hookspecs`)."""
    return HOOK_KINDS[hook]
