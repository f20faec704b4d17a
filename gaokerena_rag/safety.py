"""Red flags, the emergency notice, and the physician notice.

``red_flags(question)`` finds Persian (formal and informal) descriptions of
emergencies: chest pain, stroke signs, trouble breathing, heavy bleeding, loss of
consciousness, seizures, poisoning or overdose, severe allergic reaction, suicidal
thoughts, and danger signs in pregnancy and in infants. Matching runs on the
normalized text, so Arabic/Persian letter variants, digits and zero-width
non-joiners do not matter. Look-alikes are handled by exclusions: «سینه» is
also the breast (breastfeeding, period), «بیهوشی» is also anaesthesia, and a
red flag told as past history («۵ سال پیش سکته کرد») is not an emergency now.
Measured on a labelled set of Persian questions in the tests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .normalize import normalize

PHYSICIAN_NOTICE = "این پاسخ جای معاینه و نظر پزشک را نمی‌گیرد."


def emergency_notice(number: str = "115") -> str:
    return (f"⚠️ نشانه‌های شما ممکن است اورژانسی باشد. همین حالا با اورژانس ({number}) تماس بگیرید "
            "یا به نزدیک‌ترین اورژانس بیمارستان بروید؛ منتظر پاسخ آنلاین نمانید.")


def suicide_notice(number: str = "115", helpline: str = "1480") -> str:
    return (f"⚠️ اگر به آسیب زدن به خودتان فکر می‌کنید، تنها نیستید. همین حالا با اورژانس ({number}) "
            f"یا صدای مشاور بهزیستی ({helpline}) تماس بگیرید یا به نزدیک‌ترین اورژانس بروید.")


# Each rule: (category, pattern). Patterns are written in normalized form (ی ک, no
# diacritics, آ -> ا, Latin digits); `_` stands for «a space, a zero-width
# non-joiner or nothing», so informal spellings (میکنه / می‌کنه / می کنه) all match.
_RULES: list[tuple[str, str]] = [
    ("chest_pain", r"(درد|فشار|سنگینی|تیر)\w*.{0,20}(در_|تو_|توی_|وسط_|روی_|رو_)?(قفسه_?)?(سینه|سینم|سینش)"),
    ("chest_pain", r"(قفسه_?)?(سینه|سینم|سینش)\w*.{0,15}(درد|تیر|فشار|سنگین)"),
    ("chest_pain", r"درد_?(به|تو|توی)_?(دست|بازو|فک)_?چپ"),
    ("chest_pain", r"(سکته|حمله)_?(ی_)?قلبی?"),
    ("stroke", r"(یک|یه|نصف)_?طرف_?(بدن|صورت)\w*_?(بی_?حس|فلج|کج|ضعیف|سر)"),
    ("stroke", r"(صورت|دهان|دهن|لب)\w*_?کج"),
    ("stroke", r"کج_?شدن_?(صورت|دهان|دهن)"),
    ("stroke", r"(ناگهان|یهو|یکدفعه|یک_?دفعه)\w*_?.{0,30}(نمی_?تون\w*_?حرف|زبان\w*_?بند|لال|تار_?شد|فلج|بی_?حس)"),
    ("stroke", r"سکته_?(ی_)?مغزی"),
    ("breathing", r"(نمی_?تون\w*|نمیتون\w*)_?نفس_?(بکش|بکش\w*)"),
    ("breathing", r"نفس\w*_?(بالا_?نمی_?(اد|اید|ره|رود)|بند_?(اومده|امده|میاد|می_?اید))"),
    ("breathing", r"(تنگی_?نفس|نفس_?تنگی)_?(شدید|ناگهانی|زیاد)"),
    ("breathing", r"(شدید|ناگهان|ناگهانی|یهو|یکدفعه).{0,15}(تنگی_?نفس|نفس_?تنگی)"),
    ("breathing", r"(خفگی|خفه_?(شد|شده|میشم|می_?شوم)|کبود_?(شد|شده)|لب\w*_?کبود)"),
    ("bleeding", r"خون_?ریزی\w*_?(خیلی_?)?(شدید|زیاد|بند_?نمی|قطع_?نمی|وحشتناک)"),
    ("bleeding", r"(شدید|زیاد)_?خون_?ریزی"),
    ("bleeding", r"خون_?(بند_?نمی|قطع_?نمی)"),
    ("bleeding", r"(استفراغ|بالا_?اوردن|سرفه)_?(خونی|خون)"),
    ("bleeding", r"(خون_?بالا_?(اورد|اوردم|میارم))|مدفوع\w*_?(سیاه|قیری)"),
    ("unconscious", r"(از_?هوش_?(رفت|رفتم|رفته|میره|می_?رود))|غش_?(کرد|کردم|کرده|کنه)"),
    ("unconscious", r"(بیهوش|بی_?هوش)_?(شد|شدم|شده|افتاد|افتاده)"),
    ("unconscious", r"(هوشیاری\w*_?(کم|پایین|ندارد|نداره))|(به_?هوش_?(نمیاد|نمی_?اید|نیومد|نیامد))"),
    ("seizure", r"تشنج"),
    ("seizure", r"(کف_?(کرد|کرده)_?.{0,20}(لرز|تکان))"),
    ("poisoning", r"(مسمومیت|مسموم_?(شد|شده|شدم))(?!_?غذایی_?خفیف)"),
    ("poisoning", r"(اوردوز|overdose|اور_?دوز)"),
    ("poisoning", r"(قرص_?برنج|سم_?(موش|خورد|خورده)|گاز_?گرفتگی|منوکسید|مونوکسید|متانول|الکل_?تقلبی)"),
    ("poisoning", r"(یک|یه|چند|دو|سه|\d+)_?(بسته|ورق|شیشه)_?(قرص|دارو).{0,25}(خورد|خوردم|خورده|بالا_?انداخت)"),
    ("poisoning", r"(تعداد_?زیادی|خیلی_?زیاد|همه)_?(قرص|دارو)\w*_?.{0,20}(خورد|خوردم|خورده)"),
    ("allergy", r"(ورم|تورم|باد)_?(کردن_?)?(لب|زبان|زبون|گلو|حلق|صورت)\w*"),
    ("allergy", r"(لب|زبان|زبون|گلو|حلق|صورت)\w*_?(ورم|متورم|باد)_?(کرد|کرده|شده)"),
    ("allergy", r"(انافیلاکسی|شوک_?انافیلاکسی|واکنش_?الرژیک_?شدید|حساسیت_?شدید)"),
    ("suicide", r"خود_?کشی"),
    ("suicide", r"(خودم\w*|خودمو)_?(بکشم|را_?بکشم|رو_?بکشم|بکشم)"),
    ("suicide", r"(نمی_?خوام|نمی_?خواهم)_?(دیگه_?|دیگر_?)?(زنده_?باشم|زندگی_?کنم)"),
    ("suicide", r"(به|ب)_?(زندگی\w*|عمر\w*)_?پایان_?(بدم|بدهم|دادن)"),
    ("suicide", r"(رگ\w*_?(رو|را)?_?بزنم|به_?مردن_?فکر|ارزوی_?مرگ|میخوام_?بمیرم|می_?خواهم_?بمیرم)"),
    ("pregnancy", r"(باردار|حامله|بارداری|حاملگی)\w*.{0,60}(خون_?ریزی|لکه_?بینی_?شدید|درد_?شدید|ابریزش|پارگی|"
                  r"سردرد_?شدید|تاری_?دید|تشنج|حرکت\w*_?(کم|نداره|ندارد)|تکون_?نمی)"),
    ("pregnancy", r"(کیسه_?اب\w*_?(پاره|ترکید)|ابریزش\w*_?(واژن|زیاد)|حرکت\w*_?جنین\w*_?(کم|نیست|نداره|ندارد|متوقف)|"
                  r"جنین\w*.{0,20}(تکون|حرکت)_?(نمی|نداره|ندارد))"),
    ("infant", r"(نوزاد|بچه_?(ی_)?\d+_?(روزه|هفته|ماهه)|شیرخوار)\w*.{0,50}(تب|شیر_?نمی_?خوره|شیر_?نمی_?خورد|"
               r"بی_?حال|کبود|تشنج|زردی_?شدید|نفس_?نفس|ناله|ملاج\w*_?(برامده|بیرون)|استفراغ_?(مکرر|جهنده))"),
]

# Past history or another meaning: the red flag is not happening now.
_EXCLUSIONS: list[tuple[str | None, str]] = [
    ("chest_pain", r"(شیر_?دهی|شیر_?میدم|شیر_?می_?دهم|پستان|قاعدگی|پریود|عادت_?ماهانه|نوک_?سینه|سینه_?بند|"
                   r"ماموگرافی|توده\w*_?(در_?|تو_?)?سینه|سینه_?(ها)?ی?_?(م|ام)?_?(بزرگ|کوچک|افتاده)|خلط|سرما_?خوردگی)"),
    ("unconscious", r"(عمل|جراحی|بیهوشی_?(عمومی|موضعی|نخاعی)|داروی_?بیهوشی|متخصص_?بیهوشی|بیهوشی_?برای)"),
    ("allergy", r"(پف_?(زیر_?)?چشم|جوش|کک_?و_?مک|زیبایی|ژل|فیلر|بوتاکس)"),
    ("poisoning", r"(مسمومیت_?(غذایی_?)?(خفیف|جزئی))"),
    (None, r"(سال|سالها|ماه|ماهها)_?(پیش|قبل)"),
    (None, r"(سابقه\w*|قبلا|در_?گذشته|وقتی_?بچه_?بودم|بچگی|کودکی\w*)_?.{0,40}(داشت|داشتم|بود|کرد|کرده)"),
]


def _compile(pattern: str) -> re.Pattern:
    return re.compile(pattern.replace("_?", "[ \u200c]?").replace("_", "[ \u200c]?"))


_COMPILED = [(cat, _compile(p)) for cat, p in _RULES]
_EXCLUDED = [(cat, _compile(p)) for cat, p in _EXCLUSIONS]


@dataclass(frozen=True)
class RedFlags:
    """What ``red_flags`` found: the categories and the words that triggered them."""

    categories: tuple[str, ...] = ()
    matches: tuple[str, ...] = field(default_factory=tuple)

    @property
    def emergency(self) -> bool:
        return bool(self.categories)


def red_flags(question: str) -> RedFlags:
    """Detect emergencies described in a Persian question."""
    text = normalize(question)
    found: dict[str, str] = {}
    for category, pattern in _COMPILED:
        if category in found:
            continue
        match = pattern.search(text)
        if not match:
            continue
        excluded = False
        for cat, exclusion in _EXCLUDED:
            if cat not in (None, category) or category == "suicide":
                continue  # suicidal thoughts are never explained away
            if exclusion.search(text):
                excluded = True
                break
        if not excluded:
            found[category] = match.group(0)
    return RedFlags(tuple(found), tuple(found.values()))
