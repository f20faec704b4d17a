"""An index folder's ``manifest.json``: reading it, validating every field before use, the
live generation's path, the files' checksums, and the errors that name the file at fault.

A manifest is read from disk, so nothing in it is trusted: a ``generation`` that is not
``gen-NNNNNN``, or that resolves outside the index folder, is an ``IndexCorruptError``, never
a path to read from or delete. ``files`` (written at commit) records each file of the
generation with its size and SHA-256, which loading compares by size and
``gaokerena index check`` by content.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from .stores import DENSE_BACKENDS

SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
GENERATION = re.compile(r"gen-\d{6}")


class IndexError_(Exception):
    """Base class for index problems (named to avoid shadowing the builtin)."""


class IndexNotFoundError(IndexError_, FileNotFoundError):
    pass


class IndexMismatchError(IndexError_, ValueError):
    """The index was built with another embedder, normalizer or schema than the one asked for."""


class EmbedderUnavailableError(IndexError_):
    """The embedder an index names is not on this machine, and downloading it was not allowed."""


class IndexCorruptError(IndexError_, ValueError):
    """A file of the index is missing, truncated, unreadable or disagrees with the manifest."""

    def __init__(self, file: Path | str, problem: str):
        self.file = str(file)
        self.problem = problem
        super().__init__(f"{file}: {problem}; the index is damaged: rebuild it (gaokerena index build … --fresh) "
                         "or restore it from a copy (gaokerena index check DIR tells what is wrong)")


def _need(data: dict, key: str, kind: type | tuple[type, ...], file: Path, where: str = "") -> Any:
    value = data.get(key) if isinstance(data, dict) else None
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        name = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise IndexCorruptError(file, f"field '{where}{key}' must be a {name}, got {value!r:.80}")
    return value


def validate(manifest: Any, file: Path) -> dict[str, Any]:
    """``manifest`` if every field the library reads is present and of the right kind."""
    if not isinstance(manifest, dict):
        raise IndexCorruptError(file, f"expected a JSON object, got {type(manifest).__name__}")
    generation = _need(manifest, "generation", str, file)
    if not GENERATION.fullmatch(generation):
        raise IndexCorruptError(file, f"field 'generation' must read gen-NNNNNN, got {generation!r:.80}")
    emb = _need(manifest, "embedder", dict, file)
    _need(emb, "spec", str, file, "embedder.")
    if _need(emb, "dim", int, file, "embedder.") < 1:
        raise IndexCorruptError(file, "field 'embedder.dim' must be >= 1")
    _need(emb, "query_prefix", str, file, "embedder.")
    _need(emb, "passage_prefix", str, file, "embedder.")
    norm = _need(manifest, "normalizer", dict, file)
    _need(norm, "version", str, file, "normalizer.")
    for i, side in enumerate(_need(norm, "lexical", list, file, "normalizer.")):
        _need(side, "tokenizer", dict, file, f"normalizer.lexical[{i}].")
        _need(side, "scoring", str, file, f"normalizer.lexical[{i}].")
        _need(side, "version", str, file, f"normalizer.lexical[{i}].")
    dense = _need(manifest, "dense", dict, file)
    if _need(dense, "kind", str, file, "dense.") not in ("flat", "ivf", "ivfpq"):
        raise IndexCorruptError(file, f"field 'dense.kind' must be flat, ivf or ivfpq, got {dense['kind']!r:.40}")
    _need(dense, "ntotal", int, file, "dense.")
    if dense.get("backend", "faiss") not in DENSE_BACKENDS:
        raise IndexCorruptError(file, f"field 'dense.backend' must be one of {sorted(DENSE_BACKENDS)}, "
                                      f"got {dense['backend']!r:.40}")
    counts = _need(manifest, "counts", dict, file)
    _need(counts, "documents", int, file, "counts.")
    _need(counts, "passages", int, file, "counts.")
    _need(manifest, "chunking", dict, file)
    for key in ("created_at", "updated_at"):
        _need(manifest, key, str, file)
    for name, entry in (manifest.get("files") or {}).items():
        if not isinstance(entry, dict) or not isinstance(entry.get("bytes"), int) or \
                not isinstance(entry.get("sha256"), str):
            raise IndexCorruptError(file, f"field 'files.{name}' must hold bytes and sha256")
    return manifest


def read_manifest(path: Path | str) -> dict[str, Any]:
    """The validated manifest of the index folder ``path``."""
    file = Path(path) / MANIFEST
    if not file.exists():
        raise IndexNotFoundError(f"{path}: not an index folder (no {MANIFEST}); build one with 'gaokerena index build'")
    try:
        manifest = json.loads(file.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexCorruptError(file, f"not readable as JSON ({exc})") from None
    if isinstance(manifest, dict) and manifest.get("schema_version") != SCHEMA_VERSION:
        raise IndexMismatchError(
            f"{path}: index schema {manifest.get('schema_version')!r:.40} is not {SCHEMA_VERSION}; rebuild the index"
        )
    return validate(manifest, file)


def generation_dir(path: Path | str, name: str, must_exist: bool = True) -> Path:
    """The folder of generation ``name`` inside the index folder ``path``, after checking that the
    name is ``gen-NNNNNN`` and that it resolves to a real folder directly inside ``path``."""
    root = Path(path).resolve()
    if not GENERATION.fullmatch(name or ""):
        raise IndexCorruptError(Path(path) / MANIFEST, f"generation {name!r:.80} is not gen-NNNNNN")
    folder = root / name
    if folder.is_symlink() or folder.resolve().parent != root:
        raise IndexCorruptError(folder, "the generation folder is a link or lies outside the index folder")
    if must_exist and not folder.is_dir():
        raise IndexCorruptError(folder, "the live generation folder is missing")
    return folder


def sha256_file(file: Path) -> str:
    digest = hashlib.sha256()
    with open(file, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_digests(folder: Path, skip: tuple[str, ...] = ()) -> dict[str, dict[str, Any]]:
    """``{relative path: {bytes, sha256}}`` for every file under ``folder`` but its own manifest and ``skip``."""
    return {file.relative_to(folder).as_posix(): {"bytes": file.stat().st_size, "sha256": sha256_file(file)}
            for file in sorted(p for p in folder.rglob("*") if p.is_file() and p.name not in (MANIFEST, *skip))}


def safe_relative(folder: Path, name: str) -> Path:
    """``folder / name`` for a relative name from a manifest, refusing anything that leaves ``folder``."""
    target = (folder / name).resolve()
    if Path(name).is_absolute() or folder.resolve() not in target.parents:
        raise IndexCorruptError(folder.parent / MANIFEST, f"file name {name!r:.80} leaves the generation folder")
    return target
