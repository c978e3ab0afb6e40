"""Images sent inside GraphQL variables as standard base64 (plain JSON, works from GraphiQL and any client):
one decoder with one size limit for every argument that takes an image (retrieve's exampleImageBase64,
describe's imageBase64)."""

from __future__ import annotations

import base64
import binascii

from rskg.errors import ValidationError

MAX_BASE64_CHARS = 28_000_000          # about 20 MiB of image bytes


def decode_image(value: str | None, argument: str) -> bytes | None:
    """The bytes of a base64 image argument (None stays None); RskgError with a hint when too large or invalid.
    Whether the bytes are a readable image is checked where they are decoded as one (the pipeline)."""
    if value is None:
        return None
    if len(value) > MAX_BASE64_CHARS:
        raise ValidationError(f"{argument} is too large", "Send an image of at most 20 MiB.")
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValidationError(f"{argument} is not valid base64: {exc}",
                              "Encode the PNG/JPEG/TIFF bytes with standard base64.") from exc
    if not data:
        raise ValidationError(f"{argument} is empty", "Send the PNG/JPEG/TIFF bytes, base64-encoded.")
    return data
