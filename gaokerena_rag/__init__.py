"""gaokerena-rag: an offline-first, retrieval-augmented clinical assistant for Persian medicine.

The knowledge layer: ``HybridRetriever.from_index(path).retrieve(question)``.
Heavy parts (embedders, FAISS) load on first use, so ``import gaokerena_rag`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"

__all__ = ["Document", "Passage", "HybridRetriever", "RetrievalConfig", "RetrievedPassage", "IndexSettings",
           "normalize", "PersianTokenizer", "load_embedder", "__version__"]

_LAZY = {
    "Document": "documents", "Passage": "documents",
    "HybridRetriever": "retrieval", "RetrievalConfig": "retrieval", "RetrievedPassage": "retrieval",
    "IndexSettings": "index", "normalize": "normalize", "PersianTokenizer": "normalize",
    "load_embedder": "embedders",
}

if TYPE_CHECKING:  # pragma: no cover
    from .documents import Document, Passage
    from .embedders import load_embedder
    from .index import IndexSettings
    from .normalize import PersianTokenizer, normalize
    from .retrieval import HybridRetriever, RetrievalConfig, RetrievedPassage


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
