"""Tool output that tries to steer the harness: mode switches, self-approval, overriding rules.

Nothing in Loom ever reads tool output as an instruction: a mode changes only
through the profile, an approval only through a person. Spotting such text
still matters, because it shows the run is reading hostile content; tier 1
then denies escalations and raises the risk of everything but reading.
"""

from __future__ import annotations

import re

INJECTION = re.compile(
    r"(?i)\b(switch|change|set|put|move|go)\b.{0,40}\bmode\b.{0,30}\b(AUTO|DEFAULT|autonomous)\b"
    r"|\bmode\s*[:=]\s*['\"]?AUTO\b"
    r"|\b(approve|allow|grant)\b.{0,40}"
    r"\b(yourself|itself|all|every|any|pending|this (call|action|request|tool))\b"
    r"|\bignore\b.{0,20}\b(previous|prior|above|earlier|all)\b.{0,20}\b(instructions|rules|restrictions)\b"
    r"|\bauto[- ]?approv|\bLOOM_PROFILE__MODE\b|\bdisable\b.{0,30}\b(harness|safety|permissions?|veto)\b"
)


#: Every alternative of INJECTION contains one of these (lower-case) words, so a
#: text without any of them cannot match and skips the regular expression.
ANCHORS = ("mode", "approv", "allow", "grant", "ignore", "disable")


def find_injection(text: str) -> str | None:
    """The first suspicious passage of ``text`` (about 120 characters), or None."""
    lower = text.lower()
    if not ("mode" in lower or "approv" in lower or "allow" in lower or "grant" in lower
            or "ignore" in lower or "disable" in lower):  # ANCHORS, spelled out: no generator per call
        return None
    match = INJECTION.search(text)
    if match is None:
        return None
    start = max(0, match.start() - 30)
    return text[start:match.end() + 60].replace("\n", " ").strip()
