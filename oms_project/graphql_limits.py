"""Guards on `/graphql/` that run before any resolver: query size, depth, aliases, introspection.

Each refusal is a top-level GraphQL error with a stable `extensions.code` (docs/errors.md) and
HTTP 400, and nothing executes. The request body limit (413 `PAYLOAD_TOO_LARGE`) is checked in
the view before the body is read.
"""

from __future__ import annotations

from graphql import GraphQLError, ValidationRule, specified_rules
from graphql.language import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)


def query_too_large(limit: int) -> GraphQLError:
    return GraphQLError(f"the query document exceeds {limit} bytes", extensions={"code": "QUERY_TOO_LARGE"})


def _depth(selection_set: SelectionSetNode | None, fragments: dict[str, FragmentDefinitionNode],
           visiting: frozenset[str]) -> int:
    """The deepest chain of fields below `selection_set` (fragments inlined, introspection ignored)."""
    if selection_set is None:
        return 0
    deepest = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            if selection.name.value.startswith("__"):
                continue
            deepest = max(deepest, 1 + _depth(selection.selection_set, fragments, visiting))
        elif isinstance(selection, InlineFragmentNode):
            deepest = max(deepest, _depth(selection.selection_set, fragments, visiting))
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is not None and name not in visiting:  # cycles are NoFragmentCycles' to report
                deepest = max(deepest, _depth(fragment.selection_set, fragments, visiting | {name}))
    return deepest


def depth_limit_rule(max_depth: int) -> type[ValidationRule]:
    class QueryDepthLimit(ValidationRule):
        def enter_document(self, node: DocumentNode, *_args):
            fragments = {d.name.value: d for d in node.definitions if isinstance(d, FragmentDefinitionNode)}
            for definition in node.definitions:
                if isinstance(definition, OperationDefinitionNode):
                    depth = _depth(definition.selection_set, fragments, frozenset())
                    if depth > max_depth:
                        name = definition.name.value if definition.name else "anonymous"
                        self.report_error(GraphQLError(
                            f"operation {name!r} is {depth} levels deep; the limit is {max_depth}",
                            definition, extensions={"code": "QUERY_TOO_DEEP"}))
            return self.SKIP

    return QueryDepthLimit


def alias_limit_rule(max_aliases: int) -> type[ValidationRule]:
    class AliasLimit(ValidationRule):
        def __init__(self, context) -> None:
            super().__init__(context)
            self.aliases = 0

        def enter_field(self, node: FieldNode, *_args):
            if node.alias is not None:
                self.aliases += 1

        def leave_document(self, node: DocumentNode, *_args):
            if self.aliases > max_aliases:
                self.report_error(GraphQLError(
                    f"the document uses {self.aliases} aliases; the limit is {max_aliases}",
                    extensions={"code": "TOO_MANY_ALIASES"}))

    return AliasLimit


class NoIntrospection(ValidationRule):
    """`__schema` and `__type` are refused (once per document); `__typename` stays allowed."""

    def enter_field(self, node: FieldNode, *_args):
        if node.name.value in ("__schema", "__type"):
            self.report_error(GraphQLError(
                f"introspection is disabled on this server (field {node.name.value!r})", node,
                extensions={"code": "INTROSPECTION_DISABLED"}))
            return self.BREAK


def validation_rules(*, max_depth: int, max_aliases: int, introspection: bool) -> list[type[ValidationRule]]:
    rules = [*specified_rules, depth_limit_rule(max_depth), alias_limit_rule(max_aliases)]
    if not introspection:
        rules.append(NoIntrospection)
    return rules
