"""Plain text: UTF-8, UTF-8 with BOM or cp1252, detected strictly and reported, never guessed."""

from __future__ import annotations

from pathlib import Path

from interplay.errors import ExtractionError

CONTROL_BYTES = set(range(9)) | {11, 12} | set(range(14, 32))


def decode_text(data: bytes) -> tuple[str, str]:
    """(text, encoding) with newlines normalised to '\\n'."""
    if not data.strip():
        raise ExtractionError("empty file", "check that the right file was added")
    sample = data[:65536]
    if b"\x00" in sample or sum(b in CONTROL_BYTES for b in sample) > len(sample) * 0.01:
        raise ExtractionError("binary content in a text file",
                              "this is not plain text: add the original document instead")
    if data.startswith(b"\xef\xbb\xbf"):
        encoding = "utf-8-sig"
    else:
        encoding = "utf-8"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as utf8_error:
        try:
            text, encoding = data.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            line = data[: utf8_error.start].count(b"\n") + 1
            raise ExtractionError(
                f"line {line}: text is neither UTF-8 nor Windows-1252 (cp1252)",
                "re-save the file as UTF-8") from None
    return text.replace("\r\n", "\n").replace("\r", "\n"), encoding


def extract_plaintext(path: str | Path) -> tuple[str, str]:
    return decode_text(Path(path).read_bytes())
