import os

import django
from django.core.handlers.wsgi import WSGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms_project.settings")

django.setup(set_prefix=False)

from oms_project import tracing  # noqa: E402 (settings are loaded now)
from oms_project.metrics import require_metrics_protection  # noqa: E402

# Before the handler is built: the Django instrumentation adds its middleware (oms_project/tracing.py).
tracing.configure_from_environment()
application = WSGIHandler()

require_metrics_protection()
