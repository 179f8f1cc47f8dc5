"""What moved between two runs: codes gained and lost, framework-matrix cells, site figures.

A codebook edit, new annotations or new review decisions retrain the coder, and any
passage may then be coded differently; the counts a researcher reports move with it. Before
trusting the new counts one needs to see which passages changed and what that did to the
framework matrix and the site summaries, site by site.

Both uses share one core: a *run view* is what an outputs folder says, reduced to what can
be compared (each passage's codes and scores, the matrix cells' figures, every number of
the site summaries, and what the coder was trained on), and `compare` turns two views into
change rows. The pipeline keeps the previous run's view as `outputs/snapshot/` and writes
`changes.md` / `changes.csv` against it (`record_changes`); `interplay diff` compares any
two outputs folders (or a snapshot) the same way.

- A passage is matched across runs by its ID, which hashes its words: a passage present in
  only one run (document added or removed, or the passage reworded) is reported as `added`
  or `removed`, never as gaining or losing codes.
- A matrix cell's figures are those `summarise.matrix_row` writes: the passages carrying
  the code and their share of the site's codable passages (`summarise.share`).
- A site figure is any number in `sites/<site>.json` outside its quotes, under a stable
  key: `balance.interplay`, `code_profile[competition.choice].share`,
  `sources.docs[A-INT-01].coded`.
"""

from __future__ import annotations

import csv
import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from interplay.errors import InterplayError
from interplay.fileio import read_json, write_csv, write_json, write_text
from interplay.passage_table import SCORE_PREFIX, CodedPassage, passage_from_row
from interplay.summarise import markdown_table, markdown_text, percent, share, spreadsheet_cell

CODED = "coded_passages.csv"
SITES = "sites"
METRICS = Path("model") / "metrics.json"
SNAPSHOT_JSON = "snapshot.json"
REQUIRED_COLUMNS = ("passage_id", "doc_id", "site", "actor", "kind", "start", "end", "text",
                    "codes")
# Parts of a site summary that are quotes or prose, not figures.
NOT_FIGURES = frozenset({"interplay_passages", "quotes", "narrative"})
# A list of records in a site summary is keyed by the first of these its records hold.
RECORD_KEYS = ("code", "doc_id")
CODABLE = "codable passages"  # the matrix's per-site column (code '')
CELL_FIGURES = ("passages", "share of codable")
# What the coder was trained on (model/metrics.json `trained_on`), as changes.md names it.
INPUT_NAMES = {"codebook_sha256": "codebook", "annotations_sha256": "annotations",
               "reviews": "review decisions", "settings": "coding settings",
               "seed": "random seed", "interplay": "interplay version"}
CHANGE_COLUMNS = ("kind", "site", "change", "code", "figure", "before", "after", "passage_id",
                  "doc_id", "codes_before", "codes_after", "score_before", "score_after",
                  "text")
TEXT_CHARS = 200
NOTHING_MOVED = ("Nothing moved: every passage has the same codes, and the framework matrix "
                 "and the site summaries show the same figures.")


class RunFolderError(InterplayError):
    """A folder given as a run is not an interplay outputs folder (or snapshot)."""

    code = "E010"


# ---------------------------------------------------------------------------------------
# Run views


@dataclass(frozen=True)
class RunView:
    """What one run's outputs say, reduced to what can be compared."""

    folder: str
    codes: tuple[str, ...]  # the code IDs of its coded passages, in column order
    passages: dict[str, CodedPassage]  # passage_id -> passage, in file order
    matrix: dict[tuple[str, str, str], float]  # (site, code or '', figure) -> value
    figures: dict[tuple[str, str], float]  # (site, key) -> value
    provenance: dict  # time, model_id, trained_on (see `provenance`)

    @property
    def sites(self) -> list[str]:
        return sorted({site for site, _, _ in self.matrix})


