"""Site summaries and the framework matrix: numbers, quote choice, exact offsets, rendering."""

import csv
import json
import re
from dataclasses import replace

import openpyxl
import pandas as pd
import pytest
from conftest import read_csv

from interplay.codebook import load_codebook
from interplay.metadata import Document
from interplay.summarise import (
    MATRIX_SHEETS,
    QuoteOffsetError,
    SummaryError,
    SummarySettings,
    best_excerpt,
    choose_diverse,
    code_header,
    framework_tables,
    markdown_cell,
    markdown_text,
    percent,
    prepare_passages,
    sentence_spans,
    site_file_stem,
    site_file_stems,
    site_markdown,
    summarise_sites,
    summary_quotes,
    verify_quotes,
    write_framework_matrix,
    write_matrix_xlsx,
    write_site_summaries,
)

TENDER = "competition.tendering"
INTEGRATION = "cooperation.integration"
RELATIONSHIPS = "cooperation.relationships"
PARTNERSHIP = "cooperation.partnership"
LAW = "regulation.procurement_law"

LONG_PASSAGE = (
    "The governing body met in March and heard a long report on the estates programme. "
    "Several members asked about car parking at the community hospital and about the "
    "timetable for the new signage. The finance lead reminded members of the budget position "
    "and the need to keep spending within the allocation for the year. Members also noted the "
    "staff survey results and thanked the teams involved for their work over the winter. "
    "After a long discussion we decided to go out to tender for the frailty service, because "
    "the market engagement showed three capable bidders. The chair closed the meeting by "
    "thanking the public for attending and reminding them of the date of the next meeting, "
    "which will be held in the town hall in May.")
HOSTILE = "The bidders | scored <script>alert(1)</script> on the tender * evaluation_grid."

# (doc_id, site, kind, actor, speaker_role, text, {code: score} or None when not codable)
PASSAGES = [
    ("A-INT-1", "alpha", "interview", "commissioner", "interviewer",
     "Can you tell me about the tender?", None),
    ("A-INT-1", "alpha", "interview", "commissioner", "commissioner",
     "We went out to tender for community services and the incumbent trust lost the bid.",
     {TENDER: 0.97}),
    ("A-INT-1", "alpha", "interview", "commissioner", "commissioner",
     "Second tender story: the evaluation panel scored six bids against the specification.",
     {TENDER: 0.96}),
    ("A-INT-1", "alpha", "interview", "commissioner", "provider",
     "As the trust we bid in the tender, but we built an integrated care model with the GPs.",
     {TENDER: 0.81, INTEGRATION: 0.77}),
    ("A-INT-2", "alpha", "interview", "provider", "provider",
     "The tender was lost; still, trust between the partners stayed good.",
     {TENDER: 0.9, RELATIONSHIPS: 0.7}),
    ("A-INT-2", "alpha", "interview", "provider", "provider",
     "Relationships with the commissioners matter more than contracts to us, honestly.",
     {RELATIONSHIPS: 0.88}),
    ("A-INT-2", "alpha", "interview", "provider", "provider",
     "Nothing much else to add about the weather or the car park today.", {}),
    ("A-DOC-1", "alpha", "document", "commissioner", "", LONG_PASSAGE, {TENDER: 0.99}),
    ("A-DOC-1", "alpha", "document", "commissioner", "",
     "The CCG and the council agreed a pooled budget under a section 75 agreement.",
     {PARTNERSHIP: 0.92, TENDER: 0.55}),
    ("A-DOC-2", "alpha", "document", "local_authority", "", HOSTILE, {TENDER: 0.8}),
    ("A-DOC-2", "alpha", "document", "local_authority", "", "Minutes", None),
    ("B-DOC-1", "beta", "document", "provider", "",
     "Integrated care across the valley brings the hospital and GPs together.",
     {INTEGRATION: 0.93}),
    ("B-DOC-1", "beta", "document", "provider", "",
     "Integrated teams now share records and meet weekly to plan each patient's care.",
     {INTEGRATION: 0.91, RELATIONSHIPS: 0.6}),
    ("B-DOC-1", "beta", "document", "provider", "",
     "A neighbourhood model of integrated care was agreed by every partner this spring.",
     {INTEGRATION: 0.89}),
    ("B-DOC-1", "beta", "document", "provider", "",
     "The legal advice was that a direct award would survive challenge under the regulations.",
     {LAW: 0.8}),
]
# The coder's evidence for the long passage (rule match offsets are within the passage).
EVIDENCE_AT = LONG_PASSAGE.index("go out to tender")
EVIDENCE = {LONG_PASSAGE: f'{TENDER}: "go out to tender" [{EVIDENCE_AT}-{EVIDENCE_AT + 16}]; '
                          "terms: the, tender, bidder"}
