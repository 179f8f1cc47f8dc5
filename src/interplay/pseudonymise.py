"""Pseudonymisation: personal data in extracted text replaced by stable pseudonyms.

Extraction calls a `Pseudonymiser` on each document's text before writing it, so every
later stage only ever sees pseudonymised text. It replaces e-mail addresses, UK phone
numbers, the names in interview speaker labels (wherever they occur in that interview)
and every name in the user's list, by pseudonyms such as `PERSON-3F2A`: the start of an
HMAC-SHA256 of the original under a secret, so the same original always gets the same
pseudonym. The key file keeps the secret and, per pseudonym, the original; it is the only
place the originals are written.

Pseudonyms carry no brackets: a speaker label must start with a capital letter to be read
as one (see interplay.transcript), and `PERSON-3F2A:` still is.
"""

from __future__ import annotations

import csv
import fcntl
import hashlib
import hmac
import io
import json
import os
import re
import secrets
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

from interplay.errors import ConfigError
from interplay.transcript import INTERVIEWER, KNOWN_SPEAKER, ROLE_WORDS, parse_turns

if TYPE_CHECKING:
    from interplay.config import PseudonymisationSettings

PREFIXES = {"person": "PERSON", "organisation": "ORG", "email": "EMAIL", "phone": "PHONE"}
LISTED_KINDS = ("person", "organisation")
SHORT_HASH = 4  # hex digits of a pseudonym; two more for each collision with another original
KEY_NOTE = ("interplay pseudonymisation key: it turns pseudonyms back into names; keep it "
            "safe, never share it or put it in the outputs")

EMAIL = re.compile(r"(?<![\w.%+-])[\w.%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
                   r"(?![\w-])")
# A UK number: +44 (optionally with (0)), an area code in brackets, or a leading 0, then
# digits with single spaces or hyphens; checked afterwards for 10-11 digits. Not after a
# currency sign, a digit or a decimal point, so dates, years, money and times never match.
PHONE = re.compile(r"(?<![\w+£$€.,/-])(?:\+44[ -]?(?:\(0\)[ -]?)?|\(0\d{2,4}\)[ -]?|0)"
                   r"\d(?:[ -]?\d){4,9}(?!\d)")
UK_NUMBER = re.compile(r"0[1-35789]\d{8,9}")
PARENTHESIS = re.compile(r"\s*\([^)]*\)")
INITIAL = re.compile(r"[A-Z]\.?")
HONORIFICS = {"dr", "mr", "mrs", "ms", "miss", "mx", "prof", "professor", "sir", "dame",
              "lord", "lady", "cllr", "councillor", "rev", "revd"}
# Capitalised words that make a label a role, a heading or a note rather than a name.
NOT_NAMES = {
    "chair", "chairman", "chairwoman", "chairperson", "vice", "manager", "director", "officer",
    "lead", "head", "chief", "executive", "nurse", "doctor", "clerk", "secretary", "member",
    "members", "observer", "answer", "question", "response", "comment", "comments", "note",
    "notes", "unknown", "inaudible", "unidentified", "other", "all", "both", "everyone",
    "group", "panel", "audience", "male", "female", "man", "woman", "staff", "team",
    "patient", "partner", "interpreter", "translator", "transcriber", "attendee", "attendees",
    "present", "apologies", "date", "time", "location", "venue", "duration", "subject",
    "topic", "title", "ref", "reference", "summary", "background", "action", "actions",
    "decision", "agreed", "agenda", "item", "minutes", "source", "transcript", "recording",
    "end", "start", "break", "pause", "crosstalk", "laughter", "yes", "no", "ok", "okay",
}


@dataclass(frozen=True)
class ListedName:
    name: str
    kind: str  # person or organisation


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: str
    original: str  # what the pseudonym stands for (a full name, also when a part matched)


@dataclass(frozen=True)
class KeyEntry:
    pseudonym: str
    kind: str
    original: str
    first_doc: str


@dataclass(frozen=True)
class Key:
    secret: str
    entries: tuple[KeyEntry, ...] = ()


@dataclass(frozen=True)
class Replacement:
    old_start: int
    old_end: int
    new_start: int
    new_end: int


@dataclass(frozen=True)
class Rewrite:
    """A text with spans replaced, and where the original's offsets went."""

    text: str
    replacements: tuple[Replacement, ...] = ()

    def position(self, offset: int) -> int:
        """An original offset in the new text; one inside a replaced span goes to its end,
        so a page starting mid-name leaves the pseudonym on the page where the name began."""
        shift = 0
        for r in self.replacements:
            if offset <= r.old_start:
                break
            if offset < r.old_end:
                return r.new_end
            shift = r.new_end - r.old_end
        return offset + shift


