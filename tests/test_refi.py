import csv
import zipfile

import pytest
from lxml import etree

from interplay.codebook import load_codebook
from interplay.refi import NS, Selection, Source, build_project, guid, write_qdpx

TEXT = "Intro.\n\nWe went out to tender in 2015 – and lost.\n\nThe council pooled the £2m."


@pytest.fixture(scope="module")
def codebook(repo):
    return load_codebook(repo / "config" / "codebook.yaml")


@pytest.fixture(scope="module")
def schema(shared):
    return etree.XMLSchema(etree.parse(str(shared / "refi-qda" / "Project-mrt2019.xsd")))


def sample(title="Board paper <script>alert(1)</script>\x0c"):
    source = Source(doc_id="D1", title=title, site="harbourside", actor="commissioner",
                    kind="document", date="2016-01-01", text=TEXT)
    start = TEXT.index("We went")
    selections = [
        Selection("D1:a", "D1", start, TEXT.index(" lost.") + 6,
                  ("competition.tendering",), {"competition.tendering": 0.91}),
        Selection("D1:b", "D1", TEXT.index("The council"), len(TEXT),
                  ("cooperation.partnership", "contract.payment"),
                  {"cooperation.partnership": 0.7, "contract.payment": 0.6}),
    ]
    return [source], selections


def test_project_validates_against_the_official_schema(codebook, schema):
    project = build_project(codebook, *sample(), name="test")
    schema.assertValid(project)


def test_qdpx_holds_sources_and_exact_positions(tmp_path, codebook, schema):
    sources, selections = sample()
    path = tmp_path / "project.qdpx"
    write_qdpx(path, codebook, sources, selections, name="test")
    with zipfile.ZipFile(path) as archive:
        project = etree.fromstring(archive.read("project.qde"))
        schema.assertValid(project)
        ns = {"q": NS}
        [source] = project.findall(".//q:TextSource", ns)
        stored = source.get("plainTextPath")
        assert stored == f"internal://{guid('source', 'D1')}.txt"
        text = archive.read(f"sources/{stored.removeprefix('internal://')}").decode("utf-8")
    assert text == TEXT
    found = {}
    for selection in project.findall(".//q:PlainTextSelection", ns):
        start, end = int(selection.get("startPosition")), int(selection.get("endPosition"))
        codes = [c.find("q:CodeRef", ns).get("targetGUID") for c in selection.findall("q:Coding", ns)]
        found[text[start:end]] = codes
    assert found == {
        "We went out to tender in 2015 – and lost.": [guid("code", "competition.tendering")],
        "The council pooled the £2m.": [guid("code", "cooperation.partnership"),
                                        guid("code", "contract.payment")]}
    families = project.findall("q:CodeBook/q:Codes/q:Code", ns)
    assert [f.get("name") for f in families] == ["Competition", "Cooperation", "Regulation",
                                                 "Contract design"]
    assert all(f.get("isCodable") == "false" for f in families)
    assert families[0].find("q:Code", ns).get("color").startswith("#")


def test_markup_in_documents_is_escaped(codebook):
    xml = etree.tostring(build_project(codebook, *sample(), name="x")).decode()
    assert "<script>" not in xml and "&lt;script&gt;" in xml and "\x0c" not in xml


def test_re_export_is_identical_and_bad_offsets_are_refused(codebook):
    first = etree.tostring(build_project(codebook, *sample(), name="x"))
    assert etree.tostring(build_project(codebook, *sample(), name="x")) == first
    sources, _ = sample()
    bad = [Selection("D1:c", "D1", 5, len(TEXT) + 3, ("contract.payment",))]
    with pytest.raises(ValueError, match="does not fit source D1"):
        build_project(codebook, sources, bad, name="x")


def test_codebook_exchange_file(codebook):
    from interplay.refi import QDC_NS, codebook_exchange

    root = etree.fromstring(codebook_exchange(codebook))
    assert root.tag == f"{{{QDC_NS}}}CodeBook"
    codes = root.findall(f".//{{{QDC_NS}}}Code[@isCodable='true']")
    assert len(codes) == 11
    assert codes[0].get("guid") == guid("code", "competition.tendering")