TITLES = {"A-INT-1": "Interview: commissioner", "A-INT-2": "Interview: provider | trust",
          "A-DOC-1": "Board paper", "A-DOC-2": "Scrutiny minutes", "B-DOC-1": "Trust strategy"}


@pytest.fixture(scope="module")
def codebook(repo):
    return load_codebook(repo / "config" / "codebook.yaml")


def build(codebook, specs=PASSAGES):
    """The passages as coded_passages.csv would hold them (strings), the texts, the index."""
    texts: dict[str, str] = {}
    rows = []
    for number, (doc_id, site, kind, actor, role, text, codes) in enumerate(specs):
        before = texts.get(doc_id, "")
        if before:
            before += "\n\n"
        start = len(before)
        texts[doc_id] = before + text
        chosen = [c for c in codebook.ids if c in (codes or {})]
        row = {"passage_id": f"{doc_id}:{number:010x}", "doc_id": doc_id, "site": site,
               "actor": actor, "kind": kind, "speaker_role": role,
               "page": "2" if kind == "document" else "", "start": str(start),
               "end": str(start + len(text)), "text": text, "codes": ";".join(chosen),
               "orientation": codebook.orientation(chosen), "evidence": EVIDENCE.get(text, "")}
        for code in codebook.ids:
            row[f"score:{code}"] = "" if codes is None else str(codes.get(code, 0.05))
        rows.append(row)
    documents = []
    for doc_id in texts:
        first = next(s for s in specs if s[0] == doc_id)
        documents.append(Document(doc_id=doc_id, path=f"{doc_id}.txt", site=first[1],
                                  kind=first[2], actor=first[3], date="2016-01-01",
                                  title=TITLES.get(doc_id, doc_id)))
    return pd.DataFrame(rows), texts, documents


@pytest.fixture(scope="module")
def built(codebook):
    table, texts, documents = build(codebook)
    return prepare_passages(table, codebook), texts, documents


# A small fixture: voices have four codable passages each and beta's main code three, so
# lower the thresholds (the defaults need five of each).
SETTINGS = SummarySettings(contrast_min_passages=4, salient_min_passages=3)


@pytest.fixture(scope="module")
def summaries(built, codebook):
    passages, texts, documents = built
    return summarise_sites(passages, texts, codebook, documents, settings=SETTINGS)


def profile_of(summary, code):
    return next(p for p in summary["code_profile"] if p["code"] == code)


# -- numbers ----------------------------------------------------------------------------

def test_passage_counts_and_sources(summaries):
    alpha = summaries["alpha"]
    assert alpha["passages"] == {"total": 11, "codable": 9, "coded": 8}
    assert alpha["sources"]["documents"] == 4
    assert alpha["sources"]["by_kind"] == {"interview": 2, "document": 2, "policy": 0}
    assert alpha["sources"]["by_actor"]["commissioner"] == {"interview": 1, "document": 1,
                                                           "policy": 0}
    docs = {d["doc_id"]: d for d in alpha["sources"]["docs"]}
    assert docs["A-INT-2"] == {"doc_id": "A-INT-2", "title": TITLES["A-INT-2"],
                               "kind": "interview", "actor": "provider", "date": "2016-01-01",
                               "passages": 3, "coded": 2}


def test_shares_are_of_codable_passages_against_the_unweighted_all_site_mean(summaries):
    alpha, beta = summaries["alpha"], summaries["beta"]
    tender = profile_of(alpha, TENDER)
    assert tender["passages"] == 7
    assert tender["share"] == round(7 / 9, 4)
    integration_alpha = profile_of(alpha, INTEGRATION)["share"]
    integration_beta = profile_of(beta, INTEGRATION)["share"]
    assert integration_alpha == round(1 / 9, 4) and integration_beta == 0.75
    expected_mean = round((integration_alpha + integration_beta) / 2, 4)
    assert profile_of(alpha, INTEGRATION)["all_site_mean_share"] == expected_mean
    assert profile_of(beta, INTEGRATION)["all_site_mean_share"] == expected_mean
    assert profile_of(beta, INTEGRATION)["difference"] == round(0.75 - expected_mean, 4)


