# Input functions and constraints shared by every stage.

from interplay.config import check_locations

check_locations(SETTINGS)


wildcard_constraints:
    doc_id=r"[A-Za-z0-9][A-Za-z0-9_.-]*",


def source_of(wildcards):
    return str(CORPUS / DOCS[wildcards.doc_id].path)


def per_document(pattern):
    return expand(pattern, doc_id=sorted(DOCS))
