"""A synthetic corpus for the benchmark: N documents, about 5,000 words each, over 4 sites.

The words are the demo corpus's own: sentences taken from its interview transcripts
(fictional, part of the project) and recombined by a seeded random generator, so the
coder sees plausible commissioning talk and the same seed always gives the same corpus.
The mix follows a real study's: a third PDF papers (running header, footer, page
numbers; every other one set in two columns), a third DOCX (strategies and some
interview transcripts), a third plain-text transcripts with speaker labels and
timestamps. metadata.csv is written in the project's format (interplay.metadata).
"""

from __future__ import annotations

import csv
import random
import re
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import docx
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import BaseDocTemplate, Frame, PageTemplate, Paragraph

GENERATOR_VERSION = 1  # bump when the corpus a seed gives changes
SITES = {"alderton": "ALD", "brackwater": "BRK", "castlemere": "CSM", "dunholm": "DUN"}
# (format, kind) cycle: 1/3 PDF, 1/3 DOCX, 1/3 plain-text transcripts
FORMATS = [("txt", "interview"), ("pdf", "document"), ("docx", "document"),
           ("txt", "interview"), ("pdf", "policy"), ("docx", "interview")]
ACTORS = ["commissioner", "provider", "local_authority", "commissioner", "regulator", "other"]
ROLES = {"commissioner": "Director of Commissioning", "provider": "Director of Strategy",
         "local_authority": "Head of Integrated Commissioning", "regulator": "Head of Assurance",
         "other": "Chief Officer, Healthwatch"}
HEADINGS = ["Background", "Purpose of this paper", "Procurement options", "Market engagement",
            "Integration and partnership working", "Financial position", "Risks",
            "Patient choice", "Contracting approach", "Recommendations", "Next steps"]
WIDTH, HEIGHT = A4
METADATA_COLUMNS = ["doc_id", "path", "site", "kind", "actor", "date", "title"]
SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z“‘\"'(])")
LABEL = re.compile(r"^(?:\[\d{1,2}:\d{2}(?::\d{2})?\]\s*)?([A-Z][\w .()/-]{0,40}):\s+(.*)$")


@dataclass
class SentencePools:
    """Sentences from the demo transcripts: interviewer questions and everything else."""

    questions: list[str]
    statements: list[str]

    @classmethod
    def from_corpus(cls, corpus: Path) -> SentencePools:
        from interplay.extract.plaintext import extract_plaintext  # UTF-8 or cp1252

        questions, statements = [], []
        for path in sorted(corpus.rglob("*.txt")):
            for line in extract_plaintext(path)[0].splitlines():
                match = LABEL.match(line.strip())
                speaker, text = (match[1], match[2]) if match else ("", line.strip())
                if speaker.lower() in {"participant", "date of interview", "note", "interview"}:
                    continue
                for sentence in SENTENCE.split(text):
                    words = sentence.split()
                    if not 5 <= len(words) <= 60 or not sentence[-1:] in ".?!":
                        continue
                    if sentence.endswith("?") and speaker.lower().startswith("interviewer"):
                        questions.append(sentence)
                    elif not sentence.endswith("?"):
                        statements.append(sentence)
        if len(questions) < 20 or len(statements) < 200:
            raise SystemExit(f"{corpus}: too few sentences to build a synthetic corpus from")
        return cls(sorted(set(questions)), sorted(set(statements)))


@dataclass(frozen=True)
class SyntheticDocument:
    doc_id: str
    path: str
    site: str
    kind: str
    actor: str
    date: str
    title: str
    words: int


