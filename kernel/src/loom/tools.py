"""``@tool``: turn a typed Python function into a tool record.

::

    from loom.tools import tool

    @tool(effects={"read"})
    def word_count(text: str) -> int:
        \"\"\"Count the words in a text.

        Args:
            text: the text to count.
        \"\"\"
        return len(text.split())

The JSON schema comes from the signature (via pydantic), the description and
per-argument descriptions from the docstring. Arguments from the model are
validated; invalid ones become a tool error the model sees, naming what was
wrong. A parameter named ``run`` receives the current :class:`~loom.run.Run`
and is not shown to the model. Sync functions run in a worker thread unless
``blocking=False``.
"""

from __future__ import annotations

import asyncio
import inspect
import re
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, get_type_hints, overload

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from loom.errors import ToolError
from loom.messages import ToolCallBlock
from loom.records import ToolRecord
from loom.requests import Effect, ToolSpec

#: The tool call being executed in this task (set by the loop around each handler).
CURRENT_CALL: ContextVar[ToolCallBlock | None] = ContextVar("loom_current_call", default=None)


def current_call() -> ToolCallBlock | None:
    """The :class:`~loom.messages.ToolCallBlock` whose handler is running, or None.

    A tool handler uses it to know its call id (e.g. to derive a stable id
    for work that must not be repeated when a run resumes).
    """
    return CURRENT_CALL.get()


@dataclass(frozen=True)
class FunctionTool(ToolRecord):
    """A tool record built from a function; calling it calls the function."""

    function: Callable[..., Any] | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        assert self.function is not None
        return self.function(*args, **kwargs)


def _doc_parts(doc: str) -> tuple[str, dict[str, str]]:
    doc = inspect.cleandoc(doc or "")
    summary, _, rest = doc.partition("\nArgs:")
    params: dict[str, str] = {}
    current = None
    for line in rest.splitlines():
        m = re.match(r"^\s{2,}(\w+)\s*(?:\([^)]*\))?:\s*(.*)$", line)
        if m:
            current = m.group(1)
            params[current] = m.group(2).strip()
        elif current and line.strip() and not re.match(r"^\S", line):
            params[current] += " " + line.strip()
        elif re.match(r"^\S", line):
            current = None
    return summary.strip(), params


def _describe_validation(name: str, exc: ValidationError) -> str:
    problems = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "arguments"
        problems.append(f"{loc}: {err['msg']}")
    return f"invalid arguments for {name!r}: " + "; ".join(problems)


_Compiled = tuple[type[BaseModel], dict[str, Any], tuple[str, ...], bool, str]
_COMPILED: dict[tuple[Any, ...], _Compiled] = {}


def _arguments_model(func: Callable[..., Any], tool_name: str) -> _Compiled:
    """The arguments model and JSON schema of ``func``, built once per code object.

    Building a pydantic model costs milliseconds; tools made per run from the
    same nested function (closures) reuse the first build.
    """
    code = getattr(func, "__code__", None)
    key = (code, tool_name, func.__doc__, getattr(func, "__defaults__", None))
    cached = _COMPILED.get(key) if code is not None else None
    if cached is not None:
        return cached
    summary, param_docs = _doc_parts(func.__doc__ or "")
    hints = get_type_hints(func)
    fields: dict[str, Any] = {}
    wants_run = False
    for pname, param in inspect.signature(func).parameters.items():
        if pname == "run":
            wants_run = True
            continue
        annotation = hints.get(pname, Any)
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[pname] = (annotation, Field(default, description=param_docs.get(pname)))
    model: type[BaseModel] = create_model(
        f"{tool_name}_arguments", __config__=ConfigDict(extra="forbid"), **fields)
    schema = model.model_json_schema()
    schema.pop("title", None)
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)
    compiled: _Compiled = (model, schema, tuple(fields), wants_run, summary)
    if code is not None:
        _COMPILED[key] = compiled
    return compiled


@overload
def tool(fn: Callable[..., Any], /) -> FunctionTool: ...


@overload
def tool(
    fn: None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    effects: Iterable[str | Effect] = ("read",),
    timeout: float | None = 60.0,
    output_cap: int | None = 50_000,
    idempotent: bool = False,
    blocking: bool = True,
) -> Callable[[Callable[..., Any]], FunctionTool]: ...


@overload
def tool(
    fn: Callable[..., Any],
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    effects: Iterable[str | Effect] = ("read",),
    timeout: float | None = 60.0,
    output_cap: int | None = 50_000,
    idempotent: bool = False,
    blocking: bool = True,
) -> FunctionTool: ...


def tool(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    effects: Iterable[str | Effect] = ("read",),
    timeout: float | None = 60.0,
    output_cap: int | None = 50_000,
    idempotent: bool = False,
    blocking: bool = True,
) -> FunctionTool | Callable[[Callable[..., Any]], FunctionTool]:
    """Decorate a function as a tool; usable bare (``@tool``) or with options
    (``@tool(effects={"mutate"})``), or called as ``tool(function, name=...)``."""

    def build(func: Callable[..., Any]) -> FunctionTool:
        tool_name = name or func.__name__
        model, schema, fields, wants_run, summary = _arguments_model(func, tool_name)
        is_async = inspect.iscoroutinefunction(func)

        async def handler(arguments: dict[str, Any], run: Any) -> Any:
            try:
                validated = model.model_validate(arguments)
            except ValidationError as exc:
                raise ToolError(_describe_validation(tool_name, exc)) from None
            kwargs = {k: getattr(validated, k) for k in fields}
            if wants_run:
                kwargs["run"] = run
            if is_async:
                return await func(**kwargs)
            if blocking:
                return await asyncio.to_thread(func, **kwargs)
            return func(**kwargs)

        spec = ToolSpec(
            name=tool_name,
            description=description or summary,
            parameters=schema,
            effects=frozenset(Effect(e) for e in effects),
            timeout=timeout,
            output_cap=output_cap,
            idempotent=idempotent,
        )
        return FunctionTool(name=tool_name, factory=handler, spec=spec,
                            description=spec.description, function=func)

    return build(fn) if fn is not None else build
