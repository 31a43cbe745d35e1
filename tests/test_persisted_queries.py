"""Automatic persisted queries (issue 17, part 4), Apollo's protocol: a hash alone is
PERSISTED_QUERY_NOT_FOUND until the client sends it with its document, which registers it; GET for
queries only; a bounded store shared by tenants; a persisted-only mode fed by
`manage.py persisted_queries load`. The last test drives a real @apollo/client under Node.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.core.management import CommandError, call_command

from identity.domain.persisted_queries import PersistedQueryRefused, manifest_entries, requested_hash
from identity.infrastructure.models import PersistedQuery
from oms_project.kernel.metrics import PERSISTED_QUERIES as OUTCOMES

from .tokens import hs_token

ME = "query Me { me { userId tenantId } }"
SYNC = 'mutation Sync { syncUser(email: "ada@example.com", firstName: "Ada", lastName: "L") { errors { code } } }'
APOLLO = Path(__file__).resolve().parent / "apollo"


def sha(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


def hashed(document: str) -> dict:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha(document)}}


def post(client, token, *, query=None, extensions=None, variables=None):
    body = {
        key: value
        for key, value in {"query": query, "extensions": extensions, "variables": variables}.items()
        if value is not None
    }
    return client.post(
        "/graphql/", data=json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
    )


def get(client, token, **params):
    encoded = {key: json.dumps(value) if isinstance(value, dict) else value for key, value in params.items()}
    return client.get(
        f"/graphql/?{urlencode(encoded)}", HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT="application/json"
    )


def code_of(response) -> str:
    return response.json()["errors"][0]["extensions"]["code"]


@pytest.fixture
def token(tenant):
    return hs_token(tenant)


class TestAutomaticPersistedQueries:
    def test_a_new_hash_is_not_found_then_registered_with_its_document(self, client, token, tenant):
        first = post(client, token, extensions=hashed(ME))
        assert first.status_code == 200  # as Apollo expects: it then sends the document
        assert first.json() == {
            "errors": [{"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}]
        }
        second = post(client, token, query=ME, extensions=hashed(ME)).json()
        assert second["data"] == {"me": {"userId": "user-1", "tenantId": tenant.id}}
        assert set(second) == {"data", "extensions"} and set(second["extensions"]) == {"cost"}  # the tenant's budget
        stored = PersistedQuery.objects.get()
        assert (stored.sha256, stored.document, stored.operation_name, stored.listed) == (sha(ME), ME, "", False)
        third = post(client, token, extensions=hashed(ME))
        assert third.json()["data"]["me"]["userId"] == "user-1"

    def test_queries_by_hash_may_use_get_and_mutations_may_not(self, client, token):
        assert code_of(get(client, token, extensions=hashed(ME))) == "PERSISTED_QUERY_NOT_FOUND"
        assert post(client, token, query=ME, extensions=hashed(ME)).status_code == 200
        assert get(client, token, extensions=hashed(ME)).json()["data"]["me"]["userId"] == "user-1"
        post(client, token, query=SYNC, extensions=hashed(SYNC))
        refused = get(client, token, extensions=hashed(SYNC))
        assert refused.status_code == 405 and code_of(refused) == "METHOD_NOT_ALLOWED"

    def test_a_get_saying_its_body_is_json_has_no_body(self, client, token):
        """Apollo's GETs carry `Content-Type: application/json`."""
        post(client, token, query=ME, extensions=hashed(ME))
        response = client.get(
            f"/graphql/?{urlencode({'extensions': json.dumps(hashed(ME))})}",
            HTTP_AUTHORIZATION=f"Bearer {token}",
            CONTENT_TYPE="application/json",
        )
        assert response.json()["data"]["me"]["userId"] == "user-1"

    def test_the_store_is_shared_by_tenants(self, client, tenant, other_tenant):
        post(client, hs_token(tenant), query=ME, extensions=hashed(ME))
        answer = post(client, hs_token(other_tenant), extensions=hashed(ME)).json()
        assert answer["data"]["me"]["tenantId"] == other_tenant.id  # the document, run as the other tenant

    @pytest.mark.parametrize(
        "extensions, code",
        [
            ({"persistedQuery": {"version": 2, "sha256Hash": sha(ME)}}, "PERSISTED_QUERY_NOT_SUPPORTED"),
            ({"persistedQuery": {"version": 1, "sha256Hash": "abc"}}, "BAD_REQUEST"),
            ({"persistedQuery": {"version": 1, "sha256Hash": sha(ME).upper()}}, "BAD_REQUEST"),
            ({"persistedQuery": "yes"}, "BAD_REQUEST"),
            (["persistedQuery"], "BAD_REQUEST"),
            (
                {"persistedQuery": {"version": 1, "sha256Hash": sha("{ me { userId } }")}},
                "PERSISTED_QUERY_HASH_MISMATCH",
            ),
        ],
    )
    def test_bad_requests_are_refused_and_register_nothing(self, client, token, extensions, code):
        response = post(client, token, query=ME, extensions=extensions)
        assert (response.status_code, code_of(response)) == (400, code)
        assert not PersistedQuery.objects.exists()

    def test_extensions_that_are_not_json_in_a_get(self, client, token):
        response = client.get("/graphql/?extensions=%7Bnope", HTTP_AUTHORIZATION=f"Bearer {token}")
        assert (response.status_code, code_of(response)) == (400, "BAD_REQUEST")

    def test_a_document_that_fails_validation_is_not_registered(self, client, token):
        bad = "{ me { nope } }"
        response = post(client, token, query=bad, extensions=hashed(bad))
        assert code_of(response) == "GRAPHQL_VALIDATION_FAILED"
        assert not PersistedQuery.objects.exists()

    def test_a_hash_without_a_token_is_unauthenticated(self, client):
        response = client.post(
            "/graphql/", data=json.dumps({"extensions": hashed(ME)}), content_type="application/json"
        )
        assert response.status_code == 401

    def test_the_store_keeps_the_newest_entries_up_to_its_bound(self, client, token, settings):
        settings.OMS_PERSISTED_QUERIES_MAX_ENTRIES = 2
        documents = [f"query Q{i} {{ me {{ userId }} }}" for i in range(4)]
        for document in documents:
            post(client, token, query=document, extensions=hashed(document))
        assert set(PersistedQuery.objects.values_list("sha256", flat=True)) <= {sha(d) for d in documents}
        assert PersistedQuery.objects.count() == 2
        assert PersistedQuery.objects.filter(sha256=sha(documents[-1])).exists()

    def test_documents_listed_at_deploy_are_never_dropped(self, client, token, settings, tmp_path):
        load(tmp_path, manifest(ME))
        settings.OMS_PERSISTED_QUERIES_MAX_ENTRIES = 1
        for document in [f"query Q{i} {{ me {{ userId }} }}" for i in range(3)]:
            post(client, token, query=document, extensions=hashed(document))
        assert PersistedQuery.objects.filter(listed=True).get().sha256 == sha(ME)
        assert PersistedQuery.objects.filter(listed=False).count() == 1

    def test_outcomes_are_counted(self, client, token):
        before = {outcome: OUTCOMES.labels(outcome)._value.get() for outcome in ("found", "registered", "not_found")}
        post(client, token, extensions=hashed(ME))
        post(client, token, query=ME, extensions=hashed(ME))
        post(client, token, extensions=hashed(ME))
        after = {outcome: OUTCOMES.labels(outcome)._value.get() for outcome in before}
        assert {k: after[k] - before[k] for k in before} == {"found": 1, "registered": 1, "not_found": 1}