def matrix_figures(passages: Iterable[CodedPassage], codes: Sequence[str],
                   sites: Iterable[str]) -> dict[tuple[str, str, str], float]:
    """The figures of the framework matrix's `sites` sheet, as `summarise.matrix_row`
    counts them: per site its codable passages, and per code the passages carrying it and
    their share of the codable ones."""
    by_site: dict[str, list[CodedPassage]] = {site: [] for site in sites}
    for passage in passages:
        by_site.setdefault(passage.site, []).append(passage)
    figures: dict[tuple[str, str, str], float] = {}
    for site in sorted(by_site):
        rows = by_site[site]
        codable = sum(1 for p in rows if p.codable)
        figures[(site, "", CODABLE)] = codable
        for code in codes:
            carrying = sum(1 for p in rows if code in p.codes)
            figures[(site, code, CELL_FIGURES[0])] = carrying
            figures[(site, code, CELL_FIGURES[1])] = share(carrying, codable)
    return figures


def flatten_figures(summary: dict) -> dict[str, float]:
    """Every number of a site summary (sites/<site>.json) under a stable key; quotes and
    prose are left out, lists of records are keyed by their code or doc_id."""
    figures: dict[str, float] = {}

    def walk(value: Any, key: str) -> None:
        if isinstance(value, bool):
            return
        if isinstance(value, int | float):
            figures[key] = value
        elif isinstance(value, dict):
            for name, item in value.items():
                if key or name not in NOT_FIGURES:
                    walk(item, f"{key}.{name}" if key else name)
        elif isinstance(value, list):
            for item in value:
                record = next((item[k] for k in RECORD_KEYS
                               if isinstance(item, dict) and k in item), None)
                if record is not None:
                    walk(item, f"{key}[{record}]")

    walk(summary, "")
    return figures


def _file_time(path: Path) -> str:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat(timespec="seconds")


def provenance(folder: Path) -> dict:
    """When a run's coded passages were written and what its coder was trained on: from a
    snapshot's snapshot.json, else from the folder's model/metrics.json (absent in a
    folder without a model: then only the time)."""
    if (folder / SNAPSHOT_JSON).is_file():
        return read_json(folder / SNAPSHOT_JSON)
    found: dict[str, Any] = {"time": _file_time(folder / CODED)}
    if (folder / METRICS).is_file():
        metrics = read_json(folder / METRICS)
        found.update(model_id=metrics.get("model_id"), trained_on=metrics.get("trained_on"))
    return found


def _read_passages(path: Path) -> tuple[tuple[str, ...], list[CodedPassage]]:
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        columns = reader.fieldnames or []
        missing = [c for c in REQUIRED_COLUMNS if c not in columns]
        if missing:
            raise RunFolderError(f"{path}: missing column(s) {', '.join(missing)}: not an "
                                 "interplay coded_passages.csv")
        codes = tuple(c[len(SCORE_PREFIX):] for c in columns if c.startswith(SCORE_PREFIX))
        return codes, [passage_from_row(row) for row in reader]


def _read_site(path: Path) -> tuple[str, dict[str, float]]:
    try:
        summary = read_json(path)
    except ValueError as error:
        raise RunFolderError(f"{path}: not valid JSON ({error}): rerun the pipeline") from None
    if not isinstance(summary, dict) or not isinstance(summary.get("site"), str):
        raise RunFolderError(f"{path}: not a site summary (no 'site'): rerun the pipeline")
    return summary["site"], flatten_figures(summary)


def read_run(folder: str | os.PathLike, *,
             site_files: Iterable[str | os.PathLike] | None = None) -> RunView:
    """The run view of an outputs folder or a snapshot; `site_files` (default: every
    sites/*.json) are the site summaries to read. Raises RunFolderError naming the folder
    and what is missing when it is not an interplay outputs folder."""
    root = Path(folder)
    for needed in (root / CODED, root / SITES):
        if not needed.exists():
            raise RunFolderError(f"{root} is not an interplay outputs folder: {needed} is "
                                 "missing (give the outputs folder of a finished `interplay "
                                 "run`, or its snapshot/)")
    codes, passages = _read_passages(root / CODED)
    paths = sorted((root / SITES).glob("*.json")) if site_files is None else site_files
    figures: dict[tuple[str, str], float] = {}
    for path in paths:
        site, numbers = _read_site(Path(path))
        figures.update({(site, key): value for key, value in numbers.items()})
    sites = {site for site, _ in figures}
    return RunView(folder=str(root), codes=codes,
                   passages={p.passage_id: p for p in passages},
                   matrix=matrix_figures(passages, codes, sites), figures=figures,
                   provenance=provenance(root))


