"""The chat's record read back (ui.transcript) and the viewer's HTML (ui.render): pure
functions, no server."""

from __future__ import annotations

import re
from dataclasses import replace

from index.types import DocumentInfo, SourceDocument
from rag.types import Answer, Citation, Passage
from ui.render import (
    EXCERPT_CHARS,
    WINDOW_CHARS,
    CitationRef,
    answer_html,
    document_html,
    highlighted,
    open_ref,
    parse_ref,
    step_html,
)
from ui.transcript import content_text, to_markdown, turns

TEXT = "Intro line.\n\nRussia sent six warships to the Black Sea. <b>Not bold</b>.\n\nEnd."
SOURCE = "/docs/a b/news.txt"
START = TEXT.index("six warships")
CITATION = Citation(marker=1, source=SOURCE, title="News", start=START,
                    end=START + len("six warships"), quote="six warships", page=3)
ANSWER = Answer(question="How many warships?", text="Russia sent six warships [1].",
                citations=[CITATION], abstained=False, passages=[], timings={},
                confidence=0.8)


def _chat(content: str) -> list[dict]:
    return [{"role": "user", "content": "How many warships?"},
            {"role": "assistant", "content": content}]


def test_follow_ups_read_the_answer_text_from_what_the_chat_shows():
    html = answer_html(ANSWER, {1: (TEXT, 0)})
    assert turns(_chat(html)) == [("user", "How many warships?"),
                                  ("assistant", "Russia sent six warships [1].")]
    # As the browser sends it back: a list of text parts.
    back = [{"role": m["role"], "content": [{"type": "text", "text": m["content"]}]}
            for m in _chat(html)]
    assert turns(back) == turns(_chat(html))


def test_a_declined_follow_up_says_how_it_was_read_and_that_stays_out_of_follow_ups():
    declined = Answer(question="And how many <warships>?", text="The documents do not say.",
                      citations=[], abstained=True, passages=[], timings={},
                      standalone_question="How many <warships> does the US expect?",
                      abstain_reason="the model found no answer in the passages")
    html = answer_html(declined, {})
    assert "read as “How many &lt;warships&gt; does the US expect?”" in html
    assert turns(_chat(html)) == [("user", "How many warships?"),
                                  ("assistant", "The documents do not say.")]
    alone = Answer(question="How many warships?", text="The documents do not say.",
                   citations=[], abstained=True, passages=[], timings={},
                   standalone_question="How many warships?")
    assert "read as" not in answer_html(alone, {})


def test_stopped_and_unfinished_answers_are_not_followed_up_on():
    stopped = "<p class='rag-stopped'>Stopped before the answer was finished and checked.</p>"
    assert turns(_chat(stopped)) == [("user", "How many warships?")]
    assert turns(_chat(step_html("generate", 3, "Russia sent"))) == \
        [("user", "How many warships?")]


def test_markdown_export_has_the_question_the_answer_and_the_cited_words():
    markdown = to_markdown(_chat(answer_html(ANSWER, {1: (TEXT, 0)})), "A chat")
    assert markdown.startswith("# A chat\n")
    assert "**Question:** How many warships?" in markdown
    assert "**Answer:** Russia sent six warships [1]." in markdown
    assert "  > six warships" in markdown
    assert f"(`{SOURCE}`, characters {CITATION.start}–{CITATION.end})" in markdown


def test_citation_links_round_trip_and_anything_else_is_refused():
    ref = parse_ref(open_ref(CITATION))
    assert ref == CitationRef(1, SOURCE, CITATION.start, CITATION.end, 3)
    for junk in ("", "#rag-src-1", "#rag-open:1:9:2:0:x", "#rag-open:a:1:2:0:x",
                 "javascript:alert(1)", "#rag-open:1:1:2:0:"):
        assert parse_ref(junk) is None, junk


def test_the_viewer_shows_the_whole_document_escaped_with_the_chosen_words_marked():
    document = DocumentInfo(SOURCE, "News", "x", "txt", 3, 0.0)
    other = CitationRef(2, SOURCE, 0, len("Intro line."))
    html = document_html(document, (TEXT, 0, len(TEXT)), [parse_ref(open_ref(CITATION)), other],
                         0)
    assert "<mark class='rag-mark rag-current' id='rag-current'>six warships</mark>" in html
    assert "<mark class='rag-mark'>Intro line.</mark>" in html
    assert "&lt;b&gt;Not bold&lt;/b&gt;" in html and "<b>Not bold" not in html
    assert "End." in html and "page 3" in html and "1 of 2" in html
    assert "href='#rag-nav:1'" in html


