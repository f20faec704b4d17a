"""The dense side in Milvus: one collection per generation, through ``pymilvus``.

Selected per index with ``--dense milvus[:PATH_OR_URI]``: a local path ending in ``.db`` is
Milvus Lite embedded in this process (default: ``milvus.db`` inside the index folder); an
``http://``, ``https://`` or ``tcp://`` address is a Milvus server or cluster, reached by the
same code. Each generation writes its own collection (``<prefix>_gen_NNNNNN``, the prefix
unique to the index folder), so the manifest swap stays the commit point: a killed build
leaves the live collection untouched, the next writer drops collections of this index that
no manifest names, and a commit drops the collection it replaced. An update copies the
unchanged vectors into the new collection (no re-embedding). Milvus Lite serves one
process per ``.db``: to query while another process updates, run a Milvus server.

Needs the ``milvus`` extra (``pymilvus``, ``milvus-lite``).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from pymilvus import DataType, MilvusClient, MilvusException
from pymilvus.exceptions import ConnectionConfigException

from .manifest import MANIFEST, IndexCorruptError, IndexError_, safe_relative

LITE_DEFAULT = "milvus.db"
SCHEMES = ("http://", "https://", "tcp://")
COLLECTION = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,200}")
MILVUS_INDEX = {"flat": ("FLAT", {}), "ivf": ("IVF_FLAT", {"nlist": 1024}), "ivfpq": ("IVF_PQ", {"nlist": 1024})}
BATCH = 5000  # rows per insert or read


def prefix_for(index_dir: Path) -> str:
    return "gaokerena_" + hashlib.sha256(str(Path(index_dir).resolve()).encode()).hexdigest()[:10]


def resolve_uri(location: str | None, index_dir: Path) -> str:
    """What the manifest records of ``--dense milvus:LOCATION``: a server address as given; a Lite
    file (relative paths: to the current folder; none: ``milvus.db`` in the index folder) relative
    to the index folder when it lies inside it, so the folder can move, else absolute."""
    if location and location.startswith(SCHEMES):
        return location
    if location and ("://" in location or not location.endswith(".db")):
        raise ValueError(f"milvus:{location}: expected a Milvus Lite file ending in .db or a server address "
                         f"({', '.join(SCHEMES)})")
    root = Path(index_dir).resolve()
    path = Path(location).resolve() if location else root / LITE_DEFAULT
    return str(path.relative_to(root)) if root in path.parents else str(path)


def _client_uri(uri: str, index_dir: Path) -> str:
    """The address to connect to, after checking what a manifest said."""
    if uri.startswith(SCHEMES):
        return uri
    if "://" in uri or not uri.endswith(".db"):
        raise IndexCorruptError(Path(index_dir) / MANIFEST, f"field 'dense.uri' {uri!r:.80} is neither a Milvus "
                                                            "Lite .db file nor a Milvus server address")
    path = Path(uri) if Path(uri).is_absolute() else safe_relative(Path(index_dir), uri)
    path.parent.mkdir(parents=True, exist_ok=True)
    return str(path)


def connect(uri: str, index_dir: Path) -> MilvusClient:
    address = _client_uri(uri, index_dir)
    try:
        return MilvusClient(uri=address)
    except ConnectionConfigException as exc:
        busy = "" if address.startswith(SCHEMES) else (
            "; Milvus Lite serves one process per file: another process may have it open "
            "(run a Milvus server, e.g. `milvus-lite server`, to share it)")
        raise IndexError_(f"{address}: cannot open Milvus ({exc.message}){busy}") from None


class MilvusStore:
    """One Milvus collection as a ``stores.DenseStore``."""

    backend = "milvus"

    def __init__(self, client: MilvusClient, uri: str, collection: str, prefix: str, dim: int, kind: str,
                 nprobe: int | None = None):
        self.client, self.uri, self.collection, self.prefix = client, uri, collection, prefix
        self.dim, self.kind = int(dim), kind
        self.nprobe = nprobe or 16
        self._count: int | None = None

    # ---- making and opening ------------------------------------------
    @classmethod
    def create(cls, dim: int, kind: str, train_vectors: np.ndarray | None = None, *, index_dir: Path,
               generation: str, location: str | None = None, prefix: str | None = None) -> "MilvusStore":
        if kind not in MILVUS_INDEX:
            raise ValueError(f"unknown dense index kind {kind!r}; expected one of {tuple(MILVUS_INDEX)}")
        return cls._new(resolve_uri(location, index_dir), prefix or prefix_for(index_dir), dim, kind,
                        index_dir, generation)

    @classmethod
    def _new(cls, uri: str, prefix: str, dim: int, kind: str, index_dir: Path, generation: str) -> "MilvusStore":
        client = connect(uri, index_dir)
        name = f"{prefix}_{generation.replace('-', '_')}"
        if client.has_collection(name):
            client.drop_collection(name)  # a killed writer's, of this index and this very generation
        schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("pid", DataType.INT64, is_primary=True)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=int(dim))
        index_type, params = MILVUS_INDEX[kind]
        if kind == "ivfpq":
            params = {**params, "m": next(m for m in (dim // 8, dim // 4, 1) if m and dim % m == 0), "nbits": 8}
        index_params = client.prepare_index_params()
        index_params.add_index("vector", index_type=index_type, metric_type="IP", params=params)
        client.create_collection(name, schema=schema, index_params=index_params)
        return cls(client, uri, name, prefix, dim, kind)

    @classmethod
    def open(cls, entry: dict[str, Any], generation: Path, *, index_dir: Path, dim: int,
             nprobe: int | None = None) -> "MilvusStore":
        where = Path(index_dir) / MANIFEST
        for key in ("uri", "collection", "prefix"):
            if not isinstance(entry.get(key), str):
                raise IndexCorruptError(where, f"field 'dense.{key}' must be a str, got {entry.get(key)!r:.80}")
        if not COLLECTION.fullmatch(entry["collection"]) or not entry["collection"].startswith(entry["prefix"]):
            raise IndexCorruptError(where, f"field 'dense.collection' {entry['collection']!r:.80} is not a "
                                           "collection name of this index")
        client = connect(entry["uri"], index_dir)
        if not client.has_collection(entry["collection"]):
            client.close()
            raise IndexCorruptError(where, f"Milvus at {entry['uri']} has no collection {entry['collection']!r} "
                                           "(dropped, or another server)")
        client.load_collection(entry["collection"])
        return cls(client, entry["uri"], entry["collection"], entry["prefix"], dim, entry["kind"], nprobe)

    def successor(self, *, index_dir: Path, generation: str) -> "MilvusStore":
        """A new generation's collection holding this one's vectors (copied, not re-embedded)."""
        new = MilvusStore._new(self.uri, self.prefix, self.dim, self.kind, index_dir, generation)
        self.client.load_collection(self.collection)
        copied, start = 0, 0
        while copied < self.count:  # pids are given out in order, so ranges of them page through all
            rows = self.client.query(self.collection, filter=f"pid >= {start} and pid < {start + BATCH}",
                                     output_fields=["pid", "vector"])
            if rows:
                new.client.insert(new.collection, [{"pid": r["pid"], "vector": r["vector"]} for r in rows])
            copied, start = copied + len(rows), start + BATCH
        return new

    def clean(self) -> None:
        """Drop this index's other collections (killed writers'), once this one is live."""
        own = re.compile(re.escape(self.prefix) + r"_gen_\d{6}")
        for name in self.client.list_collections():
            if own.fullmatch(name) and name != self.collection:
                self.client.drop_collection(name)

    # ---- the DenseStore interface --------------------------------------
    @property
    def count(self) -> int:
        if self._count is None:
            self.client.load_collection(self.collection)
            rows = self.client.query(self.collection, filter="", output_fields=["count(*)"])
            self._count = int(rows[0]["count(*)"])
        return self._count

    def search(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        n = len(vectors)
        k = max(1, k)
        scores = np.full((n, k), -np.finfo(np.float32).max, np.float32)
        pids = -np.ones((n, k), np.int64)
        if not n or not self.count:
            return scores, pids
        params = {"metric_type": "IP", "params": {"nprobe": self.nprobe}}
        found = self.client.search(self.collection, data=np.asarray(vectors, np.float32).tolist(),
                                   limit=min(k, 16384), search_params=params, output_fields=["pid"])
        for i, hits in enumerate(found):
            for j, hit in enumerate(hits[:k]):
                scores[i, j], pids[i, j] = hit["distance"], hit["pid"]
        return scores, pids

    def add(self, vectors: np.ndarray, pids: np.ndarray) -> None:
        vectors = np.asarray(vectors, np.float32)
        for i in range(0, len(pids), BATCH):
            self.client.insert(self.collection, [{"pid": int(p), "vector": v.tolist()}
                                                 for p, v in zip(pids[i : i + BATCH], vectors[i : i + BATCH])])
        self._count = None

    def remove(self, pids: Sequence[int]) -> int:
        pids = [int(p) for p in pids]
        if not pids:
            return 0
        before = self.count
        self.client.delete(self.collection, ids=pids)
        self._count = None
        return before - self.count

    def vectors(self, pids: Sequence[int]) -> np.ndarray:
        pids = [int(p) for p in pids]
        got: dict[int, list[float]] = {}
        self.client.load_collection(self.collection)
        for i in range(0, len(pids), BATCH):
            got.update({r["pid"]: r["vector"] for r in self.client.get(self.collection, ids=pids[i : i + BATCH],
                                                                        output_fields=["vector"])})
        missing = [p for p in pids if p not in got]
        if missing:
            raise KeyError(f"{self.collection}: no vectors for passages {missing[:5]}")
        return np.asarray([got[p] for p in pids], np.float32).reshape(len(pids), self.dim)

    def save(self, generation: Path) -> dict[str, Any]:
        self.client.flush(self.collection)
        self.client.load_collection(self.collection)
        return {"backend": self.backend, "uri": self.uri, "collection": self.collection, "prefix": self.prefix}

    def close(self) -> None:
        self.client.close()

    def discard(self) -> None:
        try:
            if self.client.has_collection(self.collection):
                self.client.drop_collection(self.collection)
        except MilvusException:
            pass
