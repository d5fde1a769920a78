"""Exact unit conversion factors, shared by the skill's tool and its script."""

from __future__ import annotations

#: Length and mass units in their base unit (metre, kilogram).
FACTORS: dict[str, tuple[str, float]] = {
    "mm": ("length", 0.001), "cm": ("length", 0.01), "m": ("length", 1.0),
    "km": ("length", 1000.0), "in": ("length", 0.0254), "ft": ("length", 0.3048),
    "yd": ("length", 0.9144), "mi": ("length", 1609.344),
    "g": ("mass", 0.001), "kg": ("mass", 1.0), "oz": ("mass", 0.028349523125),
    "lb": ("mass", 0.45359237),
}
TEMPERATURES = ("C", "F", "K")


def _to_kelvin(value: float, unit: str) -> float:
    if unit == "C":
        return value + 273.15
    if unit == "F":
        return (value - 32.0) * 5.0 / 9.0 + 273.15
    return value


def _from_kelvin(value: float, unit: str) -> float:
    if unit == "C":
        return value - 273.15
    if unit == "F":
        return (value - 273.15) * 9.0 / 5.0 + 32.0
    return value


def convert(value: float, from_unit: str, to_unit: str) -> float:
    """``value`` in ``from_unit`` expressed in ``to_unit``; ValueError for unknown or mixed units."""
    if from_unit in TEMPERATURES and to_unit in TEMPERATURES:
        return _from_kelvin(_to_kelvin(value, from_unit), to_unit)
    known = sorted([*FACTORS, *TEMPERATURES])
    for unit in (from_unit, to_unit):
        if unit not in FACTORS and unit not in TEMPERATURES:
            raise ValueError(f"unknown unit {unit!r}; known units: {', '.join(known)}")
    if from_unit in TEMPERATURES or to_unit in TEMPERATURES or \
            FACTORS[from_unit][0] != FACTORS[to_unit][0]:
        raise ValueError(f"cannot convert {from_unit!r} to {to_unit!r}: they measure different things")
    return value * FACTORS[from_unit][1] / FACTORS[to_unit][1]
