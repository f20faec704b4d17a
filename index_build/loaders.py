"""Corpus loaders: JSONL, CSV/TSV, Parquet, XLSX, text folders, `datasets` folders and hub ids.

Every loader yields ``(row, record)`` pairs, ``row`` being what a user sees in the
file (JSONL line, the line a CSV record starts on with the header as line 1, XLSX
sheet row, record number for Parquet and datasets). A bad row (undecodable bytes,
broken JSON, a line that is not an object, a CSV row with extra cells) goes to the
``ErrorPolicy``: stop there, or skip it and report it. ``records_to_documents`` maps
fields onto ``Document``, with the same policy. Text files may carry a UTF-8 BOM; a
Windows-1256 (Arabic Windows) file is named as such.
"""

from __future__ import annotations

import codecs
import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

from gaokerena_rag.documents import Document, consultation_text
from gaokerena_rag.normalize import has_visible_text

from .errors import CorpusError, ErrorPolicy

CSV_FIELD_LIMIT = 256 * 1024 * 1024  # the csv module's default, 128 KiB, rejects long articles
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_ARABIC_LETTER = re.compile(r"[\u0600-\u06ff]")

TEXT_SUFFIXES = (".txt", ".md")
Record = dict[str, Any]

_CANDIDATES = {
    "id": ("id", "doc_id", "_id", "docid", "شناسه"),
    "title": ("title", "عنوان", "heading"),
    "text": ("text", "content", "body", "passage", "متن"),
    "source": ("source", "منبع"),
    "url": ("url", "link", "href", "پیوند"),
    "question": ("question", "پرسش", "سوال", "سؤال"),
    "answer": ("answer", "پاسخ", "جواب"),
}


@dataclass(frozen=True)
class FieldMap:
    """Which column holds what; ``None`` means detect it from the usual names."""

    id: str | None = None
    title: str | None = None
    text: str | None = None
    source: str | None = None
    url: str | None = None
    question: str | None = None
    answer: str | None = None
    default_source: str = ""

    def resolve(self, columns: Iterable[str], file: str) -> dict[str, str | None]:
        cols = list(columns)
        lower = {c.strip().lower(): c for c in cols if isinstance(c, str)}
        out: dict[str, str | None] = {}
        for name, candidates in _CANDIDATES.items():
            given = getattr(self, name)
            if given is not None:
                if given not in cols:
                    raise CorpusError(file, None, given, f"column not found; columns are {cols}")
                out[name] = given
            else:
                out[name] = next((lower[c] for c in candidates if c in lower), None)
        if out["text"] is None and not (out["question"] and out["answer"]):
            raise CorpusError(file, None, self.text or "text",
                              f"missing column: no text column (or question + answer columns) among {cols}")
        return out


def decoding_problem(raw: bytes, exc: UnicodeDecodeError) -> str:
    """Why ``raw`` is not UTF-8, in words: the byte and column, and what the bytes look like instead."""
    bad = raw[exc.start:exc.start + 3]
    text = f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})"
    if len(bad) >= 2 and bad[0] == 0xED and 0xA0 <= bad[1] <= 0xBF:
        return text + ": it holds an encoded lone surrogate (a broken UTF-16 conversion)"
    try:
        legacy = raw.decode("cp1256")
    except UnicodeDecodeError:
        return text
    letters = [ch for ch in legacy if ch.isalpha()]
    if letters and sum(bool(_ARABIC_LETTER.match(ch)) for ch in letters) >= len(letters) / 2:
        return text + ("; it reads as Windows-1256 (Arabic Windows) text: convert the file to UTF-8 "
                       "(iconv -f cp1256 -t utf-8 IN > OUT)")
    return text


def _decoded_lines(path: Path, policy: ErrorPolicy) -> Iterator[tuple[int, str]]:
    """``(line number, text)`` of a UTF-8 file; an undecodable line goes to ``policy`` (and reads as empty)."""
    with open(path, "rb") as fh:
        for line_no, raw in enumerate(fh, start=1):
            if line_no == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8):]
            try:
                yield line_no, raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                policy.handle(CorpusError(str(path), line_no, None, decoding_problem(raw, exc)))
                yield line_no, "\n"


