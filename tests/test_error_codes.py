"""One error registry (oms_project/kernel/errors.py): every code the code can answer is in it, every
code in it is answered somewhere and documented, the schema's `ErrorCode` enum is its payload codes,
every refusal derives from one base type, and only the registry maps a code to an HTTP status."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import pytest

from oms_project.kernel import errors
from oms_project.kernel.errors import REGISTRY, CodedError
from oms_project.schema import schema

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("oms_project", "identity", "snapshots", "ordering", "webhooks")
SOURCES = [
    path
    for package in PACKAGES
    for path in sorted((ROOT / package).rglob("*.py"))
    if "migrations" not in path.parts and path != ROOT / "oms_project/kernel/errors.py"
]
# A code answered in the source: a class's `code = "X"`, a refusal built with its code
# (`EventMalformed("X", ...)`, `problem("X", ...)`), or a GraphQL error's `{"code": "X"}`.
CODE_IN_SOURCE = re.compile(
    r'code = "([A-Z_]+)"'
    r"|(?:EventMalformed|PersistedQueryRefused|problem|error_response|graphql_error|graphql_answer|http_status)"
    r'\(\s*"([A-Z_]+)"'
    r'|"code": "([A-Z_]+)"'
    r'|not_found="([A-Z_]+)"'
    r'|^(?P<constant>[A-Z_]+) = "(?P=constant)"'  # OVER_SHARE = "OVER_SHARE"
    r'|\{(\d{3}): "([A-Z_]+)"\}',  # graphene-django's HTTP errors by status
    re.M,
)


def codes_in_source() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in SOURCES:
        for match in CODE_IN_SOURCE.finditer(path.read_text()):
            code = next(group for group in match.groups() if group and not group.isdigit())
            found.setdefault(code, set()).add(str(path.relative_to(ROOT)))
    return found


def documented_codes() -> set[str]:
    """The codes of docs/errors.md's tables (its code columns)."""
    text = (ROOT / "docs/errors.md").read_text()
    return set(re.findall(r"^\| (?:\d{3} \| )?`([A-Z][A-Z_]+)`", text, re.M)) | set(
        re.findall(r"`(OVER_SHARE)`, `(?:RATE_LIMITED)`", text)
    )


def all_coded_error_classes() -> set[type[CodedError]]:
    for package in PACKAGES:
        module = importlib.import_module(package)
        for info in pkgutil.walk_packages(module.__path__, package + "."):
            if ".migrations" not in info.name and not info.name.endswith(("wsgi", "asgi", "settings_test")):
                importlib.import_module(info.name)
    found, waiting = set(), [CodedError]
    while waiting:
        cls = waiting.pop()
        for sub in cls.__subclasses__():
            if sub not in found:
                found.add(sub)
                waiting.append(sub)
    return found


def test_every_code_the_source_answers_is_in_the_registry():
    unknown = {code: sorted(where) for code, where in codes_in_source().items() if code not in REGISTRY}
    assert not unknown


def test_every_code_of_the_registry_is_answered_somewhere():
    answered = codes_in_source()
    assert not [code for code in REGISTRY if code not in answered]


def test_every_code_of_the_registry_is_documented_and_every_documented_code_is_in_it():
    documented = documented_codes()
    assert set(REGISTRY) - documented == set()
    assert documented - set(REGISTRY) == set()


@pytest.mark.django_db
def test_every_refusal_derives_from_the_one_base_with_a_registered_code():
    classes = all_coded_error_classes()
    assert len(classes) >= 30
    assert not [(cls.__module__, cls.__name__, cls.code) for cls in classes if cls.code not in REGISTRY]


def test_the_schema_error_code_enum_is_the_registrys_payload_codes():
    enum = schema.graphql_schema.get_type("ErrorCode")
    assert list(enum.values) == list(errors.PAYLOAD_CODES)
    assert {"NOT_FOUND", "CONFLICT", "OUT_OF_STOCK", "PRICE_CHANGED"} <= set(errors.PAYLOAD_CODES)
    assert "UNAUTHENTICATED" not in errors.PAYLOAD_CODES


def test_one_place_maps_a_code_to_an_http_status():
    """Outside the registry, only answers that are not refusals set a 4xx or 5xx status: the
    health probe's 503 and the metrics scrape's 401 (plain text, for monitoring systems)."""
    allowed = {"oms_project/kernel/health.py", "oms_project/kernel/metrics.py"}
    statuses = re.compile(r"status=[45]\d\d|\), [45]\d\d$", re.M)
    found = {str(path.relative_to(ROOT)) for path in SOURCES if statuses.search(path.read_text())}
    assert found <= allowed


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("NOT_FOUND", 404),
        ("UNAUTHENTICATED", 401),
        ("FORBIDDEN", 403),
        ("OUT_OF_STOCK", 409),
        ("PAYLOAD_TOO_LARGE", 413),
        ("RATE_LIMITED", 429),
        ("DATABASE_UNAVAILABLE", 503),
        ("INTERNAL", 500),
        ("PERSISTED_QUERY_NOT_FOUND", 200),
        ("TOTAL_MISMATCH", 400),
    ],
)
def test_the_registry_gives_each_code_its_documented_status(code, status):
    assert errors.http_status(code) == status


def test_a_refusal_carries_its_code_message_and_field_in_one_order():
    from ordering.domain.errors import Invalid
    from snapshots.domain.errors import SnapshotInvalid

    for error in (Invalid("must be positive", field="quantity"), SnapshotInvalid("must be positive", field="quantity")):
        assert (error.code, error.message, error.field) == ("INVALID", "must be positive", "quantity")
