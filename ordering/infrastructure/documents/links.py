"""Short-lived download links for documents (docs/documents.md, "Download links").

A link names one document of one tenant (an invoice or credit note by number, or the packing
slip of a shipment) and is signed with the project's SECRET_KEY (Django's TimestampSigner, its
own salt): it cannot be forged or altered, and is refused once OMS_DOCUMENT_LINK_SECONDS have
passed since it was made. Whoever holds the link may download the document until then, as with
any pre-signed URL: it is only ever given to a caller who may see the document.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.utils import timezone

SALT = "oms.documents"
INVOICE = "invoice"  # an invoice or credit note, by number
PACKING_SLIP = "slip"  # by shipment id


def link_seconds() -> int:
    return int(getattr(settings, "OMS_DOCUMENT_LINK_SECONDS", 300))


@dataclass(frozen=True)
class Link:
    path: str
    expires_at: datetime


@dataclass(frozen=True)
class Target:
    tenant_id: str
    kind: str
    key: str


def make_link(tenant_id: str, kind: str, key: str) -> Link:
    token = signing.dumps([tenant_id, kind, key], salt=SALT, compress=True)
    return Link(f"/documents/{token}", timezone.now() + timedelta(seconds=link_seconds()))


def read_link(token: str) -> Target | None:
    """The document a link names, or None when it is forged, altered or expired."""
    try:
        tenant_id, kind, key = signing.loads(token, salt=SALT, max_age=link_seconds())
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if kind not in (INVOICE, PACKING_SLIP):
        return None
    return Target(str(tenant_id), kind, str(key))
