"""Charts of the coding: where each mechanism appears, and how sites and actors differ.

Three charts, each written as PNG (for documents and slides) and SVG (for the report):

- `site_code_heatmap`: sites x codes, each cell the share of the site's codable passages
  carrying the code, so sites with many or few documents compare fairly;
- `orientation_balance`: per site, codable passages by orientation (competition,
  cooperation, both at once = interplay, context only, none), as stacked shares;
- `actor_profile`: per code, its share of commissioners' and of providers' codable
  passages, the contrast the research asks about.

matplotlib is imported only when drawing, so the Snakefile can take the chart names from
here without paying for it in every job. Figures are plain `Figure` objects (no pyplot
state, no GUI backend), written so that the same data gives the same bytes on every run
(fixed SVG hash salt, no creation date): reruns can be compared file by file.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from interplay.codebook import Codebook, load_codebook
from interplay.fileio import atomic_open
from interplay.passage_table import CodedPassage, read_coded_passages, share_with_code

if TYPE_CHECKING:
    from matplotlib.figure import Figure

CHART_NAMES = ("site_code_heatmap", "orientation_balance", "actor_profile")
CHART_FORMATS = ("png", "svg")
CHART_TITLES = {
    "site_code_heatmap": "Sites × codes: share of each site's codable passages with each code",
    "orientation_balance": "Competition, cooperation and their interplay per site",
    "actor_profile": "Commissioners and providers: how often each code appears",
}
ORIENTATION_ORDER = ("competition", "interplay", "cooperation", "context", "")
ORIENTATION_LABELS = {"competition": "Competition", "interplay": "Interplay (both)",
                      "cooperation": "Cooperation", "context": "Context only (regulation, "
                      "contract)", "": "No code"}
ORIENTATION_COLOURS = {"competition": "#D55E00", "interplay": "#7B3294",
                       "cooperation": "#0072B2", "context": "#8C8C8C", "": "#E3E3E3"}
CONTRASTED_ACTORS = ("commissioner", "provider")
STYLE = {
    "svg.hashsalt": "interplay",  # element ids in the SVG come from this, not from a clock
    "svg.fonttype": "path",  # glyphs as paths: identical rendering without the fonts
    "font.family": "DejaVu Sans",  # shipped with matplotlib, so no system font lookup
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
SAVE_METADATA = {"svg": {"Date": None, "Creator": None},
                 "png": {"Software": None}}


def chart_paths(out_dir: str | os.PathLike) -> list[Path]:
    """Every file `draw_charts` writes, in a fixed order (the Snakemake rule's outputs)."""
    return [Path(out_dir) / f"{name}.{fmt}" for name in CHART_NAMES for fmt in CHART_FORMATS]


def site_code_shares(passages: Sequence[CodedPassage], codebook: Codebook
                     ) -> tuple[list[str], np.ndarray]:
    """Sites (sorted) and a sites x codes matrix of shares of codable passages."""
    sites = sorted({p.site for p in passages})
    shares = np.zeros((len(sites), len(codebook.ids)))
    for row, site in enumerate(sites):
        in_site = [p for p in passages if p.site == site]
        for column, code in enumerate(codebook.ids):
            shares[row, column] = share_with_code(in_site, code)
    return sites, shares


def orientation_counts(passages: Sequence[CodedPassage]) -> tuple[list[str], np.ndarray]:
    """Sites (sorted) and a sites x ORIENTATION_ORDER matrix of codable passage counts."""
    sites = sorted({p.site for p in passages})
    counts = np.zeros((len(sites), len(ORIENTATION_ORDER)), dtype=int)
    for row, site in enumerate(sites):
        for p in passages:
            if p.site == site and p.codable:
                counts[row, ORIENTATION_ORDER.index(p.orientation)] += 1
    return sites, counts


def actor_shares(passages: Sequence[CodedPassage], codebook: Codebook
                 ) -> tuple[dict[str, int], np.ndarray]:
    """Codable passages per contrasted actor, and an actors x codes matrix of shares."""
    sizes = {actor: sum(1 for p in passages if p.actor == actor and p.codable)
             for actor in CONTRASTED_ACTORS}
    shares = np.array([[share_with_code([p for p in passages if p.actor == actor], code)
                        for code in codebook.ids] for actor in CONTRASTED_ACTORS])
    return sizes, shares


def _no_data(axes, message: str) -> None:
    axes.text(0.5, 0.5, message, ha="center", va="center", transform=axes.transAxes,
              color="#555555")
    axes.set_axis_off()


def heatmap_figure(passages: Sequence[CodedPassage], codebook: Codebook) -> Figure:
    from matplotlib.colors import to_rgb
    from matplotlib.figure import Figure
    from matplotlib.ticker import PercentFormatter

    sites, shares = site_code_shares(passages, codebook)
    labels = [codebook.by_id[c].label for c in codebook.ids]
    figure = Figure(figsize=(1.0 + 0.75 * len(labels), 2.6 + 0.42 * max(len(sites), 1)))
    grid = figure.add_gridspec(2, 2, height_ratios=[0.18, max(len(sites), 1)],
                               width_ratios=[40, 1], hspace=0.04, wspace=0.03)
    strip, axes, colourbar_axes = (figure.add_subplot(grid[0, 0]), figure.add_subplot(grid[1, 0]),
                                   figure.add_subplot(grid[1, 1]))
    figure.suptitle("Share of each site's codable passages coded with each code", x=0.02,
                    ha="left", fontsize=11)
    # A strip of the codebook's colours above the columns ties the chart to the report's chips.
    colours = [to_rgb(codebook.by_id[c].colour) for c in codebook.ids]
    strip.imshow([colours], aspect="auto")
    strip.set_axis_off()
    if not sites:
        _no_data(axes, "No passages")
        colourbar_axes.set_axis_off()
        return figure
    image = axes.imshow(shares, aspect="auto", cmap="Greys", vmin=0,
                        vmax=max(float(shares.max()), 0.01))
    axes.set_xticks(range(len(labels)), labels, rotation=40, ha="right", rotation_mode="anchor")
    axes.set_yticks(range(len(sites)), sites)
    threshold = 0.55 * float(image.get_clim()[1])
    for row in range(len(sites)):
        for column in range(len(labels)):
            value = shares[row, column]
            axes.text(column, row, f"{value:.0%}", ha="center", va="center", fontsize=8,
                      color="white" if value > threshold else "#222222")
    axes.spines[:].set_visible(False)
    figure.colorbar(image, cax=colourbar_axes, format=PercentFormatter(1.0, decimals=0))
    return figure


def balance_figure(passages: Sequence[CodedPassage]) -> Figure:
    from matplotlib.colors import to_rgb
    from matplotlib.figure import Figure
    from matplotlib.ticker import PercentFormatter

    sites, counts = orientation_counts(passages)
    figure = Figure(figsize=(8.5, 1.8 + 0.45 * max(len(sites), 1)))
    axes = figure.subplots()
    axes.set_title("Orientation of codable passages per site", loc="left", fontsize=11)
    if not sites:
        _no_data(axes, "No passages")
        return figure
    totals = counts.sum(axis=1)
    shares = counts / np.maximum(totals, 1)[:, None]
    left = np.zeros(len(sites))
    positions = np.arange(len(sites))
    for column, orientation in enumerate(ORIENTATION_ORDER):
        colour = ORIENTATION_COLOURS[orientation]
        axes.barh(positions, shares[:, column], left=left, height=0.7, color=colour,
                  label=ORIENTATION_LABELS[orientation])
        ink = "#000000" if sum(to_rgb(colour)) > 1.8 else "#ffffff"
        for row, share in enumerate(shares[:, column]):
            if share >= 0.06:  # wide enough to hold its label
                axes.text(left[row] + share / 2, row, f"{share:.0%}", ha="center",
                          va="center", fontsize=8, color=ink)
        left += shares[:, column]
    for row, total in enumerate(totals):
        axes.text(1.01, row, f"n={total}", va="center", fontsize=8, color="#444444")
    axes.set_yticks(positions, sites)
    axes.invert_yaxis()
    axes.set_xlim(0, 1)
    axes.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    axes.legend(ncols=len(ORIENTATION_ORDER), loc="upper left", bbox_to_anchor=(0, -0.12),
                frameon=False, fontsize=8)
    return figure


def actor_figure(passages: Sequence[CodedPassage], codebook: Codebook) -> Figure:
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch
    from matplotlib.ticker import PercentFormatter

    sizes, shares = actor_shares(passages, codebook)
    labels = [codebook.by_id[c].label for c in codebook.ids]
    figure = Figure(figsize=(8.5, 1.6 + 0.42 * len(labels)))
    axes = figure.subplots()
    axes.set_title("Codes in commissioners' and providers' passages (share of their codable "
                   "passages)", loc="left", fontsize=11)
    if not any(sizes.values()):
        _no_data(axes, "No codable commissioner or provider passages")
        return figure
    positions = np.arange(len(labels))
    height = 0.38
    colours = [codebook.by_id[c].colour for c in codebook.ids]
    axes.barh(positions - height / 2, shares[0], height=height, color=colours,
              edgecolor=colours)
    axes.barh(positions + height / 2, shares[1], height=height, color="white",
              edgecolor=colours, hatch="////", linewidth=1.0)
    axes.set_yticks(positions, labels)
    axes.invert_yaxis()
    axes.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    axes.set_xlim(0, max(float(shares.max()) * 1.1, 0.05))
    axes.legend(handles=[
        Patch(facecolor="#777777", edgecolor="#777777",
              label=f"Commissioners (n={sizes['commissioner']})"),
        Patch(facecolor="white", edgecolor="#777777", hatch="////",
              label=f"Providers (n={sizes['provider']})"),
    ], loc="lower right", frameon=False, fontsize=8)
    return figure


def save_figure(figure: Figure, path: Path) -> None:
    """Write one format atomically, without the run-dependent metadata."""
    fmt = path.suffix.lstrip(".")
    with atomic_open(path, "wb") as handle:
        figure.savefig(handle, format=fmt, dpi=150, bbox_inches="tight",
                       metadata=SAVE_METADATA[fmt])


def draw_charts(passages: Sequence[CodedPassage], codebook: Codebook,
                out_dir: str | os.PathLike) -> list[Path]:
    """Draw every chart into `out_dir` as PNG and SVG; returns the files written."""
    from matplotlib import rc_context

    out = Path(out_dir)
    written = []
    with rc_context(STYLE):
        figures = {"site_code_heatmap": heatmap_figure(passages, codebook),
                   "orientation_balance": balance_figure(passages),
                   "actor_profile": actor_figure(passages, codebook)}
        for name in CHART_NAMES:
            for fmt in CHART_FORMATS:
                path = out / f"{name}.{fmt}"
                save_figure(figures[name], path)
                written.append(path)
    return written


def draw_charts_from_files(coded_csv: str | os.PathLike, codebook_path: str | os.PathLike,
                           out_dir: str | os.PathLike) -> list[Path]:
    """The Snakemake rule's entry point: read coded_passages.csv and the codebook, draw."""
    return draw_charts(read_coded_passages(coded_csv), load_codebook(codebook_path), out_dir)