def test_balance_counts_orientations_of_coded_passages(summaries):
    balance = summaries["alpha"]["balance"]
    assert {k: balance[k] for k in ("competition", "cooperation", "interplay", "context",
                                    "empty")} == {"competition": 4, "cooperation": 1,
                                                  "interplay": 3, "context": 0, "empty": 1}
    assert balance["competition_share"] == 0.5
    assert balance["interplay_share"] == round(3 / 8, 4)


def test_contrast_counts_interview_speakers_by_their_own_role(summaries):
    contrast = summaries["alpha"]["actor_contrast"]
    # provider voice: the provider turn inside the commissioner's interview and A-INT-2's three
    assert contrast["provider"]["passages"] == 4
    assert contrast["commissioner"]["passages"] == 4  # two interview turns, two board passages
    assert contrast["provider"]["shares"][RELATIONSHIPS] == 0.5
    assert contrast["commissioner"]["shares"][RELATIONSHIPS] == 0.0
    relationships = next(n for n in contrast["notable"] if n["code"] == RELATIONSHIPS)
    assert relationships["difference"] == -0.5
    assert summaries["beta"]["actor_contrast"]["notable"] == []  # no commissioner passages


def test_voices_with_too_few_passages_are_not_contrasted(built, codebook):
    passages, texts, documents = built
    alpha = summarise_sites(passages, texts, codebook, documents)["alpha"]
    assert alpha["actor_contrast"]["notable"] == []
    assert "With 4 commissioner and 4 provider codable passages, there are too few to " \
           "compare" in alpha["narrative"]


# -- quotes -----------------------------------------------------------------------------

def test_every_quote_is_the_document_text_at_its_offsets(summaries, built):
    _, texts, _ = built
    quotes = [q for s in summaries.values() for q in summary_quotes(s)]
    assert quotes
    for quote in quotes:
        assert texts[quote["doc_id"]][quote["start"]:quote["end"]] == quote["text"]


def test_salient_codes_get_two_or_three_quotes_from_different_documents(summaries):
    alpha = summaries["alpha"]
    assert list(alpha["quotes"]) == [TENDER]  # 7 passages; relationships has only 2 (< 3)
    tender = alpha["quotes"][TENDER]
    assert len(tender) == 3
    # one per document; A-DOC-2's 0.8 (a new voice, within 0.2 of 0.97) comes before A-INT-1's
    # 0.97; A-INT-2's 0.9 is left out: it is already quoted among the interplay passages
    assert [q["doc_id"] for q in tender] == ["A-DOC-1", "A-DOC-2", "A-INT-1"]
    interplay = {q["passage_id"] for q in alpha["interplay_passages"]}
    assert not interplay & {q["passage_id"] for q in tender}
    assert tender[0]["passage_id"] == "A-DOC-1:0000000007" and tender[0]["score"] == 0.99


def test_a_code_found_in_one_document_still_gets_two_quotes(summaries):
    quotes = summaries["beta"]["quotes"][INTEGRATION]
    assert [q["score"] for q in quotes] == [0.93, 0.91]
    assert {q["doc_id"] for q in quotes} == {"B-DOC-1"}


def test_a_new_voice_is_preferred_when_nearly_as_confident():
    rows = [{"passage_id": "a", "doc_id": "D1", "voice": "commissioner", "s": 0.95},
            {"passage_id": "b", "doc_id": "D2", "voice": "commissioner", "s": 0.94},
            {"passage_id": "c", "doc_id": "D3", "voice": "provider", "s": 0.85},
            {"passage_id": "d", "doc_id": "D4", "voice": "regulator", "s": 0.30}]
    chosen = choose_diverse(rows, score="s", count=3, min_count=2, margin=0.2)
    assert [r["passage_id"] for r in chosen] == ["a", "c", "b"]