def manifest(*documents: str) -> dict:
    return {
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": [{"id": sha(d), "name": d.split()[1], "type": d.split()[0], "body": d} for d in documents],
    }


def load(tmp_path, content, *args):
    path = tmp_path / "manifest.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    out = io.StringIO()
    call_command("persisted_queries", "load", str(path), *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
class TestPersistedOnlyMode:
    def test_only_listed_documents_run(self, client, token, settings, tmp_path):
        assert load(tmp_path, manifest(ME)).strip() == "1 documents listed"
        settings.OMS_PERSISTED_QUERIES_ONLY = True
        assert post(client, token, extensions=hashed(ME)).json()["data"]["me"]["userId"] == "user-1"
        assert post(client, token, query=ME).json()["data"]["me"]["userId"] == "user-1"  # its text: allowed
        other = "{ me { userId } }"
        refused = post(client, token, query=other)
        assert (refused.status_code, code_of(refused)) == (400, "PERSISTED_QUERY_NOT_IN_LIST")
        assert code_of(post(client, token, extensions=hashed(other))) == "PERSISTED_QUERY_NOT_FOUND"
        refused = post(client, token, query=other, extensions=hashed(other))
        assert code_of(refused) == "PERSISTED_QUERY_NOT_IN_LIST"
        assert PersistedQuery.objects.count() == 1  # nothing registered in this mode

    def test_an_automatic_entry_is_not_enough(self, client, token, settings):
        post(client, token, query=ME, extensions=hashed(ME))
        settings.OMS_PERSISTED_QUERIES_ONLY = True
        assert code_of(post(client, token, extensions=hashed(ME))) == "PERSISTED_QUERY_NOT_FOUND"
        assert code_of(post(client, token, query=ME)) == "PERSISTED_QUERY_NOT_IN_LIST"

    def test_load_lists_an_automatic_entry_and_replace_unlists(self, client, token, tmp_path):
        post(client, token, query=ME, extensions=hashed(ME))
        load(tmp_path, manifest(ME, SYNC))
        assert PersistedQuery.objects.filter(listed=True).count() == 2
        assert load(tmp_path, manifest(SYNC), "--replace").strip() == "1 documents listed, 1 unlisted"
        assert list(PersistedQuery.objects.filter(listed=True).values_list("operation_name", flat=True)) == ["Sync"]
        listing = io.StringIO()
        call_command("persisted_queries", "list", stdout=listing)
        assert listing.getvalue().splitlines() == [f"{sha(SYNC)}  listed     Sync", f"{sha(ME)}  automatic  Me"]

    def test_a_plain_hash_map_loads_too(self, tmp_path):
        load(tmp_path, {sha(ME): ME})
        assert PersistedQuery.objects.get().listed

    @pytest.mark.parametrize(
        "content, says",
        [
            ("{nope", "not JSON"),
            ({"format": "apollo-persisted-query-manifest", "version": 2, "operations": []}, "version 1"),
            ({"format": "something-else"}, "Apollo's persisted query manifest"),
            ({sha(ME): SYNC}, "not the SHA-256 of its document"),
            ({}, "lists no operations"),
            ({sha("{ me { nope } }"): "{ me { nope } }"}, "Cannot query field 'nope'"),
            ({sha("x" * 20000): "x" * 20000}, "exceeds"),
        ],
    )
    def test_a_bad_manifest_loads_nothing(self, tmp_path, content, says):
        with pytest.raises(CommandError, match="nothing loaded") as refused:
            load(tmp_path, content)
        assert says in str(refused.value)
        assert not PersistedQuery.objects.exists()

    def test_a_bad_document_among_good_ones_loads_nothing(self, tmp_path):
        with pytest.raises(CommandError):
            load(tmp_path, manifest(ME, "query Bad { me { nope } }"))
        assert not PersistedQuery.objects.exists()

    def test_a_missing_file(self, db):
        with pytest.raises(CommandError, match="cannot read"):
            call_command("persisted_queries", "load", "/nonexistent/manifest.json")


def test_requested_hash_rules_without_django():
    assert requested_hash(None) is None and requested_hash({"other": 1}) is None
    assert requested_hash(hashed(ME)) == sha(ME)
    with pytest.raises(PersistedQueryRefused) as refused:
        requested_hash({"persistedQuery": {"sha256Hash": sha(ME)}})
    assert refused.value.code == "PERSISTED_QUERY_NOT_SUPPORTED"
    assert [entry.operation_name for entry in manifest_entries(manifest(ME, SYNC))] == ["Me", "Sync"]


def _npm_ci() -> str | None:
    """Install the pinned Apollo client (tests/apollo/package-lock.json) once; None when it works."""
    if not (shutil.which("node") and shutil.which("npm")):
        return "node and npm are needed for the Apollo client test"
    if (APOLLO / "node_modules" / "@apollo" / "client").exists():
        return None
    done = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--silent"], cwd=APOLLO, capture_output=True, text=True, timeout=300
    )
    return None if done.returncode == 0 else f"npm ci failed: {done.stderr[-500:]}"


