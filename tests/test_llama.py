"""The llama-index adapter: retriever interface, nodes, and vectors exported for other stores."""

import numpy as np

from gaokerena_rag import Document, HybridRetriever
from gaokerena_rag.llama import GaokerenaRetriever, document_to_llama, export_nodes


def test_llama_retriever_returns_nodes(built_index, embedder):
    from llama_index.core.schema import NodeRelationship

    retriever = GaokerenaRetriever(HybridRetriever.from_index(built_index, embedder=embedder), k=3)
    nodes = retriever.retrieve("بچم تب داره ۳۹ درجه چیکار کنم")
    assert len(nodes) == 3
    top = nodes[0]
    assert top.node.metadata["doc_id"] == "child-fever" and top.node.node_id == "child-fever#0"
    assert "استامینوفن" in top.node.get_content() and top.score > nodes[1].score
    assert top.node.relationships[NodeRelationship.SOURCE].node_id == "child-fever"


def test_export_nodes_carries_stored_vectors(built_index, embedder):
    hybrid = HybridRetriever.from_index(built_index, embedder=embedder)
    nodes = list(export_nodes(hybrid))
    assert len(nodes) == 10 and len({n.node_id for n in nodes}) == 10
    by_id = {n.node_id: n for n in nodes}
    vec = np.array(by_id["asthma#0"].embedding, np.float32)
    assert vec.shape == (384,) and abs(np.linalg.norm(vec) - 1) < 1e-3
    # the exported vector is the one the index searches with
    q = embedder.embed_queries(["خس خس سینه و تنگی نفس"])[0]
    best = max(nodes, key=lambda n: float(np.dot(q, n.embedding)))
    assert best.node_id == "asthma#0"


def test_document_to_llama():
    doc = Document(text="متن", title="عنوان", source="s", url="u", id="d1")
    ld = document_to_llama(doc)
    assert ld.id_ == "d1" and ld.text == "متن" and ld.metadata["title"] == "عنوان"
