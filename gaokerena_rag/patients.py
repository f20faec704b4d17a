"""Who a consultation is about, when it is not an adult asking about themself.

A past consultation about a baby, a child, a pregnancy or a nursing mother holds advice made for that
person: doses by weight, "nothing by mouth for the baby", what is safe while pregnant. It does not apply
to someone who names none of them. ``patient_kinds(question)`` finds the kinds a patient's question is
about (asserted: «باردار نیستم» is not a pregnancy); ``named_kinds(question)`` the kinds a user's question
could be about (leniently: «پسرم»، «دخترم ۴ ساله» name a child; a nursing mother speaks of her baby, so
naming a child names the nursing kind too). The ``applicability`` gate leaves out a consultation when the
user names none of its kinds.
"""

from __future__ import annotations

from functools import lru_cache

from .normalize import normalize, spaced

# an age: a son or daughter of months or days, or of under 12 years («دختر من ۳ ماهه»، «پسر ۴ ساله»), or an age
# said of someone else («۴ سالشه»، «۲۰ روزشه»). A bare «۳ ماهه» is as often a duration («۳ ماهه پریود نشدم»)
_N = r"(?<!\d)(\d{1,2}|یک|دو|سه|چهار|پنج|شش|هفت|هشت|نه|ده|یازده|دوازده)"
_UNDER_12 = r"(?<!\d)([1-9]|1[01]|یک|دو|سه|چهار|پنج|شش|هفت|هشت|نه|ده|یازده)"
_YOUNG = (rf"(?<!\w)(پسر|دختر|نوه)\w{{0,3}}(\s\S+)?\s?({_N}_?(ماهه|ماهگی|روزه|روزگی|ماه_?و)|{_UNDER_12}_?(ساله|سال_?و))(?!\w)"
          rf"|(?<!\w){_N}_?(ماهشه|ماهش|روزشه|روزش|روزگی)(?!\w)|(?<!\w){_UNDER_12}_?(سالشه|سالش)(?!\w)")
# the patient's kinds, said of them (not «کودکی»/«بچگی»: "since childhood" is an adult's past)
_KINDS = {
    "child": spaced(r"(?<!\w)(بچه(?!_?دار)|بچ(م|ت|ش|مون|تون)|کودک|فرزند|نوزاد|شیرخوار|نی_?نی|پسر_?بچه|دختر_?بچه)"
                 r"(م|ام|مون|مان|ها|ای|تون|تان)?(?![^\W\d])"),
    "young": spaced(_YOUNG),  # a child, unless it is a pregnancy's months («باردار ۵ ماهه»)
    "pregnancy": spaced(r"(?<!\w)(باردار|حامله|حاملگی|بارداری)(م|ام|ی|یم|یمه)?(?!\w)|(?<!\w)بچه_?دار"),
    "nursing": spaced(r"(?<!\w)(شیرده|شیردهی|شیر_?(میدم|می_?دهم|میدهم|دادن|می_?دم)|شیر_?(خودم|مادر))(?!\w)"),
    "fetus": spaced(r"(?<!\w)جنین\w{0,3}(?!\w)"),
}
# a kind denied in the words after it: «باردار نیستم»، «حامله نشدم»
_DENIED = spaced(r"^\W{0,3}(\S+\s)?(نیستم|نیست|نیستیم|نشدم|نشده|نمیشم|نمی_?شوم|نبودم|نبوده|ندارم|نداریم)(?!\w)")
# what a user may say of a person of each kind, read leniently (leaving out a consultation that applies costs
# more than keeping one whose other patient's sentences the sentence rules withhold): «دخترم» may be a child,
# «بچم»، «نوزادم۵ماهشه» are; a nursing mother speaks of her baby; conceiving, fertility treatment, periods,
# contraception and «هفته ۱۸ هستم» are a pregnancy's domain, and a fetus is a pregnancy's
_CHILD_NAMES = (r"(?<!\w)(بچ(ه|م|ت|ش|مون|تون|ها)|نی_?نی|پسر|دختر|نوه)[^\W\d]{0,4}(?![^\W\d])"
                r"|(کودک|فرزند|نوزاد|شیرخوار)")  # these four inside a word too: «درنوزادده روزه»
_PREGNANCY_NAMES = (r"(?<!\w)(بچه_?دار|باردار|حامله|حاملگی|جنین|زایمان|سزارین|بارور|باروری|ناباروری|نازایی|آی_?وی_?اف|ivf|iui|"
                    r"آی_?یو_?آی|میکرو_?اینجکشن|نطفه|اسپرم|منی|واریکوسل|بیضه|تخمک|اقدام|رحم_?اجاره|جلوگیری|کاندوم|بی_?بی_?چک|بتا|"
                    r"پریود|قاعدگی|اورژانسی|سقط|جفت|امنیوتیک|آمنیوتیک|لک_?بینی|یائسگی)[^\W\d]{0,5}(?![^\W\d])"
                    r"|(?<!\w)هفته_?\d+|(?<!\d)\d+([.,/]\d+)?_?(هفته|هفتگی)"
                    r"|(?<!\w)ماه_?(اول|دوم|سوم|چهارم|پنجم|ششم|هفتم|هشتم|نهم)(?!\w)")
_BABY_NAMES = spaced(f"{_CHILD_NAMES}|{_YOUNG}|" + _KINDS["nursing"].pattern)
_NAMES = {"child": _BABY_NAMES, "nursing": _BABY_NAMES, "pregnancy": spaced(_PREGNANCY_NAMES), "fetus": spaced(_PREGNANCY_NAMES)}


@lru_cache(maxsize=8192)  # a consultation comes back for many questions: read once
def patient_kinds(question: str) -> frozenset[str]:
    """The kinds (child, pregnancy, nursing, fetus) a consultation's patient question is about."""
    text = normalize(question)
    out = set()
    for kind, rx in _KINDS.items():
        if any(not _DENIED.match(text[m.end():]) for m in rx.finditer(text)):
            out.add(kind)
    if "young" in out:
        out.discard("young")
        if "pregnancy" not in out:
            out.add("child")
    return frozenset(out)


def named_kinds(question: str) -> frozenset[str]:
    """The kinds a user's question could be about: a consultation of any other kind does not apply to it."""
    text = normalize(question)
    return frozenset(kind for kind, rx in _NAMES.items() if rx.search(text))
