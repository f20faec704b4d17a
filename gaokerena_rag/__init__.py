"""gaokerena-rag: an offline-first, retrieval-augmented clinical assistant for Persian medicine.

Answers: ``GaokerenaAssistant.from_index(path).ask(question)`` (Persian, with numbered,
checked sources). The knowledge layer: ``HybridRetriever.from_index(path).retrieve(question)``.
Heavy parts (embedders, FAISS) load on first use, so ``import gaokerena_rag`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"

__all__ = ["GaokerenaAssistant", "Answer", "AssistantConfig", "Document", "Passage", "HybridRetriever", "RetrievalConfig", "ScoredPassage", "Query", "IndexSettings",
           "normalize", "PersianTokenizer", "load_embedder", "__version__"]

_LAZY = {
    "GaokerenaAssistant": "assistant", "Answer": "answer", "AssistantConfig": "config",
    "Document": "documents", "Passage": "documents", "ScoredPassage": "documents", "Query": "query",
    "HybridRetriever": "retrieval", "RetrievalConfig": "retrieval",
    "IndexSettings": "index", "normalize": "normalize", "PersianTokenizer": "normalize",
    "load_embedder": "embedders",
}

if TYPE_CHECKING:  # pragma: no cover
    from .answer import Answer
    from .assistant import GaokerenaAssistant
    from .config import AssistantConfig
    from .documents import Document, Passage, ScoredPassage
    from .embedders import load_embedder
    from .index import IndexSettings
    from .normalize import PersianTokenizer, normalize
    from .query import Query
    from .retrieval import HybridRetriever, RetrievalConfig


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
