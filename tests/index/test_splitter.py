from __future__ import annotations

import pytest

from index.loaders import load
from index.splitter import sentence_spans, split_document
from index.types import SourceDocument
from tests.conftest import ARTICLE, CORPUS, SQUAD

ALL_DOCS = sorted(CORPUS.glob("*.txt")) + sorted((SQUAD / "corpus").glob("*.txt"))


def _doc(text: str, **kw) -> SourceDocument:
    return SourceDocument(source="/x/doc.txt", text=text, title="Doc", sha256="0", kind="txt", **kw)


@pytest.mark.parametrize("path", ALL_DOCS, ids=lambda p: p.name)
@pytest.mark.parametrize(("size", "overlap"), [(400, 120), (200, 0), (1000, 300)])
def test_every_chunk_is_its_exact_span(path, size, overlap):
    doc = load(path)
    chunks = split_document(doc, size, overlap)
    assert chunks
    for chunk in chunks:
        assert doc.text[chunk.start:chunk.end] == chunk.text
        assert chunk.start >= doc.body_start
        assert len(chunk.text) <= size
        assert chunk.text == chunk.text.strip()
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert len({c.id for c in chunks}) == len(chunks)


def test_every_sentence_of_the_body_is_in_some_chunk():
    doc = load(ARTICLE)
    chunks = split_document(doc, 400, 120)
    for start, end in sentence_spans(doc.text, doc.body_start):
        assert any(c.start <= start and end <= c.end for c in chunks), doc.text[start:end]


def test_chunks_end_on_sentence_boundaries():
    """Only a sentence longer than a whole chunk may be cut inside."""
    doc = load(ARTICLE)
    sentences = sentence_spans(doc.text, doc.body_start)
    too_long = [(s, e) for s, e in sentences if e - s > 300]
    assert too_long  # the article has one (a tweet), so both cases are exercised

    def inside_long(offset: int) -> bool:
        return any(s <= offset <= e for s, e in too_long)

    for chunk in split_document(doc, 300, 100):
        assert chunk.end in {e for _, e in sentences} or inside_long(chunk.end)
        assert chunk.start in {s for s, _ in sentences} or inside_long(chunk.start)


def test_header_line_is_not_chunked():
    doc = load(ARTICLE)
    assert all("date 2022-02-10" not in c.text for c in split_document(doc))
    assert all(c.title.startswith("Pentagon Holds") and c.date == "2022-02-10"
               for c in split_document(doc))


def test_abbreviations_and_initials_do_not_end_sentences():
    text = ("Gen. Valery Gerasimov met Mr. J. R. Smith of the U.S. Army. "
            "They spoke after Feb.20. A second sentence follows!")
    sentences = [text[s:e] for s, e in sentence_spans(text)]
    assert sentences == [
        "Gen. Valery Gerasimov met Mr. J. R. Smith of the U.S. Army.",
        "They spoke after Feb.20.",
        "A second sentence follows!",
    ]


def test_quotes_close_sentences():
    text = 'He called it "a very violent gesture." UK Prime Minister Boris Johnson replied.'
    assert [text[s:e] for s, e in sentence_spans(text)] == [
        'He called it "a very violent gesture."', "UK Prime Minister Boris Johnson replied."]


def test_chunks_stay_inside_paragraphs_but_headings_join_the_next():
    first = "The first paragraph has one sentence here, and it is long enough to stand alone."
    second = "The second paragraph is separate, and it is also long enough to stand on its own."
    chunks = split_document(_doc(f"# Title\n\n{first}\n\n{second}"), 400, 0)
    assert [c.text for c in chunks] == [f"# Title\n\n{first}", second]


def test_overlap_repeats_whole_sentences():
    sentences = [f"Sentence number {i} is right here." for i in range(10)]
    doc = _doc(" ".join(sentences))
    chunks = split_document(doc, 120, 40)
    assert len(chunks) > 3
    for before, after in zip(chunks, chunks[1:]):
        assert after.start < before.end  # they share text...
        assert after.text.startswith("Sentence number")  # ...that starts at a sentence
        assert after.end > before.end  # and always move forward


def test_a_sentence_longer_than_a_chunk_is_cut_at_spaces():
    doc = _doc("word " * 200)
    chunks = split_document(doc, 100, 0)
    assert len(chunks) >= 10
    assert all(len(c.text) <= 100 and not c.text.startswith(" ") for c in chunks)
    assert "".join(c.text.replace(" ", "") for c in chunks) == "word" * 200


def test_pdf_line_breaks_do_not_end_sentences():
    text = "The river runs\nthrough the town. It is\nwide."
    hard = [text[s:e] for s, e in sentence_spans(text, hard_wrapped=True)]
    soft = [text[s:e] for s, e in sentence_spans(text)]
    assert hard == ["The river runs\nthrough the town.", "It is\nwide."]
    assert soft == ["The river runs", "through the town.", "It is", "wide."]


def test_same_text_gives_same_ids_and_chunk_settings_are_validated():
    doc = load(ARTICLE)
    assert [c.id for c in split_document(doc)] == [c.id for c in split_document(doc)]
    with pytest.raises(ValueError, match="overlap"):
        split_document(doc, 100, 100)
    with pytest.raises(ValueError, match="at least 50"):
        split_document(doc, 10, 0)
