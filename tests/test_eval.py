"""The evaluation harness: Persian MMLU scored by option log-likelihood (a tiny model taught to
always answer 3 scores exactly the share of questions whose answer is 3), bad rows named, the
paper's table beside ours; ``gaokerena eval retrieval|answers`` on a small MF3QA folder."""

import json
import os
import subprocess
import sys

import pytest

from conftest import CORPUS, write_xlsx
from index_build.errors import CorpusError

HEADER = ["question", "option1", "option2", "option3", "option4", "answer", "Source"]
ANSWERS = {"anatomy": [3, 1, 3, 2, 4, 3], "medical_genetics": [2, 3, 1, 1]}  # 4 of 10 are 3 … plus one
CLI = [sys.executable, "-m", "gaokerena_rag.cli"]


def mmlu_folder(folder):
    folder.mkdir(parents=True, exist_ok=True)
    for subject, answers in ANSWERS.items():
        rows = [[f"{title} با کدام گزینه درمان می‌شود؟ ({subject} {i})", "متفورمین", "ایبوپروفن", "لوزارتان",
                 "استراحت", answer, "test"] for i, (answer, (_d, title, _x)) in enumerate(zip(answers, CORPUS))]
        write_xlsx(folder / f"{subject}.xlsx", HEADER, rows)
    return folder


@pytest.fixture(scope="module")
def always_three(tmp_path_factory):
    """A tiny Cohere model taught to continue any MMLU prompt with ' 3'."""
    from tiny_lm import build_tiny_cohere, teach_completion
    from training.mmlu import load_mmlu_fa, prompt

    folder = tmp_path_factory.mktemp("mmlu")
    data = mmlu_folder(folder / "data")
    model = build_tiny_cohere(folder / "tiny", [x for _d, _t, x in CORPUS] + [prompt(q) for q in load_mmlu_fa(data)])
    other = [prompt(q) for q in load_mmlu_fa(data)][:4]  # a few prompts suffice: the model learns "after پاسخ:"
    return teach_completion(model, other, " 3", steps=40), data


def test_a_model_that_always_answers_three_scores_the_share_of_threes(always_three):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from training.mmlu import evaluate, load_mmlu_fa

    model_path, data = always_three
    questions = load_mmlu_fa(data)
    assert [q.subject for q in questions] == ["anatomy"] * 6 + ["medical_genetics"] * 4
    result = evaluate(AutoModelForCausalLM.from_pretrained(model_path), AutoTokenizer.from_pretrained(model_path),
                      questions, batch_size=3, progress=False)
    assert result.predictions == [2] * 10
    assert result.per_subject == {"anatomy": (3, 6), "medical_genetics": (1, 4)}
    assert result.accuracy() == pytest.approx(40.0) and result.accuracy("anatomy") == pytest.approx(50.0)


def test_mmlu_cli_prints_the_paper_beside_ours_with_and_without_passages(always_three, built_index, tmp_path):
    model_path, data = always_three
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    out = tmp_path / "r.json"
    done = subprocess.run([*CLI, "eval", "mmlu-fa", "--model", str(model_path), "--data", str(data), "--json",
                           str(out)], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert "| anatomy | 6 | 50.00 | 48.14 |" in done.stdout
    assert "| 10 | 40.00 | 49.31 | 46.64 |" in done.stdout
    assert json.loads(out.read_text())["predictions"] == [2] * 10
    rag = subprocess.run([*CLI, "eval", "mmlu-fa", "--model", str(model_path), "--data", str(data), "--index",
                          str(built_index), "--k", "2", "--subjects", "anatomy"], capture_output=True, text=True, env=env)
    assert rag.returncode == 0, rag.stderr
    assert "RAG top 2" in rag.stdout and "| anatomy | 6 | 50.00 |" in rag.stdout


def test_rag_prompt_numbers_the_passages():
    from training.mmlu import Question, prompt

    q = Question("anatomy", "f", 2, "کدام؟", ["الف", "ب", "ج", "د"], 0)
    text = prompt(q, ["متن اول", "متن دوم"])
    assert "[1] متن اول\n[2] متن دوم\n" in text and text.index("[2]") < text.index("سؤال: کدام؟")
    assert text.endswith("1. الف\n2. ب\n3. ج\n4. د\nپاسخ:") and "[1]" not in prompt(q)


def test_bad_mmlu_rows_name_the_file_row_and_field(tmp_path):
    from training.mmlu import load_mmlu_fa

    write_xlsx(tmp_path / "anatomy.xlsx", HEADER, [["سؤال", "a", "b", "c", "d", 2, "x"], ["سؤال", "a", "b", "c", "d", 5, "x"]])
    with pytest.raises(CorpusError, match=r"anatomy.xlsx, row 3, field 'answer'.*1, 2, 3 or 4"):
        load_mmlu_fa(tmp_path)
    write_xlsx(tmp_path / "anatomy.xlsx", HEADER, [["سؤال", "a", None, "c", "d", 2, "x"]])
    with pytest.raises(CorpusError, match=r"row 2, field 'option2'"):
        load_mmlu_fa(tmp_path)
    with pytest.raises(CorpusError, match="no file for this subject"):
        load_mmlu_fa(tmp_path, ["virology"])


def test_eval_retrieval_and_answers_on_an_mf3qa_folder(mf3qa_folder, tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GAOKERENA_CACHE": str(tmp_path / "cache")}
    done = subprocess.run([*CLI, "eval", "retrieval", "--data", str(mf3qa_folder), "--work", str(tmp_path / "w"),
                           "--k", "1"], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    lines = {line.split(" | ")[0].strip("| "): line for line in done.stdout.splitlines() if line.startswith("| ")}
    assert "3 questions" in done.stdout and {"dense", "words", "char4"} <= set(lines)
    # each dev question names its topic twice; its own answer is the only one about it
    assert lines["words"].split(" | ")[1] == "1.000"
    assert (tmp_path / "w" / "index" / "manifest.json").exists()

    done = subprocess.run([*CLI, "eval", "answers", "--data", str(mf3qa_folder), "--limit", "3", "--quiet"],
                          capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    report = dict(line.split(None, 1) for line in done.stdout.splitlines()[1:])
    assert report["questions"] == "3" and report["citations_in_range"] == "1.000"
    assert float(report["abstained"]) + int(report["answered"]) / 3 == pytest.approx(1.0, abs=1e-3)


def test_batched_loglikelihoods_equal_one_at_a_time(always_three):
    """Right padding in a batch does not change any continuation's log-likelihood."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from training.mmlu import loglikelihoods

    model_path, _data = always_three
    model, tok = AutoModelForCausalLM.from_pretrained(model_path), AutoTokenizer.from_pretrained(model_path)
    pairs = [("سردرد میگرنی", " 1"), ("فشار خون بالاتر از ۱۴۰ روی ۹۰ نیاز به پیگیری دارد", " ورزش منظم"),
             ("قند", " 3")]
    batched = loglikelihoods(model, tok, pairs, batch_size=3)
    for (context, continuation), value in zip(pairs, batched):
        ctx = tok(context)["input_ids"]
        cont = tok(continuation, add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            logp = torch.log_softmax(model(input_ids=torch.tensor([ctx + cont])).logits[0].float(), -1)
        direct = sum(float(logp[len(ctx) - 1 + j, t]) for j, t in enumerate(cont))
        assert value == pytest.approx(direct, abs=1e-4)