def test_a_long_passage_is_quoted_by_its_evidence_sentence_with_its_own_offsets(summaries,
                                                                              built):
    _, texts, _ = built
    quote = next(q for q in summaries["alpha"]["quotes"][TENDER] if q["doc_id"] == "A-DOC-1")
    assert len(LONG_PASSAGE) > SummarySettings().quote_max_chars
    assert "go out to tender" in quote["text"]
    assert len(quote["text"]) <= SummarySettings().quote_max_chars
    evidence_sentence = next(s for s in LONG_PASSAGE.split(". ") if "go out to tender" in s)
    assert len(quote["text"]) > len(evidence_sentence) + 20  # with a neighbouring sentence
    passage_start = texts["A-DOC-1"].index(LONG_PASSAGE)
    assert quote["start"] > passage_start
    assert texts["A-DOC-1"][quote["start"]:quote["end"]] == quote["text"]


def test_best_excerpt_keeps_evidence_groups_together():
    text = "One. Two has tender. Three is filler text here. Four has alliance. Five."
    tender = text.index("tender")
    alliance = text.index("alliance")
    start, end = best_excerpt(text, [[(tender, tender + 6, 3)], [(alliance, alliance + 8, 3)]],
                              max_chars=62)
    assert "tender" in text[start:end] and "alliance" in text[start:end]
    assert text[start:end] == "Two has tender. Three is filler text here. Four has alliance."


def test_sentence_spans_are_exact_and_trimmed():
    text = "  First one. Second?\nThird line  \n\n “Quoted.” Last"
    spans = sentence_spans(text)
    assert [text[a:b] for a, b in spans] == ["First one.", "Second?", "Third line",
                                             "“Quoted.”", "Last"]


def test_sentences_do_not_break_after_abbreviations_or_before_lower_case():
    text = ("Under the (No. 2) Regulations 2013 a CCG may award it. Dr. Osei and J. Smith "
            "agreed, e.g. on price. it went on. The end.")
    assert [text[a:b] for a, b in sentence_spans(text)] == [
        "Under the (No. 2) Regulations 2013 a CCG may award it.",
        "Dr. Osei and J. Smith agreed, e.g. on price. it went on.", "The end."]


def test_interplay_passages_rank_by_their_weaker_side(summaries):
    interplay = summaries["alpha"]["interplay_passages"]
    # the board paper (0.55) comes second: a new voice within 0.2 of the best remaining (0.7)
    assert [q["passage_id"] for q in interplay] == ["A-INT-1:0000000003", "A-DOC-1:0000000008",
                                                    "A-INT-2:0000000004"]
    assert interplay[0]["score"] == 0.77
    assert interplay[0]["speaker_role"] == "provider"


def test_a_quote_that_does_not_match_its_document_is_refused(built, codebook):
    passages, texts, documents = built
    tampered = dict(texts, **{"A-INT-1": texts["A-INT-1"].replace("we bid", "we bad")})
    with pytest.raises(QuoteOffsetError, match="passage A-INT-1:0000000003"):
        summarise_sites(passages, tampered, codebook, documents)


def test_verify_quotes_lists_every_quote_that_does_not_match(summaries, built):
    _, texts, _ = built
    quotes = summary_quotes(summaries["alpha"])
    shifted = [dict(q, start=q["start"] + 1) for q in quotes[:2]]
    verify_quotes(quotes, texts, where="alpha")
    with pytest.raises(QuoteOffsetError, match="2 quote") as raised:
        verify_quotes([*shifted, quotes[2]], texts, where="alpha")
    assert all(q["passage_id"] in str(raised.value) for q in shifted)


def test_unknown_codes_and_missing_columns_are_refused(codebook):
    table, _, _ = build(codebook)
    with pytest.raises(SummaryError, match="competition.bogus"):
        prepare_passages(table.assign(codes="competition.bogus"), codebook)
    with pytest.raises(SummaryError, match="'speaker_role'.*'score:contract.payment'"):
        prepare_passages(table.drop(columns=["speaker_role", "score:contract.payment"]),
                         codebook)


# -- narrative and Markdown -------------------------------------------------------------

