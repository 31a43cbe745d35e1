"""Middleware of the kernel wired to the apps: the composition root's part of the middleware list
in `settings.MIDDLEWARE`."""

from __future__ import annotations

from oms_project.graphql_view import principal_of
from oms_project.kernel import admission


class AdmissionMiddleware(admission.AdmissionMiddleware):
    """Admission (oms_project/kernel/admission) with the GraphQL view's token verification, so
    an API call is admitted for its token's tenant and `sub`."""

    principal_of = staticmethod(principal_of)
