"""Each loader, each kind of bad row, skip mode, BOMs, presets (all on data the tests write)."""

import csv
import json

import pytest

from conftest import CORPUS, corpus_rows, write_jsonl, write_xlsx
from index_build import CorpusError, ErrorPolicy, FieldMap, iter_documents, iter_mf3qa, mf3qa_pairs
from index_build.builder import collect_documents

EXPECTED_IDS = [i for i, _t, _x in CORPUS]


def ids_of(path, **kw):
    return [d.id for d in iter_documents([str(path)], **kw)]


def test_jsonl(tmp_path):
    path = write_jsonl(tmp_path / "c.jsonl", corpus_rows())
    docs = list(iter_documents([str(path)]))
    assert [d.id for d in docs] == EXPECTED_IDS
    assert docs[1].title == "دیابت نوع دو" and docs[1].url == "https://example.org/diabetes"
    assert docs[1].source == "test-corpus"


def _write_csv(path, rows, delimiter=",", bom=False):
    with open(path, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]), delimiter=delimiter)
        w.writeheader()
        w.writerows(rows)
    return path


@pytest.mark.parametrize("suffix,delimiter,bom", [(".csv", ",", False), (".csv", ",", True), (".tsv", "\t", True)])
def test_csv_tsv_with_and_without_bom(tmp_path, suffix, delimiter, bom):
    path = _write_csv(tmp_path / f"c{suffix}", corpus_rows(), delimiter, bom)
    assert ids_of(path) == EXPECTED_IDS


def test_jsonl_with_bom(tmp_path):
    path = tmp_path / "bom.jsonl"
    path.write_text("\ufeff" + "\n".join(json.dumps(r, ensure_ascii=False) for r in corpus_rows()), "utf-8")
    assert ids_of(path) == EXPECTED_IDS


