import factory

from identity.infrastructure.models import Tenant


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant
        django_get_or_create = ("id",)

    id = factory.Sequence(lambda n: f"tenant-{n}")
    name = factory.LazyAttribute(lambda o: f"Tenant {o.id}")
    active = True
    jwt_algorithms = factory.LazyFunction(lambda: ["HS256"])
    jwt_hs256_secret = factory.LazyAttribute(lambda o: f"{o.id}-hs256-secret-".ljust(48, "x"))
    jwt_jwks_url = ""
    jwt_issuer = "https://idp.test/"
    jwt_audience = "oms"
