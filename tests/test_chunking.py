import pytest

from gaokerena_rag.chunking import Chunker, split_sentences


def test_split_keeps_every_character():
    text = "سلام. سردرد دارم؟ چه کنم!\nدارو: استامینوفن؛ روزی دو بار"
    parts = split_sentences(text)
    assert "".join(parts) == text
    assert parts[1] == "سردرد دارم؟ "
    assert len(parts) == 5


def test_chunks_respect_budget_and_overlap():
    sentences = [f"جمله شماره {i} درباره درمان است." for i in range(30)]
    text = " ".join(sentences)
    chunks = Chunker(max_words=20, overlap_words=6).chunk(text)
    assert len(chunks) > 3
    assert all(len(c.split()) <= 20 for c in chunks)
    # overlap: each chunk starts with the last sentence of the one before
    for a, b in zip(chunks, chunks[1:]):
        last = split_sentences(a)[-1].strip()
        assert b.startswith(last)
    # nothing lost: every sentence is in some chunk
    assert all(any(s in c for c in chunks) for s in sentences)


def test_long_sentence_cut_at_words():
    text = " ".join(["کلمه"] * 55)
    chunks = Chunker(max_words=20, overlap_words=0).chunk(text)
    assert [len(c.split()) for c in chunks] == [20, 20, 15]


def test_blank_text_gives_no_chunks_and_bad_params_raise():
    assert Chunker().chunk("  \n ") == []
    with pytest.raises(ValueError):
        Chunker(max_words=10, overlap_words=10)
