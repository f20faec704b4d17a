"""Dumps nobody cleaned: Windows-1256 bytes, lone surrogates, broken lines under --on-error skip,
invisible-only texts, huge CSV fields, a 2-million-character "word", and inputs that would empty
an index. Each stops with the file, row and field at fault, or is skipped and reported."""

import csv
import json

import pytest

from conftest import corpus_rows, write_jsonl
from console_run import run
from gaokerena_rag.chunking import Chunker
from gaokerena_rag.index import MANIFEST, IndexSettings, dense_text
from index_build import CorpusError, ErrorPolicy, FieldMap, MassRemovalError, build_index
from index_build.builder import collect_documents

PERSIAN = "سردرد میگرنی معمولا یک طرفه است و با نور بدتر می‌شود."


def collect(path, mode="raise"):
    policy = ErrorPolicy(mode)
    docs, _ = collect_documents([str(path)], FieldMap(), policy)
    return docs, policy.skipped


def test_a_windows_1256_file_is_named_with_its_line(tmp_path):
    path = tmp_path / "arabic-windows.jsonl"
    good = json.dumps({"id": "a", "text": PERSIAN}, ensure_ascii=False)
    bad = json.dumps({"id": "b", "text": "سردرد یک طرفه"}, ensure_ascii=False).encode("cp1256", errors="replace")
    path.write_bytes(good.encode() + b"\n" + bad + b"\n" + good.replace('"a"', '"c"').encode() + b"\n")
    with pytest.raises(CorpusError) as err:
        collect(path)
    assert (err.value.file, err.value.row) == (str(path), 2)
    assert "not UTF-8 text (byte 0x" in str(err.value) and "Windows-1256" in str(err.value)
    docs, skipped = collect(path, "skip")
    assert sorted(docs) == ["a", "c"] and [(e.row, "Windows-1256" in e.message) for e in skipped] == [(2, True)]


