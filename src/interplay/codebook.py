"""The codebook: validated data, not code.

Loaded from YAML into pydantic models; every problem in the file is reported at once,
each naming the code and the field (`codebook.yaml: code 'cooperation.alliance' field
'patterns[3]': ...`). Rule patterns are checked by spaCy's own Matcher validation.
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from interplay.errors import CodebookError
from interplay.fileio import read_once_per_version

CODE_ID = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
COLOUR = re.compile(r"^#[0-9A-Fa-f]{6}$")
ORIENTATIONS = ("competition", "cooperation", "interplay", "context")


class Family(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = Field(min_length=1)
    description: str = ""


class Code(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    label: str = Field(min_length=1)
    family: str
    colour: str
    definition: str = Field(min_length=1)
    include: list[str] = []
    exclude: list[str] = []
    examples: list[str] = []
    aliases: list[str] = []
    phrases: list[str] = []
    patterns: list[list[dict[str, Any]]] = []

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not CODE_ID.match(value):
            raise ValueError("must look like 'family.name' (lower case, digits, '_')")
        return value

    @field_validator("colour")
    @classmethod
    def _colour_shape(cls, value: str) -> str:
        if not COLOUR.match(value):
            raise ValueError("must be a hex colour like '#1B9E77'")
        return value


class Codebook(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = 1
    name: str = "codebook"
    families: dict[str, Family]
    codes: list[Code]

    @cached_property
    def ids(self) -> list[str]:
        return [code.id for code in self.codes]

    @cached_property
    def by_id(self) -> dict[str, Code]:
        return {code.id: code for code in self.codes}

    def orientation(self, code_ids: list[str]) -> str:
        """competition | cooperation | interplay | context, or '' for no codes (see the spec)."""
        families = {self.by_id[c].family for c in code_ids}
        if not families:
            return ""
        if {"competition", "cooperation"} <= families:
            return "interplay"
        if "competition" in families:
            return "competition"
        if "cooperation" in families:
            return "cooperation"
        return "context"

    def alias_index(self) -> dict[str, str]:
        """Lower-cased ID, label and aliases -> code ID, for mapping imported code names."""
        index: dict[str, str] = {}
        for code in self.codes:
            for name in (code.id, code.label, *code.aliases):
                index.setdefault(" ".join(name.lower().split()), code.id)
        return index


def _location(loc: tuple, data: dict) -> str:
    """'code 'x' field 'patterns[2]'' from a pydantic error location."""
    if len(loc) >= 2 and loc[0] == "codes" and isinstance(loc[1], int):
        codes = data.get("codes") or []
        entry = codes[loc[1]] if loc[1] < len(codes) else {}
        name = entry.get("id") if isinstance(entry, dict) else None
        where = f"code '{name}'" if name else f"codes[{loc[1]}]"
        rest = loc[2:]
        if rest:
            field = str(rest[0]) + "".join(f"[{p}]" if isinstance(p, int) else f".{p}"
                                           for p in rest[1:])
            return f"{where} field '{field}'"
        return where
    return "field '" + ".".join(str(p) for p in loc) + "'"


def _lemma_values(token: dict) -> list[str]:
    value = token.get("LEMMA")
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [v for key in ("IN", "NOT_IN") for v in value.get(key, []) if isinstance(v, str)]
    return []


def _pattern_problems(codebook: Codebook) -> list[str]:
    """Run every token pattern through spaCy's Matcher validation."""
    rules = json.dumps([[code.id, code.patterns, code.phrases] for code in codebook.codes])
    return list(_rule_problems(rules))


@lru_cache(maxsize=4)
def _rule_problems(rules_json: str) -> tuple[str, ...]:
    """The check behind _pattern_problems, by the codes' rules as JSON: memoised, as the
    jobs a worker process runs each load the same codebook and spaCy takes a second."""
    import spacy
    from spacy.matcher import Matcher

    matcher = Matcher(spacy.blank("en").vocab, validate=True)
    problems = []
    for code_id, patterns, phrases in json.loads(rules_json):
        for number, pattern in enumerate(patterns):
            upper = [v for token in pattern for v in _lemma_values(token) if v != v.lower()]
            if upper:
                problems.append(f"code '{code_id}' field 'patterns[{number}]': LEMMA values are "
                                f"lower case (lemmas are looked up in lower case): {upper}")
            try:
                matcher.add(f"{code_id}#{number}", [pattern])
            except (ValueError, KeyError, TypeError) as error:
                detail = " ".join(str(error).split())
                problems.append(f"code '{code_id}' field 'patterns[{number}]': spaCy rejects the "
                                f"pattern: {detail[:300]}")
        for number, phrase in enumerate(phrases):
            if not phrase.strip():
                problems.append(f"code '{code_id}' field 'phrases[{number}]': empty phrase")
    return tuple(problems)


def parse_codebook(data: Any, *, source: str = "codebook") -> Codebook:
    if not isinstance(data, dict):
        raise CodebookError(source, ["the file must be a mapping with 'families' and 'codes'"])
    try:
        codebook = Codebook.model_validate(data)
    except ValidationError as error:
        problems = [f"{_location(e['loc'], data)}: {e['msg']}" for e in error.errors()]
        raise CodebookError(source, problems) from None
    problems = []
    seen: dict[str, int] = {}
    for number, code in enumerate(codebook.codes):
        if code.id in seen:
            problems.append(f"code '{code.id}' field 'id': duplicate (also codes[{seen[code.id]}])")
        seen.setdefault(code.id, number)
        if code.family not in codebook.families:
            problems.append(f"code '{code.id}' field 'family': unknown family '{code.family}' "
                            f"(known: {', '.join(codebook.families)})")
        if code.id.split(".")[0] != code.family:
            problems.append(f"code '{code.id}' field 'family': the ID's prefix must be its "
                            f"family ('{code.family}')")
        if not code.phrases and not code.patterns:
            problems.append(f"code '{code.id}' field 'phrases': give at least one phrase or "
                            "pattern, so the rule layer can show evidence")
    problems += _pattern_problems(codebook)
    if problems:
        raise CodebookError(source, problems)
    return codebook


def load_codebook(path: str | Path) -> Codebook:
    """The codebook at `path`, validated; read once per process while the file stays the
    same (checking its patterns builds spaCy matchers: 0.2 s, in a dozen jobs of a run).
    The Codebook returned is shared: never change it."""
    try:
        return _load_codebook_once(path)
    except FileNotFoundError:
        raise CodebookError(str(path), ["file not found"]) from None


def _read_codebook(path: Path) -> Codebook:
    text = path.read_text(encoding="utf-8")
    try:
        data = parse_yaml(text)
    except yaml.YAMLError as error:
        raise CodebookError(str(path), [f"not valid YAML: {error}"]) from None
    return parse_codebook(data, source=str(path))


_load_codebook_once = read_once_per_version(_read_codebook)


def parse_yaml(text: str) -> object:
    """YAML through libyaml where PyYAML has it: every job that reads the codebook parses
    it, and the pure-Python parser took 0.2-0.5 s of each. Text libyaml rejects is parsed
    again in pure Python, whose message quotes the offending line."""
    loader = getattr(yaml, "CSafeLoader", None)
    if loader is not None:
        try:
            return yaml.load(text, Loader=loader)  # a safe loader (CSafeLoader or SafeLoader)
        except yaml.YAMLError:
            pass
    return yaml.safe_load(text)


def file_hash(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
