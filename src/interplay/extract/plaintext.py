"""Plain text: UTF-8, UTF-8 with BOM or cp1252, detected strictly and reported, never guessed."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from interplay.errors import ExtractionError

CONTROL_BYTES = set(range(9)) | {11, 12} | set(range(14, 32))


class DecodedText(NamedTuple):
    text: str  # newlines normalised to '\n'
    encoding: str  # utf-8, utf-8-sig, cp1252, or utf-8+cp1252 for a file that mixes them
    warning: str  # empty for plain UTF-8


def decode_text(data: bytes) -> DecodedText:
    """Decode strictly. A file that is not UTF-8 is read as cp1252 only where it has to be:
    when some lines are genuine UTF-8 (non-ASCII that decodes) and others are not (a
    transcript pasted together from two sources), each line is decoded as what it is and
    the cp1252 lines are named, rather than turning every UTF-8 character into mojibake."""
    if not data.strip():
        raise ExtractionError("empty file", "check that the right file was added")
    sample = data[:65536]
    if b"\x00" in sample or sum(b in CONTROL_BYTES for b in sample) > len(sample) * 0.01:
        raise ExtractionError("binary content in a text file",
                              "this is not plain text: add the original document instead")
    encoding = "utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8"
    try:
        text = data.decode(encoding)
        warning = "" if encoding == "utf-8" else f"decoded as {encoding}"
    except UnicodeDecodeError as utf8_error:
        text, encoding, warning = _decode_windows(data, utf8_error)
    return DecodedText(text.replace("\r\n", "\n").replace("\r", "\n"), encoding, warning)


def _decode_windows(data: bytes, utf8_error: UnicodeDecodeError) -> tuple[str, str, str]:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    lines = data.splitlines(keepends=True)
    decoded, windows_lines, utf8_non_ascii = [], [], False
    for number, line in enumerate(lines, start=1):
        try:
            decoded.append(line.decode("utf-8"))
            utf8_non_ascii |= not line.isascii()
        except UnicodeDecodeError:
            try:
                decoded.append(line.decode("cp1252"))
            except UnicodeDecodeError:
                raise ExtractionError(
                    f"line {number}: text is neither UTF-8 nor Windows-1252 (cp1252)",
                    "re-save the file as UTF-8") from None
            windows_lines.append(number)
    if not utf8_non_ascii:
        return data.decode("cp1252"), "cp1252", "decoded as cp1252 (not valid UTF-8)"
    shown = ", ".join(map(str, windows_lines[:10])) + (" …" if len(windows_lines) > 10 else "")
    return ("".join(decoded), "utf-8+cp1252",
            (f"mixed encodings: line(s) {shown} decoded as cp1252, the rest as UTF-8; "
            "check those lines and re-save the file as UTF-8"))


def extract_plaintext(path: str | Path) -> DecodedText:
    return decode_text(Path(path).read_bytes())
