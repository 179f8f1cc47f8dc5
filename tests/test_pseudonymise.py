"""Pseudonymisation: what is found, how it is replaced, the key file, and a whole run in
which no original may reach any file under outputs/."""

import fcntl
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import threading
import zipfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from builders import column_lines, draw_pdf, write_docx, write_metadata
from conftest import REPO, REPO_ANNOTATIONS, read_csv

from interplay.cli import main
from interplay.config import Settings, check_locations, settings_from_mapping
from interplay.errors import ConfigError
from interplay.extract import extract_document, extract_to_files
from interplay.pseudonymise import (
    Key,
    KeyEntry,
    ListedName,
    Pseudonymiser,
    assign_pseudonyms,
    find_spans,
    identity,
    key_fingerprint,
    load_names,
    parse_key,
    pseudonym,
    read_key,
    replace_spans,
    speaker_name,
)

SECRET = "5" * 64


def replaced(text, listed=(), *, speaker_labels=False, secret=SECRET):
    spans = find_spans(text, listed, speaker_labels=speaker_labels)
    pseudonyms, _ = assign_pseudonyms(Key(secret), [(s.kind, s.original) for s in spans], "D")
    return replace_spans(text, spans, pseudonyms).text


def found(text, **kwargs):
    return [(s.kind, text[s.start:s.end]) for s in find_spans(text, **kwargs)]


def test_email_addresses_are_found_whole():
    text = "Write to jo.bloggs+cc@harbour-side.nhs.uk. Or (j_smith@example.org), not @handles."
    assert found(text) == [("email", "jo.bloggs+cc@harbour-side.nhs.uk"),
                           ("email", "j_smith@example.org")]
    assert replaced(text).startswith(
        f"Write to {pseudonym(SECRET, 'email', 'jo.bloggs+cc@harbour-side.nhs.uk')}. Or (")


@pytest.mark.parametrize("number", [
    "01632 960123", "01632 960 123", "020 7946 0958", "0161 496 0000", "(0161) 496 0000",
    "(01632) 960123", "+44 7700 900123", "+44 (0)20 7946 0958", "+447700900123",
    "07700900123", "07700 900123", "0800-123-4567", "0113 496 0000"])
def test_uk_phone_numbers_are_found(number):
    assert found(f"Call {number}, any time.") == [("phone", number)]


@pytest.mark.parametrize("not_a_phone", [
    "on 2016-05-03 and 03/05/2016", "in 2015 and 2016", "£250,000 and £0.4m", "$1,200,000",
    "[00:01:20] R1:", "paragraph 3.2.1 and 1.4", "version 0.12.3", "0.5%", "£01632 960123",
    "1,234,567,890", "12345678901", "00 44 1234 5678", "3 May 2016. 10:30"])
def test_dates_money_times_and_numbering_are_not_phones(not_a_phone):
    assert found(not_a_phone) == []


def test_one_number_written_two_ways_is_one_original():
    assert identity("phone", "+44 (0)20 7946 0958") == identity("phone", "020-7946-0958")
    assert replaced("+44 20 7946 0958") == replaced("020 7946 0958")


@pytest.mark.parametrize("label,name", [
    ("John Smith", "John Smith"), ("Dr Patel", "Patel"), ("Dr. Patel", "Patel"),
    ("Sarah (CCG)", "Sarah"), ("Mary O'Brien-McDonald", "Mary O'Brien-McDonald"),
    ("J. Smith", "J. Smith"), ("Zoë", "Zoë"),
    ("Interviewer", None), ("INT", None), ("R1", None), ("Q", None), ("A", None),
    ("Speaker 2", None), ("Respondent", None), ("Commissioner (CCG)", None),
    ("Local authority officer", None), ("Provider (community trust)", None),
    ("Chief Officer", None), ("Note", None), ("Date", None), ("Dr", None), ("CCG", None),
    ("John smith", None), ("Participant 3", None), ("GP", None)])
def test_speaker_labels_that_are_names_not_roles(label, name):
    assert speaker_name(label) == name


TRANSCRIPT = """Interview: Tobias Quennell, 3 May 2016

[00:00:04] Interviewer: Thank you, Tobias. Will you say who you work with?
[00:00:09] Tobias Quennell: Mostly Dr Radcliffe. TOBIAS QUENNELL is on the letterhead too.
[00:01:15] Interviewer: And Radcliffe's team?
[00:01:20] Dr Radcliffe: We will see. Quennell knows.
[00:02:00] Sarah (CCG): Sarah here. Commissioner (CCG) is a role, not a name.
"""


