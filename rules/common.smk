# Input functions and constraints shared by every stage.

from interplay import __version__ as INTERPLAY_VERSION
from interplay.config import check_locations, review_dir
from interplay.review import decision_digests, sheet_paths
from interplay.workers import run_job

check_locations(SETTINGS)

# Reviewers' sheets are read by the jobs that use them; the workflow sees them through a
# hash of what they decide, so appending undecided rows (`interplay review`) reruns nothing.
REVIEW_DIR = review_dir(SETTINGS)
REVIEW_SHEETS = [str(p) for p in sheet_paths(REVIEW_DIR)]
REVIEW_DECISIONS, REVIEWS_FOR_TRAINING = decision_digests(REVIEW_DIR)


wildcard_constraints:
    doc_id=r"[A-Za-z0-9][A-Za-z0-9_.-]*",


def source_of(wildcards):
    return str(CORPUS / DOCS[wildcards.doc_id].path)


def per_document(pattern):
    return expand(pattern, doc_id=sorted(DOCS))
