"""llama-index adapter: the hybrid retriever as a ``BaseRetriever``, passages and documents as nodes.

Use the Persian-aware retrieval inside llama-index pipelines, or move the vectors
to a llama-index vector store (Qdrant, Milvus, pgvector …) with ``export_nodes``,
which attaches each passage's stored embedding (``llama_index.vector_stores.milvus`` is tested). Two llama-index defaults are
wrong for Persian and avoided here: ``BM25Retriever``'s English stemmer and
stopwords (BM25 here uses ``PersianTokenizer``), and ``FaissVectorStore``, which
cannot delete (the index here keys FAISS by passage id).

Needs the ``llama`` extra (``llama-index-core``).
"""

from __future__ import annotations

from typing import Iterator

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.schema import Document as LlamaDocument
from llama_index.core.schema import NodeRelationship, NodeWithScore, QueryBundle, RelatedNodeInfo, TextNode

from .documents import Document, Passage, ScoredPassage
from .retrieval import HybridRetriever


def _metadata(p: Passage | ScoredPassage) -> dict:
    return {"doc_id": p.doc_id, "passage_id": p.passage_id, "title": p.title, "source": p.source, "url": p.url}


def passage_to_node(p: Passage | ScoredPassage, embedding: list[float] | None = None) -> TextNode:
    node = TextNode(id_=p.passage_id, text=p.text, metadata=_metadata(p), embedding=embedding)
    node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=p.doc_id)
    return node


def document_to_llama(doc: Document) -> LlamaDocument:
    return LlamaDocument(id_=doc.id, text=doc.text, metadata={"title": doc.title, "source": doc.source,
                                                              "url": doc.url, **doc.metadata})


class GaokerenaRetriever(BaseRetriever):
    """``HybridRetriever`` behind llama-index's retriever interface."""

    def __init__(self, retriever: HybridRetriever, k: int = 10, **kwargs):
        super().__init__(**kwargs)
        self._retriever = retriever
        self._k = k

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        results = self._retriever.retrieve(query_bundle.query_str, self._k)
        return [NodeWithScore(node=passage_to_node(r), score=r.score) for r in results]


def export_nodes(retriever: HybridRetriever, batch: int = 1024) -> Iterator[TextNode]:
    """Every passage of the index as a node carrying its stored embedding."""
    dense, store = retriever.files.dense, retriever.files.store
    pids = [pid for pid, _t, _x in store.iter_texts()]
    for i in range(0, len(pids), batch):
        chunk = pids[i : i + batch]
        passages, vectors = store.get(chunk), dense.vectors(chunk)
        for pid, vector in zip(chunk, vectors):
            yield passage_to_node(passages[pid], vector.tolist())
