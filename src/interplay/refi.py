"""REFI-QDA export: the coded corpus as a .qdpx project that NVivo, ATLAS.ti, MAXQDA and
QualCoder can open (REFI-QDA 1.5; Project schema urn:QDA-XML:project:1.0).

The project holds: the codebook as a hierarchy (family -> code) with colours and
definitions; each document as a TextSource stored as UTF-8 text under `sources/` and
referenced as `internal://<guid>.txt`; each passage with final codes (coded_passages.csv)
as a PlainTextSelection whose start and end positions are character offsets into that
text (as the specification counts them), with one Coding per code and a Note holding the
machine's scores; one Case per site, with the site's sources, and source variables for
actor, kind and date. GUIDs are derived from stable IDs (uuid5), so a re-export is
identical.

Who coded what: a machine-coded passage's codings are by the user "interplay machine
coder". A passage whose codes a review decided is coded by its reviewers instead, one User
each and one Coding per code per reviewer (so two agreeing reviewers both appear); its
note also keeps the machine's own codes, the review status and the reviewers' comments,
so a QDA tool shows what the review overrode.
"""

from __future__ import annotations

import functools
import re
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from interplay.codebook import Codebook
from interplay.passage_table import CodedPassage

NS = "urn:QDA-XML:project:1.0"
QDC_NS = "urn:QDA-XML:codebook:1.0"
GUID_NAMESPACE = uuid.UUID("6f1d3c52-9d0e-4c1b-9a57-3c1f2d7e4b10")
MACHINE_CODER = "interplay machine coder"
SOURCE_VARIABLES = ("actor", "kind", "date")
XML_INVALID = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@functools.lru_cache(maxsize=4096)  # a code's or variable's GUID is asked for per coding
def guid(*parts: str) -> str:
    return str(uuid.uuid5(GUID_NAMESPACE, "\x1f".join(parts))).upper()


def xml_text(value: str) -> str:
    """Text as XML 1.0 allows it (control characters from a document are dropped)."""
    return XML_INVALID.sub("", value)


@dataclass(frozen=True)
class Source:
    doc_id: str
    title: str
    site: str
    actor: str
    kind: str
    date: str
    text: str


@dataclass(frozen=True)
class Selection:
    passage_id: str
    doc_id: str
    start: int
    end: int
    codes: tuple[str, ...]
    scores: dict[str, float] = field(default_factory=dict)
    coders: tuple[str, ...] = (MACHINE_CODER,)  # each codes every one of `codes`
    machine_codes: tuple[str, ...] = ()
    review_status: str = ""
    review_comments: str = ""

    @property
    def reviewed(self) -> bool:
        return self.coders != (MACHINE_CODER,)


def passage_selection(passage: CodedPassage) -> Selection:
    """A passage's final codes as a selection: coded by its reviewers when a review decided
    them (with the scores of the machine's codes as well as theirs), else by the machine."""
    reviewers = passage.reviewers
    scored = passage.codes + (passage.machine_codes if reviewers else ())
    return Selection(passage_id=passage.passage_id, doc_id=passage.doc_id,
                     start=passage.start, end=passage.end, codes=passage.codes,
                     scores={c: passage.scores[c] for c in scored if c in passage.scores},
                     coders=reviewers or (MACHINE_CODER,),
                     machine_codes=passage.machine_codes,
                     review_status=passage.review_status,
                     review_comments=passage.review_comments)


def selection_note(selection: Selection) -> str:
    """What the codings do not show: the machine's scores and, once reviewed, the machine's
    own codes, the review status and the reviewers' comments."""
    lines = []
    if selection.reviewed:
        lines.append(f"{MACHINE_CODER} codes: {'; '.join(selection.machine_codes) or 'none'}")
    if selection.scores:
        scores = "; ".join(f"{c} {s:.2f}" for c, s in
                           sorted(selection.scores.items(), key=lambda x: -x[1]))
        lines.append(f"{MACHINE_CODER} scores: {scores}")
    if selection.review_status == "conflict":
        lines.append("review: conflict (the reviewers disagree, so the machine's codes stand)")
    elif selection.review_status:
        lines.append(f"review: {selection.review_status}, by {', '.join(selection.coders)}")
    if selection.review_comments:
        lines.append(f"reviewer comments: {selection.review_comments}")
    return "\n".join(lines)


