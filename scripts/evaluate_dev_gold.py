"""Score the coder on ../shared/data/dev-gold.jsonl beside a naive keyword baseline.

    .venv/bin/python scripts/evaluate_dev_gold.py [--gold PATH] [--json OUT]

The gold passages are real text coded independently by two coders and adjudicated; they
are used only to measure, never to train. Three coders are compared per code and overall
(macro- and micro-F1 over the codes with support, mean Cohen's kappa):

- naive keywords: a code is given when the passage contains any of a few obvious words
  for it (the words of the framework's own table), as QDA packages' auto-coding does;
- rules only: the codebook's phrases and patterns (interplay.rules);
- interplay: the trained coder (rules + calibrated classifier), as `interplay code` runs it.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from interplay.cli import _project_settings, ensure_model
from interplay.coder import summary_metrics

NAIVE_KEYWORDS = {
    "competition.tendering": ["tender", "procurement", "procure", "bid"],
    "competition.choice": ["patient choice", "any qualified provider", "aqp", "choose"],
    "competition.contestability": ["market test", "contestab", "new entrant", "market"],
    "cooperation.integration": ["integrated care", "integration", "accountable care",
                                "new care model", "vanguard"],
    "cooperation.contracting": ["alliance", "prime contractor", "lead provider",
                                "joint venture", "consortium", "consortia"],
    "cooperation.partnership": ["joint commissioning", "pooled budget", "section 75",
                                "stp", "sustainability and transformation", "co-commission"],
    "cooperation.relationships": ["trust", "relationship", "relational", "goodwill"],
    "regulation.procurement_law": ["regulations", "law", "legal", "monitor", "cma",
                                   "competition rules", "challenge"],
    "regulation.policy_direction": ["five year forward view", "forward view",
                                    "planning guidance", "white paper", "bill", "policy"],
    "contract.payment": ["payment", "tariff", "capitat", "incentive", "budget", "risk share"],
    "contract.accountability": ["accountab", "governance", "outcomes", "performance",
                                "contract management"],
}


def naive_keywords(text: str) -> list[str]:
    lowered = text.lower()
    return [code for code, words in NAIVE_KEYWORDS.items()
            if any(re.search(r"\b" + re.escape(w), lowered) for w in words)]


def as_matrix(code_lists: list[list[str]], ids: list[str]) -> np.ndarray:
    return np.array([[c in codes for c in ids] for codes in code_lists], dtype=int)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", default=str(REPO.parent / "shared" / "data" / "dev-gold.jsonl"))
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()
    lines = Path(args.gold).read_text(encoding="utf-8").splitlines()
    gold = [json.loads(line) for line in lines if line.strip()]
    coder = ensure_model(_project_settings(REPO))
    ids = coder.codebook.ids
    texts = [g["text"] for g in gold]
    truth = as_matrix([g["codes"] for g in gold], ids)
    rules = [sorted({e.code for e in coder.rules.evidence(d)}) for d in coder.rules.docs(texts)]
    results = {
        "naive keywords": summary_metrics(truth, as_matrix([naive_keywords(t) for t in texts],
                                                           ids), ids),
        "rules only": summary_metrics(truth, as_matrix(rules, ids), ids),
        "interplay": summary_metrics(truth, as_matrix([c.codes for c in coder.code(texts)],
                                                      ids), ids),
    }
    names = list(results)
    print(f"dev-gold: {len(gold)} passages, {args.gold}\n")
    print(f"{'code':30s} {'n':>3s}  " + "  ".join(f"{n:>22s}" for n in names))
    print(f"{'':30s} {'':>3s}  " + "  ".join(f"{'P    R    F1   kappa':>22s}" for _ in names))
    for code in ids:
        cells = []
        for name in names:
            m = results[name]["per_code"][code]
            cells.append(f"{m['precision']:.2f} {m['recall']:.2f} {m['f1']:.2f} {m['kappa']:5.2f}")
        support = results["interplay"]["per_code"][code]["support"]
        print(f"{code:30s} {support:3d}  " + "  ".join(f"{c:>22s}" for c in cells))
    for key, label in (("macro_f1", "macro-F1"), ("micro_f1", "micro-F1"),
                       ("mean_kappa", "mean kappa")):
        print(f"{label:34s}  " + "  ".join(f"{results[n][key]:>22.3f}" for n in names))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
