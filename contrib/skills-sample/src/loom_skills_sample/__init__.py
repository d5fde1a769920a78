"""A sample distribution that provides one Loom skill, ``unit-converter``.

Its ``pyproject.toml`` declares the skill folder in the ``loom.skills``
entry-point group; installing the distribution is all it takes for agents to
see the skill (``loom skills`` lists it).
"""

from __future__ import annotations

from pathlib import Path

#: The folder of the ``unit-converter`` skill (named by the entry point).
unit_converter = Path(__file__).parent / "unit_converter"

__all__ = ["unit_converter"]