def _element(parent: etree._Element, tag: str, namespace: str = NS, **attributes: str
             ) -> etree._Element:
    return etree.SubElement(parent, f"{{{namespace}}}{tag}",
                            {k: xml_text(v) for k, v in attributes.items()})


def _text_element(parent: etree._Element, tag: str, text: str, namespace: str = NS
                  ) -> etree._Element:
    element = _element(parent, tag, namespace)
    element.text = xml_text(text)
    return element


def _add_codes(codes_element: etree._Element, codebook: Codebook, namespace: str) -> None:
    """Families as non-codable parents, codes beneath them with colour and definition."""
    for family_id, family in codebook.families.items():
        family_element = _element(codes_element, "Code", namespace,
                                  guid=guid("family", family_id), name=family.label,
                                  isCodable="false")
        if family.description:
            _text_element(family_element, "Description", family.description, namespace)
        for code in (c for c in codebook.codes if c.family == family_id):
            code_element = _element(family_element, "Code", namespace,
                                    guid=guid("code", code.id), name=code.label,
                                    isCodable="true", color=code.colour)
            _text_element(code_element, "Description", f"[{code.id}] {code.definition}",
                          namespace)


def codebook_exchange(codebook: Codebook) -> bytes:
    """The codebook alone as a REFI-QDA codebook exchange file (.qdc)."""
    root = etree.Element(f"{{{QDC_NS}}}CodeBook", nsmap={None: QDC_NS}, origin="interplay")
    _add_codes(_element(root, "Codes", QDC_NS), codebook, QDC_NS)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)


def build_project(codebook: Codebook, sources: list[Source], selections: list[Selection], *,
                  name: str) -> etree._Element:
    """The project.qde document; positions are checked against each source's text."""
    texts = {s.doc_id: s.text for s in sources}
    for selection in selections:
        text = texts.get(selection.doc_id)
        if text is None or not 0 <= selection.start < selection.end <= len(text):
            raise ValueError(f"selection {selection.passage_id} [{selection.start}:"
                             f"{selection.end}] does not fit source {selection.doc_id}")
    users = sorted({c for s in selections for c in s.coders} | {MACHINE_CODER})
    user_guid = {u: guid("user", u) for u in users}
    project = etree.Element(f"{{{NS}}}Project", nsmap={None: NS},
                            name=xml_text(name), origin="interplay",
                            creatingUserGUID=user_guid[MACHINE_CODER])
    users_element = _element(project, "Users")
    for user in users:
        _element(users_element, "User", guid=user_guid[user], name=user)

    _add_codes(_element(_element(project, "CodeBook"), "Codes"), codebook, NS)

    variables = _element(project, "Variables")
    for variable in SOURCE_VARIABLES:
        _element(variables, "Variable", guid=guid("variable", variable), name=variable,
                 typeOfVariable="Text")

    cases = _element(project, "Cases")
    for site in sorted({s.site for s in sources}):
        case = _element(cases, "Case", guid=guid("case", site), name=site)
        for source in sources:
            if source.site == site:
                _element(case, "SourceRef", targetGUID=guid("source", source.doc_id))

    by_doc: dict[str, list[Selection]] = {}
    for selection in selections:
        by_doc.setdefault(selection.doc_id, []).append(selection)
    sources_element = _element(project, "Sources")
    notes: list[tuple[str, str, str]] = []  # (guid, review status, content)
    for source in sources:
        source_guid = guid("source", source.doc_id)
        element = _element(sources_element, "TextSource", guid=source_guid,
                           name=f"{source.doc_id} {source.title}".strip(),
                           plainTextPath=f"internal://{source_guid}.txt")
        for selection in sorted(by_doc.get(source.doc_id, []), key=lambda s: s.start):
            selection_guid = guid("selection", selection.passage_id)
            chosen = _element(element, "PlainTextSelection", guid=selection_guid,
                              name=selection.passage_id, startPosition=str(selection.start),
                              endPosition=str(selection.end),
                              creatingUser=user_guid[selection.coders[0]])
            for coder in selection.coders:
                for code in selection.codes:
                    # the machine's coding GUIDs predate reviews: keep them stable
                    parts = (code,) if coder == MACHINE_CODER else (code, coder)
                    coding = _element(chosen, "Coding",
                                      guid=guid("coding", selection.passage_id, *parts),
                                      creatingUser=user_guid[coder])
                    _element(coding, "CodeRef", targetGUID=guid("code", code))
            note_text = selection_note(selection)
            if note_text:
                note_guid = guid("note", selection.passage_id)
                _element(chosen, "NoteRef", targetGUID=note_guid)
                notes.append((note_guid, selection.review_status, note_text))
        for variable in SOURCE_VARIABLES:
            value = _element(element, "VariableValue")
            _element(value, "VariableRef", targetGUID=guid("variable", variable))
            _text_element(value, "TextValue", getattr(source, variable))
    if notes:
        notes_element = _element(project, "Notes")
        for note_guid, review_status, content in notes:
            note = _element(notes_element, "Note", guid=note_guid,
                            name="coder scores and review" if review_status else "coder scores",
                            creatingUser=user_guid[MACHINE_CODER])
            _text_element(note, "PlainTextContent", content)
    return project


