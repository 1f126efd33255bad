"""What a photo must be (contract section 10): one of four image types, recognised by its
first bytes, whatever the request's Content-Type says. Pure: bytes and names in, answers out."""

from __future__ import annotations

from enum import StrEnum


class MediaType(StrEnum):
    """The image types the gateway stores and serves."""

    JPEG = "image/jpeg"
    PNG = "image/png"
    GIF = "image/gif"
    WEBP = "image/webp"


# Long enough for every signature below (WebP's is 12 bytes).
SNIFF_BYTES = 12


def declared_type(content_type: str | None) -> MediaType | None:
    """The accepted type a Content-Type header names (parameters and case ignored), or None."""
    if not content_type:
        return None
    essence = content_type.partition(";")[0].strip().lower()
    try:
        return MediaType(essence)
    except ValueError:
        return None


def sniff(head: bytes) -> MediaType | None:
    """The type the bytes are, by their magic numbers, or None for anything else."""
    if head.startswith(b"\xff\xd8\xff"):
        return MediaType.JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return MediaType.PNG
    if head.startswith((b"GIF87a", b"GIF89a")):
        return MediaType.GIF
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return MediaType.WEBP
    return None


def content_problem(declared: MediaType, head: bytes) -> str | None:
    """Why bytes said to be `declared` are not, in words for an error message; None if they are."""
    found = sniff(head)
    if found is declared:
        return None
    if found is None:
        return f"expected {declared.value} bytes, but they are not an image of an accepted type"
    return f"expected {declared.value} bytes, but they are {found.value}"