def test_round_trip_export_then_import_gives_the_same_codings(tmp_path, codebook):
    from interplay.refi import read_qdpx

    sources, selections = sample(title="Board paper")
    path = tmp_path / "project.qdpx"
    write_qdpx(path, codebook, sources, selections, name="test")
    result = read_qdpx(path, codebook)
    assert result.unmapped == {} and result.warnings == []
    assert [(r["doc_id"], r["text"], r["codes"]) for r in result.rows] == [
        ("D1", TEXT[s.start:s.end], ";".join(c for c in codebook.ids if c in s.codes))
        for s in selections]
    assert {r["coder"] for r in result.rows} == {"interplay machine coder"}


def _qdpx_with(tmp_path, project_xml: str, extra: dict | None = None):
    path = tmp_path / "other.qdpx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("project.qde", project_xml)
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return path


def test_codes_named_by_another_tool_map_through_aliases(tmp_path, codebook):
    from interplay.refi import read_qdpx

    code, other, source, user = ("A182CD3A-D83C-4D8C-BC80-26D9103EC6D6",
                                 "2D2466F0-D77F-4F8C-BDF9-628966B6B74D",
                                 "086AC733-7B1C-4749-A138-D7182F63A5C9",
                                 "088B08AC-D5CD-4ADB-8B71-B4F3459C177F")
    xml = f"""<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="p"><Users><User guid="{user}" name="Ana"/></Users>
<CodeBook><Codes><Code guid="{code}" name="Any Qualified Provider" isCodable="true"/>
<Code guid="{other}" name="Emotions" isCodable="true"/></Codes></CodeBook>
<Sources><TextSource guid="{source}" name="INT-9 interview" plainTextPath="internal://{source}.txt">
<PlainTextSelection guid="{source}" startPosition="0" endPosition="22" creatingUser="{user}">
<Coding guid="{code}" creatingUser="{user}"><CodeRef targetGUID="{code}"/></Coding>
<Coding guid="{other}" creatingUser="{user}"><CodeRef targetGUID="{other}"/></Coding>
</PlainTextSelection></TextSource></Sources></Project>"""
    path = _qdpx_with(tmp_path, xml, {f"sources/{source}.txt": "Hearing went to AQP in 2013."})
    result = read_qdpx(path, codebook)
    assert result.rows == [{"doc_id": "INT-9", "text": "Hearing went to AQP in",
                            "codes": "competition.choice", "coder": "Ana"}]
    assert result.unmapped == {"Emotions": 1}


def test_external_entities_are_refused(tmp_path, codebook):
    from interplay.errors import InterplayError
    from interplay.refi import read_qdpx

    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    xml = f"""<?xml version="1.0"?>
<!DOCTYPE Project [<!ENTITY leak SYSTEM "file://{secret}">]>
<Project xmlns="urn:QDA-XML:project:1.0" name="p"><Description>&leak;</Description></Project>"""
    with pytest.raises(InterplayError, match="uses XML entities") as error:
        read_qdpx(_qdpx_with(tmp_path, xml), codebook)
    assert "TOP SECRET" not in str(error.value)


def test_source_paths_cannot_leave_the_project(tmp_path, codebook):
    from interplay.refi import read_qdpx

    (tmp_path / "secret.txt").write_text("TOP SECRET")
    source = "086AC733-7B1C-4749-A138-D7182F63A5C9"
    xml = f"""<?xml version="1.0"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="p"><Sources>
<TextSource guid="{source}" name="x" plainTextPath="internal://../../secret.txt">
<PlainTextSelection guid="{source}" startPosition="0" endPosition="3"/></TextSource>
<TextSource guid="{source}" name="y" plainTextPath="file:///etc/passwd"/>
</Sources></Project>"""
    result = read_qdpx(_qdpx_with(tmp_path, xml, {"../../secret.txt": "zip slip"}), codebook)
    assert result.rows == []
    assert len(result.warnings) == 2 and all("text not found" in w for w in result.warnings)


# -- export from coded_passages.csv: who coded what ---------------------------------------

TENDER, PARTNERSHIP, CONTRACTING = ("competition.tendering", "cooperation.partnership",
                                    "cooperation.contracting")
