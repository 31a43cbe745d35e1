"""The ASGI process: the same Django app over HTTP, and subscriptions over WebSocket at `/graphql/`
(oms_project/live.py). Production runs it next to gunicorn (docs/production.md); `make run`
serves it (daphne's runserver)."""

import os

import django
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms_project.settings")

django.setup(set_prefix=False)

from oms_project.kernel import instrumentation  # noqa: E402 (settings are loaded now)
from oms_project.kernel.metrics import require_metrics_protection  # noqa: E402

instrumentation.configure_from_environment()
http = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402

from oms_project.live import http_application, websocket_application  # noqa: E402

application = ProtocolTypeRouter({"http": http_application(http), "websocket": websocket_application()})

require_metrics_protection()
