"""The `/graphql/` endpoint: authenticate every request, then hand the principal to resolvers."""

from __future__ import annotations

import json
import logging
from contextlib import nullcontext
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import render
from graphene_django.settings import graphene_settings
from graphene_django.views import GraphQLView, HttpError
from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLSyntaxError,
    ListValueNode,
    ObjectValueNode,
    OperationType,
    StringValueNode,
    VariableDefinitionNode,
    execute,
    get_operation_ast,
    validate,
    visit,
)
from graphql.language import Visitor

from identity.application.authenticate import authenticate, parse_authorization_header
from identity.application.persisted_queries import document_to_run
from identity.domain.errors import (
    AccessRevoked,
    AuthenticationFailed,
    KeySourceUnavailable,
)
from identity.domain.persisted_queries import PersistedQueryRefused, requested_hash
from identity.domain.principal import Principal
from identity.infrastructure.jwt_verifier import PyJwtVerifier
from identity.infrastructure.persisted_queries import OrmPersistedQueries
from identity.infrastructure.tenants import OrmTenantDirectory
from oms_project.kernel import admission, replicas, tracing
from oms_project.kernel.errors import graphql_answer, graphql_error, http_status
from oms_project.kernel.graphql_common import query_writes, root_fields
from oms_project.kernel.graphql_limits import (
    actual_cost,
    cost_error,
    parse_within_limits,
    query_too_large,
    requested_cost,
    validation_rules,
)
from oms_project.kernel.input_gate import TextRefused, check_tree
from oms_project.kernel.internal_errors import database_unavailable, graphql_internal_error
from oms_project.kernel.metrics import PERSISTED_QUERIES as PERSISTED_QUERY_OUTCOMES
from oms_project.kernel.observability import bind_tenant
from oms_project.kernel.request_limits import body_exceeds
from oms_project.kernel.tenancy import tenant_transaction
from snapshots.infrastructure.customer_store import OrmAuthorizationLookup

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class GraphQLContext:
    """What every resolver receives as `info.context`."""

    request: HttpRequest
    principal: Principal


def authenticate_request(request: HttpRequest) -> Principal:
    return authenticate_header(request.headers.get("Authorization"))


def authenticate_header(authorization: str | None) -> Principal:
    """The principal of an `Authorization: Bearer <JWT>` value (HTTP requests and live connections)."""
    token = parse_authorization_header(authorization)
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


def principal_of(request: HttpRequest) -> Principal:
    """The request's principal, its token verified once per request (admission may have done it
    first); the same refusal again if it failed."""
    known = getattr(request, "oms_principal", None)
    if known is not None:
        return known
    failed = getattr(request, "oms_authentication_failed", None)
    if failed is not None:
        raise failed
    try:
        request.oms_principal = authenticate_request(request)  # request-scoped, not global
    except (AuthenticationFailed, AccessRevoked, KeySourceUnavailable) as error:
        request.oms_authentication_failed = error
        raise
    return request.oms_principal