def _read_jsonl(path: Path, policy: ErrorPolicy) -> Iterator[tuple[int, Record]]:
    for line_no, line in _decoded_lines(path, policy):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as exc:
            why = f"{exc.msg} at column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
            policy.handle(CorpusError(str(path), line_no, None, f"broken JSON: {why}"))
            continue
        if not isinstance(record, dict):
            policy.handle(CorpusError(str(path), line_no, None,
                                      f"each line must be a JSON object, not a {type(record).__name__}"))
            continue
        yield line_no, record


def _read_csv(path: Path, delimiter: str, policy: ErrorPolicy) -> Iterator[tuple[int, Record]]:
    if csv.field_size_limit() < CSV_FIELD_LIMIT:
        csv.field_size_limit(CSV_FIELD_LIMIT)
    reader = csv.reader((text for _n, text in _decoded_lines(path, policy)), delimiter=delimiter, strict=True)
    header: list[str] | None = None
    while True:
        start = reader.line_num + 1  # the line this record starts on
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            error = CorpusError(str(path), start, None, f"broken CSV: {exc}")
            if header is None:
                raise error from None
            policy.handle(error)
            continue
        if header is None:
            header = cells
            continue
        if not cells:
            continue  # a blank line
        if len(cells) > len(header):
            policy.handle(CorpusError(str(path), start, None,
                                      f"{len(cells)} cells, but the header has {len(header)} columns"))
            continue
        yield start, dict(zip(header, cells + [""] * (len(header) - len(cells))))


def _read_xlsx(path: Path) -> Iterator[tuple[int, Record]]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for broken files
        raise CorpusError(str(path), None, None, f"cannot read workbook: {exc}") from None
    try:
        rows = book.worksheets[0].iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            return
        names = [str(h) if h is not None else f"column{i + 1}" for i, h in enumerate(header)]
        for row_no, row in enumerate(rows, start=2):
            if all(c is None or (isinstance(c, str) and not c.strip()) for c in row):
                continue  # sheets often claim a million empty rows
            yield row_no, dict(zip(names, row))
    finally:
        book.close()


def _read_parquet(path: Path) -> Iterator[tuple[int, Record]]:
    import pyarrow.parquet as pq

    try:
        table = pq.ParquetFile(path)
    except Exception as exc:  # noqa: BLE001
        raise CorpusError(str(path), None, None, f"cannot read Parquet: {exc}") from None
    n = 0
    for batch in table.iter_batches(batch_size=4096):
        for record in batch.to_pylist():
            n += 1
            yield n, record


def _read_text_folder(path: Path, policy: ErrorPolicy) -> Iterator[tuple[int, Record]]:
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES)
    for n, file in enumerate(files, start=1):
        raw = file.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line_start = raw.rfind(b"\n", 0, exc.start) + 1
            line_end = raw.find(b"\n", exc.start)
            line = raw[line_start:line_end if line_end >= 0 else len(raw)]
            where = UnicodeDecodeError(exc.encoding, line, exc.start - line_start, exc.end - line_start, exc.reason)
            policy.handle(CorpusError(str(file), raw.count(b"\n", 0, exc.start) + 1, None,
                                      decoding_problem(line, where)))
            continue
        title = file.stem
        for line in text.splitlines():
            if line.startswith("#"):
                title = line.lstrip("#").strip() or title
                break
        yield n, {"id": file.relative_to(path).as_posix(), "title": title, "text": text,
                  "source": path.name, "__file__": str(file)}


def _read_datasets(obj, split: str | None) -> Iterator[tuple[int, Record]]:
    from datasets import DatasetDict

    if isinstance(obj, DatasetDict):
        if split:
            obj = obj[split]
        elif "train" in obj:
            obj = obj["train"]
        else:
            raise ValueError(f"dataset has splits {list(obj)}: choose one with split=")
    for n, record in enumerate(obj, start=1):
        yield n, record


def is_datasets_folder(path: Path) -> bool:
    return path.is_dir() and any((path / f).exists() for f in ("dataset_dict.json", "dataset_info.json", "state.json"))