def test_narrative_is_built_from_the_numbers(summaries):
    alpha = summaries["alpha"]
    text = alpha["narrative"]
    tender = profile_of(alpha, TENDER)
    assert "4 sources (2 interviews and 2 documents)" in text
    assert "11 passages, of which 9 could be coded and 8 carry at least one code" in text
    assert f"competitive tendering ({percent(tender['share'])} of codable passages, above the " \
           f"all-site mean of {percent(tender['all_site_mean_share'])})" in text
    assert "Of the 8 coded passages, 50% concern competition mechanisms only, 13% cooperation " \
           "only and 38% both at once" in text
    assert "Competition therefore appears to outweigh cooperation" in text
    assert "differ most on competitive tendering: 100% of commissioners' codable passages " \
           "(n = 4) against 50% of providers' (n = 4)" in text


def test_markdown_text_makes_document_text_inert():
    assert markdown_text("a | b <script>x</script> *c* & [d](e)") == \
        r"a \| b &lt;script&gt;x&lt;/script&gt; \*c\* &amp; \[d\](e)"
    assert markdown_text("# not a heading\n- not a list\n2. not a list") == \
        "\\# not a heading\n\\- not a list\n2\\. not a list"
    assert markdown_cell("one | two\nthree") == r"one \| two<br>three"


def test_site_markdown_shows_every_quote_escaped_with_its_reference(summaries, codebook):
    alpha = summaries["alpha"]
    markdown = site_markdown(alpha, codebook, site_count=2)
    assert "<script>" not in markdown
    assert r"The bidders \| scored &lt;script&gt;alert(1)&lt;/script&gt; on the tender" \
           r" \* evaluation\_grid." in markdown
    assert "Interview: provider \\| trust" in markdown  # a title in a table cell
    for quote in summary_quotes(alpha):
        assert f"`{quote['passage_id']}` [{quote['start']}–{quote['end']}]" in markdown
    reference = "— A-INT-1, provider, passage `A-INT-1:0000000003`"
    assert reference in markdown
    assert "— A-DOC-2, local\\_authority document, p. 2, passage `A-DOC-2:0000000009`" in markdown
    assert markdown_text(alpha["narrative"]) in markdown


def test_site_file_stems_are_safe_and_distinct():
    assert site_file_stem("kestrel_valley") == "kestrel_valley"
    assert site_file_stem("North / South CCG") == "North___South_CCG"
    assert site_file_stem("index") == "index_site"
    with pytest.raises(SummaryError, match="rename one"):
        site_file_stems(["a b", "a/b"])


# -- framework matrix -------------------------------------------------------------------

CELL_QUOTE = re.compile(r"“(?:… )?(.*?)(?: …)?” \((\S+) \[(\d+)–(\d+)\]", re.DOTALL)


def cell_quotes_of(cell: str) -> list[tuple[str, str, int, int]]:
    """(text, passage_id, start, end) for each quote in a matrix cell."""
    return [(m.group(1), m.group(2), int(m.group(3)), int(m.group(4)))
            for m in CELL_QUOTE.finditer(cell)]


def test_matrix_cells_hold_counts_and_short_exact_quotes(built, codebook):
    passages, texts, documents = built
    settings = SummarySettings(cell_quote_max_chars=80)
    sites, docs = framework_tables(passages, texts, codebook, documents, settings=settings)
    assert list(sites["site"]) == ["alpha", "beta"]
    assert list(docs["doc_id"]) == ["A-DOC-1", "A-DOC-2", "A-INT-1", "A-INT-2", "B-DOC-1"]
    cell = sites.set_index("site").loc["alpha", code_header(codebook, TENDER)]
    assert cell.startswith("7 passages (78% of codable)")
    quotes = cell_quotes_of(cell)
    assert len(quotes) == 2 and len({q[1].split(":")[0] for q in quotes}) == 2
    for text, passage_id, start, end in quotes:
        doc_id = passage_id.split(":")[0]
        assert texts[doc_id][start:end] == text
        assert len(text) <= 80
    assert "…" in cell  # the long board paper passage is an excerpt
    assert sites.set_index("site").loc["beta", code_header(codebook, TENDER)] == "0 passages"
    doc_cell = docs.set_index("doc_id").loc["A-INT-1", code_header(codebook, TENDER)]
    assert doc_cell.startswith("3 passages (100% of codable)")
    assert len(cell_quotes_of(doc_cell)) == 1


