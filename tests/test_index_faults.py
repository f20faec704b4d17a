"""A tampered or hostile index folder: a crafted manifest must delete nothing outside the index,
each damaged file is a clear error naming it (on load, and in `gaokerena index check`), a
read-only index still answers, and loading an index never reaches the network."""

import errno
import json
import shutil
import sqlite3
import subprocess
import sys

import faiss
import numpy as np
import pytest

from conftest import corpus_rows, write_jsonl
from console_run import run
from gaokerena_rag import HybridRetriever
from gaokerena_rag.index import MANIFEST, IndexCorruptError, IndexError_, open_index
from gaokerena_rag.index_check import check_index
from index_build import build_index


@pytest.fixture()
def index_copy(tmp_path, built_index):
    copy = tmp_path / "index"
    shutil.copytree(built_index, copy)
    return copy


def live(index):
    return index / json.loads((index / MANIFEST).read_text())["generation"]


def edit_manifest(index, change):
    m = json.loads((index / MANIFEST).read_text())
    change(m)
    (index / MANIFEST).write_text(json.dumps(m))


def canary(tmp_path):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("precious")
    return victim


@pytest.mark.parametrize("crafted", ["x-1-/../../victim", "gen-000001/../../victim", "../victim", "/tmp"])
def test_a_crafted_generation_deletes_nothing_outside_the_index(tmp_path, index_copy, corpus_file, embedder,
                                                                crafted):
    victim = canary(tmp_path)
    edit_manifest(index_copy, lambda m: m.update(generation=crafted))
    with pytest.raises(IndexCorruptError, match="generation"):
        open_index(index_copy)
    with pytest.raises(IndexCorruptError, match="generation"):  # an update reads the live index: refused
        build_index([str(corpus_file)], index_copy, embedder=embedder, progress=False)
    assert (victim / "keep.txt").read_text() == "precious"
    report = build_index([str(corpus_file)], index_copy, embedder=embedder, progress=False, fresh=True)
    assert report.manifest["counts"]["documents"] == 10  # a rebuild replaces the damaged manifest …
    assert (victim / "keep.txt").read_text() == "precious"  # … and deletes nothing it names
    assert HybridRetriever.from_index(index_copy, embedder=embedder).retrieve("قرص آهن", 1)[0].doc_id == "anemia"


def test_the_cli_refuses_a_crafted_manifest_and_the_canary_survives(tmp_path, index_copy, corpus_file):
    victim = canary(tmp_path)
    edit_manifest(index_copy, lambda m: m.update(generation="x-1-/../../victim"))
    proc = run("index", "update", "--index", str(index_copy), "--input", str(corpus_file), "--quiet", check=False)
    assert proc.returncode == 1 and "must read gen-NNNNNN" in proc.stderr and "Traceback" not in proc.stderr
    assert (victim / "keep.txt").exists()


def test_a_linked_or_foreign_generation_folder_is_never_removed(tmp_path, index_copy, corpus_file, embedder):
    victim = canary(tmp_path)
    (index_copy / "gen-000077").symlink_to(victim, target_is_directory=True)
    (index_copy / "gen-000078").mkdir()
    (index_copy / "gen-000078" / "notes.txt").write_text("not ours")
    (index_copy / ".gen-000079.tmp").mkdir()  # no mark: not written by a writer of ours
    build_index([str(corpus_file)], index_copy, embedder=embedder, progress=False)
    assert (victim / "keep.txt").exists() and (index_copy / "gen-000078" / "notes.txt").exists()
    assert (index_copy / ".gen-000079.tmp").is_dir()
    assert json.loads((index_copy / MANIFEST).read_text())["generation"] == "gen-000080"


def _truncate(file, keep=0.5):
    data = file.read_bytes()
    file.write_bytes(data[: int(len(data) * keep)])


def _other_dim(index):
    vectors = np.random.default_rng(0).normal(size=(3, 8)).astype(np.float32)
    other = faiss.IndexIDMap2(faiss.IndexFlatIP(8))
    other.add_with_ids(vectors, np.arange(3, dtype=np.int64))
    faiss.write_index(other, str(live(index) / "dense.faiss"))
    size = (live(index) / "dense.faiss").stat().st_size
    edit_manifest(index, lambda m: m["files"]["dense.faiss"].update(bytes=size))  # a consistent forgery