def test_speaker_names_are_replaced_everywhere_in_the_interview():
    text = replaced(TRANSCRIPT, speaker_labels=True)
    tobias = pseudonym(SECRET, "person", "Tobias Quennell")
    radcliffe = pseudonym(SECRET, "person", "Radcliffe")
    sarah = pseudonym(SECRET, "person", "Sarah")
    assert text.splitlines()[0] == f"Interview: {tobias}, 3 May 2016"
    assert f"Thank you, {tobias}. Will you say" in text  # 'Will' is not a speaker's name
    assert f"[00:00:09] {tobias}: Mostly Dr {radcliffe}. {tobias} is on" in text
    assert f"And {radcliffe}'s team?" in text and f"{tobias} knows" in text
    assert f"[00:01:20] Dr {radcliffe}: We will see." in text
    assert f"[00:02:00] {sarah} (CCG): {sarah} here. Commissioner (CCG) is a role" in text
    assert "Interviewer:" in text
    for original in ("Tobias", "Quennell", "Radcliffe", "Sarah"):
        assert original.lower() not in text.lower()


def test_speaker_labels_are_only_read_in_interviews():
    assert replaced(TRANSCRIPT) == TRANSCRIPT


def test_a_word_shared_by_two_speakers_is_a_person_of_its_own():
    text = ("[00:01] John Smith: Hello.\n[00:02] John Brown: Hi.\n"
            "[00:03] John Smith: John said Smith and Brown agree.\n")
    spans = find_spans(text, speaker_labels=True)
    by_text = {text[s.start:s.end]: s.original for s in spans}
    assert by_text == {"John Smith": "John Smith", "John Brown": "John Brown",
                       "John": "John", "Smith": "John Smith", "Brown": "John Brown"}


def test_listed_names_whole_words_in_any_case():
    listed = [ListedName("Harbourside Trust", "organisation"),
              ListedName("Marguerite Okonkwo", "person")]
    text = ("HARBOURSIDE TRUST and harbourside\ntrust met Marguerite Okonkwo; "
            "Harbourside Trustees did not. Marguerite agreed; marguerite is lower case.")
    assert found(text, listed=listed) == [
        ("organisation", "HARBOURSIDE TRUST"), ("organisation", "harbourside\ntrust"),
        ("person", "Marguerite Okonkwo"), ("person", "Marguerite")]
    org = pseudonym(SECRET, "organisation", "Harbourside Trust")
    assert replaced(text, listed).startswith(f"{org} and {org} met PERSON-")
    assert org.startswith("ORG-")


def test_an_email_address_swallows_a_listed_name_inside_it():
    listed = [ListedName("Okonkwo", "person")]
    assert found("mail okonkwo@nhs.net", listed=listed) == [("email", "okonkwo@nhs.net")]


def test_pseudonyms_are_stable_across_calls_and_documents(tmp_path):
    key = tmp_path / "private" / "key.jsonl"
    listed = (ListedName("Fenwick Lantern", "organisation"),)
    first = Pseudonymiser(key, listed)("Fenwick Lantern: call 01632 960123.", "DOC-1")
    second = Pseudonymiser(key, listed)("FENWICK LANTERN again; 01632-960123.", "DOC-2")
    org, phone = first.text.split(": call ")[0], first.text.split("call ")[1].rstrip(".")
    assert second.text == f"{org} again; {phone}."
    entries = read_key(key).entries
    assert [(e.pseudonym, e.original, e.first_doc) for e in entries] == [
        (org, "Fenwick Lantern", "DOC-1"), (phone, "01632 960123", "DOC-1")]
    assert Pseudonymiser(key, listed)("Fenwick Lantern", "DOC-3").text == org
    assert len(read_key(key).entries) == 2


def test_different_secrets_give_different_pseudonyms(tmp_path):
    one = Pseudonymiser(tmp_path / "one.jsonl")("mail a.person@nhs.net", "D").text
    two = Pseudonymiser(tmp_path / "two.jsonl")("mail a.person@nhs.net", "D").text
    assert one != two and one.startswith("mail EMAIL-") and two.startswith("mail EMAIL-")
    assert read_key(tmp_path / "one.jsonl").secret != read_key(tmp_path / "two.jsonl").secret


