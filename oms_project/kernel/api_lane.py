"""Bearer-token GraphQL requests skip the middleware that only browsers need.

A call to `/graphql/` with `Authorization: Bearer ...` is authenticated by its token alone
(`graphql_view.py`): it has no session, no CSRF cookie (the view is CSRF-exempt), no
`request.user`, no messages, and is never a static file. The middleware for those is listed in
`settings.MIDDLEWARE` through `browser_only(...)`, which passes such a request straight on, so
it costs nothing there (docs/performance.md). Every other request, the admin and GraphiQL
included, goes through all of it as before. The headers every answer carries (Django's
`SecurityMiddleware`, `X-Frame-Options`, `security_headers.py`) and the request context and
metrics still apply to API calls.

One check of `CommonMiddleware` is not a browser's concern and runs on every request, API calls
included: the `Host` header must be one of `ALLOWED_HOSTS` (Django's `request.get_host()`), or the
answer is a plain 400 that does not repeat the header (Django's `DisallowedHost` handling).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.middleware import AuthenticationMiddleware as _Authentication
from django.contrib.messages.middleware import MessageMiddleware as _Messages
from django.contrib.sessions.middleware import SessionMiddleware as _Sessions
from django.http import HttpRequest, HttpResponse
from django.middleware.common import CommonMiddleware as _Common
from django.middleware.csrf import CsrfViewMiddleware as _Csrf
from whitenoise.middleware import WhiteNoiseMiddleware as _WhiteNoise

API_PATH = "/graphql/"


def is_api_request(request: HttpRequest) -> bool:
    """A bearer-token call of the GraphQL endpoint (decided once per request)."""
    known: bool | None = getattr(request, "oms_api_request", None)
    if known is None:
        known = request.path_info == API_PATH and request.META.get("HTTP_AUTHORIZATION", "")[:7].lower() == "bearer "
        request.oms_api_request = known  # type: ignore[attr-defined]  # asked again by later middleware
    return known


def browser_only(middleware: type[Any]) -> type[Any]:
    """`middleware`, passing API requests straight to the next one."""

    class BrowserOnly(middleware):  # type: ignore[misc]  # a Django middleware class, chosen at import
        def __call__(self, request: HttpRequest) -> HttpResponse:
            if is_api_request(request):
                response: HttpResponse = self.get_response(request)
                return response
            answered: HttpResponse = super().__call__(request)
            return answered

    BrowserOnly.__name__ = BrowserOnly.__qualname__ = middleware.__name__
    BrowserOnly.__doc__ = f"{middleware.__module__}.{middleware.__name__}, for browser requests only."
    return BrowserOnly


class CommonMiddleware(browser_only(_Common)):  # type: ignore[misc]  # a class made by browser_only
    """Django's CommonMiddleware for browser requests; for API calls only its host check."""

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_api_request(request):
            request.get_host()  # DisallowedHost (a SuspiciousOperation): 400, header not echoed
            response: HttpResponse = self.get_response(request)
            return response
        answered: HttpResponse = super().__call__(request)
        return answered


WhiteNoiseMiddleware = browser_only(_WhiteNoise)
SessionMiddleware = browser_only(_Sessions)
CsrfViewMiddleware = browser_only(_Csrf)
AuthenticationMiddleware = browser_only(_Authentication)
MessageMiddleware = browser_only(_Messages)
