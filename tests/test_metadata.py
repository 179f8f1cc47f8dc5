import pytest
from builders import mini_corpus, write_metadata

from interplay.cli import main
from interplay.errors import MetadataError
from interplay.metadata import UNASSIGNED_SITE, read_corpus

ROW = {"doc_id": "D1", "path": "site_a/int1.txt", "site": "site_a", "kind": "interview",
           "actor": "commissioner", "date": "2016-05-03", "title": "Interview"}


def test_demo_style_corpus_indexes_cleanly(tmp_path):
    index = read_corpus(mini_corpus(tmp_path))
    assert sorted(index.by_id()) == ["A-DOC-01", "A-DOC-02", "A-INT-01", "A-NOTE-01"]
    assert index.problems == [] and index.warnings == []


def test_missing_columns_are_named(tmp_path):
    corpus = mini_corpus(tmp_path)
    (corpus / "metadata.csv").write_text("doc_id,path,site\nX,site_a/int1.txt,a\n")
    with pytest.raises(MetadataError) as error:
        read_corpus(corpus)
    assert "metadata.csv" in str(error.value)
    assert "missing column(s): kind, actor, date, title" in str(error.value)


def test_all_structural_faults_reported_at_once(tmp_path):
    corpus = mini_corpus(tmp_path)
    write_metadata(corpus, [ROW, ROW, {**ROW, "doc_id": "bad id!"}, {**ROW, "doc_id": ""}])
    with pytest.raises(MetadataError) as error:
        read_corpus(corpus)
    message = str(error.value)
    assert "line 3: duplicate doc_id 'D1' (first on line 2)" in message
    assert "line 4: doc_id 'bad id!' may use only" in message
    assert "line 5: doc_id is empty" in message


@pytest.mark.parametrize("change,expected", [
    ({"path": "../outside.txt"}, "escapes the corpus directory"),
    ({"path": "/etc/passwd"}, "is absolute"),
    ({"path": "site_a/nothere.txt"}, "file 'site_a/nothere.txt' not found"),
    ({"kind": "memo"}, "unknown kind 'memo'"),
    ({"actor": "patient"}, "unknown actor 'patient'"),
    ({"date": "31/12/2016"}, "is not YYYY, YYYY-MM or YYYY-MM-DD"),
    ({"date": "2016-02-30"}, "is not YYYY, YYYY-MM or YYYY-MM-DD"),
])
def test_row_faults_exclude_only_that_document(tmp_path, change, expected):
    corpus = mini_corpus(tmp_path)
    (tmp_path / "outside.txt").write_text("secret")
    good = {**ROW, "doc_id": "GOOD"}
    write_metadata(corpus, [good, {**ROW, **change}])
    index = read_corpus(corpus)
    assert [d.doc_id for d in index.documents if d.listed] == ["GOOD"]
    [problem] = index.problems
    assert problem.doc_id == "D1" and problem.severity == "error"
    assert "metadata.csv line 3" in problem.problem and expected in problem.problem
    assert problem.hint


def test_unlisted_files_are_warned_and_unassigned(tmp_path):
    corpus = mini_corpus(tmp_path)
    (corpus / "site_a" / "extra.txt").write_text("A stray note about the tender.")
    (corpus / "annotations").mkdir()
    (corpus / "annotations" / "team.csv").write_text("doc_id,text,codes,coder\n")
    index = read_corpus(corpus)
    [extra] = [d for d in index.documents if not d.listed]
    assert extra.site == UNASSIGNED_SITE and extra.path == "site_a/extra.txt"
    [warning] = index.warnings
    assert warning.path == "site_a/extra.txt" and "not listed in metadata.csv" in warning.problem


def test_validate_command_exit_codes_and_messages(tmp_path, capsys):
    corpus = mini_corpus(tmp_path)
    assert main(["validate", "--corpus", str(corpus)]) == 0
    write_metadata(corpus, [ROW, {**ROW, "doc_id": "D2", "path": "site_a/gone.txt"}])
    assert main(["validate", "--corpus", str(corpus)]) == 1
    err = capsys.readouterr().err
    assert "(D2)" in err and "file 'site_a/gone.txt' not found" in err
    write_metadata(corpus, [ROW, ROW])
    assert main(["validate", "--corpus", str(corpus)]) == 2
    assert "duplicate doc_id 'D1'" in capsys.readouterr().err