class CorpusWriter:
    """Writes document i of a seeded corpus; document i is the same for any corpus size."""

    def __init__(self, pools: SentencePools, *, seed: int, words: int = 5000):
        self.pools, self.seed, self.words = pools, seed, words

    def _rng(self, index: int) -> random.Random:
        return random.Random(f"{self.seed}:{index}")

    def _paragraph(self, rng: random.Random, low: int = 3, high: int = 7) -> str:
        return " ".join(rng.choice(self.pools.statements) for _ in range(rng.randint(low, high)))

    def document(self, corpus: Path, index: int) -> SyntheticDocument:
        rng = self._rng(index)
        site = list(SITES)[index % len(SITES)]
        extension, kind = FORMATS[index % len(FORMATS)]
        actor = ACTORS[(index // len(FORMATS)) % len(ACTORS)] if kind != "policy" else "national"
        code = "INT" if kind == "interview" else "POL" if kind == "policy" else "DOC"
        doc_id = f"{SITES[site]}-{code}-{index + 1:04d}"
        date = f"{rng.randint(2013, 2019)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        place = site.title()
        if kind == "interview":
            title = f"Interview: {ROLES.get(actor, 'Participant')}, {place}"
        else:
            title = f"{place} CCG Governing Body paper {index + 1}: {rng.choice(HEADINGS).lower()}"
        path = Path(site) / f"{doc_id}.{extension}"
        (corpus / path).parent.mkdir(parents=True, exist_ok=True)
        if kind == "interview":
            turns = self._turns(rng)
            words = sum(len(text.split()) for _, text in turns)
            write = _write_transcript if extension == "txt" else _write_docx_transcript
            write(corpus / path, doc_id, title, date, turns)
        else:
            blocks = self._blocks(rng)
            words = sum(len(text.split()) for _, text in blocks)
            if extension == "pdf":
                _write_pdf(corpus / path, title, f"{place} Clinical Commissioning Group", blocks,
                           two_columns=index % 12 == 4)
            else:
                _write_docx(corpus / path, title, blocks)
        return SyntheticDocument(doc_id, path.as_posix(), site, kind, actor, date, title, words)

    def _turns(self, rng: random.Random) -> list[tuple[str, str]]:
        turns, words = [], 0
        while words < self.words:
            question = rng.choice(self.pools.questions)
            answer = "\n\n".join(self._paragraph(rng) for _ in range(rng.randint(1, 3)))
            turns += [("Interviewer", question), ("R1", answer)]
            words += len(question.split()) + len(answer.split())
        return turns

    def _blocks(self, rng: random.Random) -> list[tuple[str, str]]:
        blocks, words = [], 0
        while words < self.words:
            heading = rng.choice(HEADINGS)
            blocks.append(("heading", heading))
            for _ in range(rng.randint(3, 7)):
                paragraph = self._paragraph(rng)
                blocks.append(("para", paragraph))
                words += len(paragraph.split())
        return blocks


def write_corpus(corpus: Path, n: int, pools: SentencePools, *, seed: int) -> list[SyntheticDocument]:
    """Documents 0..n-1 and metadata.csv."""
    writer = CorpusWriter(pools, seed=seed)
    documents = [writer.document(corpus, index) for index in range(n)]
    write_metadata(corpus, documents)
    return documents


def write_metadata(corpus: Path, documents: list[SyntheticDocument]) -> None:
    with open(corpus / "metadata.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=METADATA_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(vars(d) for d in documents)


def _timestamp(seconds: int) -> str:
    return f"[{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}]"


def _write_transcript(path: Path, doc_id: str, title: str, date: str,
                      turns: list[tuple[str, str]]) -> None:
    lines = ["Interplay study – synthetic benchmark transcript",
             f"Interview {doc_id} · {title.removeprefix('Interview: ')}",
             f"Date of interview: {date} · Interviewer: BM", ""]
    clock = 4
    for speaker, text in turns:
        lines += [f"{_timestamp(clock)} {speaker}: {text}", ""]
        clock += 5 + len(text) // 15
    path.write_text("\n".join(lines), encoding="utf-8")


def _write_docx_transcript(path: Path, doc_id: str, title: str, date: str,
                           turns: list[tuple[str, str]]) -> None:
    document = docx.Document()
    document.add_heading(f"Interview {doc_id}", level=0)
    document.add_paragraph(f"{title} · {date}")
    for speaker, text in turns:
        for number, paragraph in enumerate(text.split("\n\n")):
            document.add_paragraph(f"{speaker}: {paragraph}" if number == 0 else paragraph)
    document.save(str(path))


def _write_docx(path: Path, title: str, blocks: list[tuple[str, str]]) -> None:
    document = docx.Document()
    document.add_heading(title, level=0)
    for kind, text in blocks:
        if kind == "heading":
            document.add_heading(text, level=1)
        else:
            document.add_paragraph(text)
    document.save(str(path))


def _write_pdf(path: Path, title: str, organisation: str, blocks: list[tuple[str, str]], *,
               two_columns: bool) -> None:
    """A board paper: running header (organisation, title), footer with 'Page n' and a
    protective marking, body in one or two columns."""

    def decorate(canvas, doc):
        canvas.setFont("Helvetica", 8)
        canvas.drawString(56, HEIGHT - 36, organisation)
        canvas.drawRightString(WIDTH - 56, HEIGHT - 36, title[:70])
        canvas.drawString(56, 30, "OFFICIAL")
        canvas.drawRightString(WIDTH - 56, 30, f"Page {doc.page}")

    margin, gap = 56, 18
    if two_columns:
        width = (WIDTH - 2 * margin - gap) / 2
        frames = [Frame(margin, 60, width, HEIGHT - 130, id="left"),
                  Frame(margin + width + gap, 60, width, HEIGHT - 130, id="right")]
    else:
        frames = [Frame(margin, 60, WIDTH - 2 * margin, HEIGHT - 130, id="body")]
    doc = BaseDocTemplate(str(path), pagesize=A4, invariant=1, title=title,
                          pageTemplates=[PageTemplate(frames=frames, onPage=decorate)])
    body = ParagraphStyle("body", fontName="Helvetica", fontSize=11, leading=14.5, spaceAfter=8,
                          alignment=4 if two_columns else 0)
    heading = ParagraphStyle("heading", fontName="Helvetica-Bold", fontSize=12, leading=15,
                             spaceBefore=6, spaceAfter=6)
    story = [Paragraph(escape(title), ParagraphStyle("title", parent=heading, fontSize=15,
                                                     leading=19))]
    story += [Paragraph(escape(text), heading if kind == "heading" else body)
              for kind, text in blocks]
    doc.build(story)
