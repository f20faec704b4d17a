"""Retriever training on the tiny twin: BM25 hard negatives never the pair's own answer, a few
MultipleNegativesRankingLoss steps that lower the held-out loss and raise dev retrieval, resume
after an interruption, and the trained folder building a real index with ``--embedder PATH``."""

import json
import subprocess
import sys

import pytest

from conftest import CORPUS, write_jsonl
from training.recipes import load_recipe

TRAIN_ASKS = ["{} چیست؟", "درمان {} چیست؟", "درباره {} توضیح دهید", "برای {} چه کنم؟"]
DEV_ASKS = ["دکتر جان {} دارم، چه کار کنم؟", "راه درمان {} را می‌خواهم"]


@pytest.fixture(scope="module")
def tiny_setup(tmp_path_factory):
    from tiny_lm import build_tiny_encoder

    folder = tmp_path_factory.mktemp("retriever")
    texts = [f"{t} {x}" for _d, t, x in CORPUS] + [a.format(t) for _d, t, _x in CORPUS for a in TRAIN_ASKS]
    encoder = build_tiny_encoder(folder / "tiny-encoder", texts)
    train = write_jsonl(folder / "pairs.jsonl", [{"question": ask.format(title), "answer": text}
                                                 for _d, title, text in CORPUS for ask in TRAIN_ASKS])
    dev = write_jsonl(folder / "dev.jsonl", [{"question": ask.format(title), "answer": text}
                                             for _d, title, text in CORPUS for ask in DEV_ASKS])
    return folder, encoder, train, dev


def recipe_for(tiny_setup, out, *more):
    _folder, encoder, train, dev = tiny_setup
    return load_recipe("tiny-retriever", [f"base={encoder}", f"data={train}", f"dev_data={dev}", f"out_dir={out}",
                                          *more])


def heldout_loss(model_path, dev) -> float:
    """MultipleNegativesRankingLoss of the dev pairs (one batch, e5 prompts) under a model."""
    import torch
    from sentence_transformers import SentenceTransformer

    rows = [json.loads(line) for line in open(dev, encoding="utf-8")]
    model = SentenceTransformer(str(model_path), device="cpu")
    with torch.no_grad():
        q = model.encode(["query: " + r["question"] for r in rows], convert_to_tensor=True)
        p = model.encode(["passage: " + r["answer"] for r in rows], convert_to_tensor=True)
    scores = 20.0 * q @ p.T  # the loss's default scale
    answers = [r["answer"] for r in rows]
    # other rows with the very same answer are not negatives
    same = torch.tensor([[a == b and i != j for j, b in enumerate(answers)] for i, a in enumerate(answers)])
    scores = scores.masked_fill(same, float("-inf"))
    return float(torch.nn.functional.cross_entropy(scores, torch.arange(len(rows))))


def test_bm25_hard_negatives_are_other_answers_sharing_terms():
    from gaokerena_rag.normalize import PersianTokenizer
    from training.retriever import mine_negatives

    answers = ["قند خون بالا در دیابت با متفورمین کنترل می‌شود", "فشار خون بالا با کاهش نمک کنترل می‌شود",
               "قند خون پایین با خوردن شیرینی درمان می‌شود", "سردرد میگرنی با استراحت بهتر می‌شود",
               "خونریزی بینی با فشار دادن بینی بند می‌آید", "کم‌خونی با قرص آهن درمان می‌شود"]
    questions = ["قند خون بالا دارم", "فشار خون بالا دارم", "قند خونم پایین افتاده", "سردرد دارم",
                 "بینی‌ام خون می‌آید", "کم‌خونی دارم", "قند خون بالا دارم"]
    answers.append(answers[0])  # a second pair with the very same answer text
    negatives = mine_negatives(questions, answers, n=2, depth=5, seed=0)
    tok = PersianTokenizer()
    checked = 0
    for i, negs in enumerate(negatives):
        assert len(negs) == 2 and answers[i] not in negs  # never the own answer, nor its twin text
        sharing = {a for a in answers if a != answers[i] and set(tok(questions[i])) & set(tok(a))}
        if len(sharing) >= 2:  # enough BM25 hits: negatives come from them (else random answers fill in)
            assert set(negs) <= sharing
            checked += 1
    assert checked >= 2


def test_retriever_training_lowers_loss_and_improves_dev(tiny_setup, tmp_path):
    from gaokerena_rag.embedders import load_embedder
    from training.retriever import dev_evaluator, run_retriever

    folder, encoder, _train, dev = tiny_setup
    recipe = recipe_for(tiny_setup, tmp_path / "run")
    before = dev_evaluator(recipe, "query: ", "passage: ")(__import__("sentence_transformers").SentenceTransformer(
        str(encoder), device="cpu"))
    report = run_retriever(recipe)
    assert report.steps == 30 and report.pairs == len(CORPUS) * len(TRAIN_ASKS)
    assert heldout_loss(report.model, dev) < heldout_loss(encoder, dev) - 0.1
    mrr_before = next(v for k, v in before.items() if k.endswith("_mrr@10"))
    assert report.dev["mrr@10"] > mrr_before
    saved = load_embedder(str(report.model))
    assert (saved.query_prefix, saved.passage_prefix) == ("query: ", "passage: ")
    assert saved.model.max_seq_length == 128  # the base's: max_seq_length 32 capped training only
    assert json.loads((report.model / "recipe.json").read_text())["name"] == "tiny-retriever"


def test_retriever_resumes_after_an_interruption(tiny_setup, tmp_path):
    from transformers import TrainerCallback

    from training.retriever import run_retriever

    class Stop(TrainerCallback):
        def on_step_end(self, args, state, control, **kw):
            if state.global_step == 12:
                raise KeyboardInterrupt

    recipe = recipe_for(tiny_setup, tmp_path / "run", "eval_dev=false")
    with pytest.raises(KeyboardInterrupt):
        run_retriever(recipe, callbacks=[Stop()])
    assert not (tmp_path / "run" / "model").exists()  # nothing half-written
    report = run_retriever(recipe)
    assert report.resumed_from.endswith("checkpoint-10") and report.steps == 30 and report.dev is None


def test_trained_retriever_builds_and_serves_an_index(tiny_setup, tmp_path):
    from gaokerena_rag.retrieval import HybridRetriever
    from training.retriever import run_retriever

    folder, _encoder, _train, _dev = tiny_setup
    report = run_retriever(recipe_for(tiny_setup, tmp_path / "run", "eval_dev=false"))
    corpus = write_jsonl(tmp_path / "kb.jsonl", [{"id": d, "title": t, "text": x} for d, t, x in CORPUS])
    cli = [sys.executable, "-m", "gaokerena_rag.cli"]
    done = subprocess.run([*cli, "index", "build", "--input", str(corpus), "--out", str(tmp_path / "index"),
                           "--embedder", str(report.model), "--quiet"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "index" / "dense" / "faiss.index").exists() or list((tmp_path / "index").rglob("*.faiss*"))
    retriever = HybridRetriever.from_index(tmp_path / "index")
    assert retriever.manifest["embedder"]["spec"] == str(report.model)
    hits = retriever.retrieve(f"درمان {CORPUS[1][1]} چیست؟", 3)
    assert hits and hits[0].doc_id == CORPUS[1][0]
