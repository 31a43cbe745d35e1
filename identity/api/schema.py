"""`me` and `syncUser` (api.md, "Queries" and "Mutations")."""

from __future__ import annotations

import graphene

from identity.domain.principal import Role as RoleValue
from oms_project.kernel.graphql_common import AddressInput, UserError, user_error
from oms_project.kernel.tenancy import tenant_reads
from snapshots.application import services as snapshots
from snapshots.application.customers import (
    AddressData,
    CustomerProfile,
    SyncUserCommand,
    customer_profile,
    sync_user,
)
from snapshots.domain.errors import SnapshotInvalid

Role = graphene.Enum.from_enum(RoleValue, description="What a principal may do.")


class CustomerAddress(graphene.ObjectType):
    id = graphene.ID(required=True)
    line1 = graphene.String(required=True)
    line2 = graphene.String()
    city = graphene.String(required=True)
    state = graphene.String()
    postal_code = graphene.String(required=True)
    country = graphene.String(required=True, description="ISO 3166-1 alpha-2.")
    is_default = graphene.Boolean(required=True)

    @staticmethod
    def from_domain(address) -> CustomerAddress:
        return CustomerAddress(
            id=address.address_id,
            line1=address.line1,
            line2=address.line2 or None,
            city=address.city,
            state=address.state or None,
            postal_code=address.postal_code,
            country=address.country,
            is_default=address.is_default,
        )


class Customer(graphene.ObjectType):
    user_id = graphene.ID(required=True)
    email = graphene.String(required=True)
    first_name = graphene.String(required=True)
    last_name = graphene.String(required=True)
    phone = graphene.String()
    addresses = graphene.List(graphene.NonNull(CustomerAddress), required=True)

    @staticmethod
    def from_profile(profile: CustomerProfile | None) -> Customer | None:
        if profile is None:
            return None
        customer = profile.customer
        return Customer(
            user_id=customer.user_id,
            email=customer.email,
            first_name=customer.first_name,
            last_name=customer.last_name,
            phone=customer.phone or None,
            addresses=[CustomerAddress.from_domain(a) for a in profile.addresses],
        )


class Me(graphene.ObjectType):
    user_id = graphene.ID(required=True)
    tenant_id = graphene.ID(required=True)
    roles = graphene.List(graphene.NonNull(Role), required=True)
    vendor_id = graphene.ID()
    customer = graphene.Field(Customer, description="The synced customer details, if any.")

    def resolve_customer(parent, info):
        principal = info.context.principal
        with tenant_reads(principal.tenant_id):
            return Customer.from_profile(customer_profile(principal, snapshots.customer_store()))


def me_from_principal(principal) -> Me:
    return Me(
        user_id=principal.user_id,
        tenant_id=principal.tenant_id,
        roles=sorted(role.value for role in principal.roles),
        vendor_id=principal.vendor_id,
    )


class CustomerAddressInput(AddressInput):
    id = graphene.ID(description="Your id for this address; derived from its content if omitted.")
    is_default = graphene.Boolean(default_value=False)


class SyncUser(graphene.Mutation):
    """Upsert the caller's customer details, address book and authorization snapshot."""

    class Arguments:
        email = graphene.String(required=True)
        first_name = graphene.String(required=True)
        last_name = graphene.String(required=True)
        phone = graphene.String()
        addresses = graphene.List(
            graphene.NonNull(CustomerAddressInput),
            description="The whole address book; omit to leave stored addresses unchanged.",
        )

    me = graphene.Field(Me)
    customer = graphene.Field(Customer)
    errors = graphene.List(graphene.NonNull(UserError), required=True)

    @classmethod
    def mutate(cls, root, info, email, first_name, last_name, phone=None, addresses=None):
        principal = info.context.principal
        command = SyncUserCommand(
            email=email,
            first_name=first_name,
            last_name=last_name,
            phone=phone,
            addresses=None
            if addresses is None
            else [
                AddressData(
                    line1=item.line1,
                    line2=item.line2,
                    city=item.city,
                    state=item.state,
                    postal_code=item.postal_code,
                    country=item.country,
                    address_id=item.id,
                    is_default=bool(item.is_default),
                )
                for item in addresses
            ],
        )
        try:
            profile = sync_user(principal, command, snapshots.customer_store())
        except SnapshotInvalid as exc:
            return SyncUser(me=None, customer=None, errors=[user_error(exc, {"address_id": "id"})])
        return SyncUser(me=me_from_principal(principal), customer=Customer.from_profile(profile), errors=[])


class IdentityQuery(graphene.ObjectType):
    me = graphene.Field(Me, required=True, description="The authenticated caller.")

    def resolve_me(root, info):
        return me_from_principal(info.context.principal)


class IdentityMutation(graphene.ObjectType):
    sync_user = SyncUser.Field()