def colliding_names() -> tuple[str, str]:
    """Two names whose short pseudonyms collide under SECRET (a birthday search)."""
    seen = {}
    for number in range(100_000):
        name = f"Person {number}"
        short = pseudonym(SECRET, "person", name)
        if short in seen:
            return seen[short], name
        seen[short] = name
    raise AssertionError("no collision found")


def test_a_collision_lengthens_the_newcomer_and_never_merges():
    first, second = sorted(colliding_names())  # new originals are taken in sorted order
    short = pseudonym(SECRET, "person", first)
    assert pseudonym(SECRET, "person", second) == short
    assigned, new = assign_pseudonyms(Key(SECRET), [("person", second), ("person", first)], "D")
    assert assigned[identity("person", first)] == short
    assert assigned[identity("person", second)] == pseudonym(SECRET, "person", second, 6)
    assert len(assigned[identity("person", second)]) == len(short) + 2
    # an original already in the key keeps its pseudonym, whichever came first
    existing = Key(SECRET, (KeyEntry(short, "person", second, "OLD"),))
    assigned, new = assign_pseudonyms(existing, [("person", first), ("person", second)], "D")
    assert assigned[identity("person", second)] == short
    assert [e.original for e in new] == [first]
    assert new[0].pseudonym == pseudonym(SECRET, "person", first, 6)


def test_offsets_inside_a_replaced_span_go_to_its_end():
    text = "ab John Smith cd"
    spans = find_spans(text, [ListedName("John Smith", "person")])
    rewrite = replace_spans(text, spans, {identity("person", "John Smith"): "PERSON-1234"})
    assert rewrite.text == "ab PERSON-1234 cd"
    assert [rewrite.position(o) for o in (0, 3, 5, 13, 14, 16)] == [0, 3, 14, 14, 15, 17]


def test_the_page_map_follows_the_replacements(tmp_path):
    pages = [column_lines(56, 90, ["Marguerite Okonkwo chaired; call 01632 960123 or",
                                   "mail m.okonkwo@nhs.net about the alliance."]),
             column_lines(56, 90, ["Page two: Okonkwo and the Fenwick Lantern board",
                                   "agreed the plan. Phone 020 7946 0958."])]
    pdf = draw_pdf(tmp_path / "paper.pdf", pages)
    listed = (ListedName("Marguerite Okonkwo", "person"),
              ListedName("Fenwick Lantern", "organisation"))
    pseudonymise = Pseudonymiser(tmp_path / "key.jsonl", listed)
    info = extract_to_files(pdf, tmp_path / "P.txt", tmp_path / "P.json", doc_id="P",
                            display_path="paper.pdf", pseudonymise=pseudonymise)
    text = (tmp_path / "P.txt").read_text(encoding="utf-8")
    plain = extract_document(pdf)
    plain_pages = [plain.text[a:b] for a, b in zip(plain.page_starts,
                                                   plain.page_starts[1:] + [len(plain.text)])]
    pages_now = [text[p["start"]:p["end"]] for p in info["pages"]]
    assert pages_now == [pseudonymise(page, "P").text for page in plain_pages]
    assert pages_now[1].startswith("Page two: PERSON-")
    assert info["pseudonymised_spans"] == 6 and info["chars"] == len(text)
    assert "Okonkwo" not in text and "01632" not in text and "Fenwick" not in text


def test_the_key_file_is_private_and_holds_the_secret_first(tmp_path):
    key = tmp_path / "key.jsonl"
    fingerprint = key_fingerprint(key)
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    secret = json.loads(key.read_text(encoding="utf-8").splitlines()[0])["secret"]
    assert len(secret) == 64 and secret not in fingerprint
    assert key_fingerprint(key) == fingerprint
    Pseudonymiser(key)("mail a@b.org", "D")
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600


def pseudonymise_in_another_process(key: Path, number: int) -> str:
    emails = " ".join(f"person{i}@nhs.net" for i in range(number, number + 20))
    return Pseudonymiser(key)(emails, f"DOC-{number}").text


def test_parallel_jobs_append_to_one_key_without_losing_entries(tmp_path):
    key = tmp_path / "key.jsonl"
    with ProcessPoolExecutor(4) as pool:
        texts = list(pool.map(pseudonymise_in_another_process, [key] * 8, range(0, 80, 10)))
    entries = read_key(key).entries
    assert len({e.original for e in entries}) == len(entries) == 90
    mapping = {e.original: e.pseudonym for e in entries}
    for number, text in zip(range(0, 80, 10), texts):
        assert text.split() == [mapping[f"person{i}@nhs.net"] for i in range(number, number + 20)]
    assert sum("secret" in line for line in key.read_text(encoding="utf-8").splitlines()) == 1


