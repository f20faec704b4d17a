"""Tiny causal LMs with a byte-level BPE tokenizer trained on Persian text the tests write, saved as
Hugging Face folders: Cohere (the model class of aya-expanse-8b, with a chat template) and Gemma 3
(the class of the packaged gemma-3-270m base model, without one)."""

from __future__ import annotations

from pathlib import Path

CHAT_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<|end|>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
SPECIAL = ["<pad>", "<bos>", "<eos>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>"]


def _tokenizer(texts: list[str], chat_template: str | None):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=600, special_tokens=SPECIAL,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts * 3, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<bos>", eos_token="<eos>", pad_token="<pad>",
                                   additional_special_tokens=SPECIAL[3:])
    fast.chat_template = chat_template
    return fast


def _build(out: Path, texts: list[str], chat_template: str | None, config_cls, model_cls, seed: int, **shape) -> Path:
    """A randomly initialized tiny model of ``model_cls`` with the tokenizer trained on ``texts``, saved to ``out``."""
    import torch

    fast = _tokenizer(texts, chat_template)
    torch.manual_seed(seed)
    config = config_cls(vocab_size=len(fast), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                        max_position_embeddings=4096, pad_token_id=fast.pad_token_id, bos_token_id=fast.bos_token_id,
                        eos_token_id=fast.eos_token_id, **shape)
    out.mkdir(parents=True, exist_ok=True)
    model_cls(config).save_pretrained(out)
    fast.save_pretrained(out)
    return out


def build_tiny_cohere(out: Path, texts: list[str], seed: int = 0) -> Path:
    from transformers import CohereConfig, CohereForCausalLM

    return _build(out, texts, CHAT_TEMPLATE, CohereConfig, CohereForCausalLM, seed,
                  num_attention_heads=2, num_key_value_heads=2)


def build_tiny_gemma(out: Path, texts: list[str], seed: int = 0) -> Path:
    """A tiny Gemma 3 base model (no chat template: the plain prompt format), as gemma-3-270m is."""
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    return _build(out, texts, None, Gemma3TextConfig, Gemma3ForCausalLM, seed, num_attention_heads=2,
                  num_key_value_heads=1, head_dim=32, sliding_window=64,
                  layer_types=["sliding_attention", "full_attention"])


def teach(folder: Path, conversations: list[list[dict]], answer: str, steps: int = 150, lr: float = 1e-2) -> Path:
    """Train the tiny model until, after any of these chats, greedy decoding writes ``answer``."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder)
    prompts = [tok.apply_chat_template(m, add_generation_prompt=True, return_dict=True)["input_ids"]
               for m in conversations]
    return _fit(folder, prompts, tok(answer + tok.eos_token, add_special_tokens=False)["input_ids"], steps, lr)


def teach_completion(folder: Path, prompts: list[str], completion: str, steps: int = 60, lr: float = 1e-2) -> Path:
    """Train the tiny model to continue any of these plain prompts with ``completion``."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder)
    return _fit(folder, [tok(p)["input_ids"] for p in prompts], tok(completion, add_special_tokens=False)["input_ids"],
                steps, lr)


def _fit(folder: Path, prompts: list[list[int]], target: list[int], steps: int, lr: float) -> Path:
    """Loss on ``target`` only, after each prompt in turn; the model is saved back to ``folder``."""
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(folder)
    batches = []
    for prompt in prompts:
        ids = torch.tensor(prompt + target)
        labels = ids.clone()
        labels[: len(prompt)] = -100
        batches.append((ids[None], labels[None]))
    optim = torch.optim.AdamW(model.parameters(), lr=lr)
    model.train()
    for step in range(steps):
        ids, labels = batches[step % len(batches)]
        loss = model(input_ids=ids, labels=labels).loss
        loss.backward()
        optim.step()
        optim.zero_grad()
    model.eval()
    model.save_pretrained(folder)
    return folder


def build_tiny_encoder(out: Path, texts: list[str], seed: int = 0) -> Path:
    """A tiny XLM-RoBERTa encoder with a BPE tokenizer trained on ``texts``, saved as a
    sentence-transformers folder (mean pooling, normalize, e5 prompts) like the converted e5."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast, XLMRobertaConfig, XLMRobertaModel

    from training.e5_convert import write_sentence_transformer

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    tok.decoder = decoders.ByteLevel()
    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    tok.train_from_iterator(texts * 3, trainers.BpeTrainer(vocab_size=800, special_tokens=specials,
                                                           initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>",
                                   unk_token="<unk>", model_max_length=128)
    torch.manual_seed(seed)
    config = XLMRobertaConfig(vocab_size=len(fast), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                              intermediate_size=64, max_position_embeddings=130, pad_token_id=1)
    hf = out.parent / (out.name + "-hf")
    XLMRobertaModel(config, add_pooling_layer=False).save_pretrained(hf)
    fast.save_pretrained(hf)
    write_sentence_transformer(hf, out, 32, 128)
    return out
