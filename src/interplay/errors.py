"""One small exception hierarchy; every error says what is wrong, where, and what to do."""

from __future__ import annotations


class InterplayError(Exception):
    """Base of every error interplay raises on purpose."""

    code = "E000"


class ConfigError(InterplayError):
    """The configuration file is missing or invalid."""

    code = "E001"


class FileProblemsError(InterplayError):
    """A file cannot be used; carries every problem found in it, not just the first."""

    def __init__(self, path: str, problems: list[str]):
        self.path = path
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{path}: {len(problems)} problem(s):\n{lines}")

    def __reduce__(self):  # raised in a worker process, re-raised in the job's
        return type(self), (self.path, self.problems)


class MetadataError(FileProblemsError):
    """metadata.csv cannot be used."""

    code = "E002"


class CodebookError(FileProblemsError):
    """The codebook file is invalid."""

    code = "E004"


class ExtractionError(InterplayError):
    """A document could not be turned into text; `hint` says what the user can do."""

    code = "E003"

    def __init__(self, problem: str, hint: str):
        self.problem = problem
        self.hint = hint
        super().__init__(f"{problem} ({hint})")

    def __reduce__(self):
        return type(self), (self.problem, self.hint)
