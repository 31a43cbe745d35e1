import os

import django
from django.core.handlers.wsgi import WSGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms_project.settings")

django.setup(set_prefix=False)

from oms_project.kernel import instrumentation  # noqa: E402 (settings are loaded now)
from oms_project.kernel.metrics import require_metrics_protection  # noqa: E402

# Before the handler is built: the Django instrumentation adds its middleware (oms_project/kernel/tracing.py).
instrumentation.configure_from_environment()
application = WSGIHandler()

require_metrics_protection()
