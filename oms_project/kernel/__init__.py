"""The shared kernel: what more than one app needs, with no knowledge of any app (docs/architecture.md).

Apps import it; it imports no app and nothing of the composition root (`oms_project` itself),
which import-linter checks in `make check`. Where it needs an app's rule, the app provides it from
its `AppConfig.ready()` (admin scopes, tenant limits, scrape-time metric collectors).
"""
