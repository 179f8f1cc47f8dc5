import pytest

from interplay.codebook import load_codebook
from interplay.rules import RuleMatcher


@pytest.fixture(scope="module")
def rules(repo):
    return RuleMatcher(load_codebook(repo / "config" / "codebook.yaml"))


@pytest.mark.parametrize("text,code", [
    ("In the end we went out to tender for the MSK service.", "competition.tendering"),
    ("Hearing aids were opened up under AQP in 2013.", "competition.choice"),
    ("The CCG and the council signed a section 75 agreement to pool the money.",
     "cooperation.partnership"),
    ("Providers signed an alliance agreement with a shared risk and reward.",
     "cooperation.contracting"),
])
def test_evidence_names_code_and_exact_offsets(rules, text, code):
    [doc] = rules.docs([text])
    evidence = rules.evidence(doc)
    assert code in {e.code for e in evidence}
    for item in evidence:
        assert text[item.start:item.end] == item.text


def test_no_evidence_in_unrelated_text(rules):
    [doc] = rules.docs(["The car park will be resurfaced over the bank holiday weekend."])
    assert rules.evidence(doc) == []


def test_prefiltered_matching_equals_plain_spacy_matching(rules, repo):
    from spacy.matcher import Matcher

    plain = Matcher(rules.nlp.vocab)
    for code in rules.codebook.codes:
        if code.patterns:
            plain.add(code.id, code.patterns)
    texts = [line for path in sorted((repo / "corpus" / "annotations").glob("*.csv"))
             for line in path.read_text(encoding="utf-8").splitlines() if len(line) > 80]
    seeds = repo.parent / "shared" / "data" / "seeds"  # real policy prose, when beside us
    texts += [block for path in sorted(seeds.glob("*")) if path.is_file()
              for block in path.read_text(encoding="utf-8", errors="replace").split("\n\n")
              if len(block) > 80] if seeds.is_dir() else []
    matched = 0
    for doc in rules.docs(texts):
        found = rules._pattern_matches(doc)
        assert set(found) == set(plain(doc)), doc.text
        matched += bool(found)
    assert matched > 500


@pytest.mark.parametrize(("pattern", "longest"), [
    ([{"LOWER": "a"}, {"LOWER": "b", "OP": "?"}], 2),
    ([{"LOWER": "a"}, {"IS_ALPHA": True, "OP": "{0,3}"}, {"LEMMA": "c"}], 5),
    ([{"LOWER": "a", "OP": "{2}"}, {"LOWER": "b", "OP": "{,4}"}], 6),
    ([{"LOWER": "a"}, {"LOWER": "b", "OP": "+"}], None),
    ([{"LOWER": "a"}, {"LOWER": "b", "OP": "{1,}"}], None),
    ([{"LOWER": "a"}, {"LOWER": "b", "OP": "!"}], None),
    ([{"LOWER": "a", "IS_SENT_START": True}], None),
])
def test_longest_match_bounds_the_window_or_asks_for_the_whole_passage(pattern, longest):
    from interplay.rules import _longest_match

    assert _longest_match(pattern) == longest


def test_windows_around_anchors_merge_where_they_overlap():
    from interplay.rules import _windows

    column = ["x", "a", "x", "x", "a", "x", "x", "x", "x", "a"]
    assert _windows(column, frozenset({"a"}), 2) == [(0, 3), (3, 6), (8, 10)]
    assert _windows(column, frozenset({"a"}), 3) == [(0, 7), (7, 10)]
    assert _windows(column, frozenset({"b"}), 3) == []


def test_capitalised_words_get_lower_case_lemmas():
    from interplay.rules import english

    doc = english()("Tenders were invited. Commissioners agreed.")
    assert [t.lemma_ for t in doc if t.is_alpha] == ["tender", "be", "invite", "commissioner",
                                                     "agree"]


@pytest.mark.parametrize("op", ["?", "*", "{0,2}", "{,2}", "{0}"])
def test_a_token_that_may_be_absent_is_no_anchor(op):
    from interplay.rules import _anchors

    pattern = [{"LOWER": "pooled"}, {"LOWER": "health", "OP": op}, {"LEMMA": "budget"}]
    assert _anchors(pattern) == [("LOWER", frozenset({"pooled"})),
                                 ("LEMMA", frozenset({"budget"}))]