# Detection: pure functions from text to spans.

def national_number(written: str) -> str:
    """The number as dialled within the UK: '+44 (0)20 7946 0958' -> '02079460958'."""
    digits = re.sub(r"\D", "", written)
    if written.startswith("+44"):
        digits = digits[2:] if digits[2:].startswith("0") else "0" + digits[2:]
    return digits


def email_spans(text: str) -> list[Span]:
    return [Span(m.start(), m.end(), "email", m.group()) for m in EMAIL.finditer(text)]


def phone_spans(text: str) -> list[Span]:
    return [Span(m.start(), m.end(), "phone", m.group()) for m in PHONE.finditer(text)
            if UK_NUMBER.fullmatch(national_number(m.group()))]


def _is_name_word(word: str) -> bool:
    return (word[0].isupper() and any(c.islower() for c in word)
            and all(c.isalpha() or c in "'’-" for c in word))


def speaker_name(label: str) -> str | None:
    """The person's name in a speaker label ('Dr Patel' -> 'Patel', 'Sarah (CCG)' ->
    'Sarah'), or None for a role or an ID ('Interviewer', 'R1', 'Commissioner (CCG)')."""
    base = PARENTHESIS.sub("", label).strip()
    lowered = base.lower()
    if (KNOWN_SPEAKER.match(base) or INTERVIEWER.match(base)
            or any(re.search(rf"\b({words})\b", lowered) for _, words in ROLE_WORDS)):
        return None
    words = base.split()
    if words and words[0].rstrip(".").lower() in HONORIFICS:
        words = words[1:]
    if not 1 <= len(words) <= 3 or any(w.lower() in NOT_NAMES for w in words):
        return None
    names = [w for w in words if _is_name_word(w)]
    initials = [w for w in words if INITIAL.fullmatch(w)]
    if not names or len(names) + len(initials) != len(words):
        return None
    return " ".join(words)


def speaker_names(text: str) -> list[str]:
    """Names among the transcript's speaker labels, as transcript.parse_turns reads them."""
    labels = {turn.speaker for turn in parse_turns(text, default_role="other").turns}
    return sorted({name for label in labels if (name := speaker_name(label))})


def _name_pattern(name: str, *, ignore_case: bool) -> re.Pattern:
    """Whole words only; any run of spaces or a line break may separate the words."""
    words = r"\s+".join(re.escape(word) for word in name.split())
    return re.compile(rf"(?<!\w){words}(?!\w)", re.IGNORECASE if ignore_case else 0)


def _spans_of(text: str, pattern: re.Pattern, kind: str, original: str) -> list[Span]:
    return [Span(m.start(), m.end(), kind, original) for m in pattern.finditer(text)]


def speaker_spans(text: str, names: Iterable[str]) -> list[Span]:
    """A speaker's name anywhere in the interview: a single word with its capitals, so
    'Will' leaves 'will' alone; a longer name in any case."""
    return [span for name in names
            for span in _spans_of(text, _name_pattern(name, ignore_case=" " in name),
                                  "person", name)]


def name_part_spans(text: str, persons: Iterable[str]) -> list[Span]:
    """The first and last word of a person's longer name alone, with its capitals, as that
    person; a word two of the names share is a person of its own; initials are left."""
    persons = {_folded(name): name for name in persons}
    owners: dict[str, set[str]] = defaultdict(set)
    for folded, name in persons.items():
        words = name.split()
        for word in {words[0], words[-1]} if len(words) > 1 else ():
            if _folded(word) not in persons and not INITIAL.fullmatch(word):
                owners[word].add(folded)
    return [span for word, its_names in owners.items()
            for span in _spans_of(text, _name_pattern(word, ignore_case=False), "person",
                                  persons[min(its_names)] if len(its_names) == 1 else word)]


def listed_spans(text: str, listed: Iterable[ListedName]) -> list[Span]:
    """The user's names, whole words, in any case."""
    return [span for entry in listed
            for span in _spans_of(text, _name_pattern(entry.name, ignore_case=True),
                                  entry.kind, entry.name)]


