"""GraphQL pieces every app's API shares: the error code enum, the payload error type, and what
an operation selects at its root."""

from __future__ import annotations

from collections.abc import Iterable

import graphene
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionNode,
)

from .errors import PAYLOAD_CODES, CodedError, graphql_error

# Made from the one table of codes (oms_project/kernel/errors.py): the codes a payload may carry.
ErrorCode = graphene.Enum(
    "ErrorCode",
    [(code, code) for code in PAYLOAD_CODES],
    description='Stable codes of payload errors (api.md, "Mutations"). Clients branch on these.',
)


class UserError(graphene.ObjectType):
    """Why a mutation did not do what was asked. Nothing was written when one is returned."""

    field = graphene.String(description="Input field at fault (camelCase path), if any.")
    code = graphene.Field(ErrorCode, required=True)
    message = graphene.String(required=True)


def to_camel_path(path: str | None, renames: dict[str, str] | None = None) -> str | None:
    """`addresses[0].postal_code` -> `addresses[0].postalCode`: errors name GraphQL inputs.

    `renames` maps a domain field name to the input's name where the two differ
    (`address_id` -> `id`).
    """
    if not path:
        return None
    parts = []
    for part in path.split("."):
        name, bracket, index = part.partition("[")
        part = (renames or {}).get(name, name) + bracket + index
        head, *rest = part.split("_")
        parts.append(head + "".join(word[:1].upper() + word[1:] for word in rest))
    return ".".join(parts)


def user_error(error: CodedError, renames: dict[str, str] | None = None) -> UserError:
    return UserError(
        field=to_camel_path(getattr(error, "field", None), renames),
        code=error.code,
        message=error.message,
    )


# A postal address as the API takes it (customers' address books, orders' destinations). A comment,
# not a docstring: graphene would publish a docstring as the type's description in the schema.
class AddressInput(graphene.InputObjectType):
    line1 = graphene.String(required=True)
    line2 = graphene.String()
    city = graphene.String(required=True)
    state = graphene.String()
    postal_code = graphene.String(required=True)
    country = graphene.String(required=True, description="ISO 3166-1 alpha-2.")


def top_level_error(error: CodedError, *, with_field: bool = False) -> GraphQLError:
    """A refusal as a top-level GraphQL error (`extensions.code`, and `extensions.field` when
    asked): the mutations' missing rights, a query's bad argument."""
    extensions = {"field": error.field} if with_field else {}
    return GraphQLError(error.message, extensions=graphql_error(error.code, error.message, **extensions)["extensions"])


def root_fields(document: DocumentNode, operation: OperationDefinitionNode) -> list[str]:
    """The names of the fields an operation selects at its root, in order and once each, through
    inline fragments and named fragments (`{ me { userId } orders { totalCount } }` -> me, orders)."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    names: list[str] = []

    def walk(selections: Iterable[SelectionNode], seen: frozenset[str]) -> None:
        for selection in selections:
            if isinstance(selection, FieldNode):
                if selection.name.value not in names:
                    names.append(selection.name.value)
            elif isinstance(selection, InlineFragmentNode):
                walk(selection.selection_set.selections, seen)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = fragments.get(selection.name.value)
                if fragment is not None and fragment.name.value not in seen:
                    walk(fragment.selection_set.selections, seen | {fragment.name.value})

    walk(operation.selection_set.selections, frozenset())
    return names


# Query fields that may write (an invoice is issued by its first `invoice(orderId)`): a query
# document that selects one runs on the primary, never on a read replica (replicas.py), and its
# writes commit with the query's transaction. Apps add theirs at start-up (`writes_on_query`).
_WRITING_QUERY_FIELDS: set[str] = set()


def writes_on_query(*fields: str) -> None:
    _WRITING_QUERY_FIELDS.update(fields)


def query_writes(document: DocumentNode, operation: OperationDefinitionNode) -> bool:
    """The query selects a field that may write (`writes_on_query`)."""
    return bool(_WRITING_QUERY_FIELDS) and not _WRITING_QUERY_FIELDS.isdisjoint(root_fields(document, operation))
