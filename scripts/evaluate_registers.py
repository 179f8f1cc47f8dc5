"""How well the coder carries over to text unlike what it was trained on.

    .venv/bin/python scripts/evaluate_registers.py [--json OUT]

Cross-validation by document still scores each passage with a model trained on the same
sites, voices and registers. Real material from other sources (news, legal briefings,
board papers, managers' own words) describes mechanisms in other words, and that is where
a coder fails. So each annotation file of the national texts in other registers
(`corpus/annotations/national_*.csv` but `national.csv` and `national_extra.csv`) is held
out in turn: a model trained on all other annotation files codes it. A second model,
trained on the site corpora and the national policy texts only (none of these files),
shows what the other registers' own training data adds. Figures are macro- and micro-F1
over the codes with support, and mean Cohen's kappa, as in scripts/evaluate_dev_gold.py.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from interplay.annotations import read_annotations
from interplay.cli import _project_settings
from interplay.codebook import load_codebook
from interplay.coder import PassageCoder, summary_metrics
from interplay.config import annotation_dir
from interplay.training import _fit

CORE_NATIONAL = ("national.csv", "national_extra.csv")


def fit(paths: list[Path], codebook, settings) -> PassageCoder:
    annotations = read_annotations(paths, codebook)
    return _fit(codebook, annotations, [], settings=settings.coding, seed=settings.random_seed)[0]


def score(coder: PassageCoder, path: Path, codebook) -> dict:
    held_out = read_annotations([path], codebook).annotations
    truth = np.array([[c in a.codes for c in codebook.ids] for a in held_out], dtype=int)
    codings = coder.code([a.text for a in held_out], with_evidence=False)
    predicted = np.array([[c in x.codes for c in codebook.ids] for x in codings], dtype=int)
    return summary_metrics(truth, predicted, codebook.ids)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()
    settings = _project_settings(REPO)
    codebook = load_codebook(settings.codebook)
    paths = sorted(annotation_dir(settings).glob("*.csv"))
    registers = [p for p in paths if p.name.startswith("national")
                 and p.name not in CORE_NATIONAL]
    own_corpus = fit([p for p in paths if p not in registers], codebook, settings)
    results = {}
    print(f"{'held out':28s} {'passages':>8s}   {'trained on the rest':>22s}   "
          f"{'site + policy texts only':>24s}")
    for held_out in registers:
        rest = fit([p for p in paths if p != held_out], codebook, settings)
        with_rest, without = score(rest, held_out, codebook), score(own_corpus, held_out, codebook)
        results[held_out.name] = {"trained_on_the_rest": with_rest,
                                  "site_and_policy_texts_only": without}
        print(f"{held_out.name:28s} {with_rest['passages']:8d}   "
              f"{with_rest['macro_f1']:.3f} / {with_rest['micro_f1']:.3f} / "
              f"{with_rest['mean_kappa']:.3f}   {without['macro_f1']:.3f} / "
              f"{without['micro_f1']:.3f} / {without['mean_kappa']:.3f}", flush=True)
    for key, label in (("trained_on_the_rest", "trained on the rest"),
                       ("site_and_policy_texts_only", "site + policy texts only")):
        macro = np.mean([r[key]["macro_f1"] for r in results.values()])
        micro = np.mean([r[key]["micro_f1"] for r in results.values()])
        print(f"mean, {label}: macro-F1 {macro:.3f}, micro-F1 {micro:.3f}")
    print("(macro-F1 / micro-F1 / mean kappa over the codes with support)")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
