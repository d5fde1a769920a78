"""The ``unit-converter`` skill's tool, registered when the agent opens the skill."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from loom.errors import ToolError
from loom.tools import tool

_spec = importlib.util.spec_from_file_location(
    "unit_converter_conversions", Path(__file__).with_name("conversions.py"))
assert _spec is not None and _spec.loader is not None
_conversions = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_conversions)


@tool(effects={"read"}, idempotent=True)
def convert_units(value: float, from_unit: str, to_unit: str) -> str:
    """Convert a quantity between units (length, mass, temperature); exact, never rounded.

    Args:
        value: the quantity to convert.
        from_unit: its unit symbol, e.g. km, lb, C.
        to_unit: the unit symbol to convert to, e.g. mi, kg, F.
    """
    try:
        result = _conversions.convert(value, from_unit, to_unit)
    except ValueError as exc:
        raise ToolError(str(exc)) from None
    return f"{value:g} {from_unit} = {result:.6g} {to_unit}"
