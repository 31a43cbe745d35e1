"""Response headers Django's SecurityMiddleware does not set (Django 5.2 has no CSP of its own).

- `Content-Security-Policy`: the JSON endpoints allow nothing at all; the admin allows its own
  scripts, styles and images only; so does the GraphiQL page (development only), whose assets the
  app serves itself and whose queries go to the app only.
- `Cache-Control: no-store` on `/graphql/`: answers are per principal and must not be cached.
- `Permissions-Policy`: no powerful browser feature is ever needed.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
ADMIN_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
GRAPHIQL_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        content_type = response.headers.get("Content-Type", "")
        if request.path.startswith("/admin/"):
            response.headers.setdefault("Content-Security-Policy", ADMIN_CSP)
        elif request.path.startswith("/graphql/") and content_type.startswith("text/html"):
            response.headers.setdefault("Content-Security-Policy", GRAPHIQL_CSP)
        elif not (settings.DEBUG and content_type.startswith("text/html")):  # Django's debug pages
            response.headers.setdefault("Content-Security-Policy", API_CSP)
        if request.path.startswith("/graphql/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response
