"""Build and update an index folder from corpus inputs: the incremental, crash-safe path.

``build_index`` reads every input, checks ids, and compares content hashes with
the live index: new and changed documents are chunked and embedded, unchanged ones
are left alone (their vectors are reused), and with ``sync`` documents no longer
in the inputs are removed. Everything is written as a new generation that replaces
the live one atomically (see ``gaokerena_rag.index``).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from gaokerena_rag.documents import Document
from gaokerena_rag.embedders import Embedder, load_embedder
from gaokerena_rag.index import IndexSettings
from gaokerena_rag.index_writer import Encoder, IndexWriter
from gaokerena_rag.progress import BuildProgress, Counter, as_progress, counter

from .errors import CorpusError, ErrorPolicy
from .loaders import FieldMap, read_records, records_to_documents
from .presets import PRESETS, iter_mf3qa


@dataclass
class BuildReport:
    """What a build or update did."""

    added: int = 0
    changed: int = 0
    unchanged: int = 0
    deleted: int = 0
    duplicates: int = 0
    passages_embedded: int = 0
    seconds: float = 0.0
    embed_seconds: float = 0.0  # of ``seconds``, spent embedding (what --engine ray spreads out)
    startup_seconds: float = 0.0  # of ``embed_seconds``, starting the engine (Ray, its actors, their models)
    skipped: list[CorpusError] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)

    def _startup(self) -> str:
        return f", {self.startup_seconds:.1f}s of that starting the engine" if self.startup_seconds else ""

    def summary(self) -> str:
        m = self.manifest.get("counts", {})
        text = (f"added {self.added}, changed {self.changed}, unchanged {self.unchanged}, deleted {self.deleted} "
                f"documents; embedded {self.passages_embedded} passages in {self.seconds:.1f}s "
                f"({self.embed_seconds:.1f}s of it embedding{self._startup()}); index now holds "
                f"{m.get('documents', 0)} documents, {m.get('passages', 0)} passages")
        if self.duplicates:
            text += f"; {self.duplicates} identical duplicate documents merged"
        if self.skipped:
            text += "\n" + ErrorPolicy("skip", self.skipped).summary()
        return text


def fingerprint(source: str) -> dict[str, Any]:
    """Size and modification time of an input (a folder: of every file in it), to tell when it changed."""
    path = Path(source)
    if not path.exists():
        return {"input": source}
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    stats = [p.stat() for p in files]
    return {"input": str(path.resolve()), "files": len(files), "bytes": sum(s.st_size for s in stats),
            "mtime_ns": max((s.st_mtime_ns for s in stats), default=0)}


def iter_input(source: str, fields: FieldMap, policy: ErrorPolicy, preset: str | None = None,
               split: str | None = None) -> Iterator[tuple[str, int, Document]]:
    """(file, row, document) of one input, through a preset when one is named."""
    if preset == "mf3qa":
        yield from iter_mf3qa(source, split or "train", policy)
        return
    if preset is not None:
        p = PRESETS[preset]
        fields, split = p.fields, split or p.split
    yield from records_to_documents(read_records(source, split=split, policy=policy), source, fields, policy)


def collect_documents(inputs: Sequence[str], fields: FieldMap, policy: ErrorPolicy, preset: str | None = None,
                      split: str | None = None, progress: bool | Counter = False) -> tuple[dict[str, Document], int]:
    """All documents by id; a repeated given id is a bad row, an identical document is merged."""
    docs: dict[str, Document] = {}
    seen: dict[str, tuple[str, int]] = {}
    duplicates = 0
    count, close = counter(progress, None, "reading", "doc")
    for source in inputs:
        for file, row, doc in iter_input(source, fields, policy, preset, split):
            count(1)
            if doc.id in docs:
                if docs[doc.id].content_hash == doc.content_hash:
                    duplicates += 1
                    continue
                first_file, first_row = seen[doc.id]
                policy.handle(CorpusError(file, row, "id", f"duplicate id {doc.id!r} "
                                                             f"(first at {first_file}, row {first_row})"))
                continue
            docs[doc.id] = doc
            seen[doc.id] = (file, row)
    close()
    return docs, duplicates


class MassRemovalError(ValueError):
    """An update that would remove most of an index: refused unless explicitly allowed."""


MAX_REMOVED_SHARE = 0.5  # an update may remove fewer than this share of the indexed documents unless allowed


def build_index(inputs: Sequence[str] | str, out: str | Path, settings: IndexSettings | None = None,
                fields: FieldMap | None = None, *, embedder: Embedder | None = None, preset: str | None = None,
                split: str | None = None, on_error: str = "raise", sync: bool = True, fresh: bool = False,
                progress: bool | BuildProgress = True, workers: int | None = None,
                allow_mass_removal: bool = False, encoder: Encoder | None = None) -> BuildReport:
    """Build ``out`` from ``inputs``, or update it if it already holds an index.

    ``sync`` removes indexed documents that the inputs no longer hold; ``fresh``
    re-embeds everything (needed to change the embedder of an existing index). Removing
    half or more of an index's documents (inputs that are empty, or other inputs over an
    existing index) is refused with ``MassRemovalError`` unless ``allow_mass_removal``;
    nothing is changed then. ``encoder`` embeds the passages elsewhere (``ray_engine.RayEncoder``);
    by default ``embedder`` does, with ``workers`` processes. ``progress``: one bar for the whole
    build (``True``; summary lines when stderr is not a terminal), a ``BuildProgress`` of the
    caller's, or nothing.
    """
    t0 = time.perf_counter()
    inputs = [inputs] if isinstance(inputs, (str, Path)) else [str(i) for i in inputs]
    settings = settings or IndexSettings()
    policy = ErrorPolicy(on_error)
    shown = as_progress(progress)
    shown.plan("reading", "chunking", "embedding", *(spec.folder for spec in settings.lexical))
    try:
        with shown.stage("reading", unit="documents") as count:
            docs, duplicates = collect_documents(inputs, fields or FieldMap(), policy, preset, split, count)
        if embedder is None:
            workers = 1 if encoder is not None else workers or min(2, os.cpu_count() or 1)
            embedder = load_embedder(settings.embedder, workers=workers, threads=1)
        report = BuildReport(duplicates=duplicates, skipped=list(policy.skipped))
        with IndexWriter(out, settings, embedder, fresh=fresh, encoder=encoder) as writer:
            existing = writer.existing_hashes()
            before = existing if not fresh else writer.live_hashes()
            changed = [i for i, d in docs.items() if i in existing and existing[i] != d.content_hash]
            removed = [i for i in existing if i not in docs] if sync else []
            lost = removed if not fresh else [i for i in before if i not in docs]  # a fresh build keeps only inputs
            if before and len(lost) >= MAX_REMOVED_SHARE * len(before) and not allow_mass_removal:
                raise MassRemovalError(
                    f"{out}: this would remove {len(lost):,} of the {len(before):,} indexed documents "
                    f"({len(lost) / len(before):.0%}), because the inputs ({', '.join(inputs)}) hold "
                    f"{'none of them' if len(lost) == len(before) else 'only the rest'}; nothing was changed. "
                    "If that is meant, pass --allow-mass-removal (or build into a new folder)")
            writer.delete(changed + removed)
            todo = [d for i, d in docs.items() if i not in existing or i in changed]
            with shown.stage("chunking", len(todo), "documents") as count:
                for doc in todo:
                    writer.add(doc)
                    count(1)
            report.passages_embedded = writer.pending()
            report.added, report.changed = len(todo) - len(changed), len(changed)
            report.deleted = len(removed)
            report.unchanged = len(docs) - len(todo)
            report.manifest = writer.commit(extra={"sources": [fingerprint(i) for i in inputs],
                                                   "preset": preset, "split": split}, progress=shown)
            report.embed_seconds = writer.embed_seconds
            report.startup_seconds = getattr(encoder, "startup_seconds", 0.0)
    except BaseException:
        shown.close()  # the bar stops where the build did; the error says why
        raise
    report.seconds = time.perf_counter() - t0
    if shown is not progress:
        shown.finish(f"{report.passages_embedded:,} passages embedded")
    return report


def iter_documents(inputs: Iterable[str], fields: FieldMap | None = None, on_error: str = "raise",
                   preset: str | None = None, split: str | None = None) -> Iterator[Document]:
    """Just the documents of some inputs (for llama-index and other consumers)."""
    docs, _ = collect_documents(list(inputs), fields or FieldMap(), ErrorPolicy(on_error), preset, split)
    yield from docs.values()