# ---------------------------------------------------------------------------------------
# Comparing two views


@dataclass(frozen=True)
class PassageChange:
    """A passage that gained or lost a code, or is in one run only (`added`, `removed`)."""

    change: str  # gained, lost, added, removed
    passage_id: str
    doc_id: str
    site: str
    code: str  # the code gained or lost ('' for added and removed)
    codes_before: tuple[str, ...]
    codes_after: tuple[str, ...]
    score_before: float | None  # the passage's score for `code` (None: not scored)
    score_after: float | None
    text: str


@dataclass(frozen=True)
class FigureChange:
    """A matrix cell's or a site summary's figure that moved."""

    kind: str  # matrix_cell or site_figure
    site: str
    code: str  # the matrix column ('' for the site's codable passages and for site figures)
    figure: str
    before: float | None  # None: not in that run
    after: float | None

    @property
    def change(self) -> str:
        if self.before is None:
            return "added"
        if self.after is None:
            return "removed"
        return "up" if self.after > self.before else "down"


@dataclass(frozen=True)
class Comparison:
    before: RunView
    after: RunView
    passages: list[PassageChange]
    matrix: list[FigureChange]
    figures: list[FigureChange]

    @property
    def sites(self) -> list[str]:
        """Every site of either run."""
        return sorted(set(self.before.sites) | set(self.after.sites))

    @property
    def codes(self) -> list[str]:
        return codes_of(self.before, self.after)

    @property
    def changed(self) -> bool:
        return bool(self.passages or self.matrix or self.figures)


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= TEXT_CHARS else text[:TEXT_CHARS - 1].rstrip() + "…"


def passage_changes(before: dict[str, CodedPassage], after: dict[str, CodedPassage],
                    codes: Sequence[str]) -> list[PassageChange]:
    """Codes gained and lost by passages in both runs (in `codes` order), and passages in
    one run only; in the after run's passage order, then the removed ones."""
    changes = []
    for passage_id, new in after.items():
        old = before.get(passage_id)
        if old is None:
            changes.append(PassageChange("added", passage_id, new.doc_id, new.site, "", (),
                                         new.codes, None, None, _short(new.text)))
            continue
        moved = set(old.codes) ^ set(new.codes)
        for code in [c for c in codes if c in moved] + sorted(moved - set(codes)):
            changes.append(PassageChange(
                "gained" if code in new.codes else "lost", passage_id, new.doc_id, new.site,
                code, old.codes, new.codes, old.scores.get(code), new.scores.get(code),
                _short(new.text)))
    changes += [PassageChange("removed", passage_id, old.doc_id, old.site, "", old.codes, (),
                              None, None, _short(old.text))
                for passage_id, old in before.items() if passage_id not in after]
    return changes


def moved(before: dict, after: dict) -> list[tuple[Any, float | None, float | None]]:
    """(key, before, after) of every value that differs, or is in one dict only."""
    keys = [*after, *(k for k in before if k not in after)]
    return [(k, before.get(k), after.get(k)) for k in keys if before.get(k) != after.get(k)]


def codes_of(before: RunView, after: RunView) -> list[str]:
    """The codes of either run: the after run's in its order, then any it dropped."""
    return [*after.codes, *(c for c in before.codes if c not in after.codes)]


def compare(before: RunView, after: RunView) -> Comparison:
    return Comparison(
        before=before, after=after,
        passages=passage_changes(before.passages, after.passages, codes_of(before, after)),
        matrix=sorted((FigureChange("matrix_cell", site, code, figure, old, new)
                       for (site, code, figure), old, new in moved(before.matrix, after.matrix)),
                      key=lambda c: c.site),
        figures=sorted((FigureChange("site_figure", site, "", key, old, new)
                        for (site, key), old, new in moved(before.figures, after.figures)),
                       key=lambda c: c.site))


