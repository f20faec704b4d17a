import pytest

from gaokerena_rag import HybridRetriever, RetrievalConfig
from gaokerena_rag.retrieval import rrf, score_fusion

from conftest import QUERIES


def test_rrf_values_and_weights():
    fused = rrf([([1, 2], 1.0), ([2, 3], 0.5)], k=60)
    assert fused[2] == pytest.approx(1 / 62 + 0.5 / 61)
    assert fused[1] == pytest.approx(1 / 61) and fused[3] == pytest.approx(0.5 / 62)


def test_score_fusion_normalizes_each_side():
    fused = score_fusion([({1: 0.9, 2: 0.5, 3: 0.7}, 0.6), ({2: 10.0, 4: 5.0}, 0.4)], "minmax")
    assert fused[1] == pytest.approx(0.6) and fused[2] == pytest.approx(0.4)
    assert fused[3] == pytest.approx(0.3) and fused[4] == pytest.approx(0.0)
    z = score_fusion([({1: 3.0, 2: 1.0}, 1.0), ({2: 4.0, 3: 2.0}, 0.5)], "zscore")
    # side 1: std 1 -> 1: 2.0, 2: 0.0; side 2: std 1 -> 2: 2.0 * 0.5, 3: 0
    assert z == pytest.approx({1: 2.0, 2: 1.0, 3: 0.0})


def test_bad_config_rejected():
    with pytest.raises(ValueError):
        RetrievalConfig(mode="sparse")
    with pytest.raises(ValueError):
        RetrievalConfig(fusion="max")
    with pytest.raises(ValueError):
        RetrievalConfig(weights={"dense": -1.0})
    with pytest.raises(ValueError):
        RetrievalConfig(k=0)


@pytest.mark.parametrize("fusion", ["zscore", "minmax", "rrf"])
def test_every_fusion_retrieves(built_index, embedder, fusion):
    r = HybridRetriever.from_index(built_index, embedder=embedder, config=RetrievalConfig(fusion=fusion))
    assert all(r.retrieve(q, 1)[0].doc_id == d for q, d in QUERIES.items())


def test_zero_weight_signal_is_not_searched(built_index, embedder):
    r = HybridRetriever.from_index(built_index, embedder=embedder,
                                   config=RetrievalConfig(weights={"dense": 0.0, "words": 1.0, "char4": 0.0}))
    res = r.retrieve("قرص آهن برای کم خونی", 3)
    assert all(set(x.ranks) == {"words"} for x in res) and "embed_s" not in r.last_timings


def test_query_without_known_words(built_index, embedder):
    r = HybridRetriever.from_index(built_index, embedder=embedder, config=RetrievalConfig(mode="bm25"))
    assert r.retrieve("xyzzy qwerty", 5) == [] and r.retrieve("", 5) == []
    hybrid = HybridRetriever.from_index(built_index, embedder=embedder)
    res = hybrid.retrieve("xyzzy qwerty", 3)
    assert len(res) == 3 and all("words" not in x.ranks for x in res)  # dense still answers
