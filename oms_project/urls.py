from django.conf import settings
from django.contrib import admin
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from .graphql_view import OmsGraphQLView
from .health import healthz, readyz

urlpatterns = [
    path("admin/", admin.site.urls),
    # Bearer-token API: no cookies are read, so CSRF does not apply (the admin keeps it).
    path("graphql/", csrf_exempt(OmsGraphQLView.as_view(graphiql=settings.DEBUG))),
    path("healthz", healthz),
    path("readyz", readyz),
]