def test_matrix_xlsx_is_formatted_for_reading_and_the_csv_matches(tmp_path, built, codebook):
    passages, texts, documents = built
    sites, docs = framework_tables(passages, texts, codebook, documents)
    path = tmp_path / "matrix.xlsx"
    write_matrix_xlsx(sites, docs, codebook, path)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == list(MATRIX_SHEETS)
    sheet = book["sites"]
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["site", "sources", "codable passages"]
    assert header[3:] == [f"{c.label} [{c.id}]" for c in codebook.codes]
    assert sheet.freeze_panes == "B2" and book["documents"].freeze_panes == "B2"
    assert sheet.cell(1, 1).font.bold
    assert sheet.cell(1, 4).fill.start_color.rgb.endswith(codebook.codes[0].colour[1:].upper())
    assert sheet.cell(2, 4).alignment.wrap_text
    assert sheet.column_dimensions["D"].width >= 40
    assert [sheet.cell(r, 1).value for r in (2, 3)] == ["alpha", "beta"]
    assert sheet.cell(2, 4).value == sites.iloc[0, 3]
    assert book["documents"].max_row == 1 + len(docs)


def test_framework_matrix_and_site_files_from_files(tmp_path, built, codebook, repo):
    _, texts, documents = built
    table, _, _ = build(codebook)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    text_files = []
    for doc_id, text in texts.items():
        (corpus / f"{doc_id}.txt").write_text("placeholder\n", encoding="utf-8")
        path = tmp_path / "text" / f"{doc_id}.txt"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
        text_files.append(path)
    with open(corpus / "metadata.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["doc_id", "path", "site", "kind", "actor", "date", "title"])
        for d in documents:
            writer.writerow([d.doc_id, d.path, d.site, d.kind, d.actor, d.date, d.title])
    coded = tmp_path / "coded_passages.csv"
    table.to_csv(coded, index=False)
    codebook_path = repo / "config" / "codebook.yaml"

    sites = write_site_summaries(coded, codebook_path, corpus, text_files, tmp_path / "sites")
    assert sites == ["alpha", "beta"]
    for stem in ("alpha", "beta"):
        data = json.loads((tmp_path / "sites" / f"{stem}.json").read_text(encoding="utf-8"))
        assert data["site"] == stem
        assert (tmp_path / "sites" / f"{stem}.md").is_file()
    index = (tmp_path / "sites" / "index.md").read_text(encoding="utf-8")
    assert "[alpha](alpha.md)" in index and "*all-site mean*" in index

    xlsx, matrix_csv = tmp_path / "matrix.xlsx", tmp_path / "matrix.csv"
    assert write_framework_matrix(coded, codebook_path, corpus, text_files, xlsx,
                                  matrix_csv) == (2, 5)
    sheet = openpyxl.load_workbook(xlsx)["sites"]
    xlsx_rows = [["" if v is None else str(v) for v in row]
                 for row in sheet.iter_rows(values_only=True)]
    with open(matrix_csv, encoding="utf-8", newline="") as handle:
        assert list(csv.reader(handle)) == xlsx_rows


def test_settings_change_what_is_salient(built, codebook):
    passages, texts, documents = built
    strict = replace(SummarySettings(), salient_min_passages=8)
    assert summarise_sites(passages, texts, codebook, documents,
                           settings=strict)["alpha"]["quotes"] == {}


# -- the demo corpus, end to end --------------------------------------------------------

def test_demo_run_writes_traceable_site_summaries_and_the_matrix(demo_run, codebook):
    corpus, outputs = demo_run
    sites = sorted({row["site"] for row in read_csv(corpus / "metadata.csv")})
    texts: dict[str, str] = {}

    def text_of(doc_id):
        if doc_id not in texts:
            with open(outputs / "text" / f"{doc_id}.txt", encoding="utf-8", newline="") as f:
                texts[doc_id] = f.read()
        return texts[doc_id]

    quoted = 0
    for site in sites:
        summary = json.loads((outputs / "sites" / f"{site}.json").read_text(encoding="utf-8"))
        markdown = (outputs / "sites" / f"{site}.md").read_text(encoding="utf-8")
        assert summary["site"] == site and summary["narrative"]
        for quote in summary_quotes(summary):
            assert text_of(quote["doc_id"])[quote["start"]:quote["end"]] == quote["text"]
            assert quote["passage_id"] in markdown
            quoted += 1
    assert quoted >= 2 * len(sites)
    assert (outputs / "sites" / "index.md").is_file()

    sheet = openpyxl.load_workbook(outputs / "framework_matrix.xlsx")["sites"]
    header = [c.value for c in sheet[1]]
    assert [f"{c.label} [{c.id}]" for c in codebook.codes] == header[3:]
    assert [sheet.cell(r, 1).value for r in range(2, sheet.max_row + 1)] == sites
    matrix = read_csv(outputs / "framework_matrix.csv")
    assert [row["site"] for row in matrix] == sites
    for row in matrix:
        for code in codebook.codes:
            for text, passage_id, start, end in cell_quotes_of(row[f"{code.label} [{code.id}]"]):
                assert text_of(passage_id.split(":")[0])[start:end] == text


# -- who coded: reviewers' decisions override the machine ----------------------------------

HOSTILE_ID, AGREED_ID, CONFLICT_ID = "A-DOC-2:0000000009", "A-INT-1:0000000001", \
    "A-INT-2:0000000006"


def reviewed_table(codebook):
    """The fixture with three passages reviewed: alice agrees with the machine's tendering;
    alice and bob add procurement law to the hostile passage; two reviewers disagree on an
    uncoded one, so the machine's (no) codes stand."""
    table, texts, documents = build(codebook)
    table["machine_codes"] = table["codes"]
    table["coded_by"] = [("machine" if s else "") for s in table[f"score:{TENDER}"]]
    table["review_status"] = ""
    table["review_comments"] = ""
    reviews = {AGREED_ID: ("alice", "agrees", TENDER, "alice: right"),
               HOSTILE_ID: ("alice;bob", "changed", f"{TENDER};{LAW}", "bob: the regs"),
               CONFLICT_ID: ("machine", "conflict", "", "alice: tender | bob: none")}
    for passage_id, (coded_by, status, codes, comments) in reviews.items():
        row = table["passage_id"] == passage_id
        table.loc[row, ["coded_by", "review_status", "codes", "review_comments"]] = \
            [coded_by, status, codes, comments]
        table.loc[row, "orientation"] = codebook.orientation(codes.split(";") if codes else [])
    return table, texts, documents


@pytest.fixture(scope="module")
def reviewed(codebook):
    table, texts, documents = reviewed_table(codebook)
    passages = prepare_passages(table, codebook)
    return passages, texts, documents, summarise_sites(passages, texts, codebook, documents,
                                                       settings=SETTINGS)


def test_who_coded_counts_codable_passages_by_who_decided_their_codes(reviewed):
    summaries = reviewed[3]
    assert summaries["alpha"]["who_coded"] == {
        "passages": {"machine": 6, "agrees": 1, "changed": 1, "conflict": 1},
        "reviewers": ["alice", "bob"]}
    assert summaries["beta"]["who_coded"] == {
        "passages": {"machine": 4, "agrees": 0, "changed": 0, "conflict": 0}, "reviewers": []}
    assert profile_of(summaries["alpha"], LAW)["passages"] == 1  # the reviewers' codes count
    assert "These are counts of coded passages (2 of the 9 codable ones with codes settled " \
           "by reviewers, the rest machine-coded)" in summaries["alpha"]["narrative"]
    assert "These are counts of machine-coded passages" in summaries["beta"]["narrative"]


def test_every_quote_says_who_coded_it(reviewed, codebook):
    passages, _, _, summaries = reviewed
    coded_by = dict(zip(passages["passage_id"], passages["coded_by"]))
    quotes = {q["passage_id"]: q for s in summaries.values() for q in summary_quotes(s)}
    assert quotes and all(q["coded_by"] == coded_by[p] for p, q in quotes.items())
    assert quotes[HOSTILE_ID]["coded_by"] == "alice;bob"
    markdown = site_markdown(summaries["alpha"], codebook, site_count=2)
    hostile = quotes[HOSTILE_ID]
    assert (f"passage `{HOSTILE_ID}` [{hostile['start']}–{hostile['end']}], reviewed by alice "
            "and bob\n") in markdown
    machine = next(q for p, q in quotes.items() if q["coded_by"] == "machine")
    assert (f"passage `{machine['passage_id']}` [{machine['start']}–{machine['end']}], "
            "machine\n") in markdown
    assert "| reviewers, changing the machine's codes | 1 |" in markdown
    assert "| machine (reviewers disagree with each other) | 1 |" in markdown
    assert "Reviewers: alice, bob." in markdown


def test_a_table_from_before_reviews_reads_as_machine_coded(built, summaries, codebook):
    passages = built[0]
    assert set(passages.loc[passages["codable"], "coded_by"]) == {"machine"}
    assert set(passages.loc[~passages["codable"], "coded_by"]) == {""}
    assert summaries["alpha"]["who_coded"]["passages"] == {"machine": 9, "agrees": 0,
                                                           "changed": 0, "conflict": 0}
    assert {q["coded_by"] for s in summaries.values() for q in summary_quotes(s)} == {"machine"}


def test_an_unknown_review_status_is_refused(codebook):
    table, _, _ = reviewed_table(codebook)
    table.loc[0, "review_status"] = "maybe"
    with pytest.raises(SummaryError, match="unknown review_status maybe"):
        prepare_passages(table, codebook)


def test_matrix_quote_references_name_the_reviewers(reviewed, codebook):
    passages, texts, documents, _ = reviewed
    _, docs = framework_tables(passages, texts, codebook, documents)
    tender = docs.set_index("doc_id")[code_header(codebook, TENDER)]
    assert f"{HOSTILE_ID} [" in tender["A-DOC-2"]
    assert tender["A-DOC-2"].endswith(", reviewed by alice and bob)")
    assert tender["A-INT-1"].endswith(", reviewed by alice)")
    integration = docs.set_index("doc_id").loc["B-DOC-1", code_header(codebook, INTEGRATION)]
    assert integration.endswith(", machine)")


def test_document_text_never_becomes_a_spreadsheet_formula(tmp_path, codebook):
    import zipfile

    from interplay.summarise import FORMULA_OPENERS, write_matrix_csv

    link = '=HYPERLINK("http://evil.example","click")'
    specs = [("EVIL-1", link, "document", "provider", "",
              f"{link} and the tender was scored.", {TENDER: 0.9}),
             ("EVIL-2", "-2+3", "document", "provider", "",
              "+44 20 7946 0000 answered the tender questions.", {TENDER: 0.8})]
    table, texts, documents = build(codebook, specs)
    titles = {"EVIL-1": "@SUM(1+1)", "EVIL-2": "#N/A"}
    documents = [replace(d, title=titles[d.doc_id]) for d in documents]
    sites, docs = framework_tables(prepare_passages(table, codebook), texts, codebook,
                                   documents)
    xlsx, matrix_csv = tmp_path / "matrix.xlsx", tmp_path / "matrix.csv"
    write_matrix_xlsx(sites, docs, codebook, xlsx)
    write_matrix_csv(sites, matrix_csv)

    with zipfile.ZipFile(xlsx) as archive:
        sheets = [archive.read(n) for n in archive.namelist() if n.startswith("xl/worksheets/")]
    assert sheets and not any(b"<f>" in s or b"<f " in s for s in sheets)
    book = openpyxl.load_workbook(xlsx)
    cells = [c for sheet in book for row in sheet.iter_rows() for c in row]
    assert {c.data_type for c in cells if isinstance(c.value, str)} == {"s"}  # not even #N/A
    values = [c.value for c in cells if isinstance(c.value, str)]
    assert not [v for v in values if v.startswith(FORMULA_OPENERS)]
    assert [book["sites"].cell(r, 1).value for r in (2, 3)] == ["'-2+3", f"'{link}"]
    assert {book["documents"].cell(r, 6).value for r in (2, 3)} == {"'@SUM(1+1)", "#N/A"}
    assert any(f"“{link} and the tender was scored.”" in v for v in values)  # verbatim

    with open(matrix_csv, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert not [v for row in rows for v in row if v.startswith(FORMULA_OPENERS)]
    assert rows == [["" if v is None else str(v) for v in row]
                    for row in book["sites"].iter_rows(values_only=True)]
