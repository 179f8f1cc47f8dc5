from hypothesis import given, settings
from hypothesis import strategies as st

from interplay.config import SegmentationSettings
from interplay.metadata import Document
from interplay.segment import passage_id, segment

DOC = Document(doc_id="D1", path="d.txt", site="s", kind="document", actor="commissioner",
               date="2016", title="t")
INTERVIEW = Document(doc_id="I1", path="i.txt", site="s", kind="interview", actor="provider",
                     date="2016", title="t")
SETTINGS = SegmentationSettings(max_passage_chars=300)


def check_invariants(text, passages):
    previous_end = 0
    for passage in passages:
        assert passage.text == text[passage.start:passage.end]
        assert passage.start >= previous_end and passage.end > passage.start
        previous_end = passage.end
    assert len({p.passage_id for p in passages}) == len(passages)


def test_document_paragraphs_with_pages():
    text = "Title\n\nFirst paragraph here.\n\n\n  Second paragraph\nwraps a line.  \n"
    passages, warnings = segment(text, DOC, [0, 20], SETTINGS)
    assert [p.text for p in passages] == ["Title", "First paragraph here.",
                                          "Second paragraph\nwraps a line."]
    assert [p.page for p in passages] == [1, 1, 2]
    assert warnings == []
    check_invariants(text, passages)


def test_long_paragraphs_become_windows_of_whole_sentences():
    sentences = [f"Sentence number {i} talks about the alliance board and its budget." for i in
                 range(20)]
    text = " ".join(sentences)
    passages, _ = segment(text, DOC, [], SETTINGS)
    assert len(passages) > 3
    assert all(len(p.text) <= 300 for p in passages)
    assert all(p.text.startswith("Sentence number") and p.text.endswith("budget.")
               for p in passages)
    assert " ".join(p.text for p in passages) == text
    check_invariants(text, passages)


def test_interview_turns_roles_and_codable():
    long_answer = "\n\n".join(["We went out to tender for the whole service. " * 4] * 3)
    text = ("Interview header\nDate: 2016\n\nInterviewer: How did it go?\n"
            f"R1: {long_answer}\nInterviewer: Thanks.\nR1: Short reply.\n")
    passages, _ = segment(text, INTERVIEW, [], SETTINGS)
    roles = [(p.speaker, p.speaker_role, p.codable) for p in passages]
    assert roles[0] == ("", "preamble", False)
    assert ("Interviewer", "interviewer", False) in roles
    respondent = [p for p in passages if p.speaker == "R1"]
    assert len(respondent) == 4  # the long turn split at its three paragraphs, plus the reply
    assert all(p.speaker_role == "provider" and p.codable for p in respondent)
    check_invariants(text, passages)
    coded_interviewer, _ = segment(text, INTERVIEW, [], SegmentationSettings(
        max_passage_chars=300, code_interviewer_turns=True))
    assert all(p.codable for p in coded_interviewer if p.speaker == "Interviewer")


def test_ids_are_content_based_and_repeats_are_numbered():
    text = "Agreed.\n\nThe board noted the tender.\n\nAgreed."
    passages, _ = segment(text, DOC, [], SETTINGS)
    assert [p.passage_id for p in passages] == [
        passage_id("D1", "Agreed."), passage_id("D1", "The board noted the tender."),
        passage_id("D1", "Agreed.") + "~2"]
    edited, _ = segment("New opening paragraph.\n\n" + text, DOC, [], SETTINGS)
    assert [p.passage_id for p in edited][1:] == [p.passage_id for p in passages]


alphabet = st.characters(codec="utf-8", exclude_categories=("Cs",))
texts = st.lists(st.one_of(st.text(alphabet, max_size=80), st.sampled_from(
    ["\n\n", "\n", "Interviewer: ", "R1: ", "[00:01:02] Speaker 2: ", ". ", "  ", "\t"])),
    max_size=40).map("".join)


@settings(max_examples=150, deadline=None)
@given(text=texts, kind=st.sampled_from(["document", "interview"]),
       max_chars=st.integers(200, 400))
def test_offsets_hold_for_arbitrary_text(text, kind, max_chars):
    document = DOC if kind == "document" else INTERVIEW
    options = SegmentationSettings(max_passage_chars=max_chars)
    passages, _ = segment(text, document, [], options)
    check_invariants(text, passages)
    assert all(p.text.strip() == p.text and p.text for p in passages)
    again, _ = segment(text, document, [], options)
    assert [p.passage_id for p in again] == [p.passage_id for p in passages]
