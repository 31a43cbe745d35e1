"""The root GraphQL schema: each bounded context contributes its query and mutation fields."""

import graphene

from identity.api.schema import IdentityMutation, IdentityQuery
from ordering.api.documents import DocumentsQuery
from ordering.api.mutations import OrderingMutation
from ordering.api.queries import OrderingQuery
from ordering.api.subscriptions import OrderingSubscription
from snapshots.api.schema import SnapshotsQuery


class Query(IdentityQuery, OrderingQuery, DocumentsQuery, SnapshotsQuery, graphene.ObjectType):
    pass


class Mutation(IdentityMutation, OrderingMutation, graphene.ObjectType):
    pass


class Subscription(OrderingSubscription, graphene.ObjectType):
    pass


schema = graphene.Schema(query=Query, mutation=Mutation, subscription=Subscription)
