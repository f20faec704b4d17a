"""Continued pre-training (CPT): LoRA on a causal LM over a packed medical corpus, then merge.

``run_cpt(recipe)`` reads the corpus, packs it to the context length, wraps the base
model with the recipe's LoRA, trains with the Hugging Face ``Trainer`` (checkpoints in
``out_dir/checkpoints``; a run started again continues from the last one), writes the
adapter as safetensors to ``out_dir/adapter`` and, if the recipe says so, the merged
model to ``out_dir/merged`` (what instruction tuning starts from). Runs the same under
``accelerate launch`` on several GPUs.
"""

from __future__ import annotations

import time
from pathlib import Path

from .corpus import cpt_texts, pack
from .models import last_checkpoint, load_base_model, load_tokenizer, training_arguments, with_lora
from .recipes import CptRecipe
from .runs import RunReport, finish


def run_cpt(recipe: CptRecipe, resume: bool = True, callbacks: list | tuple = ()) -> RunReport:
    from transformers import Trainer, default_data_collator

    t0 = time.perf_counter()
    tokenizer = load_tokenizer(recipe.model)
    texts = cpt_texts(recipe.corpus, recipe.corpus_split, recipe.corpus_preset, recipe.corpus_fraction)
    blocks = pack(texts, tokenizer, recipe.context_length)
    train_set, eval_set = blocks, None
    if recipe.eval_fraction > 0:
        parts = blocks.train_test_split(test_size=recipe.eval_fraction, seed=recipe.train.seed)
        train_set, eval_set = parts["train"], parts["test"]
    model = with_lora(load_base_model(recipe.model, recipe.train.gradient_checkpointing), recipe.lora,
                      recipe.train.gradient_checkpointing)
    checkpoints = Path(recipe.out_dir) / "checkpoints"
    extra = {"eval_strategy": "epoch"} if eval_set is not None else {}
    args = training_arguments(recipe.train, checkpoints, **extra)
    trainer = Trainer(model=model, args=args, train_dataset=train_set, eval_dataset=eval_set,
                      data_collator=default_data_collator, processing_class=tokenizer,
                      callbacks=list(callbacks))
    resumed = last_checkpoint(checkpoints) if resume else None
    trainer.train(resume_from_checkpoint=resumed)
    return finish(trainer, recipe, recipe.model, len(train_set), resumed, t0)
