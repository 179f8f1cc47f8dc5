"""Segmentation stage: a document's text in, passages out, each keeping its exact offsets.

Units: one speaker turn per passage for interviews (a turn longer than
`max_passage_chars` is split at its paragraph breaks), one paragraph per passage for
documents; a unit still too long is cut into windows of whole sentences. For every
passage `text == source[start:end]`.

Passage IDs are `<doc_id>:<first 10 hex of sha1(doc_id, whitespace-normalised text)>`,
with `~2`, `~3` appended to repeats of the same text in one document. They depend only
on the passage's own words, so they survive reruns and edits elsewhere in the document,
and a reviewer's decision can never slide onto a different passage.
"""

from __future__ import annotations

import bisect
import hashlib
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass

from interplay.config import SegmentationSettings
from interplay.fileio import read_json, write_json
from interplay.metadata import Document
from interplay.threadcache import per_thread
from interplay.transcript import parse_turns

PASSAGE_COLUMNS = ("passage_id", "doc_id", "site", "actor", "kind", "speaker", "speaker_role",
                   "page", "start", "end", "codable", "text")
BLOCK_BREAK = re.compile(r"\n[ \t]*\n\s*")


@dataclass(frozen=True)
class Passage:
    passage_id: str
    doc_id: str
    site: str
    actor: str
    kind: str
    speaker: str
    speaker_role: str
    page: int | None
    start: int
    end: int
    codable: bool
    text: str

    def as_row(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Unit:
    start: int
    end: int
    speaker: str = ""
    speaker_role: str = ""
    codable: bool = True


@per_thread
def _sentencizer():
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    return nlp


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def blocks(text: str, start: int = 0, end: int | None = None) -> Iterator[tuple[int, int]]:
    """(start, end) of the blank-line-separated blocks of text[start:end], trimmed."""
    end = len(text) if end is None else end
    position = start
    for match in BLOCK_BREAK.finditer(text, start, end):
        block = _trimmed(text, position, match.start())
        if block[0] < block[1]:
            yield block
        position = match.end()
    block = _trimmed(text, position, end)
    if block[0] < block[1]:
        yield block


def sentence_windows(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    """Greedy windows of whole sentences, each at most `max_chars` unless one sentence is longer."""
    doc = _sentencizer()(text[start:end])
    windows: list[tuple[int, int]] = []
    window_start = window_end = None
    for sentence in doc.sents:
        s_start, s_end = start + sentence.start_char, start + sentence.end_char
        if window_start is not None and s_end - window_start > max_chars:
            windows.append((window_start, window_end))
            window_start = None
        if window_start is None:
            window_start = s_start
        window_end = s_end
    if window_start is not None:
        windows.append((window_start, window_end))
    return [w for w in (_trimmed(text, a, b) for a, b in windows) if w[0] < w[1]]


def _units(text: str, document: Document, settings: SegmentationSettings
           ) -> tuple[list[Unit], list[str]]:
    if document.kind != "interview":
        return [Unit(a, b) for a, b in blocks(text)], []
    parse = parse_turns(text, default_role=document.actor)
    if not parse.turns:
        return [Unit(a, b) for a, b in blocks(text)], parse.warnings
    units = [Unit(a, b, speaker_role="preamble", codable=False)
             for a, b in blocks(text, 0, parse.preamble_end)]
    for turn in parse.turns:
        codable = turn.role != "interviewer" or settings.code_interviewer_turns
        spans = ([(turn.start, turn.end)] if turn.end - turn.start <= settings.max_passage_chars
                 else list(blocks(text, turn.start, turn.end)))
        units.extend(Unit(a, b, turn.speaker, turn.role, codable) for a, b in spans)
    return units, parse.warnings


def passage_id(doc_id: str, text: str) -> str:
    normalised = " ".join(text.split())
    digest = hashlib.sha1(f"{doc_id}\x1f{normalised}".encode()).hexdigest()
    return f"{doc_id}:{digest[:10]}"


def segment(text: str, document: Document, page_starts: list[int],
            settings: SegmentationSettings) -> tuple[list[Passage], list[str]]:
    """Passages of one document, in reading order, and any warnings about its structure."""
    units, warnings = _units(text, document, settings)
    passages: list[Passage] = []
    seen: Counter[str] = Counter()
    for unit in units:
        spans = ([(unit.start, unit.end)] if unit.end - unit.start <= settings.max_passage_chars
                 else sentence_windows(text, unit.start, unit.end, settings.max_passage_chars))
        for start, end in spans:
            base_id = passage_id(document.doc_id, text[start:end])
            seen[base_id] += 1
            page = bisect.bisect_right(page_starts, start) if page_starts else None
            passages.append(Passage(
                passage_id=base_id if seen[base_id] == 1 else f"{base_id}~{seen[base_id]}",
                doc_id=document.doc_id, site=document.site, actor=document.actor,
                kind=document.kind, speaker=unit.speaker, speaker_role=unit.speaker_role,
                page=page or None, start=start, end=end, codable=unit.codable,
                text=text[start:end]))
    return passages, warnings



def segment_to_file(text_path: str, info_path: str, passages_path: str, *,
                    document: Document, settings: SegmentationSettings) -> list[Passage]:
    """The workflow's edge: read one extracted document, write its passages and warnings."""
    with open(text_path, encoding="utf-8", newline="") as handle:
        text = handle.read()
    info = read_json(info_path)
    passages, warnings = segment(text, document, [p["start"] for p in info["pages"]], settings)
    write_json(passages_path, {"doc_id": document.doc_id, "warnings": warnings,
                               "passages": [p.as_row() for p in passages]})
    return passages
