"""Look-alike conditions: an underactive thyroid is not an overactive one.

``data/lookalikes_fa.json`` (package data, facts only) lists groups of conditions that share
words but not advice: hypo- and hyperthyroidism, the outer, middle and inner ear, a vaginal
birth and a caesarean, constipation and diarrhoea, … each with its Persian spellings.
``LookAlikes.find`` names the conditions a text speaks of (longest spelling first, so
«تبخال تناسلی» is genital herpes and not a cold sore); ``look_alikes`` names those of a text
that are another member of a group the user asked about, and not what the user asked.

Used twice: a consultation whose patient asked only about a look-alike does not apply
(``applicability_gate``), and a sentence naming one is not quoted (``sentence_rules``,
rule ``look_alike``). Matching runs on ``normalize``d text, whole words, a possessive or
plural ending allowed («فشارم پایینه»، «کیسه‌ی صفرا»). ``validate`` checks every entry.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from .normalize import normalize, phrase_pattern, without_separators

DEFAULT_PATH = Path(__file__).parent / "data" / "lookalikes_fa.json"
_NAME = re.compile(r"^[a-z0-9][a-z0-9 '-]*[a-z0-9]$")
_PERSIAN = re.compile(r"^[\u0600-\u06FF\u200c a-z0-9]+$")
# between two words of a spelling: an ezafe or an ending («کیسه‌ی صفرا»، «فشارم پایین»), then a separator
_JOIN = r"\w{0,3}(?:\u200c\w{1,3})?[ \u200c-]?"
_END = r"\w{0,3}(?:\u200c\w{1,3})?(?!\w)"
# what follows a condition in the same clause and says it was ruled out: «گوش میانی … بررسی شده مشکلی نداشته»
_CLAUSE = re.compile(r"[.,!?؟،؛\n]|(?<!\w)(ولی|اما|ولیکن)(?!\w)")
_RULED_OUT = re.compile(r"(?<!\w)(مشکل\w*[ \u200c]?(ی[ \u200c])?(ندار|نداشت|نبود|نیست)\w*|سالم\w*|نرمال\w*|طبیعی|"
                        r"رد[ \u200c]?شد\w*|منفی)(?!\w)")
_RULED_OUT_SPAN = 60


class LookAlikeError(ValueError):
    """A look-alike entry that does not have the expected form (names the file, group and field)."""


@dataclass(frozen=True)
class Condition:
    name: str  # English, lower case: "hypothyroidism"
    group: str  # "thyroid_function"
    fa: tuple[str, ...]  # Persian spellings, the usual one first

    @property
    def shown(self) -> str:
        """The name a Persian reader is shown."""
        return self.fa[0]


def validate(data: dict, where: str = "lookalikes_fa.json") -> list[Condition]:
    """The conditions of a look-alike file, or a ``LookAlikeError`` naming the group and field at fault."""
    if not isinstance(data, dict) or not isinstance(data.get("groups"), list):
        raise LookAlikeError(f"{where}: expected an object with a 'groups' list")
    out, names, spellings = [], set(), {}
    for i, entry in enumerate(data["groups"]):
        group = entry.get("group") if isinstance(entry, dict) else None
        at = f"{where}, group {i} ({group})"
        if not isinstance(group, str) or not re.match(r"^[a-z][a-z0-9_]*$", group):
            raise LookAlikeError(f"{where}, group {i}, field 'group': {group!r} is not a snake_case name")
        conditions = entry.get("conditions")
        if not isinstance(conditions, list) or len(conditions) < 2:
            raise LookAlikeError(f"{at}, field 'conditions': a group needs at least two conditions")
        for j, c in enumerate(conditions):
            name = c.get("name") if isinstance(c, dict) else None
            if not isinstance(name, str) or not _NAME.match(name) or name in names:
                raise LookAlikeError(f"{at}, condition {j}, field 'name': {name!r} is not a new lower-case name")
            names.add(name)
            fa = c.get("fa")
            if not isinstance(fa, list) or not fa or not all(isinstance(v, str) and v.strip() == v and v for v in fa):
                raise LookAlikeError(f"{at}, condition {j} ({name}), field 'fa': expected trimmed, non-empty spellings")
            for v in fa:
                if not _PERSIAN.match(v) or not re.search(r"[\u0600-\u06FF]", v):
                    raise LookAlikeError(f"{at}, condition {j} ({name}), field 'fa': {v!r} is not Persian")
                key = without_separators(normalize(v))
                if key in spellings and spellings[key] != name:
                    raise LookAlikeError(f"{at}, condition {j} ({name}), field 'fa': {v!r} is already a spelling "
                                         f"of {spellings[key]}")
                spellings[key] = name
            out.append(Condition(name, group, tuple(fa)))
    return out


def _ruled_out(after: str) -> bool:
    """Does the clause that begins ``after`` a condition say it was not found («… سالم بود»)?"""
    end = _CLAUSE.search(after)
    return bool(_RULED_OUT.search(after[: end.start()] if end else after))


class LookAlikes:
    def __init__(self, conditions: list[Condition]):
        self.conditions = {c.name: c for c in conditions}
        spellings = sorted({(normalize(v), c.name) for c in conditions for v in c.fa}, key=lambda p: -len(p[0]))
        # one named group per spelling, longest first: the alternation takes the first that matches
        self._names = [name for _s, name in spellings]
        self._finder = re.compile("|".join(f"(?<!\\w)(?P<c{i}>{phrase_pattern(s, _JOIN)}){_END}"
                                           for i, (s, _n) in enumerate(spellings)))

    @classmethod
    def load(cls, path: str | Path = DEFAULT_PATH) -> "LookAlikes":
        path = Path(path)
        return cls(validate(json.loads(path.read_text("utf-8")), str(path)))

    def __len__(self) -> int:
        return len(self.conditions)

    def find(self, text: str, asserted: bool = False) -> dict[str, str]:
        """The conditions ``text`` speaks of: name -> the words as found (normalized). ``asserted``: leave out
        one the same clause rules out («گوش میانی و داخلی هم بررسی شده مشکلی نداشته»: not otitis media)."""
        found: dict[str, str] = {}
        text = normalize(text)
        for m in self._finder.finditer(text):
            if asserted and _ruled_out(text[m.end(): m.end() + _RULED_OUT_SPAN]):
                continue
            found.setdefault(self._names[int(m.lastgroup[1:])], m.group(0))
        return found

    def look_alikes(self, found, asked) -> list[str]:
        """Of the conditions a text speaks of (``found``: names, as ``find`` gives them), those that share a group
        with one the user asked about (``asked``, likewise) and are not themselves asked about."""
        groups = {self.conditions[a].group for a in asked if a in self.conditions}
        return [c for c in found if c not in asked and self.conditions[c].group in groups]

    def shown(self, names) -> list[str]:
        return [self.conditions[n].shown for n in names if n in self.conditions]