def _number(value: float | None) -> str:
    return "" if value is None else str(value)


def change_rows(comparison: Comparison) -> list[dict]:
    """changes.csv: passage rows, then matrix cells, then site figures, each by site."""
    rows = [{"kind": "passage", "site": c.site, "change": c.change, "code": c.code,
             "passage_id": c.passage_id, "doc_id": c.doc_id,
             "codes_before": ";".join(c.codes_before), "codes_after": ";".join(c.codes_after),
             "score_before": _number(c.score_before), "score_after": _number(c.score_after),
             "text": c.text}
            for c in sorted(comparison.passages, key=lambda c: c.site)]
    rows += [{"kind": c.kind, "site": c.site, "change": c.change, "code": c.code,
              "figure": c.figure, "before": _number(c.before), "after": _number(c.after)}
             for c in [*comparison.matrix, *comparison.figures]]
    # Sites and passage text come from documents: guarded as the matrix CSV guards them.
    return [{k: spreadsheet_cell(row.get(k, "")) if k in ("site", "text") else row.get(k, "")
             for k in CHANGE_COLUMNS} for row in rows]


# ---------------------------------------------------------------------------------------
# Presenting a comparison (changes.md, `interplay diff` in the terminal and as HTML)


@dataclass(frozen=True)
class SiteDigest:
    """One site's changes as every presentation shows them."""

    site: str
    codes: list[tuple[str, int, int]]  # code, passages gaining it, passages losing it
    added: int
    removed: int
    cells: list[tuple[str, str, str]]  # matrix column (code, or '' = codable), before, after
    figures: list[FigureChange]
    passages: list[PassageChange]


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def cell_text(view: RunView, site: str, code: str) -> str:
    """A matrix cell's figures as the matrix writes them: `3 passages (12% of codable)`."""
    if code == "":
        value = view.matrix.get((site, "", CODABLE))
        return "—" if value is None else str(value)
    count = view.matrix.get((site, code, CELL_FIGURES[0]))
    if count is None:
        return "—"
    return (f"{_plural(int(count), 'passage')} "
            f"({percent(view.matrix[(site, code, CELL_FIGURES[1])])} of codable)")


def figure_text(key: str, value: float | None) -> str:
    """A site figure for reading: shares as percentages, differences in points."""
    if value is None:
        return "—"
    last = key.rsplit(".", 1)[-1]
    if "share" in last or ".shares." in key:
        return f"{value:.1%}"
    if last == "difference":
        return f"{value * 100:+.1f} points"
    return str(value)


def site_digests(comparison: Comparison, *, site: str | None = None) -> list[SiteDigest]:
    """Per site with any change (or only `site`): codes gained and lost, passages added and
    removed, matrix cells and site figures that moved, and the passages."""
    digests = []
    for name in comparison.sites if site is None else [site]:
        passages = [c for c in comparison.passages if c.site == name]
        codes = [(code, sum(1 for c in passages if c.code == code and c.change == "gained"),
                  sum(1 for c in passages if c.code == code and c.change == "lost"))
                 for code in comparison.codes]
        columns = dict.fromkeys(c.code for c in comparison.matrix if c.site == name)
        figures = [c for c in comparison.figures if c.site == name]
        if not (passages or columns or figures):
            continue
        digests.append(SiteDigest(
            site=name, codes=[c for c in codes if c[1] or c[2]],
            added=sum(1 for c in passages if c.change == "added"),
            removed=sum(1 for c in passages if c.change == "removed"),
            cells=[(code, cell_text(comparison.before, name, code),
                    cell_text(comparison.after, name, code)) for code in columns],
            figures=figures, passages=passages))
    return digests


def _time_text(stamp: str | None) -> str:
    if not stamp:
        return "an unknown time"
    return datetime.fromisoformat(stamp).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def run_text(view: RunView) -> str:
    """`coded passages of 2025-05-01 10:03 UTC, model 8837b9c795f3`."""
    model = view.provenance.get("model_id")
    return (f"coded passages of {_time_text(view.provenance.get('time'))}"
            + (f", model {model}" if model else ""))