def find_spans(text: str, listed: Sequence[ListedName] = (), *,
               speaker_labels: bool = False) -> list[Span]:
    """Every span to replace, without overlaps: the earliest wins, then the longest (so an
    e-mail address swallows the name inside it, and a full name its parts)."""
    speakers = speaker_names(text) if speaker_labels else []
    persons = [*speakers, *(entry.name for entry in listed if entry.kind == "person")]
    found = (email_spans(text) + phone_spans(text) + listed_spans(text, listed)
             + speaker_spans(text, speakers) + name_part_spans(text, persons))
    kept: list[Span] = []
    for span in sorted(found, key=lambda s: (s.start, s.start - s.end, s.kind, s.original)):
        if not kept or span.start >= kept[-1].end:
            kept.append(span)
    return kept


# Pseudonyms: pure functions of the key.

def identity(kind: str, original: str) -> tuple[str, str]:
    """What makes two mentions the same original: case, spacing and phone format aside."""
    return kind, national_number(original) if kind == "phone" else _folded(original)


def _folded(name: str) -> str:
    return " ".join(name.replace("’", "'").split()).casefold()


def pseudonym(secret: str, kind: str, original: str, length: int = SHORT_HASH) -> str:
    kind, normalised = identity(kind, original)
    digest = hmac.new(secret.encode(), f"{kind}\x1f{normalised}".encode(), hashlib.sha256)
    return f"{PREFIXES[kind]}-{digest.hexdigest()[:length].upper()}"


def assign_pseudonyms(key: Key, found: Iterable[tuple[str, str]], doc_id: str
                      ) -> tuple[dict[tuple[str, str], str], list[KeyEntry]]:
    """Pseudonyms by identity for the (kind, original) pairs found, and the key's new entries.

    A pseudonym already taken by another original is lengthened until it is free; originals
    new to the key are taken in sorted order, so the result depends only on the key."""
    assigned = {identity(e.kind, e.original): e.pseudonym for e in key.entries}
    taken = set(assigned.values())
    new = []
    for kind, original in sorted(set(found)):
        ident = identity(kind, original)
        if ident in assigned:
            continue
        length = SHORT_HASH
        while (candidate := pseudonym(key.secret, kind, original, length)) in taken:
            length += 2
        assigned[ident] = candidate
        taken.add(candidate)
        new.append(KeyEntry(candidate, kind, original, doc_id))
    return assigned, new


def replace_spans(text: str, spans: Sequence[Span], pseudonyms: dict[tuple[str, str], str]
                  ) -> Rewrite:
    """The text with each span (sorted, not overlapping) replaced by its pseudonym."""
    pieces, replacements, previous, shift = [], [], 0, 0
    for span in spans:
        new = pseudonyms[identity(span.kind, span.original)]
        pieces += [text[previous:span.start], new]
        new_start = span.start + shift
        replacements.append(Replacement(span.start, span.end, new_start, new_start + len(new)))
        shift += len(new) - (span.end - span.start)
        previous = span.end
    pieces.append(text[previous:])
    return Rewrite("".join(pieces), tuple(replacements))


# The key file: JSON Lines, the secret first, then one line per pseudonym.

def parse_key(text: str, source: str) -> Key:
    """The key file's content; a repeated line counts once, and a pseudonym given to two
    originals (or two pseudonyms to one) is refused. Messages name lines, never originals."""
    secret, entries = None, []
    pseudonym_of: dict[tuple[str, str], str] = {}
    line_of: dict[str, int] = {}  # by pseudonym
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if "secret" in record:
                if secret not in (None, record["secret"]):
                    raise ConfigError(f"{source}:{number}: a second, different secret")
                secret = record["secret"]
                continue
            entry = KeyEntry(**record)
        except (json.JSONDecodeError, TypeError):
            raise ConfigError(f"{source}:{number}: not a key entry (the key file is damaged: "
                              "restore it from a backup)") from None
        ident = identity(entry.kind, entry.original)
        if pseudonym_of.get(ident) == entry.pseudonym:
            continue
        if ident in pseudonym_of or entry.pseudonym in line_of:
            earlier = line_of.get(entry.pseudonym) or line_of[pseudonym_of[ident]]
            raise ConfigError(f"{source}:{number}: {entry.pseudonym} conflicts with line "
                              f"{earlier}: each original has one pseudonym, and each "
                              "pseudonym one original")
        pseudonym_of[ident], line_of[entry.pseudonym] = entry.pseudonym, number
        entries.append(entry)
    if secret is None:
        raise ConfigError(f"{source}: no secret in the key file (restore it from a backup)")
    return Key(secret, tuple(entries))


def _private(path: str, flags: int) -> int:
    return os.open(path, flags, 0o600)


