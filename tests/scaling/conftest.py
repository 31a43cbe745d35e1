"""The ordering fixtures (a tenant with a catalog, a shop calling the API) for these tests too."""

from tests.ordering.conftest import catalog, shop  # noqa: F401
