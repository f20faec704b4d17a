"""What the trainers read: corpus texts packed into blocks (CPT), MF3QA pairs and chat examples (SFT, retriever).

* ``cpt_texts`` — documents of any ``index_build`` input (a consultation becomes its
  question and answer as plain text), the first ``corpus_fraction`` of them.
* ``pack`` — texts tokenized (BOS … EOS per document), concatenated and cut into
  blocks of ``context_length`` tokens, as a ``datasets.Dataset`` with labels.
* ``qa_pairs`` — (question, answer) of an MF3QA folder split (train excludes dev rows),
  the hub dataset, or any input with question/answer columns.
* ``sft_examples`` — conversational prompt/completion rows for TRL: the bare question
  (the paper's recipe) or ``GaokerenaAssistant``'s prompt with retrieved, numbered
  passages, the answer's supported sentences marked with the passage they come from
  (``targets="cited"``: only those sentences, or ``NOT_COVERED`` when there are none — the
  target a verified generator can be held to).
"""

from __future__ import annotations

import math
import random
from dataclasses import replace
from pathlib import Path
from typing import Sequence

from gaokerena_rag.chunking import split_sentences
from gaokerena_rag.citations import CONTENT_WORDS, SupportThresholds, cite, lexical_support
from gaokerena_rag.documents import ScoredPassage, consultation_text, split_consultation
from gaokerena_rag.normalize import PersianTokenizer
from gaokerena_rag.prompts import NOT_COVERED, chat_messages
from index_build import iter_documents, mf3qa_pairs
from index_build.errors import CorpusError
from index_build.presets import MF3QA_LOCAL, mf3qa_source


def cpt_texts(inputs: Sequence[str], split: str | None = None, preset: str | None = None,
              fraction: float = 1.0) -> list[str]:
    if not 0 < fraction <= 1:
        raise ValueError(f"corpus_fraction must be in (0, 1], got {fraction}")
    texts = []
    for doc in iter_documents(inputs, preset=preset, split=split):
        parts = split_consultation(doc.text)
        texts.append("\n\n".join(p.strip() for p in parts) if parts else doc.text)
    if not texts:
        raise CorpusError(", ".join(map(str, inputs)), None, None, "the corpus holds no documents")
    return texts[: math.ceil(len(texts) * fraction)]


def pack(texts: Sequence[str], tokenizer, context_length: int):
    """Blocks of exactly ``context_length`` tokens (the remainder dropped), labels = input ids."""
    from datasets import Dataset

    eos = tokenizer.eos_token_id

    def tokenize(batch):
        ids = tokenizer(batch["text"], add_special_tokens=True)["input_ids"]
        return {"ids": [x + [eos] if x[-1:] != [eos] else x for x in ids]}

    def group(batch):
        flat = [t for ids in batch["ids"] for t in ids]
        n = len(flat) // context_length * context_length
        blocks = [flat[i: i + context_length] for i in range(0, n, context_length)]
        return {"input_ids": blocks, "attention_mask": [[1] * context_length for _ in blocks],
                "labels": [list(b) for b in blocks]}

    ds = Dataset.from_dict({"text": list(texts)}).map(tokenize, batched=True, remove_columns=["text"])
    ds = ds.map(group, batched=True, batch_size=1000, remove_columns=["ids"])
    if len(ds) == 0:
        raise ValueError(f"the corpus is shorter than one block of {context_length} tokens")
    return ds


def qa_pairs(data: str, split: str = "train", max_pairs: int | None = None) -> list[tuple[str, str]]:
    """(question, answer) pairs: an MF3QA folder (or the hub MF3QA), or any question/answer input."""
    path = Path(data)
    if str(data).startswith("hf:") or path.is_dir() or str(data) == MF3QA_LOCAL:
        source, preset = mf3qa_source(data)
        if preset == "mf3qa":
            pairs = [(q, a) for q, a, _s in mf3qa_pairs(source, split)]
        else:
            pairs = _pairs_of(iter_documents([source], preset=preset, split=split), source)
    elif split != "train":
        raise CorpusError(str(data), None, "split", f"a plain file has no {split!r} split: name the {split} pairs' own file")
    else:
        pairs = _pairs_of(iter_documents([data]), data)
    return pairs[:max_pairs] if max_pairs else pairs


def _pairs_of(docs, where: str) -> list[tuple[str, str]]:
    pairs = []
    for doc in docs:
        parts = split_consultation(doc.text)
        if parts is None:
            raise CorpusError(str(where), None, "question/answer",
                              "training pairs need question and answer columns (or --question-field/--answer-field)")
        pairs.append((parts[0].strip(), parts[1].strip()))
    return pairs


def plain_example(question: str, answer: str) -> dict:
    return {"prompt": [{"role": "user", "content": question}],
            "completion": [{"role": "assistant", "content": answer}]}


TARGETS = ("doctor", "cited")


def cited_answer(answer: str, passages: Sequence[str], thresholds: SupportThresholds = SupportThresholds(),
                 tokenizer: PersianTokenizer = CONTENT_WORDS, targets: str = "doctor") -> str:
    """The answer with ``[n]`` after each sentence that passage n says (all its content words there).
    ``targets="cited"`` keeps only those sentences, and says ``NOT_COVERED`` when none is left."""
    if targets not in TARGETS:
        raise ValueError(f"targets must be one of {TARGETS}, got {targets!r}")
    out = []
    for sentence in split_sentences(answer):
        text = sentence.strip()
        if not text:
            continue
        numbers = [n for n, p in enumerate(passages, start=1)
                   if lexical_support(text, p, tokenizer) >= thresholds.lexical]
        if numbers and tokenizer(text):
            out.append(cite(text, numbers[:2]))
        elif targets == "doctor":
            out.append(text)
    return " ".join(out) if out or targets == "doctor" else NOT_COVERED


def rag_examples(pairs: Sequence[tuple[str, str]], retriever, k: int, own_answer_rate: float,
                 seed: int = 0, batch: int = 64, targets: str = "doctor") -> list[dict]:
    """Prompt/completion rows with ``k`` retrieved passages; a pair's own consultation is put among
    them (at a random number) for ``own_answer_rate`` of the pairs and kept out for the others.
    The target is ``cited_answer`` of the doctor's answer (``targets`` as there)."""
    rng = random.Random(seed)
    rows = []
    for start in range(0, len(pairs), batch):
        chunk = pairs[start: start + batch]
        results = retriever.retrieve_many([q for q, _a in chunk], k + 1)
        for (question, answer), found in zip(chunk, results):
            others = [r for r in found if (split_consultation(r.text) or ("",))[0].strip() != question.strip()][:k]
            sources = list(others)
            if rng.random() < own_answer_rate:
                own = ScoredPassage(n=0, pid=-1, doc_id="own", passage_id="own#0", title=question[:60],
                                    text=consultation_text(question, answer), score=1.0)
                sources = sources[: k - 1]
                sources.insert(rng.randrange(len(sources) + 1), own)
            sources = [replace(s, n=i) for i, s in enumerate(sources, start=1)]
            target = cited_answer(answer, [s.text for s in sources], targets=targets)
            rows.append({"prompt": chat_messages(question, sources),
                         "completion": [{"role": "assistant", "content": target}]})
    return rows