def error_response(code: str, message: str) -> JsonResponse:
    """A whole answer that is one refusal, its status from the one table (kernel/errors.py)."""
    status = http_status(code)
    response = JsonResponse(graphql_answer(code, message), status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="oms"'
    return response


@lru_cache(maxsize=8)
def _rules(max_depth: int, max_aliases: int, introspection: bool) -> tuple:
    return tuple(validation_rules(max_depth=max_depth, max_aliases=max_aliases, introspection=introspection))


def invalid_input(refused: TextRefused) -> GraphQLError:
    return GraphQLError(
        refused.message if not refused.field else f"{refused.field} {refused.message}",
        extensions={"code": refused.code, "field": refused.field},
    )


def _literal_value(node):
    """A literal argument value as plain data (strings, objects, lists; other scalars as None)."""
    if isinstance(node, StringValueNode):
        return node.value
    if isinstance(node, ObjectValueNode):
        return {field.name.value: _literal_value(field.value) for field in node.fields}
    if isinstance(node, ListValueNode):
        return [_literal_value(item) for item in node.values]
    return None


class _LiteralText(Visitor):
    """The text gate over every string literal in a document's arguments."""

    def enter_argument(self, node, *_):
        check_tree(_literal_value(node.value), node.name.value, key=node.name.value)


@dataclass(frozen=True)
class CostLimits:
    """What a document may cost before the standard rules run (docs/errors.md)."""

    max_tokens: int
    max_fields: int
    max_repeats: int
    max_directives: int

    @staticmethod
    def from_settings() -> CostLimits:
        return CostLimits(
            settings.OMS_GRAPHQL_MAX_TOKENS,
            settings.OMS_GRAPHQL_MAX_FIELDS,
            settings.OMS_GRAPHQL_MAX_FIELD_REPEATS,
            settings.OMS_GRAPHQL_MAX_DIRECTIVES,
        )


@lru_cache(maxsize=512)
def _checked_document(
    schema, query: str, rules: tuple, limits: CostLimits
) -> tuple[DocumentNode | None, tuple[GraphQLError, ...]]:
    """Parse (at most `max_tokens` tokens), check the document's cost, gate the literals' text and
    validate, once per distinct document, rule set and limits (clients send the same few
    documents with different variables; validation is most of a small request's GraphQL cost).
    The cost checks come before the standard rules, whose overlapping-fields rule is quadratic."""
    try:
        document = parse_within_limits(
            query, max_tokens=limits.max_tokens, max_fields=limits.max_fields, max_repeats=limits.max_repeats
        )
    except GraphQLError as error:
        return None, (error,)
    too_costly = cost_error(
        document, max_fields=limits.max_fields, max_repeats=limits.max_repeats, max_directives=limits.max_directives
    )
    if too_costly is not None:
        return None, (too_costly,)
    try:
        visit(document, _LiteralText())
    except TextRefused as refused:
        return None, (invalid_input(refused),)
    return document, tuple(validate(schema, document, list(rules), graphene_settings.MAX_VALIDATION_ERRORS))


# What the GraphiQL page opens with: replace the placeholder with a token (`make run` prints one).
GRAPHIQL_HEADERS = '{\n  "Authorization": "Bearer <paste a development token>"\n}'
GRAPHIQL_QUERY = (
    "# Who am I? Paste a token in the Authorization header below, then run.\n"
    "{\n  me {\n    userId\n    tenantId\n    roles\n  }\n}\n"
)

PERSISTED_QUERIES = OrmPersistedQueries()


def document_problems(query: str) -> list[str]:
    """Why the endpoint would refuse `query` before running it (size, parse, cost, validation),
    as it stands now: `manage.py persisted_queries load` lists only documents with none."""
    view = OmsGraphQLView()
    if len(query.encode()) > settings.OMS_GRAPHQL_MAX_QUERY_BYTES:
        return [query_too_large(settings.OMS_GRAPHQL_MAX_QUERY_BYTES).message]
    _, errors = _checked_document(view.schema.graphql_schema, query, view.validation_rules, view.cost_limits)
    return [error.message for error in errors]


_GRAPHENE_DISPATCH = GraphQLView.dispatch.__wrapped__
DEFAULT_PAGE = 20  # a connection's page when `first` is left out (ordering.application.queries)


class _Refused(Exception):
    """The document's cost is more than the tenant's or the caller's bucket holds."""

    def __init__(self, verdict) -> None:
        super().__init__(verdict.reason)
        self.verdict = verdict


class OmsGraphQLView(GraphQLView):
    graphiql_template = "oms/graphiql.html"

    def __init__(self, graphiql: bool | None = None, **kwargs) -> None:
        # GraphiQL is a development tool: offered while DEBUG is on (read per request).
        super().__init__(graphiql=settings.DEBUG if graphiql is None else graphiql, **kwargs)
        self.validation_rules = _rules(
            settings.OMS_GRAPHQL_MAX_DEPTH, settings.OMS_GRAPHQL_MAX_ALIASES, settings.OMS_GRAPHQL_INTROSPECTION
        )
        self.cost_limits = CostLimits.from_settings()

    def execute_graphql_request(self, request, data, query, variables, operation_name, show_graphiql=False):
        """graphene-django's, with the size limit first and parse + validate cached."""
        if not query:
            return super().execute_graphql_request(request, data, query, variables, operation_name, show_graphiql)
        limit = settings.OMS_GRAPHQL_MAX_QUERY_BYTES
        if len(query.encode()) > limit:
            return ExecutionResult(data=None, errors=[query_too_large(limit)])
        schema = self.schema.graphql_schema
        document, errors = _checked_document(schema, query, self.validation_rules, self.cost_limits)
        if errors:
            return ExecutionResult(data=None, errors=list(errors))
        try:
            check_tree(variables or {})
        except TextRefused as refused:
            return ExecutionResult(data=None, errors=[invalid_input(refused)])
        operation = get_operation_ast(document, operation_name)
        if request.method.lower() == "get" and operation is not None and operation.operation != OperationType.QUERY:
            if show_graphiql:
                return None
            raise HttpError(
                HttpResponseNotAllowed(
                    ["POST"], f"Can only perform a {operation.operation.value} operation from a POST request."
                )
            )
        if operation is not None and operation.operation == OperationType.SUBSCRIPTION:
            # Subscriptions are the live process's (oms_project/live.py): WebSocket or SSE.
            message = "subscriptions run over a WebSocket (graphql-transport-ws) or Server-Sent Events (docs/live.md)"
            return ExecutionResult(data=None, errors=[GraphQLError(message, extensions={"code": "BAD_REQUEST"})])
        mutation = operation is not None and operation.operation == OperationType.MUTATION
        ticket = getattr(request, "oms_ticket", None)
        if ticket is not None and operation is not None:
            # The document's cost, spent from the tenant's and the caller's buckets before it runs.
            spent = ticket.spend(
                requested_cost(
                    document,
                    operation,
                    variables,
                    mutation_cost=settings.OMS_ADMISSION_MUTATION_COST,
                    default_page=DEFAULT_PAGE,
                )
            )
            if not spent.admitted:
                raise _Refused(spent)
        # A query runs in one transaction scoped to the principal's tenant (row-level security
        # on PostgreSQL). A mutation does not: each unit of work is its own tenant transaction
        # (no savepoint inside an outer one), and its payload is read from domain objects.
        # A query may read from a replica (oms_project/kernel/replicas.py); a mutation's caller learns the
        # primary's WAL position after it, to read its own write afterwards.
        sha256 = getattr(request, "oms_persist", None)
        if sha256 is not None:  # a client's new document, valid: kept for its next requests
            PERSISTED_QUERIES.register(sha256, query, operation_name or "")
            PERSISTED_QUERY_OUTCOMES.labels("registered").inc()
        principal = request.oms_principal
        scope = nullcontext() if mutation else tenant_transaction(principal.tenant_id)
        traced = tracing.operation(
            operation.operation.value if operation else "query",
            operation.name.value if operation and operation.name else None,
            principal.tenant_id,
            root_fields(document, operation) if operation and tracing.enabled() else (),
        )
        try:
            with (
                traced as span,
                (
                    nullcontext()
                    if mutation or (operation is not None and query_writes(document, operation))
                    else replicas.reading(principal.user_id, request.headers.get(replicas.HEADER))
                ),
            ):
                with scope:
                    result = execute(
                        schema,
                        document,
                        root_value=self.get_root_value(request),
                        context_value=self.get_context(request),
                        variable_values=variables,
                        operation_name=operation_name,
                        middleware=self.get_middleware(request),
                        execution_context_class=self.execution_context_class,
                    )
                if result.errors:
                    tracing.failed(
                        span,
                        ", ".join(
                            sorted({str((error.extensions or {}).get("code", "INTERNAL")) for error in result.errors})
                        ),
                    )
            if mutation:
                request.oms_read_after = replicas.written(principal.user_id)
        except Exception as error:  # as graphene-django: the error becomes the answer
            if database_unavailable(error):
                raise  # 503 DATABASE_UNAVAILABLE (internal_errors.DatabaseUnavailableMiddleware)
            return ExecutionResult(errors=[error])
        for error in result.errors or ():
            if database_unavailable(error.original_error):
                raise error.original_error  # the whole answer is 503, not a partial one
        if ticket is not None:  # the slot back, and what the answer did not cost
            ticket.release(
                actual_cost(result.data, mutation=mutation, mutation_cost=settings.OMS_ADMISSION_MUTATION_COST)
            )
        return result

    def get_graphql_params(self, request, data):
        """graphene-django's, and the document a persisted-query hash names
        (`extensions.persistedQuery`, in the JSON body or, for a GET, the `extensions` parameter)."""
        query, variables, operation_name, id_ = GraphQLView.get_graphql_params(request, data)
        extensions = data.get("extensions") if isinstance(data, dict) else None
        if extensions is None and "extensions" in request.GET:
            try:
                extensions = json.loads(request.GET["extensions"])
            except ValueError:
                raise PersistedQueryRefused("BAD_REQUEST", "extensions is not JSON") from None
        sha256 = requested_hash(extensions)
        if sha256 is None and not settings.OMS_PERSISTED_QUERIES_ONLY:
            return query, variables, operation_name, id_
        query, request.oms_persist = document_to_run(
            sha256, query, PERSISTED_QUERIES, only_listed=settings.OMS_PERSISTED_QUERIES_ONLY
        )
        if sha256 is not None and request.oms_persist is None:
            PERSISTED_QUERY_OUTCOMES.labels("found").inc()
        return query, variables, operation_name, id_

    def get_response(self, request, data, show_graphiql=False):
        """graphene-django's; a persisted-query refusal answers with its own code and status (200
        for PERSISTED_QUERY_NOT_FOUND, which Apollo clients answer by sending the document)."""
        try:
            return super().get_response(request, data, show_graphiql)
        except _Refused as refused:  # the document costs more than the buckets hold
            request.oms_refused = refused.verdict
            return self.json_encode(request, admission.graphql_refusal(refused.verdict)), http_status(
                refused.verdict.reason or admission.RATE_LIMITED
            )
        except PersistedQueryRefused as refused:
            PERSISTED_QUERY_OUTCOMES.labels("not_found" if refused.status == 200 else "refused").inc()
            body = {"errors": [graphql_error(refused.code, refused.message)]}
            return self.json_encode(request, body), refused.status

    def json_encode(self, request, d, pretty=False):
        """graphene-django's, with `extensions.cost` on an answer that ran (oms_project/admission)."""
        ticket = getattr(request, "oms_ticket", None)
        cost = ticket.cost_extension() if ticket is not None and isinstance(d, dict) and "data" in d else None
        if cost is not None:
            d = {**d, "extensions": {**(d.get("extensions") or {}), "cost": cost}}
        return super().json_encode(request, d, pretty)

    def render_graphiql(self, request, **data):
        """The GraphiQL page, its assets served by the app (no CDN; oms_project/graphiql/), the
        header editor open with a bearer-token placeholder to replace with a development token."""
        return render(
            request, self.graphiql_template, {"default_headers": GRAPHIQL_HEADERS, "default_query": GRAPHIQL_QUERY}
        )

    @staticmethod
    def format_error(error):
        """Every error carries `extensions.code` (docs/errors.md): documents that fail to parse or
        validate, variables of the wrong type (`INVALID`, `field` naming the variable), and an
        unexpected exception, masked as `INTERNAL` with the request id."""
        if isinstance(error, HttpError):
            code = {405: "METHOD_NOT_ALLOWED"}.get(error.response.status_code, "BAD_REQUEST")
            return {"message": error.message, "extensions": {"code": code}}
        if not isinstance(error, GraphQLError):
            return graphql_internal_error(error)
        original = error.original_error
        if original is not None and not isinstance(original, GraphQLError):
            return graphql_internal_error(original, error.formatted)
        formatted = error.formatted
        if "code" not in (formatted.get("extensions") or {}):
            if isinstance(error, GraphQLSyntaxError):
                extensions = {"code": "GRAPHQL_PARSE_FAILED"}
            elif error.nodes and isinstance(error.nodes[0], VariableDefinitionNode):
                extensions = {"code": "INVALID", "field": error.nodes[0].variable.name.value}
            elif not error.path:
                extensions = {"code": "GRAPHQL_VALIDATION_FAILED"}
            else:
                return graphql_internal_error(error, formatted)
            formatted["extensions"] = {**(formatted.get("extensions") or {}), **extensions}
        return formatted

    def parse_body(self, request):
        """graphene-django's, without echoing Python's codec error for a body that is not UTF-8. A
        GET has no body, whatever its Content-Type says (Apollo's GETs say application/json)."""
        if request.method == "GET":
            return {}
        if self.get_content_type(request) in ("application/json", "application/graphql"):
            try:
                request.body.decode("utf-8")
            except UnicodeDecodeError:
                raise HttpError(HttpResponseBadRequest("body is not valid UTF-8")) from None
        try:
            return super().parse_body(request)
        except RecursionError:
            raise HttpError(HttpResponseBadRequest("body is nested too deeply")) from None

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method in ("GET", "HEAD") and self.graphiql and self.can_display_graphiql(request, {}):
            # The GraphiQL page itself is static (nothing in its URL is executed); the queries it
            # sends are authenticated below.
            return self.render_graphiql(request)
        if request.method not in ("GET", "POST"):
            return super().dispatch(request, *args, **kwargs)
        limit = settings.OMS_GRAPHQL_MAX_BODY_BYTES
        if body_exceeds(request, limit):
            return error_response("PAYLOAD_TOO_LARGE", f"the request body exceeds {limit} bytes")
        try:
            principal = principal_of(request)
        except AuthenticationFailed as exc:
            logger.info("authentication refused: %s", exc.message)
            return error_response(exc.code, exc.message)
        except (AccessRevoked, KeySourceUnavailable) as exc:
            return error_response(exc.code, exc.message)
        bind_tenant(principal.tenant_id)
        # graphene-django's dispatch without its `ensure_csrf_cookie`: a bearer-token request reads
        # no cookie, so it gets none (and no CSRF token is made for it). Transactions are opened
        # in execute_graphql_request. The request was admitted (oms_project/admission) before
        # its body is read here; its document's cost is spent once it is parsed.
        response = _GRAPHENE_DISPATCH(self, request, *args, **kwargs)
        position = getattr(request, "oms_read_after", None)
        if position:
            response[replicas.HEADER] = position
        return response

    def get_context(self, request: HttpRequest) -> GraphQLContext:
        return GraphQLContext(request=request, principal=request.oms_principal)
