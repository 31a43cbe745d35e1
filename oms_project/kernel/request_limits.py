"""The request body limit shared by `/graphql/` and `/webhooks/...` (each with its own setting)."""

from __future__ import annotations

from django.http import HttpRequest


def body_exceeds(request: HttpRequest, limit: int) -> bool:
    """Whether the body is over `limit` bytes. The declared Content-Length is checked first, so a
    large body is refused unread; the body itself is read only when it is declared small."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    return declared > limit or len(request.body) > limit
