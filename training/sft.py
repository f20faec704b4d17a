"""Instruction tuning (SFT): LoRA on MF3QA with TRL, loss on the answer only.

``run_sft(recipe)`` reads the MF3QA train pairs (dev rows excluded), makes prompt/completion
rows — conversational in the model's chat template, or plain text (``prompts.plain_prompt``)
for a base model without one, as the recipe's ``prompt_format`` says — — the bare question (``gaokerena-v-sft``, the paper's recipe) or the
prompt ``GaokerenaAssistant`` writes, with retrieved numbered passages and a cited target
(``gaokerena-rag-sft``) — and trains with TRL's ``SFTTrainer``, whose prompt/completion
format masks the prompt out of the loss. Checkpoints, resume, the adapter and the merge
are as for CPT.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from gaokerena_rag.prompts import plain_prompt, prompt_format

from .corpus import plain_example, qa_pairs, rag_examples
from .models import TrainingError, last_checkpoint, load_base_model, load_tokenizer, training_arguments, with_lora
from .recipes import SftRecipe
from .runs import RunReport, finish


def sft_rows(recipe: SftRecipe) -> list[dict]:
    pairs = qa_pairs(recipe.data, recipe.split, recipe.max_pairs)
    if not recipe.rag:
        return [plain_example(q, a) for q, a in pairs]
    from gaokerena_rag.retrieval import HybridRetriever

    if recipe.index:
        index = Path(recipe.index)
    else:
        from index_build.default_kb import KnowledgeBase

        kb = KnowledgeBase(data=recipe.data)
        kb.ensure()
        index = kb.index_path
    retriever = HybridRetriever.from_index(index)
    return rag_examples(pairs, retriever, recipe.k, recipe.own_answer_rate, seed=recipe.train.seed,
                        targets=recipe.targets)


def plain_row(row: dict) -> dict:
    """A conversational prompt/completion row as plain text (TRL appends the EOS token to the completion)."""
    return {"prompt": plain_prompt(row["prompt"]), "completion": row["completion"][0]["content"]}


def run_sft(recipe: SftRecipe, resume: bool = True, callbacks: list | tuple = ()) -> RunReport:
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    t0 = time.perf_counter()
    tokenizer = load_tokenizer(recipe.model)
    try:
        fmt = prompt_format(recipe.prompt_format, tokenizer)
    except ValueError as exc:
        raise TrainingError(f"{recipe.model.base}: {exc}") from exc
    recipe = replace(recipe, prompt_format=fmt)  # recipe.json says which one the adapter learned
    rows = sft_rows(recipe)
    rows = Dataset.from_list(rows if fmt == "chat" else [plain_row(r) for r in rows])
    model = with_lora(load_base_model(recipe.model, recipe.train.gradient_checkpointing), recipe.lora,
                      recipe.train.gradient_checkpointing)
    checkpoints = Path(recipe.out_dir) / "checkpoints"
    args = training_arguments(recipe.train, checkpoints, cls=SFTConfig, max_length=recipe.max_length,
                              completion_only_loss=True, packing=False)
    trainer = SFTTrainer(model=model, args=args, train_dataset=rows, processing_class=tokenizer,
                         callbacks=list(callbacks))
    resumed = last_checkpoint(checkpoints) if resume else None
    trainer.train(resume_from_checkpoint=resumed)
    return finish(trainer, recipe, recipe.model, len(rows), resumed, t0)