def changed_inputs(before: dict, after: dict) -> list[str] | None:
    """What the coder was trained on that differs between two runs, by name (`codebook`,
    `annotations`, `review decisions`...); None when a run does not record it."""
    old, new = before.get("trained_on"), after.get("trained_on")
    if not isinstance(old, dict) or not isinstance(new, dict):
        return None
    keys = [*INPUT_NAMES, *sorted((set(old) | set(new)) - set(INPUT_NAMES))]
    return [INPUT_NAMES.get(k, k) for k in keys if old.get(k) != new.get(k)]


def inputs_sentence(comparison: Comparison) -> str:
    changed = changed_inputs(comparison.before.provenance, comparison.after.provenance)
    if changed is None:
        return "What the coder was trained on is not recorded for both runs."
    if not changed:
        return ("The coder was trained on the same codebook, annotations, review decisions "
                "and settings in both runs.")
    return ("Between the two runs, what the coder was trained on changed: "
            + ", ".join(changed) + ".")


def totals_sentence(comparison: Comparison) -> str:
    counts = {change: sum(1 for c in comparison.passages if c.change == change)
              for change in ("gained", "lost", "added", "removed")}
    recoded = len({c.passage_id for c in comparison.passages if c.code})
    return (f"{_plural(counts['gained'], 'code')} gained and {counts['lost']} lost, on "
            f"{_plural(recoded, 'passage')}; {_plural(counts['added'], 'passage')} added and "
            f"{counts['removed']} removed; {_plural(len(comparison.matrix), 'matrix figure')} "
            f"and {_plural(len(comparison.figures), 'site-summary figure')} moved.")


def _codes_markdown(codes: Sequence[str]) -> str:
    return ", ".join(f"`{c}`" for c in codes) or "none"


def _score(value: float | None) -> str:
    return "not scored" if value is None else f"{value:.2f}"


def passage_markdown(change: PassageChange) -> list[str]:
    where = f"`{change.passage_id}` ({markdown_text(change.doc_id)})"
    if change.code:
        what = (f"**{change.change}** `{change.code}` (score {_score(change.score_before)} → "
                f"{_score(change.score_after)}); codes {_codes_markdown(change.codes_before)} "
                f"→ {_codes_markdown(change.codes_after)}")
    else:
        held = change.codes_after if change.change == "added" else change.codes_before
        what = f"**{change.change}** (in one run only); codes {_codes_markdown(held)}"
    return [f"- {where} {what}", f"  > {markdown_text(change.text)}"]


def digest_markdown(digest: SiteDigest) -> list[str]:
    out = [f"## {markdown_text(digest.site)}", ""]
    if digest.codes:
        out += markdown_table(["code", "passages gaining it", "passages losing it"],
                              ([f"`{code}`", str(gained), str(lost)]
                               for code, gained, lost in digest.codes),
                              ["---", "---:", "---:"])
        out.append("")
    if digest.added or digest.removed:
        out += [(f"Passages in one run only: {digest.added} added, {digest.removed} "
                 "removed (new, removed or reworded text)."), ""]
    if digest.cells:
        out += ["Framework-matrix cells that moved:", ""]
        out += markdown_table(["column", "before", "after"],
                              ([f"`{code}`" if code else CODABLE, before, after]
                               for code, before, after in digest.cells))
        out.append("")
    if digest.figures:
        out += ["Site-summary figures that moved:", ""]
        out += markdown_table(["figure", "before", "after"],
                              ([f"`{c.figure}`", figure_text(c.figure, c.before),
                                figure_text(c.figure, c.after)] for c in digest.figures))
        out.append("")
    if digest.passages:
        out += ["Passages:", ""]
        for change in digest.passages:
            out += passage_markdown(change)
        out.append("")
    return out


def changes_markdown(comparison: Comparison) -> str:
    """changes.md: what was compared, the totals, then each site that changed."""
    out = ["# Changes since the previous run", "",
           (f"This run ({run_text(comparison.after)}) compared with the previous one "
            f"({run_text(comparison.before)}), kept in `snapshot/`. "
            + inputs_sentence(comparison)), ""]
    if not comparison.changed:
        out += [NOTHING_MOVED, ""]
        return "\n".join(out)
    out += [totals_sentence(comparison), ""]
    for digest in site_digests(comparison):
        out += digest_markdown(digest)
    return "\n".join(out).rstrip("\n") + "\n"


