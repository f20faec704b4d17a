"""Persian MMLU (the six medical subjects) scored by log-likelihood, as lm-evaluation-harness scores MMLU.

Each question is shown with its four numbered options and ``پاسخ:``; the model's
log-likelihood of each continuation `` 1`` … `` 4`` is computed and the highest wins
(no generation, no parsing). With a retriever, the top passages for the question are
placed before it, numbered. Accuracy is reported per subject and averaged over all
questions (the paper's average is that micro average), beside the paper's figures.

Data: one file per subject (``anatomy.xlsx`` …, any input ``index_build`` reads), columns
``question``, ``option1``..``option4``, ``answer`` (1–4); a bad row is an error naming the
file, row and field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from index_build.errors import CorpusError
from index_build.loaders import read_records

SUBJECTS = ("anatomy", "clinical_knowledge", "college_biology", "college_medicine", "medical_genetics",
            "professional_medicine")
# Accuracy (%) reported by the Gaokerena-V paper (arXiv 2505.16000); aya-expanse-8b: average only
PAPER = {"Gaokerena-V": {"anatomy": 48.14, "clinical_knowledge": 55.47, "college_biology": 47.22,
                         "college_medicine": 43.93, "medical_genetics": 53.0, "professional_medicine": 47.05,
                         "average": 49.31},
         "aya-expanse-8b": {"average": 46.64}}
INSTRUCTION = "سؤال چهارگزینه‌ای پزشکی زیر را با شمارهٔ گزینهٔ درست پاسخ دهید."
CONTINUATIONS = (" 1", " 2", " 3", " 4")


@dataclass
class Question:
    subject: str
    file: str
    row: int
    question: str
    options: list[str]
    answer: int  # 0..3


@dataclass
class MmluResult:
    per_subject: dict[str, tuple[int, int]] = field(default_factory=dict)  # subject → (correct, total)
    predictions: list[int] = field(default_factory=list)  # 0..3, in question order

    def accuracy(self, subject: str | None = None) -> float:
        if subject:
            correct, total = self.per_subject[subject]
        else:
            correct = sum(c for c, _t in self.per_subject.values())
            total = sum(t for _c, t in self.per_subject.values())
        return 100.0 * correct / max(total, 1)

    def table(self, label: str = "this run") -> str:
        names = list(self.per_subject)
        rows = ["| subject | questions | " + label + " | Gaokerena-V (paper) | aya-expanse-8b (paper) |",
                "|---|---|---|---|---|"]
        for s in names:
            paper = PAPER["Gaokerena-V"].get(s)
            rows.append(f"| {s} | {self.per_subject[s][1]} | {self.accuracy(s):.2f} | "
                        f"{paper if paper is not None else '–'} | – |")
        total = sum(t for _c, t in self.per_subject.values())
        rows.append(f"| **average (over questions)** | {total} | {self.accuracy():.2f} | "
                    f"{PAPER['Gaokerena-V']['average']} | {PAPER['aya-expanse-8b']['average']} |")
        return "\n".join(rows)


def load_mmlu_fa(folder: str | Path, subjects: Sequence[str] | None = None) -> list[Question]:
    folder = Path(folder)
    if not folder.is_dir():
        raise CorpusError(str(folder), None, None, "no such folder (expected one file per subject, e.g. anatomy.xlsx)")
    out = []
    for subject in subjects or SUBJECTS:
        files = sorted(p for p in folder.glob(subject + ".*") if p.suffix in (".xlsx", ".csv", ".jsonl", ".parquet"))
        if not files:
            if subjects:
                raise CorpusError(str(folder / subject), None, None, "no file for this subject")
            continue
        for row, record in read_records(files[0]):
            out.append(_question(subject, str(files[0]), row, record))
    if not out:
        raise CorpusError(str(folder), None, None, f"no subject files found (expected {', '.join(SUBJECTS)})")
    return out


def _question(subject: str, file: str, row: int, record: dict) -> Question:
    def text(name: str) -> str:
        value = record.get(name)
        if value is None or (isinstance(value, float) and value != value) or not str(value).strip():
            raise CorpusError(file, row, name, "empty")
        return str(value).strip()

    raw = record.get("answer")
    try:
        answer = int(float(str(raw).strip()))
    except ValueError:
        answer = 0
    if answer not in (1, 2, 3, 4):
        raise CorpusError(file, row, "answer", f"expected 1, 2, 3 or 4, got {raw!r}")
    return Question(subject, file, row, text("question"), [text(f"option{i}") for i in range(1, 5)], answer - 1)


def prompt(q: Question, passages: Sequence[str] = ()) -> str:
    context = "".join(f"[{i}] {p}\n" for i, p in enumerate(passages, 1))
    if context:
        context = "منابع:\n" + context + "\n"
    options = "".join(f"{i}. {o}\n" for i, o in enumerate(q.options, 1))
    return f"{INSTRUCTION}\n\n{context}سؤال: {q.question}\n{options}پاسخ:"


def loglikelihoods(model, tokenizer, pairs: Sequence[tuple[str, str]], batch_size: int = 8,
                   max_length: int | None = None, add_special_tokens: bool = True) -> list[float]:
    """Sum of log-probabilities of each continuation's tokens after its context (a chat-formatted
    context already holds its special tokens: pass ``add_special_tokens=False``)."""
    import torch

    device = next(model.parameters()).device
    max_length = max_length or getattr(model.config, "max_position_embeddings", 2048)
    encoded = []
    for context, continuation in pairs:
        ctx = tokenizer(context, add_special_tokens=add_special_tokens)["input_ids"]
        cont = tokenizer(continuation, add_special_tokens=False)["input_ids"]
        ids = (ctx + cont)[-max_length:]  # keep the end: the question and its continuation
        encoded.append((ids, len(cont)))
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    out: list[float] = []
    for start in range(0, len(encoded), batch_size):
        chunk = encoded[start:start + batch_size]
        width = max(len(ids) for ids, _n in chunk)
        input_ids = torch.full((len(chunk), width), pad, dtype=torch.long)
        mask = torch.zeros((len(chunk), width), dtype=torch.long)
        for i, (ids, _n) in enumerate(chunk):
            input_ids[i, : len(ids)] = torch.tensor(ids)
            mask[i, : len(ids)] = 1
        with torch.no_grad():
            logits = model(input_ids=input_ids.to(device), attention_mask=mask.to(device)).logits
            for i, (ids, n) in enumerate(chunk):  # only the continuation's rows go to float (vocabularies are big)
                rows = torch.log_softmax(logits[i, len(ids) - n - 1: len(ids) - 1].float(), dim=-1)
                targets = torch.tensor(ids[len(ids) - n:], device=rows.device)
                out.append(float(rows.gather(1, targets[:, None]).sum()))
    return out


def evaluate(model, tokenizer, questions: Sequence[Question], retrieve: Callable[[str], list[str]] | None = None,
             batch_size: int = 8, chat: bool = False, progress: bool = True) -> MmluResult:
    from tqdm.auto import tqdm

    result = MmluResult()
    bar = tqdm(total=len(questions), desc="MMLU-fa", disable=not progress)
    for start in range(0, len(questions), batch_size):
        group = questions[start:start + batch_size]
        pairs = []
        for q in group:
            text = prompt(q, retrieve(q.question) if retrieve else ())
            if chat:
                text = tokenizer.apply_chat_template([{"role": "user", "content": text}], tokenize=False,
                                                     add_generation_prompt=True)
            pairs += [(text, c) for c in CONTINUATIONS]
        scores = loglikelihoods(model, tokenizer, pairs, len(pairs), add_special_tokens=not chat)
        for i, q in enumerate(group):
            four = scores[4 * i: 4 * i + 4]
            best = max(range(4), key=four.__getitem__)
            result.predictions.append(best)
            correct, total = result.per_subject.get(q.subject, (0, 0))
            result.per_subject[q.subject] = (correct + (best == q.answer), total + 1)
        bar.update(len(group))
    bar.close()
    return result