def test_lone_surrogates_are_named_not_a_crash(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_bytes(b'{"id": "a", "text": "ok \xed\xa0\x80 text"}\n'
                     b'{"id": "b", "text": "escaped \\ud800 surrogate"}\n'
                     + json.dumps({"id": "c", "text": PERSIAN}, ensure_ascii=False).encode() + b"\n")
    docs, skipped = collect(path, "skip")
    assert list(docs) == ["c"]
    assert [(e.row, e.field) for e in skipped] == [(1, None), (2, "text")]
    assert "lone surrogate" in skipped[0].message and "lone surrogate (\\ud800) at character 9" in skipped[1].message


def test_a_text_folder_file_in_cp1256_is_named_with_its_line(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "good.txt").write_text(PERSIAN, "utf-8")
    (folder / "old.txt").write_bytes(PERSIAN.encode() + b"\n" + "سطر دوم".encode("cp1256"))
    with pytest.raises(CorpusError) as err:
        collect(folder)
    assert err.value.file.endswith("old.txt") and err.value.row == 2 and "Windows-1256" in str(err.value)
    docs, skipped = collect(folder, "skip")
    assert list(docs) == ["good.txt"] and len(skipped) == 1


def test_skip_mode_skips_broken_json_lines_non_objects_and_extra_csv_cells(tmp_path):
    lines = [json.dumps(r, ensure_ascii=False) for r in corpus_rows()[:4]]
    lines[1] = '{"id": "x", "text": '
    lines[2] = "[1, 2, 3]"
    lines.append("[" * 100_000)  # nested too deeply for json
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    docs, skipped = collect(path, "skip")
    assert sorted(docs) == ["anemia", "migraine"]
    assert [e.row for e in skipped] == [2, 3, 5]
    assert "broken JSON" in skipped[0].message and "not a list" in skipped[1].message
    assert "nested too deeply" in skipped[2].message
    csv_path = tmp_path / "extra.csv"
    csv_path.write_text("id,text\na,متن اول کامل\nb,متن دوم,یک خانه اضافه\nc,متن سوم کامل\n", "utf-8")
    docs, skipped = collect(csv_path, "skip")
    assert sorted(docs) == ["a", "c"] and [(e.row, "3 cells" in e.message) for e in skipped] == [(3, True)]
    with pytest.raises(CorpusError, match="row 3"):
        collect(csv_path)


@pytest.mark.parametrize("invisible", ["\u200c\u200b\u200d", "\ufeff\u2060\u00ad", "\u200e\u200f \u200c\n"])
def test_a_text_of_invisible_characters_only_is_empty(tmp_path, invisible):
    rows = corpus_rows()[:3]
    rows[1]["text"] = invisible
    path = write_jsonl(tmp_path / "z.jsonl", rows)
    with pytest.raises(CorpusError) as err:
        collect(path)
    assert (err.value.row, err.value.field) == (2, "text") and "only invisible characters" in str(err.value)
    assert len(collect(path, "skip")[0]) == 2
    assert Chunker().chunk(invisible * 3) == []


def test_a_csv_field_over_128_kib_loads_and_rows_are_counted_right(tmp_path):
    long_text = (PERSIAN + " ") * 6000  # about 330 KB
    path = tmp_path / "long.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerows([["id", "text"], ["long", long_text], ["multi", "سطر یک\nسطر دو"], ["empty", "  "]])
    with pytest.raises(CorpusError) as err:
        collect(path)
    assert (err.value.row, err.value.field) == (5, "text")  # the header is line 1; "multi" spans lines 3-4
    docs, _ = collect(path, "skip")
    assert docs["long"].text == long_text.strip()


def test_a_two_million_character_word_is_cut_into_bounded_chunks():
    word = "ب" * 2_000_000
    chunker = Chunker()
    chunks = chunker.chunk(f"{PERSIAN} {word} {PERSIAN}")
    assert max(len(c) for c in chunks) <= chunker.max_words * chunker.max_word_chars + len(PERSIAN) + 2
    assert "".join(chunks).count("ب") >= 2_000_000 and len(chunks) == pytest.approx(2_000_000 / 64 / 200, abs=2)
    assert len(dense_text("", chunks[1], None, IndexSettings().embed_max_chars)) == 4000
    assert dense_text("", chunks[1], None, 4000, chunker.max_word_chars) == "ب" * 64  # what is embedded
    assert dense_text("عنوان", "متن کوتاه " + "x" * 100, None, 4000, 64) == "عنوان\nمتن کوتاه " + "x" * 64
    assert Chunker(max_words=20, overlap_words=0).chunk("http://example.org/" + "a" * 100 + " متن") != []


def test_an_update_that_would_empty_the_index_is_refused(tmp_path, corpus_file, embedder):
    out = tmp_path / "idx"
    build_index([str(corpus_file)], out, embedder=embedder, progress=False)
    before = (out / MANIFEST).read_text()
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", "utf-8")
    with pytest.raises(MassRemovalError, match="remove 10 of the 10 indexed documents"):
        build_index([str(empty)], out, embedder=embedder, progress=False, sync=True)
    assert (out / MANIFEST).read_text() == before
    fewer = write_jsonl(tmp_path / "fewer.jsonl", corpus_rows()[:6])  # 4 of 10 removed: an ordinary sync
    assert build_index([str(fewer)], out, embedder=embedder, progress=False).deleted == 4
    report = build_index([str(empty)], out, embedder=embedder, progress=False, allow_mass_removal=True)
    assert report.deleted == 6 and report.manifest["counts"]["documents"] == 0


def test_the_cli_says_what_a_build_over_an_existing_index_does(tmp_path, corpus_file):
    out = tmp_path / "idx"
    run("index", "build", "--input", str(corpus_file), "--out", str(out), "--quiet")
    other = write_jsonl(tmp_path / "other.jsonl", [{"id": "new", "text": PERSIAN}])
    proc = run("index", "build", "--input", str(other), "--out", str(out), "--quiet", check=False)
    assert proc.returncode == 1 and "already holds an index; updating it" in proc.stderr
    assert "remove 10 of the 10" in proc.stderr and "--allow-mass-removal" in proc.stderr
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", "utf-8")
    proc = run("index", "update", "--index", str(out), "--input", str(empty), "--sync", "--quiet", check=False)
    assert proc.returncode == 1 and "nothing was changed" in proc.stderr
    assert "documents:  10" in run("index", "info", str(out)).stdout
    done = run("index", "build", "--input", str(other), "--out", str(out), "--quiet", "--allow-mass-removal")
    assert "deleted 10 documents" in done.stdout
