"""The drug lexicon: common medicines by generic name, Persian spellings and brand names.

``data/drugs_fa.json`` (package data, facts only) lists each generic (INN, Latin) with
its Persian spellings, other Latin names and brand names used in Iran and abroad
(«لکساپرو» / Lexapro → escitalopram / اسیتالوپرام; Augmentin → co-amoxiclav). ``DrugLexicon``
finds the medicines a text names, whatever name it uses, and gives every name of one, so
that a query is expanded to the spellings sources use and the key-term gate can ask whether
a source names the same medicine. Matching runs on ``normalize``d text, whole words only.
``validate`` checks every entry's format (used by ``load`` and the tests).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from .normalize import normalize, phrase_pattern, without_separators

DEFAULT_PATH = Path(__file__).parent / "data" / "drugs_fa.json"
_GENERIC = re.compile(r"^[a-z][a-z0-9 ./-]*[a-z0-9]$")
_PERSIAN = re.compile(r"^[\u0600-\u06FF\u200c 0-9]+$")
FIELDS = {"generic", "fa", "brands", "class", "also"}
MIN_SPLIT_NAME = 6
_PERSIAN_WORD = re.compile(r"[\u0600-\u06FF]+")


class LexiconError(ValueError):
    """A lexicon entry that does not have the expected form (names the file, entry and field)."""


@dataclass(frozen=True)
class Drug:
    generic: str
    fa: tuple[str, ...]
    brands: tuple[str, ...]
    cls: str
    also: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """Every name, the generic first, then its Persian spellings, other Latin names and brands."""
        return (self.generic, *self.fa, *self.also, *self.brands)


def validate(data: dict, where: str = "drugs_fa.json") -> list[Drug]:
    """The entries of a lexicon file, or a ``LexiconError`` naming the entry and field at fault."""
    if not isinstance(data, dict) or not isinstance(data.get("drugs"), list):
        raise LexiconError(f"{where}: expected an object with a 'drugs' list")
    out, generics = [], set()
    for i, entry in enumerate(data["drugs"]):
        at = f"{where}, entry {i}"
        if not isinstance(entry, dict):
            raise LexiconError(f"{at}: expected an object")
        unknown = set(entry) - FIELDS
        if unknown:
            raise LexiconError(f"{at}: unknown field(s) {sorted(unknown)}")
        generic = entry.get("generic")
        if not isinstance(generic, str) or not _GENERIC.match(generic):
            raise LexiconError(f"{at}, field 'generic': {generic!r} is not a lower-case Latin name")
        if generic in generics:
            raise LexiconError(f"{at}, field 'generic': {generic!r} is listed twice")
        generics.add(generic)
        for name in ("fa", "brands", "also"):
            values = entry.get(name, [])
            if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() == v and v for v in values):
                raise LexiconError(f"{at} ({generic}), field {name!r}: expected a list of trimmed, non-empty names")
            if len(set(values)) != len(values):
                raise LexiconError(f"{at} ({generic}), field {name!r}: a name is listed twice")
        if not entry.get("fa"):
            raise LexiconError(f"{at} ({generic}), field 'fa': at least one Persian spelling is needed")
        bad = [v for v in entry["fa"] if not _PERSIAN.match(v)]
        if bad:
            raise LexiconError(f"{at} ({generic}), field 'fa': {bad[0]!r} is not written in Persian letters")
        if not isinstance(entry.get("class"), str) or not entry["class"].strip():
            raise LexiconError(f"{at} ({generic}), field 'class': expected a non-empty string")
        out.append(Drug(generic, tuple(entry["fa"]), tuple(entry.get("brands", [])), entry["class"],
                        tuple(entry.get("also", []))))
    return out


class DrugLexicon:
    def __init__(self, drugs: list[Drug]):
        self.drugs = {d.generic: d for d in drugs}
        names: dict[str, str] = {}
        for d in drugs:
            for name in d.names:
                key = normalize(name)
                if len(key) >= 3:  # «ال» or «دی» alone would match everywhere
                    names.setdefault(key, d.generic)
        # by the name with its separators removed: «اس سیتالوپرام» and «اسسیتالوپرام» are one key
        self._by_bare = {}
        for name, generic in names.items():
            self._by_bare.setdefault(without_separators(name), generic)
        alternation = "|".join(phrase_pattern(n) for n in sorted(names, key=len, reverse=True))
        self._finder = re.compile(rf"(?<![\w])({alternation})(?![\w])")

    @classmethod
    def load(cls, path: str | Path = DEFAULT_PATH) -> "DrugLexicon":
        path = Path(path)
        return cls(validate(json.loads(path.read_text("utf-8")), str(path)))

    def __len__(self) -> int:
        return len(self.drugs)

    def find(self, text: str) -> dict[str, str]:
        """The medicines ``text`` names: generic -> the name as found (normalized). A one-word name typed as
        two words is found too («مت فورمین»، «دیفن هیدرامین»), when the two make a name of
        ``MIN_SPLIT_NAME`` letters or more (shorter ones meet by chance: «ام بین»)."""
        found: dict[str, str] = {}
        text = normalize(text)
        for m in self._finder.finditer(text):
            generic = self._generic_of(m.group(1))
            if generic:
                found.setdefault(generic, m.group(1))
        words = _PERSIAN_WORD.findall(text)
        for a, b in zip(words, words[1:]):
            if len(a) + len(b) >= MIN_SPLIT_NAME and (generic := self._by_bare.get(a + b)):
                found.setdefault(generic, f"{a} {b}")
        return found

    def canonical(self, text: str) -> str:
        """``text`` normalized, with every medicine it names written as its generic, so that two texts naming
        one medicine by different names («لکساپرو»، «اس سیتالوپرام») read alike."""
        return self._finder.sub(lambda m: self._generic_of(m.group(1)) or m.group(1), normalize(text))

    def _generic_of(self, found: str) -> str | None:
        return self._by_bare.get(without_separators(found))

    def names_of(self, generic: str) -> tuple[str, ...]:
        return self.drugs[generic].names

    def expansion(self, text: str) -> list[str]:
        """Other names of the medicines ``text`` names (the generic and its first Persian spelling), to
        add to a lexical query so that sources spelling them another way are found."""
        return self.expansion_of(self.find(text))

    def expansion_of(self, found: dict[str, str]) -> list[str]:
        """``expansion`` of what ``find`` already returned."""
        out = []
        for generic, name in found.items():
            d = self.drugs[generic]
            out += [n for n in (d.generic, d.fa[0]) if normalize(n) != name]
        return out

