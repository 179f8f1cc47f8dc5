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
    texts = [line for line in (repo / "corpus" / "annotations" / "national.csv")
             .read_text(encoding="utf-8").splitlines() if len(line) > 80][:150]
    for doc in rules.docs(texts):
        assert set(rules._pattern_matches(doc)) == set(plain(doc))


def test_capitalised_words_get_lower_case_lemmas():
    from interplay.rules import english

    doc = english()("Tenders were invited. Commissioners agreed.")
    assert [t.lemma_ for t in doc if t.is_alpha] == ["tender", "be", "invite", "commissioner",
                                                     "agree"]