def test_a_job_waits_while_another_holds_the_key(tmp_path):
    key = tmp_path / "key.jsonl"
    key_fingerprint(key)
    job = threading.Thread(target=Pseudonymiser(key), args=("a@b.org", "D"))
    with open(key, encoding="utf-8") as other_job:
        fcntl.flock(other_job.fileno(), fcntl.LOCK_EX)
        job.start()
        job.join(timeout=1)
        assert job.is_alive() and read_key_unlocked(key).entries == ()
    job.join(timeout=10)
    assert not job.is_alive() and len(read_key(key).entries) == 1


def read_key_unlocked(key: Path) -> Key:
    return parse_key(key.read_text(encoding="utf-8"), str(key))


def test_a_torn_last_line_is_dropped_and_the_entry_written_again(tmp_path):
    key = tmp_path / "key.jsonl"
    first = Pseudonymiser(key)("a@b.org", "D1").text
    with open(key, "a", encoding="utf-8") as handle:
        handle.write('{"pseudonym": "EMAIL-')  # a crash in the middle of an append
    second = Pseudonymiser(key)("c@d.org and a@b.org", "D2").text
    assert second.endswith(f" and {first}")
    assert [e.original for e in read_key(key).entries] == ["a@b.org", "c@d.org"]


def test_key_conflicts_are_refused_without_quoting_originals():
    secret = json.dumps({"secret": SECRET})
    entry = {"pseudonym": "PERSON-AAAA", "kind": "person", "original": "Jo Bloggs",
             "first_doc": "D"}
    twice = "\n".join([secret, json.dumps(entry), json.dumps(entry)]) + "\n"
    assert len(parse_key(twice, "key").entries) == 1
    merged = "\n".join([secret, json.dumps(entry),
                        json.dumps({**entry, "original": "Someone Else"})])
    with pytest.raises(ConfigError, match=r"key:3: PERSON-AAAA conflicts with line 2") as error:
        parse_key(merged, "key")
    assert "Someone" not in str(error.value) and "Bloggs" not in str(error.value)
    with pytest.raises(ConfigError, match="key:2: not a key entry"):
        parse_key(secret + "\n[1, 2]\n" + json.dumps(entry), "key")