def first_run_markdown(current: RunView) -> str:
    """changes.md when there is no snapshot yet."""
    return ("# Changes since the previous run\n\n"
            f"There is no previous run to compare against. This run ({run_text(current)}) "
            "was kept in `snapshot/`, so the next run whose inputs change will list here "
            "which passages gained or lost codes and which figures moved.\n")


def diff_html(comparison: Comparison, digests: Sequence[SiteDigest]) -> str:
    """The `interplay diff --html` page: self-contained, everything escaped."""
    from interplay.report import template_environment

    environment = template_environment()
    environment.filters.update(score=_score, figure=figure_text)
    return environment.get_template("diff.html").render(
        before=comparison.before, after=comparison.after, run_text=run_text,
        inputs=inputs_sentence(comparison), totals=totals_sentence(comparison),
        changed=comparison.changed, nothing_moved=NOTHING_MOVED, digests=digests,
        codable=CODABLE)


# ---------------------------------------------------------------------------------------
# The pipeline's edge: compare with the snapshot, then refresh it


def existing_snapshot(snapshot: Path) -> Path | None:
    """The snapshot folder, or the previous one if a crash struck between the two renames
    of `refresh_snapshot`; None on a first run."""
    previous = snapshot.with_name(f".{snapshot.name}.previous")
    return next((p for p in (snapshot, previous) if (p / SNAPSHOT_JSON).is_file()), None)


def refresh_snapshot(snapshot: Path, current: RunView, *, coded_csv: str | os.PathLike,
                     site_files: Iterable[str | os.PathLike]) -> None:
    """Make the snapshot this run's coded passages, site summaries and provenance: built in
    a folder beside it, then swapped in by renames, so a crash leaves the old snapshot or
    the new one (see `existing_snapshot`), never half of one."""
    parent = snapshot.parent
    for stale in parent.glob(f".{snapshot.name}.new-*"):  # left by a killed job
        shutil.rmtree(stale)
    building = parent / f".{snapshot.name}.new-{os.getpid()}"
    previous = snapshot.with_name(f".{snapshot.name}.previous")
    try:
        (building / SITES).mkdir(parents=True)
        shutil.copyfile(coded_csv, building / CODED)
        for path in site_files:
            shutil.copyfile(path, building / SITES / Path(path).name)
        write_json(building / SNAPSHOT_JSON, current.provenance)
        if snapshot.exists():
            if previous.exists():
                shutil.rmtree(previous)
            os.replace(snapshot, previous)
        os.replace(building, snapshot)
        if previous.exists():
            shutil.rmtree(previous)
    finally:
        if building.exists():
            shutil.rmtree(building)


def record_changes(outputs: str | os.PathLike, *, site_files: Sequence[str | os.PathLike],
                   csv_path: str | os.PathLike, md_path: str | os.PathLike,
                   snapshot: str | os.PathLike) -> list[str]:
    """changes.csv and changes.md for this run against the snapshot of the previous one,
    then the snapshot refreshed to this run; returns log lines. Written before the
    snapshot moves, so a job killed in between is rerun to the same result."""
    outputs, snapshot = Path(outputs), Path(snapshot)
    current = read_run(outputs, site_files=site_files)
    previous = existing_snapshot(snapshot)
    if previous is None:
        write_csv(csv_path, CHANGE_COLUMNS, [])
        write_text(md_path, first_run_markdown(current))
        lines = ["no previous run: nothing to compare"]
    else:
        comparison = compare(read_run(previous), current)
        write_csv(csv_path, CHANGE_COLUMNS, change_rows(comparison))
        write_text(md_path, changes_markdown(comparison))
        lines = [totals_sentence(comparison)]
    refresh_snapshot(snapshot, current, coded_csv=outputs / CODED, site_files=site_files)
    return [*lines, f"snapshot refreshed: {snapshot}"]
