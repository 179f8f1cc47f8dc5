"""Pipeline settings: validated data, shared by the workflow, the CLI and the tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from interplay.errors import ConfigError


class ExtractionSettings(BaseModel):
    """How documents are read (see interplay.extract)."""

    model_config = ConfigDict(extra="forbid")

    # which library reads PDF character and line boxes; the cleanup after it is shared.
    # pypdfium2 is four to seven times faster; where its text differs is listed in
    # interplay.extract.pdfium_boxes.
    pdf_backend: Literal["pdfplumber", "pypdfium2"] = "pdfplumber"
    # a file larger than this is refused before it is opened (a 200 MB "transcript" is
    # almost always a wrong file, and reading it whole would blow the memory budget)
    max_file_mb: float = Field(100, gt=0)


class SegmentationSettings(BaseModel):
    """How documents are cut into passages (see interplay.segment)."""

    model_config = ConfigDict(extra="forbid")

    max_passage_chars: int = Field(1200, ge=200, le=20000)
    code_interviewer_turns: bool = False


class CodingSettings(BaseModel):
    """The learned coder (see interplay.coder)."""

    model_config = ConfigDict(extra="forbid")

    min_words: int = Field(5, ge=0)
    heading_max_words: int = Field(12, ge=0)
    C: float = Field(16.0, gt=0)
    rule_weight: float = Field(1.0, ge=0)
    folds: int = Field(5, ge=2, le=20)
    use_codebook_examples: bool = True


class Settings(BaseModel):
    """Everything config/config.yaml may hold; unknown keys are refused, not ignored."""

    model_config = ConfigDict(extra="forbid")

    corpus: Path = Path("corpus")
    outputs: Path = Path("outputs")
    codebook: Path = Path("config/codebook.yaml")
    annotations: Path | None = None  # human-coded passages; None means <corpus>/annotations
    reviews: Path | None = None  # reviewers' sheets; None means <corpus>/reviews
    extraction: ExtractionSettings = ExtractionSettings()
    segmentation: SegmentationSettings = SegmentationSettings()
    coding: CodingSettings = CodingSettings()
    random_seed: int = 13


def settings_from_mapping(data: dict[str, Any], *, source: str = "config") -> Settings:
    """Validate a config mapping, reporting every bad key at once."""
    try:
        return Settings.model_validate(data)
    except ValidationError as error:
        problems = [
            f"{source}: key '{'.'.join(str(p) for p in e['loc'])}': {e['msg']}"
            for e in error.errors()
        ]
        raise ConfigError("\n".join(problems)) from None


def load_settings(path: str | Path, **overrides: Any) -> Settings:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from None
    data.update({k: v for k, v in overrides.items() if v is not None})
    return settings_from_mapping(data, source=str(path))


def annotation_dir(settings: Settings) -> Path:
    return settings.annotations if settings.annotations else settings.corpus / "annotations"


def review_dir(settings: Settings) -> Path:
    return settings.reviews if settings.reviews else settings.corpus / "reviews"


def check_locations(settings: Settings) -> None:
    """Derived files must never land inside the corpus, nor the corpus inside the outputs."""
    corpus, outputs = settings.corpus.resolve(), settings.outputs.resolve()
    if outputs == corpus or outputs.is_relative_to(corpus) or corpus.is_relative_to(outputs):
        raise ConfigError(
            f"outputs directory '{settings.outputs}' and corpus directory '{settings.corpus}' "
            "overlap: choose an outputs directory outside the corpus")
