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
