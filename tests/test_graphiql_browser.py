"""GraphiQL served by the app (issue 17, part 1): its assets are the pinned npm builds under
oms_project/static/graphiql/vendor (no CDN), the page runs under a self-only
Content-Security-Policy, and it is offered only while DEBUG is on.

The browser test loads the page in Debian's headless Chromium with every request that is not for
the app aborted (the network "blocked"), runs `{ me { userId } }` with a token printed by
`seed_demo`, and saves `graphiql.png` (OMS_SCREENSHOT_DIR, default var/screenshots; the README shows
the copy in docs/screenshots).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from pathlib import Path

import pytest
from django.core.management import call_command

from oms_project.kernel.security_headers import GRAPHIQL_CSP

from .test_admin_browser import CHROMIUM, FLAGS, SHOTS

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "oms_project" / "graphiql"
# The header editor, open below the query editor (the variables editor is there too, hidden).
HEADERS = ".graphiql-editor-tool .graphiql-editor:not(.hidden)"
VENDOR = ROOT / "oms_project" / "static" / "graphiql" / "vendor"


def page(client, path="/graphql/"):
    return client.get(path, HTTP_ACCEPT="text/html")


def test_the_page_loads_its_assets_from_the_app_only(client, settings):
    settings.DEBUG = True
    response = page(client)
    assert response.status_code == 200
    html = response.content.decode()
    scripts = re.findall(r"<script[^>]*>", html)
    assert [re.search(r'src="([^"]+)"', tag).group(1) for tag in scripts] == [
        "/static/graphiql/vendor/react.production.min.js",
        "/static/graphiql/vendor/react-dom.production.min.js",
        "/static/graphiql/vendor/graphiql.min.js",
        "/static/graphiql/oms-graphiql.js",
    ]
    assert "http" not in html.replace("http-equiv", "")  # no CDN, no absolute URL of any kind
    assert response["Content-Security-Policy"] == GRAPHIQL_CSP
    assert "script-src 'self';" in GRAPHIQL_CSP and "connect-src 'self';" in GRAPHIQL_CSP
    assert response["X-Frame-Options"] == "DENY"
    assert "Bearer &lt;paste a development token&gt;" in html  # the header editor's placeholder


def test_a_query_in_the_page_url_is_not_executed(client, settings, tenant):
    settings.DEBUG = True
    response = page(client, "/graphql/?query=%7B%20me%20%7B%20userId%20%7D%20%7D")
    assert response.status_code == 200
    assert b'"data"' not in response.content and b'userId"' not in response.content


def test_no_graphiql_outside_development(client, settings):
    settings.DEBUG = False
    response = page(client)
    assert response.status_code == 401  # the API answers as to any other unauthenticated request
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_the_served_files_are_the_pinned_packages():
    """MANIFEST.json (written by `make graphiql-assets`) names each file's package and version:
    they match package.json's exact pins and package-lock.json, and the hashes match the files."""
    pins = json.loads((ASSETS / "package.json").read_text())["dependencies"]
    lock = json.loads((ASSETS / "package-lock.json").read_text())["packages"]
    manifest = json.loads((VENDOR / "MANIFEST.json").read_text())
    assert all(re.fullmatch(r"\d+\.\d+\.\d+", version) for version in pins.values())
    assert {entry["package"] for entry in manifest.values()} == {"graphiql", "react", "react-dom"}
    for name, entry in manifest.items():
        assert entry["version"] == pins[entry["package"]] == lock[f"node_modules/{entry['package']}"]["version"]
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == entry["sha256"], name
    assert sorted(path.name for path in VENDOR.iterdir()) == sorted([*manifest, "MANIFEST.json"])


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} missing: `make test` installs Debian's chromium")
def test_graphiql_runs_a_query_offline_in_a_real_browser(live_server, settings, db):
    from playwright.sync_api import sync_playwright

    settings.DEBUG = True
    settings.OMS_GRAPHQL_INTROSPECTION = True
    printed = io.StringIO()
    call_command("seed_demo", stdout=printed)
    token = re.search(r"customer \(([^)]+)\):\n\s+(\S+)", printed.getvalue())
    user_id, token = token.group(1), token.group(2)
    SHOTS.mkdir(parents=True, exist_ok=True)
    blocked: list[str] = []
    problems: list[str] = []

    def only_the_app(route):
        if route.request.url.startswith(live_server.url):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort("internetdisconnected")

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        context = browser.new_context(viewport={"width": 1280, "height": 720})
        context.route("**/*", only_the_app)
        tab = context.new_page()
        tab.on("console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None)
        tab.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        try:
            tab.goto(f"{live_server.url}/graphql/", wait_until="networkidle")
            tab.wait_for_selector(".graphiql-container")
            shown = tab.locator(f"{HEADERS} .CodeMirror")
            assert "Bearer <paste a development token>" in shown.inner_text()
            tab.evaluate(
                """([query, headers, headersEditor]) => {
                document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue(query);
                document.querySelector(headersEditor + ' .CodeMirror').CodeMirror.setValue(headers);
            }""",
                ["{ me { userId } }", json.dumps({"Authorization": f"Bearer {token}"}, indent=2), HEADERS],
            )
            tab.click(".graphiql-execute-button")
            # (a locator, not wait_for_function: the page's CSP refuses a predicate evaluated from text)
            tab.locator(".graphiql-response").filter(has_text="userId").wait_for()
            answer = json.loads(
                tab.evaluate("document.querySelector('.graphiql-response .CodeMirror').CodeMirror.getValue()")
            )
            tab.screenshot(path=SHOTS / "graphiql.png")
        finally:
            browser.close()
    assert answer["data"] == {"me": {"userId": user_id}}
    assert set(answer) == {"data", "extensions"} and set(answer["extensions"]) == {"cost"}  # the tenant's budget
    assert blocked == []
    # The only error: the schema fetched on load with the placeholder instead of a token.
    assert problems == ["console: Failed to load resource: the server responded with a status of 401 (Unauthorized)"]


CHECKOUT = (
    "mutation($items: [CheckoutItemInput!]!, $address: AddressInput!, $shipping: [ShippingOptionSelectionInput!]) "
    "{ checkoutItems(items: $items, shippingAddress: $address, shippingOptions: $shipping) "
    "{ order { id } errors { code } } }"
)
CART = {
    "items": [{"productId": "prod-mug", "quantity": 1}],
    "address": {"line1": "1 Main St", "city": "Springfield", "postalCode": "12345", "country": "US"},
    "shipping": [{"vendorId": "vendor-acme", "shippingOptionId": "ship-acme-std"}],
}


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} missing: `make test` installs Debian's chromium")
@pytest.mark.django_db(transaction=True)
def test_graphiql_runs_a_subscription_in_a_real_browser(settings):
    """The page on the ASGI process (as `make run` serves it): a subscription typed in GraphiQL
    shows the order the customer places meanwhile."""
    import requests
    from playwright.sync_api import sync_playwright

    from tests.live.server import AsgiServer

    settings.DEBUG = True
    settings.ALLOWED_HOSTS = ["127.0.0.1", "testserver"]
    printed = io.StringIO()
    call_command("seed_demo", stdout=printed)
    token = re.search(r"customer \(([^)]+)\):\n\s+(\S+)", printed.getvalue()).group(2)
    server = AsgiServer().start()
    problems: list[str] = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            tab = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
            tab.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            try:
                tab.goto(f"http://127.0.0.1:{server.port}/graphql/", wait_until="networkidle")
                tab.wait_for_selector(".graphiql-container")
                tab.evaluate(
                    """([query, headers, headersEditor]) => {
                    document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue(query);
                    document.querySelector(headersEditor + ' .CodeMirror').CodeMirror.setValue(headers);
                }""",
                    [
                        "subscription { myOrderUpdates { position order { status } } }",
                        json.dumps({"Authorization": f"Bearer {token}"}, indent=2),
                        HEADERS,
                    ],
                )
                tab.click(".graphiql-execute-button")
                server.wait_following(1)
                # Over HTTP to the same process: this thread runs Playwright's event loop, where
                # Django refuses database work.
                checkout = requests.post(
                    server.http_url,
                    json={"query": CHECKOUT, "variables": CART},
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=30,
                ).json()["data"]["checkoutItems"]
                assert checkout["errors"] == [], checkout
                tab.locator(".graphiql-response").filter(has_text="DRAFT").wait_for()
                answer = json.loads(
                    tab.evaluate("document.querySelector('.graphiql-response .CodeMirror').CodeMirror.getValue()")
                )
                tab.screenshot(path=SHOTS / "graphiql-subscription.png")
            finally:
                browser.close()
    finally:
        server.stop()
    assert answer["data"]["myOrderUpdates"]["order"]["status"] == "DRAFT"
    assert answer["data"]["myOrderUpdates"]["position"].startswith("o")
    assert problems == []
