"""Persian text normalization for matching, and the word tokenizer BM25 uses.

Only *matching* uses these forms: stored passages keep the text as written.

``normalize`` maps the spelling variants of informal, user-typed Persian onto one
form: Arabic yeh/kaf to Persian, Arabic presentation forms (NFKC), tatweel and
diacritics removed, Persian/Arabic-Indic digits to Latin, zero-width characters
and whitespace made consistent, Latin lower-cased. It never raises and is
idempotent (``normalize(normalize(s)) == normalize(s)``).

``PersianTokenizer`` splits normalized text into words, drops the project's
stopwords and (optionally) strips light inflectional suffixes (ها / های / ترین …);
with ``ngram=n`` it emits the character n-grams of each kept word instead
(``<word>`` with boundary marks), which absorbs informal spellings and inflection
(on MF3QA dev, BM25 Recall@10 0.238 with words, 0.268 with 4-grams).
Its ``version`` string goes into every index manifest, so an index is never
queried with a tokenizer it was not built with. ``persian_count`` writes a count the way
Persian text does (the answers' «در ۳ مشاوره‌ی مشابه»).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

NORMALIZER_VERSION = "fa-norm-1"

ZWNJ = "\u200c"

_CHAR_MAP = {
    # Arabic letters that Persian writes differently
    "\u064a": "\u06cc",  # ي arabic yeh -> ی
    "\u0649": "\u06cc",  # ى alef maksura -> ی
    "\u0626": "\u06cc",  # ئ yeh with hamza -> ی
    "\u0643": "\u06a9",  # ك arabic kaf -> ک
    "\u0629": "\u0647",  # ة teh marbuta -> ه
    "\u06c0": "\u0647",  # ۀ heh with yeh above -> ه
    "\u06d5": "\u0647",  # ە ae -> ه
    "\u0623": "\u0627",  # أ -> ا
    "\u0625": "\u0627",  # إ -> ا
    "\u0671": "\u0627",  # ٱ -> ا
    "\u0622": "\u0627",  # آ -> ا (typed either way in informal text)
    "\u0624": "\u0648",  # ؤ -> و
    "\u0640": "",  # tatweel
    "\u200d": "",  # zero-width joiner
    "\u200b": ZWNJ,  # zero-width space
    "\u200e": "",  # LRM
    "\u200f": "",  # RLM
    "\u00ad": "",  # soft hyphen
    "\ufeff": "",  # BOM / zero-width no-break space
}
# Arabic diacritics (harakat, tanwin, shadda, sukun, superscript alef ...)
_CHAR_MAP.update({chr(c): "" for c in range(0x064B, 0x0660)})
_CHAR_MAP["\u0670"] = ""
# Persian and Arabic-Indic digits -> Latin
_CHAR_MAP.update({chr(0x06F0 + i): str(i) for i in range(10)})
_CHAR_MAP.update({chr(0x0660 + i): str(i) for i in range(10)})
_TRANSLATE = str.maketrans(_CHAR_MAP)

_WS = re.compile(r"\s+")
# ZWNJ runs collapse to one; a ZWNJ next to a space, at an edge or between
# non-letters carries no meaning and is removed.
_ZWNJ_RUN = re.compile(ZWNJ + "{2,}")
_ZWNJ_EDGE = re.compile(rf"(?:(?<=\s){ZWNJ}|{ZWNJ}(?=\s)|^{ZWNJ}|{ZWNJ}$)")
_ZWNJ_NONLETTER = re.compile(rf"(?:(?<=[^\w]){ZWNJ}|{ZWNJ}(?=[^\w]))")


class _ByCategory(dict):
    """A translation table filled as characters are met: every control, space and line or paragraph separator to
    a space, every non-spacing mark removed, anything else kept. One table in place of two per-character loops,
    with nothing computed at start-up."""

    def __missing__(self, cp: int) -> str | int | None:
        cat = unicodedata.category(chr(cp))
        value = " " if cat in ("Cc", "Zs", "Zl", "Zp") else None if cat == "Mn" else cp
        self[cp] = value
        return value


_BY_CATEGORY = _ByCategory()


def _normalize_once(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    text = unicodedata.normalize("NFKC", text).translate(_TRANSLATE)
    # anything NFKC-decomposable that the translation produced is already plain: controls and spaces
    # become a space, combining marks left by NFKC on letters are dropped (none matter for matching)
    text = text.translate(_BY_CATEGORY)
    text = _WS.sub(" ", text).strip()
    text = _ZWNJ_RUN.sub(ZWNJ, text)
    text = _ZWNJ_NONLETTER.sub("", text)
    text = _ZWNJ_EDGE.sub("", text)
    return _WS.sub(" ", text).strip()


def normalize(text: object) -> str:
    """Normalize Persian text for matching. Never raises; non-strings become ``""``."""
    if not isinstance(text, str):
        return ""
    return _remembered(text) if len(text) <= _REMEMBERED_CHARS else _normalize(text)


_REMEMBERED_CHARS = 4000  # a passage or a question; a whole corpus document is not kept


@lru_cache(maxsize=8192)
def _remembered(text: str) -> str:
    """``normalize`` of a short string, remembered: one answer reads each source several times (its words, its
    medicines, its sentences), and popular sources come back question after question."""
    return _normalize(text)


def _normalize(text: str) -> str:
    # the character rules interact (NFKC after lower-casing, removed marks joining
    # neighbours): iterate to the fixpoint, which two passes reach in practice.
    previous = text
    for _ in range(5):
        current = _normalize_once(previous)
        if current == previous:
            return current
        previous = current
    return previous


_SEPARATOR = re.compile(r"[ \u200c-]")


def without_separators(text: str) -> str:
    """``text`` with spaces, zero-width non-joiners and hyphens removed: «اس سیتالوپرام» and «اسسیتالوپرام»
    (or «کم‌کاری» and «کم کاری») are one key."""
    return _SEPARATOR.sub("", text)


def phrase_pattern(phrase: str, join: str = r"[ \u200c-]?") -> str:
    """A phrase, normalized, as a regex over normalized text: its words apart by ``join`` (by default a space,
    a zero-width non-joiner, a hyphen or nothing)."""
    return join.join(re.escape(w) for w in re.split(r"[ \u200c-]+", normalize(phrase)) if w)


def spaced(pattern: str) -> re.Pattern:
    """A hand-written regex over normalized text in which ``_`` stands for a space, a zero-width non-joiner or
    nothing («می_?شود» finds «می شود»، «می‌شود» and «میشود»)."""
    return re.compile(pattern.replace("_", r"[ \u200c]?"))


def has_visible_text(text: str) -> bool:
    """Whether ``text`` holds a character one can see: zero-width, control, format and space
    characters alone are no text (a cell of zero-width non-joiners is empty)."""
    return any(unicodedata.category(ch)[0] not in "CZM" for ch in text)


@lru_cache(maxsize=1)
def _default_stopwords() -> frozenset[str]:
    raw = resources.files("gaokerena_rag").joinpath("data/stopwords_fa.txt").read_text("utf-8")
    words = set()
    for line in raw.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            words.update(normalize(line).replace(ZWNJ, " ").split())
    return frozenset(words)


_WORD = re.compile(r"\w+", re.UNICODE)
# longest first; a suffix is stripped only when a stem of >= 3 letters remains
_STRIPPABLE_SUFFIXES = {
    "light": ("هایی", "های", "ها", "ترین"),
    "none": (),
}


@dataclass(frozen=True)
class PersianTokenizer:
    """Word tokenizer for BM25 over normalized Persian.

    ``zwnj``: ``"split"`` treats the zero-width non-joiner as a word boundary
    (``کتاب‌ها`` -> ``کتاب ها``), ``"join"`` removes it (``کتابها``).
    ``affixes``: ``"light"`` strips plural/superlative suffixes, ``"none"`` keeps words whole.
    ``ngram``: 0 gives words; n > 0 gives the character n-grams of each word.
    """

    stopwords: bool = True
    affixes: str = "light"
    zwnj: str = "join"
    min_len: int = 1
    ngram: int = 0

    def __post_init__(self) -> None:
        if self.affixes not in _STRIPPABLE_SUFFIXES:
            raise ValueError(f"affixes must be one of {sorted(_STRIPPABLE_SUFFIXES)}, got {self.affixes!r}")
        if self.zwnj not in ("split", "join"):
            raise ValueError(f"zwnj must be 'split' or 'join', got {self.zwnj!r}")
        if self.ngram < 0:
            raise ValueError("ngram must be >= 0")

    @property
    def name(self) -> str:
        """Short name of what it emits: ``words`` or ``char4`` …"""
        return f"char{self.ngram}" if self.ngram else "words"

    @property
    def version(self) -> str:
        return (f"{NORMALIZER_VERSION}/tok-1/sw={int(self.stopwords)}/aff={self.affixes}/zwnj={self.zwnj}"
                f"/min={self.min_len}/ngram={self.ngram}")

    def __call__(self, text: object) -> list[str]:
        return self.tokenize(text)

    def tokenize(self, text: object) -> list[str]:
        norm = normalize(text)
        if self.zwnj == "join":
            norm = norm.replace(ZWNJ, "")
        stop = _default_stopwords() if self.stopwords else frozenset()
        suffixes = _STRIPPABLE_SUFFIXES[self.affixes]
        out = []
        for word in _WORD.findall(norm):
            if word in stop:
                continue
            for suf in suffixes:
                if word.endswith(suf) and len(word) - len(suf) >= 3:
                    word = word[: -len(suf)]
                    break
            if len(word) >= self.min_len and word not in stop:
                out.append(word)
        if self.ngram:
            n = self.ngram
            grams = []
            for word in out:
                marked = f"<{word}>"
                grams.extend(marked[i : i + n] for i in range(max(1, len(marked) - n + 1)))
            return grams
        return out

    def to_dict(self) -> dict:
        return {"stopwords": self.stopwords, "affixes": self.affixes, "zwnj": self.zwnj, "min_len": self.min_len,
                "ngram": self.ngram}

    @classmethod
    def from_dict(cls, data: dict) -> "PersianTokenizer":
        return cls(**data)


# Greetings and courtesies that open and close patient questions. Removed from the
# question the dense embedder sees: they dilute a mean-pooled embedding
# (MF3QA dev, dense Recall@10 0.191 -> 0.197).
COURTESIES = (
    "با سلام و احترام", "با سلام", "باسلام", "سلام علیکم", "سلام", "درود", "عرض ادب", "وقت بخیر", "وقتتون بخیر",
    "روز بخیر", "خسته نباشید", "خسته نباشین", "خانم دکتر", "آقای دکتر", "دکتر جان", "دکتر عزیز", "دکتر",
    "ممنون میشم", "ممنونم", "ممنون", "مرسی", "متشکرم", "سپاسگزارم", "لطفا", "لطفاً",
)


def _loose(phrase: str) -> str:
    classes = {"ی": "[یيى]", "ک": "[کك]", "آ": "[آا]", " ": "[\\s\u200c]*"}
    return "".join(classes.get(ch, re.escape(ch)) for ch in phrase)


_COURTESY = re.compile(
    r"(?<!\w)(?:" + "|".join(_loose(p) for p in sorted(COURTESIES, key=len, reverse=True)) + r")(?!\w)[\s،,.!:]*"
)


def strip_courtesies(text: str) -> str:
    """The question without greetings and courtesies (the text itself if nothing else is left)."""
    stripped = re.sub(r"\s+", " ", _COURTESY.sub(" ", text)).strip()
    return stripped or text


def stopwords() -> frozenset[str]:
    """The project's Persian stopword list, normalized."""
    return _default_stopwords()


_TO_PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


def persian_count(n: int) -> str:
    """A count as Persian text writes it before a noun: «یک» for 1, else Persian digits («۳»)."""
    return "یک" if n == 1 else str(n).translate(_TO_PERSIAN_DIGITS)
