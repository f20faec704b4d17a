"""What the default knowledge base tells a person before and after it is built, in plain words.

Persian and English, or only the one of the user's locale (``LC_ALL``, ``LC_MESSAGES``, ``LANG``
starting with ``fa`` or ``en``). Before a build: what is built, from what, into which folder, and
that it happens once; how long it takes is said by the progress bar as soon as it is timed on this
machine. After: where the index lives, how big it is, and how to build it again.
"""

from __future__ import annotations

import os
from pathlib import Path

from gaokerena_rag.progress import duration

REBUILD = 'gaokerena ask --rebuild "…"'  # the flag every answering command takes (cli_args.index_args)

_WHY = {
    "first": ("First run: building the default knowledge base once (later runs load it in seconds)",
              "نخستین اجرا: پایگاه دانش پیش‌فرض یک بار ساخته می‌شود (اجراهای بعدی آن را در چند ثانیه بار می‌کنند)"),
    "changed": ("The MF3QA files changed since the knowledge base was built: updating it (only what changed "
                "is embedded again)",
                "پرونده‌های MF3QA پس از ساخت پایگاه دانش تغییر کرده‌اند: به‌روزرسانی (فقط بخش‌های تغییرکرده "
                "دوباره پردازش می‌شوند)"),
    "embedder": ("The knowledge base was built with another embedder: building it again from scratch",
                 "پایگاه دانش با مدل دیگری ساخته شده بود: از نو ساخته می‌شود"),
    "damaged": ("The cached knowledge base is damaged: building it again from scratch",
                "پایگاه دانش ذخیره‌شده آسیب دیده است: از نو ساخته می‌شود"),
    "rebuild": ("Rebuilding the default knowledge base from scratch, as asked",
                "بنا به درخواست، پایگاه دانش پیش‌فرض از نو ساخته می‌شود"),
}


def languages() -> tuple[str, ...]:
    """``("fa",)`` or ``("en",)`` for a Persian or English locale; both otherwise (C, POSIX, unset)."""
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var, "")
        if value:
            if value.startswith("fa"):
                return ("fa",)
            if value.startswith("en"):
                return ("en",)
            break
    return ("fa", "en")


def _what(source: str) -> tuple[str, str]:
    if source.startswith("hf:"):
        return (f"the MF3QA train consultations of the hub dataset {source[3:]}",
                f"مشاوره‌های بخش آموزشی MF3QA از مجموعه‌ی {source[3:]}")
    return f"the MF3QA train consultations in {source}", f"مشاوره‌های بخش آموزشی MF3QA در {source}"


def announcement(why: str, source: str, path: Path) -> list[str]:
    """The lines said before a build; ``why``: first, changed, embedder, damaged or rebuild."""
    (head_en, head_fa), (what_en, what_fa) = _WHY[why], _what(source)
    text = {"en": f"{head_en}: from {what_en}, into {path}. How long it takes on this machine is shown "
                  "below as soon as it is timed.",
            "fa": f"{head_fa}: از {what_fa}، در {path}. زمان ساخت روی همین دستگاه سنجیده و در زیر نشان داده "
                  "می‌شود."}
    return [text[lang] for lang in languages()]


def closing(path: Path, mib: float, report) -> list[str]:
    """The lines said after a build: where the index lives, its size, how to rebuild it."""
    counts = report.manifest.get("counts", {})
    docs, passages = counts.get("documents", 0), counts.get("passages", 0)
    size = f"{mib:,.1f}" if mib < 10 else f"{mib:,.0f}"
    took = f"{report.seconds:.0f} ثانیه" if report.seconds < 60 else f"{report.seconds / 60:.0f} دقیقه"
    text = {"en": f"Built the default knowledge base at {path} ({size} MiB: {docs:,} consultations, "
                  f"{passages:,} passages, in {duration(report.seconds)}). Later runs load it in seconds. "
                  f"To build it again from scratch: {REBUILD} (or delete that folder).",
            "fa": f"پایگاه دانش پیش‌فرض در {path} ساخته شد ({size} مگابایت: {docs:,} مشاوره، {passages:,} بخش، "
                  f"در {took}). اجراهای بعدی آن را در چند ثانیه بار می‌کنند. برای ساخت "
                  f"دوباره از نو: {REBUILD} (یا آن پوشه را پاک کنید)."}
    lines = [text[lang] for lang in languages()]
    if report.skipped or report.duplicates:
        lines.append(report.summary())
    return lines