def read_records(source: str | Path, split: str | None = None,
                 policy: ErrorPolicy | None = None) -> Iterator[tuple[int, Record]]:
    """Yield ``(row, record)`` from any supported input; ``hf:NAME`` goes through ``datasets.load_dataset``.
    Bad rows go to ``policy`` (default: stop at the first)."""
    policy = policy or ErrorPolicy()
    text = str(source)
    if text.startswith("hf:"):
        from datasets import load_dataset

        try:
            dataset = load_dataset(text[3:], split=split)
        except Exception as exc:  # noqa: BLE001 - offline, missing, private: the hub raises many kinds
            raise CorpusError(text, None, None, f"cannot load the hub dataset ({type(exc).__name__}: "
                                                f"{str(exc).strip()[:300]})") from None
        yield from _read_datasets(dataset, None)
        return
    path = Path(source)
    if not path.exists():
        raise CorpusError(text, None, None, "no such file or folder (hub datasets are named hf:OWNER/NAME)")
    if path.is_dir():
        if is_datasets_folder(path):
            from datasets import load_from_disk

            yield from _read_datasets(load_from_disk(str(path)), split)
        else:
            yield from _read_text_folder(path, policy)
        return
    suffix = path.suffix.lower()
    readers = {".jsonl": lambda p: _read_jsonl(p, policy), ".ndjson": lambda p: _read_jsonl(p, policy),
               ".parquet": _read_parquet, ".xlsx": _read_xlsx,
               ".csv": lambda p: _read_csv(p, ",", policy), ".tsv": lambda p: _read_csv(p, "\t", policy)}
    if suffix not in readers:
        raise CorpusError(text, None, None, f"unsupported file type {suffix!r}; expected one of {sorted(readers)}")
    yield from readers[suffix](path)


def _cell(record: Record, column: str | None, file: str, row: int, required: bool = False) -> str:
    """A cell as text. Required (text) cells must be non-empty strings; optional ones may be numbers."""
    if column is None:
        return ""
    value = record.get(column)
    if value is None or (isinstance(value, float) and value != value):  # None or NaN
        if required:
            raise CorpusError(file, row, column, "empty text")
        return ""
    if isinstance(value, str):
        surrogate = _SURROGATE.search(value)
        if surrogate:
            at = surrogate.start()
            raise CorpusError(file, row, column, f"a lone surrogate (\\u{ord(value[at]):04x}) at character {at + 1}: "
                                                 "not valid Unicode text (a broken UTF-16 conversion?)")
        if required and not has_visible_text(value):
            raise CorpusError(file, row, column, "empty text" + (" (only invisible characters)" if value.strip()
                                                                 else ""))
        return value.strip()
    if not required and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise CorpusError(file, row, column, f"expected a string, got {type(value).__name__} {str(value)[:40]!r}")


def qa_title(question: str, words: int = 12) -> str:
    parts = question.split()
    return " ".join(parts[:words]) + (" …" if len(parts) > words else "")


def records_to_documents(records: Iterable[tuple[int, Record]], file: str, fields: FieldMap,
                         policy: ErrorPolicy) -> Iterator[tuple[str, int, Document]]:
    """Map records to ``(file, row, document)``; bad rows go to ``policy`` (raise or skip)."""
    columns: dict[str, str | None] | None = None
    for row, record in records:
        where = record.pop("__file__", file)
        try:
            if columns is None:
                columns = fields.resolve(record.keys(), file)
            if columns["question"] and columns["answer"] and not fields.text:
                question = _cell(record, columns["question"], where, row, required=True)
                answer = _cell(record, columns["answer"], where, row, required=True)
                text, title = consultation_text(question, answer), qa_title(question)
                meta = {"kind": "consultation"}
            else:
                text = _cell(record, columns["text"], where, row, required=True)
                title, meta = _cell(record, columns["title"], where, row), {}
            doc_id = _cell(record, columns["id"], where, row)
            source = _cell(record, columns["source"], where, row) or fields.default_source
            url = _cell(record, columns["url"], where, row)
            yield where, row, Document(text=text, id=doc_id, title=title, source=source, url=url, metadata=meta)
        except CorpusError as err:
            if err.row is None:  # a whole-file problem (missing column) cannot be skipped row by row
                raise
            policy.handle(err)
