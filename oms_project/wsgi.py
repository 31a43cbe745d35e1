import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms_project.settings")

application = get_wsgi_application()

from oms_project.metrics import require_metrics_protection  # noqa: E402 (settings are loaded now)

require_metrics_protection()