REVIEWED_TEXT = ("Intro.\n\nWe went out to tender in 2015 – and lost.\n\n"
                 "The council pooled the £2m.\n\nWe signed an alliance contract with the trust."
                 "\n\nNothing to code here, honestly.\n\nA tender, and a partnership too.")
# (passage_id, first words, final codes, machine codes, coded_by, review_status, comments);
# every passage but the first is codable and scored.
REVIEWED_PASSAGES = [
    ("D1:intro", "Intro.", "", "", "", "", ""),
    ("D1:machine", "We went", TENDER, TENDER, "machine", "", ""),
    ("D1:changed", "The council", PARTNERSHIP, TENDER, "alice", "changed",
     "alice: not about <tendering> & co\x0b"),
    ("D1:agreed", "We signed", CONTRACTING, CONTRACTING, "alice;bob", "agrees",
     "alice: alliance | bob: agree"),
    ("D1:removed", "Nothing", "", "contract.payment", "bob", "changed", "bob: nothing here"),
    ("D1:conflict", "A tender", TENDER, TENDER, "machine", "conflict",
     f"alice: {PARTNERSHIP} | bob: {TENDER}"),
]


def reviewed_corpus(tmp_path, codebook, *, review_columns=True):
    """A corpus of one document, its text file and a coded_passages.csv with reviews."""
    from builders import write_metadata

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "D1.txt").write_text("placeholder\n", encoding="utf-8")
    write_metadata(corpus, [{"doc_id": "D1", "path": "D1.txt", "site": "harbourside",
                             "kind": "document", "actor": "commissioner",
                             "date": "2016-01-01", "title": "Board paper"}])
    text_file = tmp_path / "text" / "D1.txt"
    text_file.parent.mkdir()
    text_file.write_bytes(REVIEWED_TEXT.encode("utf-8"))
    review = ["coded_by", "machine_codes", "review_status", "review_comments"]
    columns = ["passage_id", "doc_id", "site", "actor", "kind", "speaker_role", "page",
               "start", "end", "text", "codes", "orientation",
               *(review if review_columns else []),
               *(f"score:{c}" for c in codebook.ids), "evidence"]
    paragraphs = REVIEWED_TEXT.split("\n\n")
    rows = []
    for pid, opening, codes, machine, coded_by, status, comments in REVIEWED_PASSAGES:
        passage = next(p for p in paragraphs if p.startswith(opening))
        start = REVIEWED_TEXT.index(passage)
        scored = pid != "D1:intro"
        row = {"passage_id": pid, "doc_id": "D1", "site": "harbourside",
               "actor": "commissioner", "kind": "document", "page": "1",
               "start": start, "end": start + len(passage), "text": passage,
               "codes": codes if review_columns else machine,
               "orientation": codebook.orientation(codes.split(";") if codes else []),
               "coded_by": coded_by, "machine_codes": machine, "review_status": status,
               "review_comments": comments, "evidence": ""}
        for code in codebook.ids:
            row[f"score:{code}"] = (0.9 if code in machine else 0.3 if code in codes
                                    else 0.05) if scored else ""
        rows.append(row)
    coded = tmp_path / "coded_passages.csv"
    with open(coded, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return corpus, [str(text_file)], coded


def export_reviewed(tmp_path, repo, codebook, **options):
    from interplay.refi import export_to_file

    corpus, text_files, coded = reviewed_corpus(tmp_path, codebook, **options)
    path = tmp_path / "project.qdpx"
    count = export_to_file(str(corpus), text_files, str(coded),
                           str(repo / "config" / "codebook.yaml"), str(path))
    with zipfile.ZipFile(path) as archive:
        project = etree.fromstring(archive.read("project.qde"))
    return count, path, project


def selections_by_name(project):
    ns = {"q": NS}
    users = {u.get("guid"): u.get("name") for u in project.iterfind(".//q:User", ns)}
    notes = {n.get("guid"): n.findtext("q:PlainTextContent", namespaces=ns)
             for n in project.iterfind(".//q:Note", ns)}
    found = {}
    for selection in project.iterfind(".//q:PlainTextSelection", ns):
        codings = [(c.get("guid"), users[c.get("creatingUser")],
                    c.find("q:CodeRef", ns).get("targetGUID"))
                   for c in selection.findall("q:Coding", ns)]
        note = selection.find("q:NoteRef", ns)
        found[selection.get("name")] = {
            "user": users[selection.get("creatingUser")], "codings": codings,
            "note": notes[note.get("targetGUID")] if note is not None else None}
    return found


def test_export_from_the_coded_table_codes_reviewed_passages_by_their_reviewers(
        tmp_path, repo, codebook, schema):
    count, _, project = export_reviewed(tmp_path, repo, codebook)
    schema.assertValid(project)
    assert count == 4  # not the uncodable intro, nor the passage a reviewer emptied
    users = {u.get("name"): u.get("guid") for u in project.iterfind(f".//{{{NS}}}User")}
    assert users == {name: guid("user", name)
                     for name in ("interplay machine coder", "alice", "bob")}
    found = selections_by_name(project)
    assert set(found) == {"D1:machine", "D1:changed", "D1:agreed", "D1:conflict"}

    machine = found["D1:machine"]  # exported exactly as before reviews existed
    assert machine["codings"] == [(guid("coding", "D1:machine", TENDER),
                                   "interplay machine coder", guid("code", TENDER))]
    assert machine["note"] == f"interplay machine coder scores: {TENDER} 0.90"

    changed = found["D1:changed"]
    assert changed["user"] == "alice"
    assert changed["codings"] == [(guid("coding", "D1:changed", PARTNERSHIP, "alice"), "alice",
                                   guid("code", PARTNERSHIP))]
    assert changed["note"] == (
        f"interplay machine coder codes: {TENDER}\n"
        f"interplay machine coder scores: {TENDER} 0.90; {PARTNERSHIP} 0.30\n"
        "review: changed, by alice\n"
        "reviewer comments: alice: not about <tendering> & co")  # control character dropped

    agreed = found["D1:agreed"]
    assert sorted(agreed["codings"]) == sorted(
        (guid("coding", "D1:agreed", CONTRACTING, who), who, guid("code", CONTRACTING))
        for who in ("alice", "bob"))
    assert "review: agrees, by alice, bob" in agreed["note"]

    conflict = found["D1:conflict"]
    assert {who for _, who, _ in conflict["codings"]} == {"interplay machine coder"}
    assert "review: conflict (the reviewers disagree, so the machine's codes stand)" in \
        conflict["note"]
    assert f"reviewer comments: alice: {PARTNERSHIP} | bob: {TENDER}" in conflict["note"]


def test_reviewer_comments_are_escaped_in_the_project_file(tmp_path, repo, codebook):
    _, path, _ = export_reviewed(tmp_path, repo, codebook)
    with zipfile.ZipFile(path) as archive:
        xml = archive.read("project.qde").decode("utf-8")
    assert "not about &lt;tendering&gt; &amp; co" in xml and "<tendering>" not in xml
    assert "\x0b" not in xml


def test_a_table_without_review_columns_exports_every_code_as_the_machines(
        tmp_path, repo, codebook, schema):
    count, _, project = export_reviewed(tmp_path, repo, codebook, review_columns=False)
    schema.assertValid(project)
    found = selections_by_name(project)
    assert count == 5 and "D1:removed" in found  # the machine's codes, unreviewed
    assert {who for s in found.values() for _, who, _ in s["codings"]} == \
        {"interplay machine coder"}
    assert [u.get("name") for u in project.iterfind(f".//{{{NS}}}User")] == \
        ["interplay machine coder"]


def test_an_imported_reviewed_passage_is_the_reviewers_coding(tmp_path, repo, codebook):
    from interplay.refi import read_qdpx

    _, path, _ = export_reviewed(tmp_path, repo, codebook)
    result = read_qdpx(path, codebook)
    assert result.unmapped == {} and result.warnings == []
    paragraphs = REVIEWED_TEXT.split("\n\n")
    assert [(r["text"], r["codes"], r["coder"]) for r in result.rows] == [
        (paragraphs[1], TENDER, "interplay machine coder"),
        (paragraphs[2], PARTNERSHIP, "alice"),
        (paragraphs[3], CONTRACTING, "alice;bob"),
        (paragraphs[5], TENDER, "interplay machine coder")]
