"""Named corpus presets: the MF3QA folder layout, and the published hub datasets.

* ``mf3qa`` — the Excel files as published in ``dataset/MF3QA`` (``drhast_1..3.xlsx``,
  ``niniban.xlsx``, ``dev.xlsx``). Split ``train`` = all four minus the dev rows
  (matched on the stripped Question text), empty answers dropped: 18,226
  consultations; ``dev`` = ``dev.xlsx``; ``all`` = both.
* ``hf-mf3qa`` — ``gaokerena/MF3QA`` on the hub (question/answer columns).
* ``hf-medical-corpus`` — ``gaokerena/medical_corpus`` on the hub (a text column).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from gaokerena_rag.documents import Document, split_consultation

from .errors import CorpusError, ErrorPolicy
from .loaders import FieldMap, read_records, records_to_documents

MF3QA_TRAIN_FILES = {"drhast_1.xlsx": "drhast.com", "drhast_2.xlsx": "drhast.com",
                     "drhast_3.xlsx": "drhast.com", "niniban.xlsx": "niniban.com"}
MF3QA_DEV_FILE = "dev.xlsx"
MF3QA_FIELDS = FieldMap(question="Question", answer="Answer")
MF3QA_LOCAL = "../shared/data/mf3qa"  # where this project's machines hold the published files
MF3QA_HUB = "hf:gaokerena/MF3QA"


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    default_input: str
    fields: FieldMap = FieldMap()
    split: str | None = None


PRESETS = {
    "mf3qa": Preset("mf3qa", "MF3QA Excel folder as published (train split by default)", MF3QA_LOCAL,
                    MF3QA_FIELDS, "train"),
    "hf-mf3qa": Preset("hf-mf3qa", "MF3QA from the hub", MF3QA_HUB, FieldMap(), "train"),
    "hf-medical-corpus": Preset("hf-medical-corpus", "Gaokerena's Persian medical corpus from the hub",
                                "hf:gaokerena/medical_corpus", FieldMap(), "train"),
}


def mf3qa_source(data: str | Path = MF3QA_LOCAL) -> tuple[str, str]:
    """``(input, preset)`` for MF3QA: a local folder as published; the hub dataset for ``hf:`` ids,
    or when the default local folder is absent (a machine outside this project)."""
    text = str(data)
    if text.startswith("hf:"):
        return text, "hf-mf3qa"
    if Path(text).is_dir():
        return text, "mf3qa"
    if text == MF3QA_LOCAL:
        return MF3QA_HUB, "hf-mf3qa"
    raise CorpusError(text, None, None, "no such MF3QA folder (give the folder of the published Excel files, "
                                        f"or {MF3QA_HUB})")


def _dev_questions(folder: Path, policy: ErrorPolicy) -> set[str]:
    file = folder / MF3QA_DEV_FILE
    return {doc.metadata["question"] for _f, _r, doc in _mf3qa_file(file, "niniban.com", policy)}


def _mf3qa_file(file: Path, source: str, policy: ErrorPolicy) -> Iterator[tuple[str, int, Document]]:
    fields = FieldMap(question="Question", answer="Answer", default_source=source)
    inner = ErrorPolicy("skip")  # the split definition drops empty answers; other errors go to `policy`
    for where, row, doc in records_to_documents(read_records(file, policy=policy), str(file), fields, inner):
        question, _answer = split_consultation(doc.text)
        yield where, row, Document(text=doc.text, title=doc.title, source=doc.source or source,
                                   metadata={**doc.metadata, "question": question})
    for err in inner.skipped:
        if err.message != "empty text":
            policy.handle(err)


def iter_mf3qa(folder: str | Path, split: str = "train",
               policy: ErrorPolicy | None = None) -> Iterator[tuple[str, int, Document]]:
    """Consultations of one MF3QA split as ``(file, row, document)``."""
    folder = Path(folder)
    policy = policy or ErrorPolicy()
    if split not in ("train", "dev", "all"):
        raise ValueError(f"MF3QA split must be train, dev or all, got {split!r}")
    missing = [n for n in (*MF3QA_TRAIN_FILES, MF3QA_DEV_FILE) if not (folder / n).exists()]
    if missing:
        raise CorpusError(str(folder), None, None, f"not an MF3QA folder: missing {', '.join(missing)}")
    if split in ("dev", "all"):
        yield from _mf3qa_file(folder / MF3QA_DEV_FILE, "niniban.com", policy)
    if split in ("train", "all"):
        dev = _dev_questions(folder, ErrorPolicy("skip"))
        for name, source in MF3QA_TRAIN_FILES.items():
            for item in _mf3qa_file(folder / name, source, policy):
                if item[2].metadata["question"] not in dev:
                    yield item


def mf3qa_pairs(folder: str | Path, split: str = "train") -> list[tuple[str, str, str]]:
    """(question, answer, source) of an MF3QA split: what benchmarks and training read."""
    out = []
    for _f, _r, doc in iter_mf3qa(folder, split, ErrorPolicy("skip")):
        question, answer = split_consultation(doc.text)
        out.append((question, answer, doc.source))
    return out