@contextmanager
def _locked_key(path: Path) -> Iterator[tuple[IO[str], Key]]:
    """The key file opened for appending under an exclusive lock (extraction jobs run in
    parallel), created with a new secret and mode 0600 if absent or empty."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8", newline="", opener=_private) as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        handle.seek(0)
        text = _complete_lines(handle, handle.read())
        if not text.strip():
            os.fchmod(handle.fileno(), 0o600)
            secret = secrets.token_hex(32)
            _append(handle, [{"secret": secret, "note": KEY_NOTE}])
            yield handle, Key(secret)
        else:
            yield handle, parse_key(text, str(path))


def _complete_lines(handle: IO[str], text: str) -> str:
    """Drop a last line torn by a crash mid-write, or end a complete one, so that appended
    entries start on a line of their own."""
    if not text or text.endswith("\n"):
        return text
    kept, _, last = text.rpartition("\n")
    try:
        json.loads(last)
    except json.JSONDecodeError:
        os.ftruncate(handle.fileno(), len(kept.encode()) + (1 if kept else 0))
        return kept + "\n" if kept else ""
    handle.write("\n")
    return text + "\n"


def _append(handle: IO[str], records: list[dict]) -> None:
    if records:
        handle.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
        handle.flush()
        os.fsync(handle.fileno())


def read_key(path: Path) -> Key:
    with _locked_key(path) as (_, key):
        return key


def key_fingerprint(path: Path) -> str:
    """Names the secret without revealing it, so the workflow reruns extraction when the
    key file is replaced; creates the key if it does not exist yet."""
    secret = read_key(path).secret
    return hmac.new(secret.encode(), b"interplay key fingerprint", hashlib.sha256).hexdigest()[:16]


# The user's list of names.

def parse_names(text: str, source: str) -> tuple[ListedName, ...]:
    """A CSV with header `name,kind` (kind: person or organisation). Every problem is
    reported as source:line; the names themselves are never quoted, as logs may be shared."""
    rows = csv.reader(io.StringIO(text))
    if [cell.strip().lower() for cell in next(rows, [])] != ["name", "kind"]:
        raise ConfigError(f"{source}:1: the first line must be the header name,kind")
    listed, problems = [], []
    first_seen: dict[str, tuple[str, int]] = {}  # folded name -> (kind, line)
    for row in rows:
        number = rows.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != 2:
            problems.append(f"{source}:{number}: {len(row)} columns, expected 2 (name,kind); "
                            "put a name holding a comma in double quotes")
            continue
        name, kind = " ".join(row[0].split()), row[1].strip().lower()
        if kind not in LISTED_KINDS:
            problems.append(f"{source}:{number}: kind must be person or organisation")
        elif len(name) < 2:
            problems.append(f"{source}:{number}: a name needs at least 2 characters")
        elif (earlier := first_seen.setdefault(_folded(name), (kind, number)))[1] == number:
            listed.append(ListedName(name, kind))
        elif earlier[0] != kind:
            problems.append(f"{source}:{number}: listed on line {earlier[1]} with the other kind")
    if problems:
        raise ConfigError("\n".join(problems))
    return tuple(listed)


def load_names(path: Path | None) -> tuple[ListedName, ...]:
    if path is None:
        return ()
    try:
        return parse_names(Path(path).read_text(encoding="utf-8-sig"), str(path))
    except FileNotFoundError:
        raise ConfigError(f"{path}: pseudonymisation.names file not found") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text; save the names list as CSV UTF-8") from None


# The edge extraction calls.

@dataclass(frozen=True)
class Pseudonymiser:
    """Replaces the personal data in one document's text, recording new pseudonyms in the
    key file before the text is written anywhere."""

    key: Path
    listed: tuple[ListedName, ...] = ()
    speaker_labels: bool = False  # look for names in speaker labels (interviews)

    @classmethod
    def from_settings(cls, settings: PseudonymisationSettings, *,
                      speaker_labels: bool) -> Pseudonymiser:
        return cls(Path(settings.key), load_names(settings.names), speaker_labels)

    def __call__(self, text: str, doc_id: str) -> Rewrite:
        spans = find_spans(text, self.listed, speaker_labels=self.speaker_labels)
        with _locked_key(self.key) as (handle, key):
            pseudonyms, new = assign_pseudonyms(key, [(s.kind, s.original) for s in spans],
                                                doc_id)
            _append(handle, [asdict(entry) for entry in new])
        return replace_spans(text, spans, pseudonyms)
