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
