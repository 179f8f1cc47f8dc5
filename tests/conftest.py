import csv
import sys
from pathlib import Path

import pytest

from interplay.cli import main

sys.path.insert(0, str(Path(__file__).parent))

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
REPO_ANNOTATIONS = REPO / "corpus" / "annotations"


def run_pipeline(corpus: Path, outputs: Path) -> None:
    """Run the workflow; small test corpora borrow the demo corpus's annotations to train on."""
    extra = [] if (corpus / "annotations").is_dir() else ["--annotations", str(REPO_ANNOTATIONS)]
    assert main(["run", "--corpus", str(corpus), "--outputs", str(outputs), "--cores", "2",
                 *extra]) == 0


def read_csv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared is not beside the checkout")
    return SHARED


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """The whole pipeline on the bundled demo corpus, once per test session."""
    outputs = tmp_path_factory.mktemp("demo") / "outputs"
    run_pipeline(REPO / "corpus", outputs)
    return REPO / "corpus", outputs
