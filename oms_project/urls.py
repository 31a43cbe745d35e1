from django.contrib import admin
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from ordering.api.documents import download_document
from webhooks.api.views import receive_carrier_webhook, receive_channel_webhook, receive_webhook

from .graphql_view import OmsGraphQLView
from .kernel.health import healthz, readyz
from .kernel.metrics import metrics_view

urlpatterns = [
    path("admin/", admin.site.urls),
    # Bearer-token API: no cookies are read, so CSRF does not apply (the admin keeps it).
    path("graphql/", csrf_exempt(OmsGraphQLView.as_view())),
    path("webhooks/<slug:tenant_id>/", receive_webhook),
    path("webhooks/<slug:tenant_id>/channels/<slug:channel>/orders/", receive_channel_webhook),
    path("webhooks/<slug:tenant_id>/carriers/<slug:provider>/", receive_carrier_webhook),
    # Documents as PDF by short-lived signed link (docs/documents.md): the link is the credential.
    path("documents/<str:token>", download_document),
    path("healthz", healthz),
    path("readyz", readyz),
    path("metrics", metrics_view),
]

# Unexpected faults answer JSON with code INTERNAL and the request id (oms_project/kernel/internal_errors.py).
handler500 = "oms_project.kernel.internal_errors.server_error"