def test_a_bad_names_list_is_reported_line_by_line(tmp_path):
    names = tmp_path / "names.csv"
    names.write_text("name,kind\nJo Bloggs,person\nBloggs & Co,company\n\nX,person\n"
                     "Smith, Jones,person\nJO BLOGGS,organisation\n\"Acme, Ltd\",organisation\n"
                     "jo bloggs,person\n", encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_names(names)
    assert str(error.value).splitlines() == [
        f"{names}:3: kind must be person or organisation",
        f"{names}:5: a name needs at least 2 characters",
        (f"{names}:6: 3 columns, expected 2 (name,kind); put a name holding a comma in "
         "double quotes"),
        f"{names}:7: listed on line 2 with the other kind"]
    names.write_text("\ufeffName,Kind\nJo Bloggs,person\n\"Acme, Ltd\",Organisation\n"
                     "jo  bloggs,person\n", encoding="utf-8")
    assert load_names(names) == (ListedName("Jo Bloggs", "person"),
                                 ListedName("Acme, Ltd", "organisation"))
    names.write_text("Jo Bloggs\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"names.csv:1: the first line must be the header"):
        load_names(names)


def settings_with_key(tmp_path, key, **more) -> Settings:
    return settings_from_mapping({
        "corpus": str(tmp_path / "corpus"), "outputs": str(tmp_path / "outputs"),
        "pseudonymisation": {"enabled": True, "key": str(key), **more}})


def test_config_refuses_a_key_that_is_missing_or_in_outputs_or_corpus(tmp_path):
    with pytest.raises(ConfigError, match="pseudonymisation.key is required"):
        settings_from_mapping({"pseudonymisation": {"enabled": True}})
    for inside in ("outputs", "corpus"):
        settings = settings_with_key(tmp_path, tmp_path / inside / "private" / "key.jsonl")
        with pytest.raises(ConfigError, match=f"inside the {inside} directory"):
            check_locations(settings)
    (tmp_path / "folder").mkdir()
    with pytest.raises(ConfigError, match="is a directory"):
        check_locations(settings_with_key(tmp_path, tmp_path / "folder"))
    with pytest.raises(ConfigError, match="names .* inside the outputs directory"):
        check_locations(settings_with_key(tmp_path, tmp_path / "key.jsonl",
                                          names=str(tmp_path / "outputs" / "names.csv")))
    check_locations(settings_with_key(tmp_path, tmp_path / "private" / "key.jsonl",
                                      names=str(tmp_path / "corpus" / "names.csv")))
    check_locations(settings_from_mapping({"pseudonymisation": {"key": "outputs/key"}}))


# End to end: a transcript full of personal data through the whole pipeline.

PERSONAL_TRANSCRIPT = """Interview with Tobias Quennell, Fenwick Lantern Health Partnership
Contact: tobias.quennell@fenwick-lantern.nhs.uk, 01632 960123 or +44 7700 900123.

[00:00:04] Interviewer: Could you tell me about your role, Tobias?

[00:00:09] Tobias Quennell: I look after the community contracts for Fenwick Lantern Health Partnership, so the district nurses and the therapies. Marguerite Okonkwo-Baptiste chairs the alliance board; you can reach her on 020 7946 0958.

[00:01:15] Interviewer: And the decision not to tender?

[00:01:20] Dr Radcliffe: We chose not to go out to tender. Quennell and I agreed the trust had been a good partner, and nobody else was interested. Ring (0161) 496 0000 or 07700900456 for the papers.

[00:02:40] Perpetua (CCG): The alliance contract pooled the budget with the council, so competition gave way to cooperation. Write to p.radcliffe@example.org if you need the minutes.

[00:03:02] Interviewer: Thank you.
"""
ORIGINALS = [
    "Tobias Quennell", "Tobias", "Quennell", "Radcliffe", "Perpetua",
    "Marguerite Okonkwo-Baptiste", "Marguerite", "Okonkwo", "Fenwick Lantern Health Partnership",
    "Fenwick", "tobias.quennell@fenwick-lantern.nhs.uk", "p.radcliffe@example.org",
    "01632 960123", "01632960123", "+44 7700 900123", "7700 900123", "7700900123",
    "020 7946 0958", "02079460958", "(0161) 496 0000", "01614960000", "07700900456"]
KEY_ORIGINALS = [  # as the key holds them, up to case
    ("person", "Tobias Quennell"), ("person", "Radcliffe"), ("person", "Perpetua"),
    ("person", "Marguerite Okonkwo-Baptiste"),
    ("organisation", "Fenwick Lantern Health Partnership"),
    ("email", "tobias.quennell@fenwick-lantern.nhs.uk"), ("email", "p.radcliffe@example.org"),
    ("phone", "01632 960123"), ("phone", "+44 7700 900123"), ("phone", "020 7946 0958"),
    ("phone", "(0161) 496 0000"), ("phone", "07700900456")]


def personal_corpus(root: Path) -> Path:
    corpus = root / "corpus"
    (corpus / "site_p").mkdir(parents=True)
    (corpus / "annotations").mkdir()
    for name in ("harbourside.csv", "wealdmoor.csv"):
        shutil.copy(REPO_ANNOTATIONS / name, corpus / "annotations" / name)
    (corpus / "site_p" / "int1.txt").write_text(PERSONAL_TRANSCRIPT, encoding="utf-8")
    write_docx(corpus / "site_p" / "minutes.docx", [
        ("heading", "Alliance board minutes"),
        ("para", ("The FENWICK LANTERN HEALTH PARTNERSHIP board agreed to pool the community "
                  "budget with the council under an alliance contract. Queries to "
                  "Tobias.Quennell@Fenwick-Lantern.nhs.uk or 01632 960123.")),
        ("para", "Marguerite Okonkwo-Baptiste thanked members for their cooperation.")])
    write_metadata(corpus, [
        {"doc_id": "P-INT-01", "path": "site_p/int1.txt", "site": "site_p", "kind": "interview",
         "actor": "commissioner", "date": "2016-05-03", "title": "Interview one"},
        {"doc_id": "P-DOC-01", "path": "site_p/minutes.docx", "site": "site_p",
         "kind": "document", "actor": "provider", "date": "2016-06", "title": "Board minutes"}])
    return corpus


def every_file_text(folder: Path):
    """(name, lower-cased bytes) of every file under folder, zip members opened too."""
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        yield str(path), data.lower()
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                for member in archive.namelist():
                    yield f"{path}!{member}", archive.read(member).lower()


def run_pseudonymised(corpus: Path, outputs: Path, config: Path) -> None:
    assert main(["run", "--corpus", str(corpus), "--outputs", str(outputs), "--cores", "2",
                 "--config", str(config)]) == 0


@pytest.fixture(scope="module")
def pseudonymised_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("pseudo")
    corpus = personal_corpus(root)
    private = root / "private"
    private.mkdir()
    (private / "names.csv").write_text(
        "name,kind\nMarguerite Okonkwo-Baptiste,person\n"
        "Fenwick Lantern Health Partnership,organisation\n", encoding="utf-8")
    config = private / "settings.yaml"
    config.write_text(f"pseudonymisation:\n  enabled: true\n  key: {private / 'key.jsonl'}\n"
                      f"  names: {private / 'names.csv'}\n", encoding="utf-8")
    run_pseudonymised(corpus, root / "outputs", config)
    return root, corpus, config


def test_no_original_reaches_any_output(pseudonymised_run):
    root, _corpus, _config = pseudonymised_run
    outputs = root / "outputs"
    files = dict(every_file_text(outputs))
    # the archives' members were opened, and hold the quotes an original could have leaked in
    assert any("project.qdpx!sources/" in name and b"person-" in data
               for name, data in files.items())
    assert b"person-" in files[f"{outputs}/framework_matrix.xlsx!xl/worksheets/sheet2.xml"]
    leaks = [(name, original) for name, data in files.items()
             for original in ORIGINALS if original.lower().encode() in data]
    assert leaks == []


def test_pseudonyms_reach_the_text_the_passages_and_the_report(pseudonymised_run):
    root, _corpus, _config = pseudonymised_run
    outputs = root / "outputs"
    key = read_key(root / "private" / "key.jsonl")
    pseudonym_of = {identity(e.kind, e.original): e.pseudonym for e in key.entries}
    assert len(pseudonym_of) == len(key.entries) == len(KEY_ORIGINALS)
    wanted = {original: pseudonym_of[identity(kind, original)] for kind, original in KEY_ORIGINALS}
    text = (outputs / "text" / "P-INT-01.txt").read_text(encoding="utf-8")
    page = (outputs / "report" / "docs" / "P-INT-01.html").read_text(encoding="utf-8")
    report = re.sub(r"<[^>]+>", "", page)  # as read: evidence marks may cut into a pseudonym
    for original, pseudonym_wanted in wanted.items():
        assert pseudonym_wanted in text and pseudonym_wanted in report, original
    minutes = (outputs / "text" / "P-DOC-01.txt").read_text(encoding="utf-8")
    for original in ("Fenwick Lantern Health Partnership", "Marguerite Okonkwo-Baptiste",
                     "tobias.quennell@fenwick-lantern.nhs.uk", "01632 960123"):
        assert wanted[original] in minutes, original
    speakers = {row["speaker"] for row in read_csv(outputs / "passages.csv")
                if row["doc_id"] == "P-INT-01"}
    assert speakers == {"", "Interviewer", wanted["Tobias Quennell"],
                        f"Dr {wanted['Radcliffe']}", f"{wanted['Perpetua']} (CCG)"}
    assert key.secret.encode() not in b"".join(data for _, data in every_file_text(outputs))


def test_a_second_run_with_the_same_key_gives_the_same_texts(pseudonymised_run):
    """Extraction alone, through the workflow's own rule, into fresh outputs."""
    root, corpus, config = pseudonymised_run
    again = root / "outputs_again"
    names = ["P-INT-01.txt", "P-DOC-01.txt", "P-INT-01.json", "P-DOC-01.json"]
    subprocess.run([sys.executable, "-m", "snakemake",
                    *(str(again / "text" / name) for name in names),
                    "--snakefile", str(REPO / "Snakefile"), "--directory", str(REPO),
                    "--cores", "2", "--configfile", str(config),
                    "--config", f"corpus={corpus}", f"outputs={again}"],
                   check=True, capture_output=True)
    for name in names:
        assert (again / "text" / name).read_bytes() == (root / "outputs" / "text" / name
                                                         ).read_bytes(), name
