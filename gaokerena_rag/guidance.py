"""Emergency guidance: what to do while help comes, per red-flag category, as reviewed package data.

When the red-flag check raises the banner, the answer's body is this guidance and nothing
composed: routine advice (doses, "wait and see") lifted from consultations has no place
under an emergency banner. ``data/emergency_guidance_fa.json`` holds the lines common to
every emergency and those of each category; ``EmergencyGuidance.lines(categories)`` gives
them in order, with the emergency number and crisis line filled in.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

DEFAULT_PATH = Path(__file__).parent / "data" / "emergency_guidance_fa.json"


class GuidanceError(ValueError):
    """A guidance file without the expected form (names the file and the field)."""


class EmergencyGuidance:
    def __init__(self, common: Sequence[str], categories: dict[str, Sequence[str]]):
        self.common, self.categories = list(common), {k: list(v) for k, v in categories.items()}

    @classmethod
    def load(cls, path: str | Path = DEFAULT_PATH) -> "EmergencyGuidance":
        path = Path(path)
        data = json.loads(path.read_text("utf-8"))
        if not isinstance(data.get("common"), list) or not isinstance(data.get("categories"), dict):
            raise GuidanceError(f"{path}: expected 'common' (a list) and 'categories' (an object)")
        for name, lines in data["categories"].items():
            if not isinstance(lines, list) or not lines or not all(isinstance(x, str) and x.strip() for x in lines):
                raise GuidanceError(f"{path}, field 'categories.{name}': expected a non-empty list of lines")
        return cls(data["common"], data["categories"])

    def lines(self, categories: Sequence[str], number: str = "115", helpline: str = "1480") -> list[str]:
        """The guidance for these categories: the common lines (not for suicidal thoughts, which has its
        own), then each category's, without repeats."""
        out: list[str] = [] if "suicide" in categories else list(self.common)
        if "pregnancy" in categories:  # bleeding in pregnancy is the pregnancy's guidance, not a wound's
            categories = [c for c in categories if c != "bleeding"]
        for category in categories:
            out += [x for x in self.categories.get(category, []) if x not in out]
        return [x.format(number=number, helpline=helpline) for x in out]
