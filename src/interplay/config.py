"""Pipeline settings: validated data, shared by the workflow, the CLI and the tests."""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

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
    # How much an annotation file's passages weigh in training, by file-name pattern
    # (fnmatch; the first pattern that matches wins; a file matching none weighs 1).
    annotation_weights: dict[str, float] = {}

    @model_validator(mode="after")
    def _positive_weights(self) -> CodingSettings:
        wrong = [f"{pattern!r}: {weight}" for pattern, weight in
                 self.annotation_weights.items() if not weight > 0]
        if wrong:
            raise ValueError("coding.annotation_weights: a weight must be above 0 "
                             f"({'; '.join(wrong)})")
        return self

    def annotation_weight(self, file_name: str) -> float:
        """The weight of a passage from the annotation file `file_name` (annotation_weights)."""
        return next((weight for pattern, weight in self.annotation_weights.items()
                     if fnmatch.fnmatchcase(file_name, pattern)), 1.0)


class PseudonymisationSettings(BaseModel):
    """Personal data replaced by stable pseudonyms at extraction (see interplay.pseudonymise)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    key: Path | None = None  # the key file: secret and pseudonym -> original; never exported
    names: Path | None = None  # CSV name,kind of people and organisations to pseudonymise

    @model_validator(mode="after")
    def _key_when_enabled(self) -> PseudonymisationSettings:
        if self.enabled and self.key is None:
            raise ValueError("pseudonymisation.key is required when pseudonymisation is "
                             "enabled: the path of the key file, outside the outputs and "
                             "corpus directories")
        return self


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
    pseudonymisation: PseudonymisationSettings = PseudonymisationSettings()
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
    if settings.pseudonymisation.enabled:
        _check_pseudonymisation_files(settings.pseudonymisation, corpus, outputs)


def _check_pseudonymisation_files(pseudonymisation: PseudonymisationSettings, corpus: Path,
                                  outputs: Path) -> None:
    """The key re-identifies everyone: it must not sit where outputs are shared from, nor in
    the corpus, which the pipeline never writes; the names list is personal data too."""
    key = pseudonymisation.key.resolve()
    for folder, what in ((outputs, "outputs"), (corpus, "corpus")):
        if key.is_relative_to(folder):
            raise ConfigError(
                f"pseudonymisation.key '{pseudonymisation.key}' is inside the {what} directory "
                f"'{folder}': keep the key file outside both the outputs (which are shared) "
                "and the corpus (which the pipeline never writes), e.g. in a private folder")
    if key.is_dir():
        raise ConfigError(f"pseudonymisation.key '{pseudonymisation.key}' is a directory: "
                          "give the path of a file (created on the first run)")
    names = pseudonymisation.names
    if names is not None and names.resolve().is_relative_to(outputs):
        raise ConfigError(f"pseudonymisation.names '{names}' is inside the outputs directory "
                          f"'{outputs}': keep the list of names beside the key file")