def test_parquet(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "c.parquet"
    pq.write_table(pa.Table.from_pylist(corpus_rows()), path)
    assert ids_of(path) == EXPECTED_IDS


def test_xlsx_question_answer_rows_become_consultations(tmp_path):
    path = write_xlsx(tmp_path / "qa.xlsx", ["Question", "Answer"],
                       [["قند خونم بالاست؟", "متفورمین بخورید."], [None, None], ["سرم درد میکنه", "استراحت کنید."]])
    docs = list(iter_documents([str(path)]))
    assert len(docs) == 2
    assert docs[0].text == "پرسش: قند خونم بالاست؟\n\nپاسخ: متفورمین بخورید."
    assert docs[0].title == "قند خونم بالاست؟" and docs[0].metadata["kind"] == "consultation"
    assert docs[0].id.startswith("h")  # content hash id
    assert ids_of(path) == [d.id for d in docs]  # stable


def test_text_folder(tmp_path):
    (tmp_path / "docs" / "sub").mkdir(parents=True)
    (tmp_path / "docs" / "a.md").write_text("# آسم\nتنگی نفس و خس‌خس سینه.", "utf-8")
    (tmp_path / "docs" / "sub" / "b.txt").write_text("\ufeffسنگ کلیه درد پهلو دارد.", "utf-8")
    (tmp_path / "docs" / "skip.bin").write_bytes(b"\x00\x01")
    docs = list(iter_documents([str(tmp_path / "docs")]))
    assert [d.id for d in docs] == ["a.md", "sub/b.txt"]
    assert docs[0].title == "آسم" and docs[1].title == "b"
    assert docs[1].text.startswith("سنگ کلیه")


def test_datasets_folder_and_hub_id_on_local_folder(tmp_path):
    from datasets import Dataset

    Dataset.from_list(corpus_rows()).save_to_disk(str(tmp_path / "saved"))
    assert ids_of(tmp_path / "saved") == EXPECTED_IDS
    hub_like = tmp_path / "hub"
    hub_like.mkdir()
    write_jsonl(hub_like / "train.jsonl", corpus_rows())
    # the real load_dataset path: a hub id outside, a local folder here
    assert ids_of(f"hf:{hub_like}") == EXPECTED_IDS


def test_field_mapping(tmp_path):
    rows = [{"key": f"k{n}", "heading": t, "body": x} for n, (_i, t, x) in enumerate(CORPUS[:3])]
    path = write_jsonl(tmp_path / "m.jsonl", rows)
    docs = list(iter_documents([str(path)], FieldMap(id="key", title="heading", text="body", default_source="my")))
    assert [d.id for d in docs] == ["k0", "k1", "k2"] and docs[0].title == CORPUS[0][1] and docs[0].source == "my"


# ---- bad input --------------------------------------------------------------

def _error(path, **kw) -> CorpusError:
    with pytest.raises(CorpusError) as info:
        list(iter_documents([str(path)], **kw))
    return info.value


def test_empty_text_names_file_row_field(tmp_path):
    rows = corpus_rows()
    rows[2]["text"] = "   "
    err = _error(write_jsonl(tmp_path / "e.jsonl", rows))
    assert (err.file.endswith("e.jsonl"), err.row, err.field) == (True, 3, "text")
    assert "empty text" in str(err) and "row 3" in str(err)


def test_missing_column(tmp_path):
    path = _write_csv(tmp_path / "m.csv", [{"id": "a", "notes": "متن"}])
    err = _error(path)
    assert err.field == "text" and "missing column" in str(err) and "m.csv" in str(err)
    err = _error(path, fields=FieldMap(text="content"))
    assert err.field == "content" and "column not found" in str(err)


def test_non_string_cell(tmp_path):
    path = write_xlsx(tmp_path / "n.xlsx", ["id", "text"], [["a", "متن درست"], ["b", 12345]])
    err = _error(path)
    assert (err.row, err.field) == (3, "text") and "expected a string" in str(err)


def test_duplicate_id(tmp_path):
    rows = corpus_rows()
    rows[4]["id"] = rows[1]["id"]
    path = write_jsonl(tmp_path / "d.jsonl", rows)
    err = _error(path)
    assert (err.row, err.field) == (5, "id") and "duplicate id 'diabetes'" in str(err) and "row 2" in str(err)


def test_identical_duplicates_are_merged_not_errors(tmp_path):
    rows = [{"text": "یک متن"}, {"text": "یک متن"}, {"text": "متن دیگر"}]
    docs, dups = collect_documents([str(write_jsonl(tmp_path / "x.jsonl", rows))], FieldMap(), ErrorPolicy())
    assert len(docs) == 2 and dups == 1


@pytest.mark.parametrize("name,content,row", [
    ("broken.jsonl", '{"id": "a", "text": "خوب"}\n{"id": "b", "text": \n', 2),
    ("broken.csv", 'id,text\na,"unterminated\n', None),
    ("broken.xlsx", "not a zip file", None),
    ("broken.parquet", "PAR1 garbage", None),
])
def test_broken_files(tmp_path, name, content, row):
    path = tmp_path / name
    path.write_text(content, "utf-8")
    with pytest.raises(CorpusError) as info:
        list(iter_documents([str(path)]))
    assert name in str(info.value)
    if row is not None:
        assert info.value.row == row


def test_missing_input_and_unsupported_type(tmp_path):
    assert "no such file" in str(_error(tmp_path / "nope.jsonl"))
    (tmp_path / "x.pdf").write_text("x")
    assert "unsupported file type" in str(_error(tmp_path / "x.pdf"))


def test_skip_mode_reports_and_keeps_going(tmp_path):
    rows = corpus_rows()
    rows[1]["text"] = ""
    rows[3]["text"] = ["not", "a", "string"]
    rows[6]["id"] = rows[0]["id"]
    policy = ErrorPolicy("skip")
    docs, _ = collect_documents([str(write_jsonl(tmp_path / "s.jsonl", rows))], FieldMap(), policy)
    assert len(docs) == len(rows) - 3
    assert [(e.row, e.field) for e in policy.skipped] == [(2, "text"), (4, "text"), (7, "id")]
    assert "skipped 3 rows" in policy.summary()


def test_mf3qa_preset_split_rules(tmp_path):
    folder = tmp_path / "mf3qa"
    folder.mkdir()
    write_xlsx(folder / "drhast_1.xlsx", ["Question", "Answer", None],
                [["سوال یک", "جواب یک", None], ["سوال دو", "جواب دو", None]])
    write_xlsx(folder / "drhast_2.xlsx", ["Question", "Answer"], [["سوال سه", None]])  # empty answer: dropped
    write_xlsx(folder / "drhast_3.xlsx", ["Question", "Answer"], [["سوال چهار", "جواب چهار"]])
    write_xlsx(folder / "niniban.xlsx", ["Question", "Answer"], [[" سوال دو ", "جواب دو"], ["سوال پنج", "جواب پنج"]])
    write_xlsx(folder / "dev.xlsx", ["Question", "Answer", "Source"], [["سوال دو", "جواب دو", "niniban.com"]])
    train = mf3qa_pairs(folder, "train")
    assert [q for q, _a, _s in train] == ["سوال یک", "سوال چهار", "سوال پنج"]
    assert train[0][2] == "drhast.com" and train[2][2] == "niniban.com"
    assert mf3qa_pairs(folder, "dev") == [("سوال دو", "جواب دو", "niniban.com")]
    assert len(list(iter_mf3qa(folder, "all"))) == 4
    (folder / "dev.xlsx").unlink()
    with pytest.raises(CorpusError, match="not an MF3QA folder"):
        list(iter_mf3qa(folder))
