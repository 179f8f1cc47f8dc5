"""Speaker turns in interview transcripts.

A line that starts with a label and a colon ("Interviewer:", "R1:", "Commissioner (CCG):",
"[00:12:31] Speaker 2:") opens a turn. To avoid taking "Note:" or "The point is this:"
for a speaker, a label counts only if it is a known speaker form, carries a timestamp,
or opens at least two lines of the transcript.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass

LABEL_LINE = re.compile(
    r"^[ \t]*(?:\[?(?P<ts>\d{1,2}:\d{2}(?::\d{2})?)\]?[ \t]*[-–]?[ \t]*)?"
    r"(?P<label>[A-Z][\w.'’&/()-]*(?:[ \t]+[\w.'’&/()-]+){0,4})[ \t]*:[ \t]*(?=\S)",
    re.MULTILINE)
KNOWN_SPEAKER = re.compile(
    r"^(interviewer|int|i|q|a|r|p|respondent|interviewee|participant|speaker|facilitator|"
    r"moderator|researcher)[ \t]*\d*$", re.IGNORECASE)
INTERVIEWER = re.compile(
    r"^(?:(interviewer|facilitator|moderator|researcher)\b.*|(int|iv|i|q)[ \t]*\d*)$",
    re.IGNORECASE)
# Checked in order: a label naming several roles takes the first listed here.
ROLE_WORDS = (
    ("commissioner", r"commissioner|commissioning|ccg|csu"),
    ("local_authority", r"council|local authority|la|social care|public health|adass"),
    ("regulator", r"monitor|regulator|nhs england|nhse|nhsi|nhs improvement|cqc|cma"),
    ("national", r"department of health|dh|national|minister"),
    ("provider", r"provider|trust|ft|hospital|federation|practice|gp|clinician|charity"),
)


@dataclass(frozen=True)
class Turn:
    speaker: str
    role: str
    start: int  # first character of what was said (after the label)
    end: int


@dataclass
class TranscriptParse:
    turns: list[Turn]
    preamble_end: int  # text before the first turn: the transcript's header block
    warnings: list[str]


def _role_from_label(label: str, default_role: str) -> str:
    if INTERVIEWER.match(label):
        return "interviewer"
    lowered = label.lower()
    for role, words in ROLE_WORDS:
        if re.search(rf"\b({words})\b", lowered):
            return role
    return default_role


def parse_turns(text: str, *, default_role: str) -> TranscriptParse:
    """Split a transcript into turns; `default_role` is the respondent's role from metadata."""
    candidates = list(LABEL_LINE.finditer(text))
    label_counts = Counter(m.group("label").strip() for m in candidates)
    accepted = [m for m in candidates
                if m.group("ts") or KNOWN_SPEAKER.match(m.group("label").strip())
                or label_counts[m.group("label").strip()] >= 2]
    warnings: list[str] = []
    if not accepted:
        return TranscriptParse(turns=[], preamble_end=0, warnings=[
            "no speaker labels found (e.g. 'Interviewer:', 'R1:'): treated as a document"])

    labels = [m.group("label").strip() for m in accepted]
    roles = {label: _role_from_label(label, default_role) for label in labels}
    if "interviewer" not in roles.values():
        inferred = _infer_interviewer(text, accepted)
        if inferred:
            roles[inferred] = "interviewer"
            warnings.append(f"interviewer inferred as '{inferred}' (most of its turns are "
                            "questions); label it 'Interviewer:' to make this explicit")
        else:
            warnings.append("no interviewer label found: every turn is treated as a respondent's")

    turns = []
    for match, following in zip(accepted, accepted[1:] + [None]):
        end = following.start() if following else len(text)
        start = match.end()
        while end > start and text[end - 1].isspace():
            end -= 1
        label = match.group("label").strip()
        turns.append(Turn(speaker=label, role=roles[label], start=start, end=end))
    return TranscriptParse(turns=turns, preamble_end=accepted[0].start(), warnings=warnings)


def _infer_interviewer(text: str, accepted: list[re.Match]) -> str | None:
    """The label whose turns are mostly short questions, if there is exactly such a one."""
    questions: dict[str, list[bool]] = defaultdict(list)
    for match, following in zip(accepted, accepted[1:] + [None]):
        said = text[match.end(): following.start() if following else len(text)].strip()
        questions[match.group("label").strip()].append(said.endswith("?") and len(said) < 400)
    shares = {label: sum(flags) / len(flags) for label, flags in questions.items()}
    best = max(shares, key=shares.get)
    if len(shares) >= 2 and shares[best] >= 0.5 and sorted(shares.values())[-2] < 0.5:
        return best
    return None
