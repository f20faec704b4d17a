"""Which sentences of a doctor's reply to *another* patient may be quoted to this one.

The knowledge base is consultations: a patient's question and one doctor's reply to that
patient. A reply mixes general advice («مایعات زیاد بنوشید») with things that belong to
its own patient: their tests and images, ages, durations, doses, drugs, and words that
point back at what they wrote. ``why_not(sentence, query)`` names the first rule a
sentence breaks, or returns None when it may be quoted. Each rule is small and named:

* ``greeting``: courtesies only («سلام و عصر به خیر»);
* ``byline``: a doctor's name or title line («پاسخ دکتر …، متخصص اطفال:»);
* ``sign_off``: thanks and wishes («با تشکر»، «موفق باشید»), and pointers to the doctor's own site or page;
* ``question_back``: a question to the patient («آیا تب هم دارد؟»);
* ``fragment``: too few content words, no verb, the broken tail of a sentence («را مد نظر قرار دهد»),
  or a sentence cut before its end («… آگاهی داشته باشید، به»);
* ``needs_context``: it leans on the sentence before it («در این صورت …»، «بنابراین …»),
  which is not quoted with it;
* ``their_words``: it points back at what the other patient wrote or did («که گفتید»، «با توجه به شرح حال»،
  «شروع کرده‌اید»، «اضافه وزن شماست»), or at their operation («قبل از عمل …») when the user speaks of none;
* ``their_people``: a child, spouse, parent, sibling or fetus of the other consultation, or its pregnancy or
  nursing, when the user names none of that kind («بچه را …» to a pregnant woman asking about her own skin);
* ``their_tests``: the result of a test or image the user did not mention («MRI طبیعی بود»); advice to
  have one («یک نوار قلب بگیرید») stays;
* ``their_numbers``: an age, duration, measurement, dose, count or schedule the user did not give
  («۳۵ ساله»، «فشار ۹ روی ۶»، «۱۵۰ میلی‌گرم»، «روزانه ۱۰ عدد»، «۴ بار در روز»، «هر ۸ ساعت»);
* ``their_drugs``: a medicine (``drugs.DrugLexicon``) the user did not name;
* ``look_alike``: a look-alike of the condition the user asked about (``lookalikes.LookAlikes``):
  hyperthyroidism to someone asking about an underactive thyroid, a caesarean after a vaginal birth;
* ``instruction``: text that speaks to an assistant (``injection.looks_like_instruction``).

What the user said counts as mentioned: a sentence about the MRI the user asked about, or
the dose of the drug the user named, stays. The effect of each rule on MF3QA dev is
measured by ``benchmarks/sentence_rules_cost.py``: what it withholds, and the key-point
coverage that costs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from .citations import CITATION, CONTENT_WORDS
from .drugs import DrugLexicon
from .injection import looks_like_instruction
from .lookalikes import LookAlikes
from .normalize import normalize, spaced, strip_courtesies
from .query import Query

_BYLINE = spaced(r"(^|\s)(پاسخ_?(دکتر|پزشک|کارشناس|مشاور)|دکتر\s+\S+\s+\S*_?(متخصص|فوق_?تخصص|کارشناس)|"
                 r"(متخصص|فوق_?تخصص|جراح)\s+\S+(\s+\S+)?\s*[:،]\s*$|عضو_?هیئت_?علمی|شماره_?نظام_?پزشکی)")
_SIGN_OFF = spaced(r"(با_?تشکر|با_?ارزوی|ارزوی_?سلامتی|موفق_?باشید|سلامت_?باشید|شاد_?باشید|پیروز_?باشید|"
                   r"خدا_?نگهدار|در_?پناه_?حق|تندرست_?باشید|بهبودی_?شما|منتظر_?(سوالات|پرسش)|"
                   # and the doctor's own pages: «به سایت یا اینستا مراجعه فرمایید»
                   r"(?<!\w)(سایت|وب_?سایت|اینستا|اینستاگرام|پیج|کانال|تلگرام|واتساپ)(?!\w))")
# words a sentence leans on: what it says holds only given the sentence before it
_NEEDS_CONTEXT = spaced(r"^(و|یا|ولی|اما|پس|زیرا|چون|چرا_?که|بنابراین|بنابر_?این|لذا|در_?نتیجه|در_?این_?صورت|در_?غیر_?این_?صورت|"
                        r"در_?این_?مورد|در_?این_?حالت|در_?ان_?صورت|این_?(مورد|مشکل|علامت|حالت|دارو|قرص|ازمایش)|"
                        r"که|را|به_?همین_?دلیل|به_?این_?دلیل|همچنین_?این|البته_?این|اینجوری|اینطوری|این_?طور|"
                        r"این_?همه|این_?کار|اینها|این_?ها|ایشان|ایشون|او|اون|ضمنا|چه|بله|خیر|نه(?!\s+تنها)|با_?این_?حال|در_?این_?رابطه|"
                        r"بهرحال|به_?هر_?حال|"
                        r"در_?این_?زمینه)([\s،,]|$)"
                        # what it refers to was said before: «علل مشکل فوق»، «پودر مذکور»
                        r"|(?<!\w)(فوق|مذکور|یاد_?شده|ذکر_?شده|گفته_?شده|ایشان|ایشون)(?!\w)")
# a person of the other consultation: «بچه»، «همسرتان» — advice for them is not for this user. By kind: a
# sentence about a child does not fit a question about a fetus or a spouse.
_PEOPLE = {
    "child": r"بچه\w{0,4}|کودک\w{0,4}|فرزند\w{0,4}|نوزاد\w{0,4}|شیرخوار\w{0,3}|پسر\w{0,4}|دختر\w{0,4}",
    "spouse": r"همسر\w{0,4}|شوهر\w{0,4}|خانمتان|اقا\w{0,3}",
    "parent": r"مادر\w{0,4}|پدر\w{0,4}|مادربزرگ\w{0,3}|پدربزرگ\w{0,3}",
    "sibling": r"برادر\w{0,4}|خواهر\w{0,4}",
    "fetus": r"جنین\w{0,3}",
    "pregnancy": r"باردار\w{0,3}|حامله\w{0,3}|حاملگی|شیرده\w{0,3}",  # a pregnant or nursing patient's case
}
PERSON = {kind: spaced(rf"(?<!\w)({words})(?!\w)") for kind, words in _PEOPLE.items()}
# what the other patient did, told back to them («فرنی را زودتر شروع کرده‌اید»)
_YOU_DID = spaced(r"(?<!\w)\w{2,}_?(کرده|داده|گرفته|خورده|زده|رفته|گفته|نوشته|برده|دیده|شده)_?(اید|ای)(?!\w)")
# a sentence cut off before its end («… آگاهی داشته باشید، به»)
_CUT = spaced(r"(?<!\w)(به|از|در|با|برای|را|که|و|یا|تا|مثل|مانند)[\s.،,:]*$")
_THEIR_WORDS = spaced(r"(که_?(گفتید|گفته_?اید|نوشتید|نوشته_?اید|فرمودید|ذکر_?کردید|اشاره_?کردید|دارید_?و)|"
                      r"(با_?توجه_?به|طبق)_?(شرح_?حال|توضیحات|گفته|علائم_?ذکر|مطالب|سن|سابقه|نتیجه|جواب|ازمایش|"
                      r"عکس|سونو|ام_?ار_?ای|گزارش|شرایط_?شما)|همانطور_?که_?(گفتید|نوشتید|فرمودید)|"
                      r"(فرزند|کودک|بچه|همسر|مادر|پدر|پسر|دختر)_?(تان|شما)\s|"
                      # what the other patient has or is, said to them: «شما دچار چاقی … هستید»، «سن شما مشخص نیست»
                      r"(?<!\w)شما(\s\S+){0,3}\s(دچار|مبتلا)|(?<!\w)(مشکل|درد|علائم|علایم|شرایط|بیماری|وضعیت|سن|وزن|قد|شرح_?حال|سابقه|"
                      r"ازمایش|ازمایشات|ازمایشتان|سونوگرافی|جواب|نتیجه)_?(شما|تان|تون)(?!\w)|"
                      r"(?<!\w)به_?توجه_?به(?!\w)|"
                      # what they described, what they are, what happened to them, their own doctor:
                      # «با این توصیفات …»، «چون اضافه وزن دارین»، «شاید ضعیف شدی»، «متخصص پوست شما …»
                      r"(?<!\w)با_?(این_?)?(توصیفات|توضیحات|شرح_?حال|علائم|علایم)(_?شما)?(?!\w)|"
                      r"(?<!\w)(اینکه|این_?که|چون|چونکه)\s.{0,50}(?<!\w)(دارید|دارین|هستید|هستین)(?!\w)|"
                      r"(?<!\w)\w{0,10}_?(شدی|کردی|داشتی|خوردی|گرفتی|رفتی|دادی|زدی|بودی)(?!\w)|"
                      r"(?<!\w)(پزشک|دکتر|متخصص|روان_?پزشک|روان_?شناس|چشم_?پزشک|دندان_?پزشک)(\s\S+)?(\sشما|_?تان|_?تون)(?!\w)|"
                      # … with up to two words between: «مشکل منیسک های شما»، «علائم بیماری تان»، «درد پای شما»
                      r"(?<!\w)(مشکل|مشکلات|درد|علائم|علایم|بیماری|وضعیت|ضایعه|ضایعات)(\s\S+){1,2}\s(شما|تان|تون)(?!\w)|"
                      # the other patient's now, and what they probably have: «الان دوره …»، «احتمالا کندرومالاسی دارید»
                      r"(?<!\w)(الان|الآن|اکنون)(?!\w)|(?<!\w)احتمالا\s.{0,60}(?<!\w)دارید(?!\w)|"
                      # what is theirs: «علت درد، اضافه وزن شماست»
                      r"(?<!\w)(شماست|شماس|تانست)(?!\w))")
# the other patient's operation («قبل از عمل …»، «جراحی شما»), unless the user speaks of one
_THEIR_OPERATION = spaced(r"(?<!\w)(قبل|پیش|بعد|پس)_?از_?(عمل|جراحی)(?!\w)|(?<!\w)(عمل|جراحی)_?(شما|تان|تون)(?!\w)")
_OPERATION = spaced(r"(?<!\w)(عمل|جراحی|سزارین|لاپاراسکوپی|اندوسکوپی)\w{0,4}(?!\w)")
_TESTS = (r"ازمایش\w{0,6}|ازمایشات|سونوگرافی|سونو|ماموگرافی|رادیولوژی|گرافی|عکس_?(رنگی|ساده)?|ام_?ار_?ای|mri|"
          r"سی_?تی_?(اسکن)?|ct|اسکن|اندوسکوپی|کولونوسکوپی|نوار_?(قلب|مغز|عصب)|اکو(کاردیوگرافی)?|"
          r"emg|eeg|ecg|تست_?ورزش|تست_?تنفسی|تست_?اوره_?ا?ز|پاپ_?اسمیر|بیوپسی|نمونه_?برداری|پاتولوژی|کشت_?(ادرار|خون|مدفوع|حلق)|"
          r"tsh|hba1c|cbc|فریتین|هموگلوبین|کلسترول|تری_?گلیسیرید|کراتینین|اوره|beta_?hcg|بتا_?اچ_?سی_?جی")
_TEST = spaced(rf"(?<!\w)({_TESTS})(?!\w)")
# what a test showed, or one already done: its patient's, not advice to have one
_RESULT = spaced(r"(طبیعی|نرمال|غیر_?طبیعی|مشکلی_?(ندارد|نداشت|نیست)|نشان_?(می_?دهد|داده|میدهد|داد)|مثبت|منفی|"
                 r"بالا_?(است|بوده|هست)|پایین_?(است|بوده|هست)|(نتیجه|نتایج|جواب|گزارش)\w{0,3}|بوده|بود(?!\w)|شده_?(است|اید)|"
                 r"انجام_?(داده|شده)|دیده_?(شد|شده|می_?شود)|(تان|شما)(?!\w))")
# an age, a duration, a measurement or a dose: a number with what it counts
_NUMBER = r"(\d+([./]\d+)?|یک|دو|سه|چهار|پنج|شش|هفت|هشت|نه|ده|بیست|سی|چهل|پنجاه|صد|نیم)"
_THEIR_NUMBERS = spaced(
       rf"(?<!\w){_NUMBER}_?(ساله|سالگی|ماهه|ماهگی|هفتگی|هفته_?ای|روزه|روزگی|کیلو\w{{0,4}}|سانت\w{{0,4}}|"
       r"میلی_?(گرم|لیتر|متر)|میلی|میل|mg|ml|mm|mcg|سی_?سی|cc|واحد|درصد|ضربه)(?!\w)"
       rf"|(?<!\w){_NUMBER}_?(عدد|قرص|کپسول|قطره|قاشق|پاف|بار_?در_?(روز|هفته|ماه|شبانه_?روز))(?!\w)"  # a count, a schedule
       rf"|(?<!\w)هر_?{_NUMBER}_?(ساعت|روز)(?!\w)"
       rf"|(?<!\w)\d+_?(روی|بر|/)_?\d+(?!\w)"  # a blood pressure, 9/6 or «۱۲ روی ۸»
       rf"|(?<!\w){_NUMBER}_?(سال|ماه|هفته|روز)_?(است|پیش|قبل|گذشته|اخیر)")
# words that look like verbs by their shape and are not: «میانی»، «میزان»، «میلی‌گرم» (می-), «پوست»، «قند»، «شدید»
# (-ست، -ند، -ید), with their endings; some only as they are («میز»، «میل»: «میزنید» is a verb). A noun in «-وید»
# or «-ویید» («تیرویید»، «آدنویید») is left out by its «و»
_NOT_VERBS = (r"((میان|میزان|میکرو|میلی|میلیون|میوه|میگرن|میهمان|میتوکندری|میاستنی|میوکارد|میوم|"
              r"پوست|دست|تست|لیست|درست|نخست|راست|ماست|پست|فهرست|پیوست|کاست|"
              r"شدید|جدید|مفید|سفید|تولید|تهدید|تمدید|تایید|تاکید|تشدید|تردید|امید|کلید|خورشید|بعید|مزید|تجدید|اسید|"
              r"لیپید|پپتید|چند|هرچند|بلند|قند|پیوند|روند|فرزند|پسند|لبخند|خداوند|مانند|مستند|سند|"
              r"بند|بست|شست)\w{0,4}|میز|میل|عید|قید)(?!\w)")
_VERB = spaced(r"(?<!\w)(است|هست|نیست|بود|نبود|باشد|باشند|باشید|نباشد|شود|شوند|نشود|میشود|می_?شود|دارد|دارند|"
               r"ندارد|دارید|ندارید|کنید|نکنید|کند|کنند|نکند|دهید|ندهید|بدهید|بخورید|نخورید|بگیرید|بزنید|بمانید|"
               r"کرد|کردن|شد|نشد|گردد|گردید|یابد|گیرد|بیاید|هستند|نیستند|است\.|ست)(?!\w)"
               r"|(?<!\w)(?!" + _NOT_VERBS + r")(ن?می_?\w{2,}|ب\w{2,}(ید|د|ند)|\w{2,}(?<!و)(?<!وی)(اید|ید|ند|ست))(?!\w)")


# a Latin word typed against a Persian one, with no space between
_SCRIPTS_MEET = re.compile(r"(?<=[a-z0-9])(?=[\u0600-\u06ff])|(?<=[\u0600-\u06ff])(?=[a-z])")


@dataclass(frozen=True)
class RuleContext:
    """What the rules compare a sentence with: what the user wrote, normalized."""

    normalized: str  # the user's question
    drugs: frozenset[str]  # generics it names
    tests: frozenset[str]  # tests and images it names
    numbers: frozenset[str]  # digits it contains
    conditions: frozenset[str] = frozenset()  # look-alike conditions it names (``Query.conditions``)

    @classmethod
    def of(cls, query: Query, lexicon: DrugLexicon | None) -> "RuleContext":
        text = _SCRIPTS_MEET.sub(" ", query.normalized)
        return cls(text, frozenset(lexicon.find(text)) if lexicon else frozenset(),
                   frozenset(_key(m.group(1)) for m in _TEST.finditer(text)), frozenset(re.findall(r"\d+", text)),
                   frozenset(query.conditions))


# one name per test, whichever way it is written («ام آر آی» and «MRI»)
_SAME_TEST = {"امارای": "mri", "سیتی": "ct", "سیتیاسکن": "ct", "سونو": "سونوگرافی", "نوارقلب": "ecg", "اکو": "اکوکاردیوگرافی",
              "نوارمغز": "eeg", "نوارعصب": "emg", "بتااچسیجی": "betahcg"}


def _key(test: str) -> str:
    key = re.sub(r"[ \u200c]", "", test)
    key = re.sub(r"^ازمایش\w*$", "ازمایش", key)
    return _SAME_TEST.get(key, key)


def _greeting(s: str, n: str, ctx: RuleContext, kit: "SentenceRules") -> bool:
    return len(strip_courtesies(s).split()) < 2


def _byline(s: str, n: str, ctx: RuleContext, kit: "SentenceRules") -> bool:
    return bool(_BYLINE.search(n)) or n.rstrip().endswith(":")


def _sign_off(s: str, n: str, ctx: RuleContext, kit: "SentenceRules") -> bool:
    return bool(_SIGN_OFF.search(n))


def _question_back(s: str, n: str, ctx: RuleContext, kit: "SentenceRules") -> bool:
    return n.rstrip(" .»)").endswith(("؟", "?"))


def _fragment(s: str, n: str, ctx: RuleContext, kit: "SentenceRules") -> bool:
    return (len(CONTENT_WORDS(s)) < 3 or len(n.split()) < 4 or not _VERB.search(n) or bool(_CUT.search(n))
            or n.count("(") != n.count(")"))  # a piece cut out of a bracket: «از اخرین وعده غذایی ) است»


def _needs_context(s: str, n: str, ctx: RuleContext, kit: "SentenceRules") -> bool:
    return bool(_NEEDS_CONTEXT.search(n))


def _their_words(s: str, n: str, ctx: RuleContext, kit: "SentenceRules") -> bool:
    return (bool(_THEIR_WORDS.search(n)) or bool(_YOU_DID.search(n))
            or bool(_THEIR_OPERATION.search(n)) and not _OPERATION.search(ctx.normalized))


def _their_people(s: str, n: str, ctx: RuleContext, kit: "SentenceRules") -> bool:
    return any(rx.search(n) and not rx.search(ctx.normalized) for rx in PERSON.values())


def _their_tests(s: str, n: str, ctx: RuleContext, kit: "SentenceRules") -> bool:
    return bool(_RESULT.search(n)) and any(_key(m.group(1)) not in ctx.tests for m in _TEST.finditer(n))


def _their_numbers(s: str, n: str, ctx: RuleContext, kit: "SentenceRules") -> bool:
    for m in _THEIR_NUMBERS.finditer(n):
        digits = re.findall(r"\d+", m.group(0))
        if not digits or not set(digits) <= ctx.numbers:
            return True
    return False


def _their_drugs(s: str, n: str, ctx: RuleContext, kit: "SentenceRules") -> bool:
    return kit.lexicon is not None and any(g not in ctx.drugs for g in kit.lexicon.find(n))


def _look_alike(s: str, n: str, ctx: RuleContext, kit: "SentenceRules") -> bool:
    return kit.lookalikes is not None and bool(ctx.conditions) and bool(kit.lookalikes.look_alikes(kit.lookalikes.find(n), ctx.conditions))


def _instruction(s: str, n: str, ctx: RuleContext, kit: "SentenceRules") -> bool:
    return bool(looks_like_instruction(s))


Rule = Callable[[str, str, RuleContext, "SentenceRules"], bool]
RULES: dict[str, Rule] = {
    "greeting": _greeting, "byline": _byline, "sign_off": _sign_off, "question_back": _question_back,
    "fragment": _fragment, "needs_context": _needs_context, "their_words": _their_words, "their_people": _their_people,
    "their_tests": _their_tests, "their_numbers": _their_numbers, "their_drugs": _their_drugs,
    "look_alike": _look_alike, "instruction": _instruction,
}


class SentenceRules:
    """The rules in force (all by default), with the drug lexicon and look-alike conditions they use."""

    def __init__(self, lexicon: DrugLexicon | None = None, rules: tuple[str, ...] | None = None,
                 lookalikes: LookAlikes | None = None):
        unknown = set(rules or ()) - set(RULES)
        if unknown:
            raise ValueError(f"unknown sentence rule(s) {sorted(unknown)}; expected some of {', '.join(RULES)}")
        self.lexicon, self.lookalikes = lexicon, lookalikes
        self.rules = [(name, RULES[name]) for name in (rules if rules is not None else tuple(RULES))]

    def context(self, query: Query) -> RuleContext:
        return RuleContext.of(query, self.lexicon)

    def why_not(self, sentence: str, context: RuleContext) -> str | None:
        """The first rule ``sentence`` breaks for this user, or None when it may be quoted."""
        text = " ".join(CITATION.sub(" ", sentence).split())
        n = _SCRIPTS_MEET.sub(" ", normalize(text))  # «MRIشما» is «MRI شما»
        for name, rule in self.rules:
            if rule(text, n, context, self):
                return name
        return None