def test_a_very_long_document_is_shown_as_a_window_around_the_citation(tmp_path):
    from index.catalog import Catalog

    text = "word " * 100_000 + "the cited words" + " word" * 300_000
    start = text.index("the cited words")
    catalog = Catalog(tmp_path / "catalog.sqlite3")
    catalog.put(SourceDocument(source=SOURCE, text=text, title="Long", sha256="x", kind="txt"),
                "test", set())
    ref = CitationRef(1, SOURCE, start, start + len("the cited words"))
    window = catalog.text_window(SOURCE, ref.start - WINDOW_CHARS, ref.end + WINDOW_CHARS)
    assert window == (text[start - WINDOW_CHARS:ref.end + WINDOW_CHARS], start - WINDOW_CHARS,
                      len(text))  # read from the parts that hold it (1 MB each)
    html = document_html(catalog.info(SOURCE), window, [ref], 0)
    assert "id='rag-current'>the cited words</mark>" in html
    assert f"A long document: showing characters {start - WINDOW_CHARS:,}" in html
    assert len(html) < 2 * WINDOW_CHARS + 5_000
    # An excerpt around a citation is enough for its card in the chat.
    citation = Citation(marker=1, source=SOURCE, title="Long", start=ref.start, end=ref.end,
                        quote="the cited words")
    excerpt = catalog.text_window(SOURCE, ref.start - EXCERPT_CHARS, ref.end + EXCERPT_CHARS)
    assert highlighted(citation, excerpt[:2]) == highlighted(citation, (text, 0))


def test_content_text_reads_every_shape_a_message_comes_in():
    assert content_text("plain") == "plain"
    assert content_text([{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]) == "ab"
    assert content_text({"type": "text", "text": "c"}) == "c"
    assert content_text(None) == ""


def test_a_decline_shows_the_closest_passages_as_links_but_not_as_sources():
    passages = [Passage(number=n, source=SOURCE, title="News", start=start, end=end,
                        text=TEXT[start:end], score=score, similarity=0.5)
                for n, (start, end, score) in enumerate(
                    [(0, 11, 0.2), (START - 12, START + 46, 0.9), (TEXT.index("End"),
                                                                   len(TEXT), 0.1)], 1)]
    declined = Answer(question="How many warships?", text="The documents do not say.",
                      citations=[], abstained=True, passages=passages, timings={},
                      abstain_reason="the model found no answer in the passages")
    html = answer_html(declined, {})
    found = html[html.index("rag-found"):]
    # Best match first, escaped, each a link into its document that the viewer reads.
    assert found.index("six warships") < found.index("Intro line.") < found.index("End.")
    assert "&lt;b&gt;Not bold" in found and "<b>Not bold" not in found
    refs = [parse_ref(h) for h in re.findall(r"href='([^']+)'", found)]
    assert refs[0] == CitationRef(0, SOURCE, START - 12, START + 46, 0)
    # The viewer calls them closest passages, not citations, and always marks the one
    # chosen, even where another of them overlaps it.
    document = DocumentInfo(SOURCE, "News", "x", "txt", 3, 0.0)
    overlapping = CitationRef(0, SOURCE, START - 20, START + 5)
    shown = document_html(document, (TEXT, 0, len(TEXT)), [overlapping, *refs], 1)
    assert "closest passage, 2 of 4" in shown and "citation [" not in shown
    assert f"id='rag-current'>{TEXT[START - 12:START - 6]}" in shown
    # Not the answer's sources: follow-ups and the export leave them out.
    assert turns(_chat(html))[-1] == ("assistant", "The documents do not say.")
    assert "six warships" not in to_markdown(_chat(html))
    # An answer that was given shows its sources, not these; nothing found, nothing shown.
    assert "rag-found" not in answer_html(replace(ANSWER, passages=passages), {1: (TEXT, 0)})
    assert "rag-found" not in answer_html(replace(declined, passages=[]), {})


def test_the_rewritten_question_under_the_chat_shows_as_text_not_markup():
    from ui.render import timings_line

    answer = Answer(question="And how many?", text="Six [1].", citations=[], abstained=False,
                    passages=[], timings={"total": 1.0},
                    standalone_question="How many? See [this](http://example.com) <b>*now*</b>")
    line = timings_line(answer)
    assert "searched for:" in line
    assert "](" not in line and "<b>" not in line and "*now*" not in line
    assert re.sub(r"\\(.)", r"\1", line).endswith(
        "“How many? See [this](http://example.com) <b>*now*</b>”")