def write_qdpx(path: str | Path, codebook: Codebook, sources: list[Source],
               selections: list[Selection], *, name: str) -> None:
    """A .qdpx: zip of project.qde and the sources as UTF-8 text, written atomically."""
    from interplay.fileio import atomic_open

    project = build_project(codebook, sources, selections, name=name)
    xml = etree.tostring(project, xml_declaration=True, encoding="utf-8", pretty_print=True)
    with atomic_open(path, "wb") as handle, zipfile.ZipFile(handle, "w",
                                                            zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("project.qde", xml)
        for source in sources:
            archive.writestr(f"sources/{guid('source', source.doc_id)}.txt",
                             source.text.encode("utf-8"))


def export_to_file(corpus_dir: str, text_files: list[str], coded_csv: str, codebook_path: str,
                   out_path: str) -> int:
    """The workflow's edge: the documents' texts and coded_passages.csv (whose final codes
    are the reviewers' where a review decided them) into outputs/project.qdpx; returns the
    number of selections (passages with at least one final code)."""
    from interplay.codebook import load_codebook
    from interplay.fileio import atomic_open
    from interplay.metadata import read_corpus
    from interplay.passage_table import read_coded_passages

    documents = read_corpus(corpus_dir).by_id()
    sources = []
    for path in sorted(text_files):
        doc_id = Path(path).stem
        text = Path(path).read_text(encoding="utf-8")
        document = documents.get(doc_id)
        if document is None or not text:
            continue  # unreadable documents are listed in problems.csv, not exported empty
        sources.append(Source(doc_id=doc_id, title=document.title, site=document.site,
                              actor=document.actor, kind=document.kind, date=document.date,
                              text=text))
    selections = [passage_selection(p) for p in read_coded_passages(coded_csv) if p.codes]
    codebook = load_codebook(codebook_path)
    write_qdpx(out_path, codebook, sources, selections,
               name=f"interplay: {Path(corpus_dir).resolve().name}")
    with atomic_open(Path(out_path).with_name("codebook.qdc"), "wb") as handle:
        handle.write(codebook_exchange(codebook))
    return len(selections)


# --- import -------------------------------------------------------------------------------

@dataclass
class ImportResult:
    rows: list[dict]  # annotation rows: doc_id, text, codes, coder ("alice;bob" when several)
    unmapped: dict[str, int]  # code name -> codings that could not be mapped
    warnings: list[str]


def _safe_parser() -> etree.XMLParser:
    """No DTDs, no entity expansion, no network: a project file cannot reach outside itself."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           huge_tree=False)


def read_qdpx(path: str | Path, codebook: Codebook) -> ImportResult:
    """Human codings from a .qdpx (NVivo, ATLAS.ti, MAXQDA, QualCoder, or interplay's own),
    as annotation rows; code names are mapped to codebook IDs through IDs, labels and
    aliases, and what cannot be mapped is counted, never guessed. A row's coder is whoever
    made its mapped codings (users joined by ';'), so a passage interplay exported as
    reviewed comes back as its reviewers' coding, not the machine's."""
    from interplay.errors import InterplayError

    aliases = codebook.alias_index()
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        raise InterplayError(f"{path}: not a .qdpx (zip) file: {error}") from None
    with archive:
        names = set(archive.namelist())
        if "project.qde" not in names:
            raise InterplayError(f"{path}: no project.qde inside; is this a REFI-QDA project?")
        try:
            project = etree.fromstring(archive.read("project.qde"), _safe_parser())
        except etree.XMLSyntaxError as error:
            raise InterplayError(f"{path}: project.qde is not valid XML: {error}") from None
        if any(isinstance(node, etree._Entity) for node in project.iter()):
            raise InterplayError(f"{path}: project.qde uses XML entities; refusing to read it")
        ns = {"q": NS}
        users = {u.get("guid"): u.get("name") or u.get("guid") for u in project.iterfind(".//q:User", ns)}
        code_names = {c.get("guid"): c.get("name") or "" for c in project.iterfind(".//q:Code", ns)}
        code_ids: dict[str, str | None] = {}
        for code in project.iterfind(".//q:Code", ns):
            description = code.findtext("q:Description", default="", namespaces=ns)
            tagged = re.match(r"\[([\w.]+)\]", description)
            name = " ".join((code.get("name") or "").lower().split())
            code_ids[code.get("guid")] = (tagged.group(1) if tagged and tagged.group(1) in codebook.by_id
                                          else aliases.get(name))
        rows, unmapped, warnings = [], {}, []
        for source in project.iterfind(".//q:TextSource", ns):
            text = _source_text(archive, names, source, ns)
            if text is None:
                warnings.append(f"source '{source.get('name')}': text not found in the project")
                continue
            doc_id = (source.get("name") or "").split(" ")[0] or source.get("guid")
            for selection in source.iterfind("q:PlainTextSelection", ns):
                start, end = int(selection.get("startPosition")), int(selection.get("endPosition"))
                if not 0 <= start < end <= len(text):
                    warnings.append(f"selection {selection.get('guid')} [{start}:{end}] lies "
                                    f"outside source '{source.get('name')}'; skipped")
                    continue
                codes, coders = [], []
                for coding in selection.iterfind("q:Coding", ns):
                    target = coding.find("q:CodeRef", ns).get("targetGUID")
                    mapped = code_ids.get(target)
                    if mapped:
                        codes.append(mapped)
                        coders.append(users.get(coding.get("creatingUser"))
                                      or users.get(selection.get("creatingUser"), ""))
                    else:
                        label = code_names.get(target, target)
                        unmapped[label] = unmapped.get(label, 0) + 1
                if codes:
                    ordered = [c for c in codebook.ids if c in codes]
                    rows.append({"doc_id": doc_id, "text": text[start:end],
                                 "codes": ";".join(ordered),
                                 "coder": ";".join(dict.fromkeys(c for c in coders if c))})
    return ImportResult(rows=rows, unmapped=unmapped, warnings=warnings)


def _source_text(archive: zipfile.ZipFile, names: set[str], source: etree._Element,
                 ns: dict) -> str | None:
    inline = source.findtext("q:PlainTextContent", default=None, namespaces=ns)
    if inline is not None:
        return inline
    path = source.get("plainTextPath") or ""
    if not path.startswith("internal://"):
        return None  # external files are not followed
    member = "sources/" + path.removeprefix("internal://")
    if member not in names or "/" in member.removeprefix("sources/") or ".." in member:
        return None
    return archive.read(member).decode("utf-8-sig")
