"""The root GraphQL schema: each bounded context contributes its query and mutation fields."""

import graphene

from identity.api.schema import IdentityMutation, IdentityQuery


class Query(IdentityQuery, graphene.ObjectType):
    pass


class Mutation(IdentityMutation, graphene.ObjectType):
    pass


schema = graphene.Schema(query=Query, mutation=Mutation)
