import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
    docs = list(rules.docs(texts))
    matched = 0
    for doc, found in zip(docs, rules._pattern_matches(docs), strict=True):
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


# Patterns of every kind the windows must get right: optional and repeated tokens, an
# anchor twice, IN lists on LOWER, LEMMA and ORTH, and patterns that must see the whole
# passage (unbounded, negated, sentence starts, no anchor).
TRICKY_PATTERNS = [
    [{"LOWER": {"IN": ["a", "b"]}}],
    [{"LOWER": "a"}, {"LOWER": "b", "OP": "?"}, {"LEMMA": "tender"}],
    [{"LEMMA": "tender"}, {"IS_PUNCT": False, "OP": "{0,2}"}, {"ORTH": {"IN": ["A", "c"]}}],
    [{"LOWER": "a", "OP": "{2}"}, {"LOWER": "b", "OP": "{,2}"}],
    [{"LOWER": "a"}, {"IS_ALPHA": True, "OP": "?"}, {"LOWER": "a"}],
    [{"LOWER": "c"}, {"LOWER": "b", "OP": "+"}],
    [{"LOWER": "b"}, {"LOWER": "a", "OP": "!"}],
    [{"LOWER": "c", "IS_SENT_START": True}],
    [{"IS_PUNCT": True}, {"LOWER": "c", "OP": "?"}],
]
WORDS = ["a", "A", "b", "c", "the", "tender", "Tenders", "tendered", ",", "."]


def rules_for(patterns: list[list[dict]], phrases: tuple[str, ...] = ()) -> RuleMatcher:
    """A RuleMatcher for a codebook with one code per pattern, and one for the phrases."""
    from interplay.codebook import parse_codebook

    codes = [{"patterns": [pattern]} for pattern in patterns]
    codes += [{"phrases": list(phrases)}] if phrases else []
    return RuleMatcher(parse_codebook({
        "families": {"competition": {"label": "Competition"}},
        "codes": [{"id": f"competition.p{n}", "label": "p", "family": "competition",
                   "colour": "#000000", "definition": "d", **code}
                  for n, code in enumerate(codes)]}))


@pytest.fixture(scope="module")
def tricky():
    return rules_for(TRICKY_PATTERNS)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(st.sampled_from(WORDS), max_size=14), min_size=1, max_size=5))
def test_batches_match_as_plain_spacy_matching_passage_by_passage(tricky, passages):
    """Windows clipped to their passage and merged within it, whatever the batch holds
    (empty passages, anchors at the edges, next to another passage's anchors)."""
    from spacy.matcher import Matcher

    plain = Matcher(tricky.nlp.vocab)
    for code in tricky.codebook.codes:
        plain.add(code.id, code.patterns)
    docs = list(tricky.docs([" ".join(words) for words in passages]))
    assert [set(found) for found in tricky._pattern_matches(docs)] == \
        [set(plain(doc)) for doc in docs]
    assert tricky.evidence_of(docs) == [tricky.evidence(doc) for doc in docs]


def test_no_pattern_to_run_in_windows():
    phrases_only = rules_for([], phrases=("market test",))
    assert phrases_only.evidence_of([]) == []
    assert [[e.text for e in found] for found in phrases_only.evidence_of(
        list(phrases_only.docs(["", "A market test."])))] == [[], ["market test"]]
    whole = rules_for([[{"LOWER": "a"}, {"LOWER": "b", "OP": "+"}], [{"IS_PUNCT": True}]])
    assert [[e.text for e in found] for found in whole.evidence_of(
        list(whole.docs(["", "a b b, x", "b a"])))] == [[], ["a b b", ","], []]


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
