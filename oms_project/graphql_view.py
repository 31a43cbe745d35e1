"""The `/graphql/` endpoint: authenticate every request, then hand the principal to resolvers."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from graphene_django.views import GraphQLView

from identity.application.authenticate import authenticate, parse_authorization_header
from identity.domain.errors import AccessRevoked, AuthenticationFailed, KeySourceUnavailable
from identity.domain.principal import Principal
from identity.infrastructure.jwt_verifier import PyJwtVerifier
from identity.infrastructure.tenants import OrmTenantDirectory
from snapshots.infrastructure.customer_store import OrmAuthorizationLookup

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class GraphQLContext:
    """What every resolver receives as `info.context`."""

    request: HttpRequest
    principal: Principal


def authenticate_request(request: HttpRequest) -> Principal:
    token = parse_authorization_header(request.headers.get("Authorization"))
    verifier = PyJwtVerifier(
        leeway=settings.OMS_JWT_LEEWAY_SECONDS,
        jwks_lifespan=settings.OMS_JWKS_CACHE_SECONDS,
        jwks_cooldown=settings.OMS_JWKS_REFRESH_COOLDOWN_SECONDS,
        jwks_timeout=settings.OMS_JWKS_FETCH_TIMEOUT_SECONDS,
    )
    return authenticate(
        token,
        tenants=OrmTenantDirectory(),
        verifier=verifier,
        authorizations=OrmAuthorizationLookup(),
        single_tenant_id=settings.OMS_SINGLE_TENANT_ID,
    )


def error_response(status: int, code: str, message: str) -> JsonResponse:
    response = JsonResponse(
        {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]},
        status=status,
    )
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="oms"'
    return response


class OmsGraphQLView(GraphQLView):
    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method in ("GET", "HEAD") and self.graphiql and self.can_display_graphiql(
            request, {}
        ):
            # The GraphiQL page itself is static; the queries it sends are authenticated below.
            return super().dispatch(request, *args, **kwargs)
        if request.method not in ("GET", "POST"):
            return super().dispatch(request, *args, **kwargs)
        try:
            request.oms_principal = authenticate_request(request)  # request-scoped, not global
        except AuthenticationFailed as exc:
            logger.info("authentication refused: %s", exc.message)
            return error_response(401, exc.code, exc.message)
        except AccessRevoked as exc:
            return error_response(403, exc.code, exc.message)
        except KeySourceUnavailable as exc:
            return error_response(503, exc.code, exc.message)
        return super().dispatch(request, *args, **kwargs)

    def get_context(self, request: HttpRequest) -> GraphQLContext:
        return GraphQLContext(request=request, principal=request.oms_principal)