def _corrupt_sqlite(index):
    file = live(index) / "passages.sqlite"
    data = bytearray(file.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # the schema page
    file.write_bytes(bytes(data))


def _bad_tokenizer(index):
    (live(index) / "bm25-words" / "tokenizer.json").write_text('{"stopwords": true, "ngram": "x", "bogus": 1}')
    edit_manifest(index, lambda m: m.pop("files"))  # as an index from before checksums


DAMAGE = {
    "truncated manifest": (lambda i: _truncate(i / MANIFEST), MANIFEST),
    "empty manifest": (lambda i: (i / MANIFEST).write_text(""), MANIFEST),
    "manifest not an object": (lambda i: (i / MANIFEST).write_text("[1, 2]"), MANIFEST),
    "manifest missing a field": (lambda i: edit_manifest(i, lambda m: m.pop("counts")), "'counts'"),
    "missing dense.faiss": (lambda i: (live(i) / "dense.faiss").unlink(), "dense.faiss"),
    "truncated dense.faiss": (lambda i: _truncate(live(i) / "dense.faiss"), "dense.faiss"),
    "dense.faiss of another dimension": (_other_dim, "dimension 8"),
    "corrupt passages.sqlite": (_corrupt_sqlite, "passages.sqlite"),
    "bad BM25 tokenizer file": (_bad_tokenizer, "bm25-words"),
    "missing live generation": (lambda i: shutil.rmtree(live(i)), "generation folder is missing"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_index_is_a_clear_error_naming_the_file(index_copy, embedder, damage):
    harm, named = DAMAGE[damage]
    harm(index_copy)
    with pytest.raises(IndexError_) as err:
        HybridRetriever.from_index(index_copy, embedder=embedder)
    assert named in str(err.value)
    report = check_index(index_copy)
    assert not report.ok and named in "\n".join(report.problems)
    proc = run("retrieve", "--index", str(index_copy), "قرص آهن", check=False)
    assert proc.returncode == 1 and named in proc.stderr and "Traceback" not in proc.stderr


def test_index_check_verifies_checksums(index_copy):
    good = run("index", "check", str(index_copy))
    assert "ok: " in good.stdout and "match their SHA-256" in good.stdout and "integrity_check ok" in good.stdout
    file = live(index_copy) / "bm25-words" / "pids.npy"
    data = bytearray(file.read_bytes())
    data[-1] ^= 0xFF  # same size, other content: loading cannot see it, the check does
    file.write_bytes(bytes(data))
    bad = run("index", "check", str(index_copy), check=False)
    assert bad.returncode == 1 and "pids.npy: content differs" in bad.stdout


def _make_read_only(folder, monkeypatch):
    """A folder nothing can be created in, even by root (chattr +i), else a simulated EROFS."""
    done = subprocess.run(["chattr", "+i", str(folder)], capture_output=True)
    if done.returncode == 0:
        return lambda: subprocess.run(["chattr", "-i", str(folder)], check=True)
    import os

    if os.geteuid() != 0:
        folder.chmod(0o555)
        return lambda: folder.chmod(0o755)
    from pathlib import Path

    real = Path.mkdir

    def refuse(self, *a, **k):
        if folder in (self, *self.parents):
            raise OSError(errno.EROFS, "Read-only file system", str(self))
        return real(self, *a, **k)

    monkeypatch.setattr(Path, "mkdir", refuse)
    return lambda: None


def test_a_read_only_index_answers_and_an_update_says_it_cannot_write(index_copy, corpus_file, embedder,
                                                                      monkeypatch):
    undo = _make_read_only(index_copy, monkeypatch)
    try:
        retriever = HybridRetriever.from_index(index_copy, embedder=embedder)
        assert retriever.retrieve("قرص آهن برای کم خونی", 1)[0].doc_id == "anemia"
        with pytest.raises(IndexError_, match="cannot write the index here"):
            build_index([str(corpus_file)], index_copy, embedder=embedder, progress=False)
    finally:
        undo()
    assert check_index(index_copy).ok


NO_NETWORK = r"""
import json, socket, sys
attempts = []
def refuse(self, *a, **k):
    attempts.append(a)
    raise OSError("network blocked by the test")
socket.socket.connect = refuse
socket.socket.connect_ex = refuse
from gaokerena_rag import HybridRetriever
from gaokerena_rag.index import IndexError_
try:
    HybridRetriever.from_index(sys.argv[1])
    print(json.dumps({"loaded": True, "attempts": len(attempts)}))
except IndexError_ as exc:
    print(json.dumps({"error": str(exc), "kind": type(exc).__name__, "attempts": len(attempts)}))
"""


def test_loading_an_index_that_names_a_hub_embedder_never_reaches_the_network(index_copy):
    edit_manifest(index_copy, lambda m: m["embedder"].update(spec="someorg/persian-embedder-not-here"))
    env = {k: v for k, v in __import__("os").environ.items() if k not in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")}
    done = subprocess.run([sys.executable, "-c", NO_NETWORK, str(index_copy)], capture_output=True, text=True,
                          env=env, timeout=120)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["kind"] == "EmbedderUnavailableError" and result["attempts"] == 0
    assert "someorg/persian-embedder-not-here" in result["error"] and "--allow-download" in result["error"]


def test_ask_offline_without_the_mf3qa_folder_says_what_to_pass(tmp_path):
    for env in ({"HF_HUB_OFFLINE": "1"}, {"HF_HUB_OFFLINE": "0", "HF_DATASETS_OFFLINE": "0",
                                          "HF_ENDPOINT": "http://127.0.0.1:9"}):
        proc = run("ask", "سرم درد می‌کند", check=False, cwd=tmp_path,
                   env={"GAOKERENA_INDEX": str(tmp_path / "kb"), **env}, timeout=600)
        assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
        assert "--data PATH" in proc.stderr and "--index DIR" in proc.stderr and "gaokerena/MF3QA" in proc.stderr


def test_the_default_knowledge_base_rebuilds_over_a_damaged_manifest(tmp_path, mf3qa_folder):
    from index_build.default_kb import KnowledgeBase

    victim = canary(tmp_path)
    kb = KnowledgeBase(data=str(mf3qa_folder), path=tmp_path / "kb")
    assert kb.ensure(progress=False) is not None and kb.ensure(progress=False) is None
    edit_manifest(kb.index_path, lambda m: m.update(generation="gen-000001/../../victim"))
    report = kb.ensure(progress=False)
    assert report is not None and report.manifest["counts"]["documents"] == 7
    assert (victim / "keep.txt").exists() and check_index(kb.index_path).ok
