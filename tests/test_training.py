"""Training recipes: every preset loads and validates; the tiny twins run CPT → merge → SFT (plain and
with retrieved passages) → the transformers generator → a cited answer; a run resumes after an
interruption; a real preset fails clearly when its base model cannot be downloaded."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import CORPUS, DIABETES_Q, write_jsonl
from gaokerena_rag.typed_config import ConfigError
from training.recipes import CptRecipe, EngineRetrieverRecipe, RetrieverRecipe, SftRecipe, load_recipe, preset_names

ROOT = Path(__file__).resolve().parents[1]
TWINS = {"gaokerena-v-cpt": "tiny-cpt", "gaokerena-v-sft": "tiny-sft", "gaokerena-rag-sft": "tiny-rag-sft",
         "gaokerena-270m-cpt": "tiny-270m-cpt", "gaokerena-270m-rag-sft": "tiny-270m-rag-sft",
         "retriever-mf3qa-cpu": "tiny-engine-retriever",
         "retriever-mf3qa": "tiny-retriever"}


def test_every_preset_loads_and_has_a_tiny_twin():
    names = preset_names()
    assert set(TWINS) | set(TWINS.values()) == set(names)
    for name in names:
        recipe = load_recipe(name)
        assert recipe.name == name and isinstance(recipe, (CptRecipe, SftRecipe, RetrieverRecipe, EngineRetrieverRecipe))
    for real, tiny in TWINS.items():
        assert load_recipe(real).kind == load_recipe(tiny).kind


def test_paper_hyperparameters_are_the_presets():
    cpt = load_recipe("gaokerena-v-cpt")
    assert cpt.model.base == "CohereForAI/aya-expanse-8b" and not cpt.model.trust_remote_code
    assert (cpt.lora.r, cpt.lora.alpha, cpt.lora.dropout) == (8, 16, 0.05)
    assert cpt.lora.target_modules == ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    t = cpt.train
    assert (t.batch_size, t.grad_accum, t.lr, t.scheduler, t.warmup_ratio, t.weight_decay, t.max_grad_norm) == \
        (2, 16, 5e-4, "cosine", 0.03, 0.1, 0.3)
    assert t.precision == "bf16" and t.gradient_checkpointing and t.epochs == 1
    assert cpt.context_length == 1024 and cpt.corpus_split == "train[:60%]"
    sft = load_recipe("gaokerena-v-sft")
    assert (sft.lora.r, sft.lora.alpha, sft.lora.dropout) == (2, 2, 0.4)
    assert (sft.train.weight_decay, sft.train.lr, sft.train.epochs) == (0.5, 5e-4, 1) and not sft.rag
    assert sft.model.base == "runs/gaokerena-v-cpt/merged" and sft.split == "train"
    assert load_recipe("gaokerena-rag-sft").rag
    # on the packaged Gemma 3 270M: the same LoRA and optimizer values, fp32 for a CPU
    small_cpt, small_sft = load_recipe("gaokerena-270m-cpt"), load_recipe("gaokerena-270m-rag-sft")
    assert small_cpt.model.base == small_sft.model.base == "gemma-3-270m"
    assert (small_cpt.lora.r, small_cpt.lora.alpha, small_cpt.lora.dropout) == (8, 16, 0.05)
    assert (small_cpt.train.lr, small_cpt.train.weight_decay, small_cpt.train.max_grad_norm) == (5e-4, 0.1, 0.3)
    assert small_cpt.context_length == 1024 and small_cpt.corpus_preset == "mf3qa" and small_cpt.corpus_split == "train"
    assert (small_sft.lora.r, small_sft.lora.alpha, small_sft.lora.dropout, small_sft.train.weight_decay) == \
        (2, 2, 0.4, 0.5)
    assert small_sft.model.adapters == ["runs/gaokerena-270m-cpt/adapter"] and small_sft.rag
    assert small_sft.prompt_format == "plain" and small_sft.split == "train" and small_sft.targets == "cited"
    assert load_recipe("gaokerena-rag-sft").targets == "doctor"  # the 8B keeps the doctor's whole answer


def test_cited_targets_keep_only_the_sentences_a_passage_says():
    from gaokerena_rag.prompts import NOT_COVERED
    from training.corpus import cited_answer

    answer = "متفورمین قند خون را پایین می‌آورد. هر شب پیاده‌روی کنید. دوز را خودسرانه تغییر ندهید."
    passages = ["درباره‌ی دیابت: متفورمین قند خون را پایین می‌آورد و با غذا خورده می‌شود.",
                "برای زانو درد: دوز را خودسرانه تغییر ندهید و به پزشک بگویید."]
    doctor = cited_answer(answer, passages)
    assert doctor == "متفورمین قند خون را پایین می‌آورد [1]. هر شب پیاده‌روی کنید. دوز را خودسرانه تغییر ندهید [2]."
    assert cited_answer(answer, passages, targets="cited") == \
        "متفورمین قند خون را پایین می‌آورد [1]. دوز را خودسرانه تغییر ندهید [2]."
    assert cited_answer(answer, ["سردرد میگرنی با نور بدتر می‌شود."], targets="cited") == NOT_COVERED
    with pytest.raises(ValueError, match="targets must be one of"):
        cited_answer(answer, passages, targets="all")


def test_bad_recipes_name_the_file_and_the_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text((ROOT / "training/recipes/tiny-cpt.yaml").read_text("utf-8").replace("  lr:", "  learning_rate:"))
    with pytest.raises(ConfigError, match=r"bad\.yaml\.train: unknown setting\(s\) \['learning_rate'\]"):
        load_recipe(bad)
    with pytest.raises(ConfigError, match=r"tiny-cpt\.yaml\.train\.batch_size: expected an integer, got 'two'"):
        load_recipe("tiny-cpt", ["train.batch_size=two"])
    with pytest.raises(ConfigError, match=r"lora\.dropout: expected a number"):
        load_recipe("tiny-cpt", ["lora.dropout=[1]"])
    with pytest.raises(ConfigError, match="not sft"):
        load_recipe("tiny-cpt", expect="sft")
    with pytest.raises(ConfigError, match="no preset named 'nope'"):
        load_recipe("nope")
    assert load_recipe("tiny-cpt", ["train.lr=1e-4"]).train.lr == 1e-4  # YAML reads 1e-4 as text; still a number


@pytest.fixture(scope="module")
def corpus_and_pairs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("train-data")
    corpus = write_jsonl(folder / "corpus.jsonl", [{"id": f"c{i}", "text": text}
                                                   for i, (_d, _t, text) in enumerate(CORPUS * 3)])
    pairs = write_jsonl(folder / "pairs.jsonl", [{"question": f"{title} چیست و چه درمانی دارد؟", "answer": text}
                                                 for _d, title, text in CORPUS])
    return corpus, pairs


@pytest.fixture(scope="module")
def cpt_run(tiny_lm, corpus_and_pairs, tmp_path_factory):
    from training.cpt import run_cpt

    corpus, _pairs = corpus_and_pairs
    out = tmp_path_factory.mktemp("cpt")
    recipe = load_recipe("tiny-cpt", [f"model.base={tiny_lm}", f"corpus=[{corpus}]", f"out_dir={out}"])
    return run_cpt(recipe)


def test_cpt_trains_a_lora_adapter_and_merges(cpt_run, tiny_lm):
    from safetensors.torch import load_file

    assert cpt_run.steps == 12 and cpt_run.last_loss < cpt_run.first_loss
    weights = load_file(cpt_run.adapter / "adapter_model.safetensors")
    assert weights and all("lora_" in k for k in weights)
    assert any(k.endswith("lora_B.weight") and v.abs().sum() > 0 for k, v in weights.items())  # it learned
    assert json.loads((cpt_run.adapter / "adapter_config.json").read_text())["r"] == 8
    assert json.loads((cpt_run.adapter / "recipe.json").read_text())["name"] == "tiny-cpt"
    assert (cpt_run.merged / "model.safetensors").exists() and not list(cpt_run.merged.glob("adapter_*"))


def test_cpt_resumes_after_an_interruption(tiny_lm, corpus_and_pairs, tmp_path):
    from transformers import TrainerCallback

    import training.cpt as cpt

    class Interrupt(TrainerCallback):
        def on_step_end(self, args, state, control, **kw):
            if state.global_step == 5:
                raise KeyboardInterrupt

    corpus, _pairs = corpus_and_pairs
    recipe = load_recipe("tiny-cpt", [f"model.base={tiny_lm}", f"corpus=[{corpus}]", f"out_dir={tmp_path}",
                                      "train.max_steps=8", "merge=false"])
    with pytest.raises(KeyboardInterrupt):
        cpt.run_cpt(recipe, callbacks=[Interrupt()])
    assert (tmp_path / "checkpoints" / "checkpoint-4").is_dir() and not (tmp_path / "adapter").exists()
    report = cpt.run_cpt(recipe)
    assert report.resumed_from.endswith("checkpoint-4") and report.steps == 8 and report.merged is None


@pytest.mark.parametrize("preset", ["tiny-sft", "tiny-rag-sft"])
def test_sft_on_the_merged_cpt_model_then_answers_with_citations(preset, cpt_run, corpus_and_pairs, built_index,
                                                                  assistant, tmp_path):
    from gaokerena_rag import GaokerenaAssistant
    from gaokerena_rag.citations import parse_citations
    from gaokerena_rag.generators.hf import TransformersGenerator
    from training.sft import run_sft, sft_rows

    _corpus, pairs = corpus_and_pairs
    recipe = load_recipe(preset, [f"model.base={cpt_run.merged}", f"data={pairs}", f"out_dir={tmp_path}",
                                  f"index={built_index}", "own_answer_rate=1.0"])
    rows = sft_rows(recipe)
    assert len(rows) == len(CORPUS) and rows[0]["completion"][0]["role"] == "assistant"
    if recipe.rag:  # the assistant's own prompt, and targets citing the passage that says them
        assert "<source n=" in rows[0]["prompt"][-1]["content"]
        assert all(parse_citations(r["completion"][0]["content"]) for r in rows)
    report = run_sft(recipe)
    assert report.steps == 10 and report.last_loss < report.first_loss
    assert json.loads((report.adapter / "adapter_config.json").read_text())["r"] == 2
    generator = TransformersGenerator(model=str(report.merged), device="cpu", max_new_tokens=40)
    answer = GaokerenaAssistant(assistant.retriever, generator).ask(DIABETES_Q)
    assert answer.model == str(report.merged) and answer.sources
    claims = [c for c in answer.citations if c.claim]
    assert claims and any(c.cited for c in claims)  # the tiny model still cites a source after CPT and SFT


def test_real_preset_fails_clearly_without_the_hub(tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1", "HF_HOME": str(tmp_path / "hf")}
    done = subprocess.run([sys.executable, "-m", "gaokerena_rag.cli", "train", "cpt", "--preset", "gaokerena-v-cpt",
                           f"out_dir={tmp_path / 'run'}"], capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=300)
    assert done.returncode == 1, done.stderr
    assert "cannot load the base model 'CohereForAI/aya-expanse-8b'" in done.stderr
    assert "model.base=PATH" in done.stderr and not (tmp_path / "run" / "adapter").exists()
    done = subprocess.run([sys.executable, "-m", "gaokerena_rag.cli", "train", "retriever", "--preset",
                           "retriever-mf3qa", "--base", "intfloat/multilingual-e5-small", f"out_dir={tmp_path / 'r'}"],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert done.returncode == 1, done.stderr
    assert "cannot load the base model 'intfloat/multilingual-e5-small'" in done.stderr and "base=PATH" in done.stderr
    assert not (tmp_path / "r" / "model").exists()


def test_the_270m_twins_train_cpt_then_rag_sft_on_it_and_one_adapter_answers(tiny_gemma, corpus_and_pairs,
                                                                             built_index, assistant, tmp_path):
    import torch

    from gaokerena_rag import GaokerenaAssistant
    from gaokerena_rag.causal_lm import load_causal_lm, merge_adapters
    from gaokerena_rag.generators.hf import TransformersGenerator
    from gaokerena_rag.prompts import ANSWER_CUE
    from training.cpt import run_cpt
    from training.sft import plain_row, run_sft, sft_rows

    corpus, pairs = corpus_and_pairs
    cpt = run_cpt(load_recipe("tiny-270m-cpt", [f"model.base={tiny_gemma}", f"corpus=[{corpus}]",
                                                f"out_dir={tmp_path / 'cpt'}"]))
    assert cpt.steps == 8 and cpt.merged is None and cpt.last_loss < cpt.first_loss
    # whole packed blocks of 64 tokens, at most steps × batch × accumulation of them: what the run reports it saw
    assert cpt.tokens % 64 == 0 and 8 * 64 <= cpt.tokens <= 8 * 2 * 2 * 64
    recipe = load_recipe("tiny-270m-rag-sft", [f"model.base={tiny_gemma}", f"model.adapters=[{cpt.adapter}]",
                                               f"data={pairs}", f"index={built_index}", f"out_dir={tmp_path / 'sft'}",
                                               "own_answer_rate=1.0"])
    row = plain_row(sft_rows(recipe)[0])  # what the model learns from: plain text, no chat template
    assert row["prompt"].endswith(f"{ANSWER_CUE}\n") and "<source n=" in row["prompt"] and "[" in row["completion"]
    sft = run_sft(recipe)
    assert sft.steps == 10 and sft.last_loss < sft.first_loss and 0 < sft.tokens < 10 * 2 * 4096
    assert json.loads((sft.adapter / "recipe.json").read_text())["prompt_format"] == "plain"  # auto → resolved
    run = json.loads((sft.adapter / "run.json").read_text())
    assert run["steps"] == 10 and run["tokens"] == sft.tokens and run["last_loss"] == sft.last_loss
    carried = sft.adapter / "base_adapters" / "00" / "adapter_model.safetensors"
    assert carried.read_bytes() == (cpt.adapter / "adapter_model.safetensors").read_bytes()
    assert not list(carried.parent.glob("tokenizer*"))  # the weights travel, not a second tokenizer

    # the SFT adapter alone is the whole stack: base + CPT merged + SFT, as when both are given (CPT once)
    alone, tok = load_causal_lm(str(tiny_gemma), [str(sft.adapter)], "float32")
    both, _ = load_causal_lm(str(tiny_gemma), [str(cpt.adapter), str(sft.adapter)], "float32")
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    reference = PeftModel.from_pretrained(merge_adapters(AutoModelForCausalLM.from_pretrained(tiny_gemma),
                                                         [str(cpt.adapter)]), str(sft.adapter))
    without_cpt = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_gemma), str(sft.adapter))
    ids = tok(DIABETES_Q, return_tensors="pt").input_ids
    with torch.no_grad():
        logits = [m.eval()(ids).logits for m in (alone, both, reference, without_cpt)]
    assert torch.allclose(logits[0], logits[1]) and torch.allclose(logits[0], logits[2], atol=1e-5)
    assert (logits[0] - logits[3]).abs().max().item() > 1e-4  # the carried CPT adapter is really applied

    generator = TransformersGenerator(model=str(tiny_gemma), adapters=[str(sft.adapter)], device="cpu",
                                      max_new_tokens=30)
    assert generator.prompt_format == "plain"
    answer = GaokerenaAssistant(assistant.retriever, generator).ask(DIABETES_Q)
    assert answer.sources and answer.verification["policy"] == "drop"
    assert answer.verification["claims"] == answer.verification["passed"] + answer.verification["failed"]
    assert all(c.supported for c in answer.citations if c.claim)  # whatever it wrote, only checked claims show