def test_a_real_apollo_client(live_server, tenant):
    problem = _npm_ci()
    if problem:
        pytest.skip(problem)
    done = subprocess.run(
        ["node", "apq.mjs", f"{live_server.url}/graphql/", hs_token(tenant)],
        cwd=APOLLO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    steps = json.loads(done.stdout)
    me = {"me": {"__typename": "Me", "userId": "user-1", "tenantId": tenant.id}}
    # The first time: the hash by GET, not found; then hash and document by POST, registered.
    assert steps["firstQuery"] == {
        "data": me,
        "requests": [
            {"method": "GET", "hash": True, "document": False, "status": 200},
            {"method": "POST", "hash": True, "document": True, "status": 200},
        ],
    }
    # Another client (another browser): one GET with the hash alone.
    assert steps["sameQueryNewClient"] == {
        "data": me,
        "requests": [{"method": "GET", "hash": True, "document": False, "status": 200}],
    }
    # Mutations always POST.
    assert [r["method"] for r in steps["firstMutation"]["requests"]] == ["POST", "POST"]
    assert steps["sameMutationNewClient"]["requests"] == [
        {"method": "POST", "hash": True, "document": False, "status": 200}
    ]
    assert steps["sameMutationNewClient"]["data"]["syncUser"]["errors"] == []
    assert PersistedQuery.objects.count() == 2
