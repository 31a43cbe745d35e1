"""GraphQL cost before validation (oms_project/kernel/graphql_limits.py, docs/errors.md): documents over
the token, field, repeat or directive limits are refused before graphql-core's own rules run,
cheaply, with their own codes; every document the README shows passes."""

from __future__ import annotations

import gc
import json
import re
import time
from pathlib import Path

import pytest
from graphql import parse

from oms_project.kernel.graphql_limits import cost_error

from .test_hardening import codes, post
from .tokens import hs_token

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def customer(tenant) -> str:
    return hs_token(tenant, sub="cust-1", roles=["customer"])


def refused_cheaply(client, query: str, token: str) -> list[str]:
    """The refusal's codes; the request (authentication included) must cost under 20 ms of CPU.
    Measured on this thread, which serves the test client's request: other threads of the test
    process (a live server left from an earlier test, a relay's) are not the request's cost; and
    the garbage collector does not run in the middle (a full collection before the call, as it
    once was, cost a quarter of a second each)."""
    post(client, "{ me { userId } }", token)  # warm: the token, the view
    gc.disable()
    try:
        started = time.thread_time()
        response = post(client, query, token)
        spent = (time.thread_time() - started) * 1000
    finally:
        gc.enable()
    assert response.status_code == 400, response.content
    assert spent < 20, f"{spent:.1f} ms"
    return codes(response)


def test_a_thousand_repeated_fields_are_refused_before_validation(client, customer):
    query = "{ me { " + " ".join(["userId"] * 1000) + " } }"
    assert refused_cheaply(client, query, customer) == ["TOO_MANY_FIELDS"]


def test_nine_hundred_repeated_nested_selections_are_refused(client, customer):
    query = "{ orders(first: 1) { edges { node { " + " ".join(["id"] * 900) + " } } } }"
    assert refused_cheaply(client, query, customer) == ["TOO_MANY_FIELDS"]


def test_a_document_of_many_argument_tokens_is_refused_before_it_is_parsed(client, customer):
    statuses = " ".join(["PENDING"] * 1000 + ["A"] * 3000)  # 4,000 tokens in under 16 KiB
    query = f"{{ orders(first: 1, filter: {{status: [{statuses}]}}) {{ totalCount }} }}"
    assert refused_cheaply(client, query, customer) == ["TOO_MANY_TOKENS"]


def test_one_name_repeated_past_the_limit_in_one_selection_set_is_refused(client, customer, settings):
    assert refused_cheaply(client, "{ me { " + " ".join(["userId"] * 11) + " } }", customer) == ["TOO_MANY_FIELDS"]
    allowed = post(client, "{ me { " + " ".join(["userId"] * 10) + " } }", customer)
    assert allowed.status_code == 200 and allowed.json()["data"]["me"]["userId"] == "cust-1"


def test_fields_are_counted_with_fragments_expanded(client, customer, settings):
    settings.OMS_GRAPHQL_MAX_FIELDS = 6
    fragment = "fragment Who on Me { userId tenantId roles }"
    # me + 3 fields through the fragment + 2 aliased copies of one field = 6: allowed.
    allowed = post(client, "{ me { ...Who a: userId b: userId } } " + fragment, customer)
    assert allowed.status_code == 200, allowed.content
    # The same fragment spread under a second alias of `me`: 10 fields once expanded.
    over = "{ me { ...Who } other: me { ...Who a: userId } } " + fragment
    assert refused_cheaply(client, over, customer) == ["TOO_MANY_FIELDS"]


def test_a_fragment_that_doubles_at_every_level_is_refused_quickly(client, customer):
    levels = 25  # 2**25 leaves if it were expanded
    fragments = [f"fragment F{i} on Me {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)]
    fragments.append(f"fragment F{levels} on Me {{ userId }}")
    query = "{ me { ...F0 } } " + " ".join(fragments)
    assert refused_cheaply(client, query, customer) == ["TOO_MANY_FIELDS"]


def test_more_tokens_than_the_limit_are_refused_while_parsing(client, customer, settings):
    padded = "{ me { userId } }\n" + "#\n" * 2100  # comments count as tokens
    assert refused_cheaply(client, padded, customer) == ["TOO_MANY_TOKENS"]
    settings.OMS_GRAPHQL_MAX_TOKENS = 10
    many = "{ me { userId tenantId roles vendorId customer { email firstName lastName phone } } }"
    assert refused_cheaply(client, many, customer) == ["TOO_MANY_TOKENS"]
    assert post(client, "{ me { userId } }", customer).status_code == 200


def test_more_directives_than_the_limit_on_one_field_are_refused(client, customer):
    query = "{ me { userId " + "@include(if: true) " * 6 + "} }"
    assert refused_cheaply(client, query, customer) == ["TOO_MANY_DIRECTIVES"]
    allowed = post(client, "{ me { userId @include(if: true) @skip(if: false) } }", customer)
    assert allowed.status_code == 200 and allowed.json()["data"]["me"]["userId"] == "cust-1"


def readme_documents() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return [json.loads('"' + body + '"') for body in re.findall(r'\{"query":"((?:[^"\\]|\\.)*)"\}', text)]


def docs_documents() -> list[str]:
    """GraphQL documents quoted as code in docs/*.md (spans that parse as GraphQL)."""
    from graphql import GraphQLError

    found = []
    for path in sorted((ROOT / "docs").glob("*.md")):
        for span in re.findall(r"`((?:\{|query|mutation)[^`]*)`", path.read_text()):
            try:
                parse(span)
            except GraphQLError:
                continue  # JSON or prose in backticks
            found.append(span)
    return found


def test_every_document_in_the_readme_and_the_docs_is_within_the_limits(settings):
    documents = readme_documents() + docs_documents()
    assert len(documents) >= 7
    for document in documents:
        parsed = parse(document, max_tokens=settings.OMS_GRAPHQL_MAX_TOKENS)
        assert (
            cost_error(
                parsed,
                max_fields=settings.OMS_GRAPHQL_MAX_FIELDS,
                max_repeats=settings.OMS_GRAPHQL_MAX_FIELD_REPEATS,
                max_directives=settings.OMS_GRAPHQL_MAX_DIRECTIVES,
            )
            is None
        ), document
