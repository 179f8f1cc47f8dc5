import copy

import pytest
import yaml

from interplay.codebook import CodebookError, load_codebook, parse_codebook

SPEC_IDS = ["competition.tendering", "competition.choice", "competition.contestability",
            "cooperation.integration", "cooperation.contracting", "cooperation.partnership",
            "cooperation.relationships", "regulation.procurement_law",
            "regulation.policy_direction", "contract.payment", "contract.accountability"]


@pytest.fixture(scope="module")
def raw(repo):
    return yaml.safe_load((repo / "config" / "codebook.yaml").read_text(encoding="utf-8"))


def test_project_codebook_implements_the_spec(repo):
    codebook = load_codebook(repo / "config" / "codebook.yaml")
    assert codebook.ids == SPEC_IDS
    for code in codebook.codes:
        assert code.definition and code.examples and code.include and code.exclude
        assert code.phrases or code.patterns
    assert codebook.orientation(["competition.tendering", "cooperation.partnership"]) == "interplay"
    assert codebook.orientation(["contract.payment"]) == "context"
    assert codebook.orientation([]) == ""
    assert codebook.alias_index()["any qualified provider"] == "competition.choice"


def test_spec_examples_in_the_codebook_are_the_projects_own(repo, shared):
    gold = (shared / "data" / "dev-gold.jsonl").read_text(encoding="utf-8")
    codebook = load_codebook(repo / "config" / "codebook.yaml")
    for code in codebook.codes:
        for example in code.examples:
            assert example not in gold


def test_every_problem_is_reported_with_code_and_field(raw):
    data = copy.deepcopy(raw)
    data["codes"][0]["patterns"].append([{"LOWR": "tender"}])
    data["codes"][1]["family"] = "markets"
    data["codes"][2]["id"] = data["codes"][3]["id"]
    data["codes"][4]["colour"] = "blue"
    data["codes"][5]["nonsense"] = 1
    with pytest.raises(CodebookError) as error:
        parse_codebook(data, source="codebook.yaml")
    message = str(error.value)
    assert "code 'cooperation.contracting' field 'colour'" in message
    assert "code 'cooperation.partnership' field 'nonsense': Extra inputs are not permitted" \
        in message
    data["codes"][4]["colour"] = "#123456"
    del data["codes"][5]["nonsense"]
    with pytest.raises(CodebookError) as error:
        parse_codebook(data, source="codebook.yaml")
    message = str(error.value)
    assert "code 'competition.choice' field 'family': unknown family 'markets'" in message
    assert "code 'cooperation.integration' field 'id': duplicate" in message
    last = len(raw["codes"][0]["patterns"])
    assert f"code 'competition.tendering' field 'patterns[{last}]': spaCy rejects" in message
    assert "LOWR" in message


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(CodebookError, match="file not found"):
        load_codebook(tmp_path / "none.yaml")
    (tmp_path / "bad.yaml").write_text("codes: [\n")
    with pytest.raises(CodebookError, match="not valid YAML"):
        load_codebook(tmp_path / "bad.yaml")
    # read by libyaml, but the message is the pure-Python parser's, quoting the line
    (tmp_path / "bad.yaml").write_text("codes:\n  - id: a\n    label: [x, y\n  - id: b\n")
    with pytest.raises(CodebookError, match=r"(?s)line 3, column 12:\n\s+label: \[x, y"):
        load_codebook(tmp_path / "bad.yaml")


def test_researchers_can_add_codes(raw):
    data = copy.deepcopy(raw)
    data["codes"].append({"id": "cooperation.place_boards", "label": "Place boards",
                          "family": "cooperation", "colour": "#336699",
                          "definition": "Local place-based boards.",
                          "phrases": ["place board"]})
    assert parse_codebook(data).ids[-1] == "cooperation.place_boards"


def test_upper_case_lemmas_are_refused(raw):
    data = copy.deepcopy(raw)
    data["codes"][0]["patterns"].append([{"LEMMA": "Tender"}])
    with pytest.raises(CodebookError, match="LEMMA values are lower case"):
        parse_codebook(data)


def test_interplay_run_checks_a_codebook_again_only_when_it_changes(raw, tmp_path, monkeypatch):
    from interplay import cli

    path, outputs = tmp_path / "codebook.yaml", tmp_path / "outputs"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    cli.check_codebook(path, outputs)
    assert (outputs / cli.CODEBOOK_CHECKED).is_file()

    def must_not_run(_):
        raise AssertionError("an unchanged codebook was checked again")

    monkeypatch.setattr(cli, "load_codebook", must_not_run)
    cli.check_codebook(path, outputs)  # unchanged since it passed: no second check
    monkeypatch.undo()

    broken = copy.deepcopy(raw)
    broken["codes"][0]["patterns"].append([{"LOWR": "tender"}])
    path.write_text(yaml.safe_dump(broken), encoding="utf-8")
    for _ in range(2):  # a refused codebook is refused every time
        with pytest.raises(CodebookError, match="code 'competition.tendering' field 'patterns"):
            cli.check_codebook(path, outputs)
