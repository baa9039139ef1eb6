"""What a file's bytes must look like for the type it was announced with."""

from __future__ import annotations

TEXT_TYPES = frozenset({"text/plain", "text/markdown", "text/csv"})
# Enough of a file to recognize every binary type below.
SNIFF_BYTES = 16


def is_text(content_type: str) -> bool:
    return content_type in TEXT_TYPES


def _binary_matches(content_type: str, head: bytes) -> bool:
    if content_type == "application/pdf":
        return head.startswith(b"%PDF-")
    if content_type == "image/png":
        return head.startswith(b"\x89PNG\r\n\x1a\n")
    if content_type == "image/jpeg":
        return head.startswith(b"\xff\xd8\xff")
    if content_type == "image/webp":
        return head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    return False


def matches(content_type: str, data: bytes) -> bool:
    """Whether `data` (a binary file's first SNIFF_BYTES, or a text file whole) is of this type.

    Text must be valid UTF-8 without NUL bytes; binary types are known by their magic bytes.
    """
    if is_text(content_type):
        if b"\x00" in data:
            return False
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return False
        return True
    return _binary_matches(content_type, data)
