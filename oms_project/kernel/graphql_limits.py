"""Guards on `/graphql/` that run before any resolver: query size, depth, aliases, introspection.

Each refusal is a top-level GraphQL error with a stable `extensions.code` (docs/errors.md) and
HTTP 400, and nothing executes. The request body limit (413 `PAYLOAD_TOO_LARGE`) is checked in
the view before the body is read.
"""

from __future__ import annotations

import re
from typing import Any

from graphql import ASTValidationRule, GraphQLError, ValidationContext, ValidationRule, specified_rules
from graphql.language import (
    DocumentNode,
    ExecutableDefinitionNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionNode,
    SelectionSetNode,
    VariableNode,
)
from graphql.language.parser import Parser, nested_too_deeply_error
from graphql.language.visitor import VisitorAction


def query_too_large(limit: int) -> GraphQLError:
    return GraphQLError(f"the query document exceeds {limit} bytes", extensions={"code": "QUERY_TOO_LARGE"})


def _depth(
    selection_set: SelectionSetNode | None, fragments: dict[str, FragmentDefinitionNode], visiting: frozenset[str]
) -> int:
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
        def enter_document(self, node: DocumentNode, *_args: Any) -> VisitorAction:
            fragments = {d.name.value: d for d in node.definitions if isinstance(d, FragmentDefinitionNode)}
            for definition in node.definitions:
                if isinstance(definition, OperationDefinitionNode):
                    depth = _depth(definition.selection_set, fragments, frozenset())
                    if depth > max_depth:
                        name = definition.name.value if definition.name else "anonymous"
                        self.report_error(
                            GraphQLError(
                                f"operation {name!r} is {depth} levels deep; the limit is {max_depth}",
                                definition,
                                extensions={"code": "QUERY_TOO_DEEP"},
                            )
                        )
            return self.SKIP

    return QueryDepthLimit


def alias_limit_rule(max_aliases: int) -> type[ValidationRule]:
    class AliasLimit(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self.aliases = 0

        def enter_field(self, node: FieldNode, *_args: Any) -> None:
            if node.alias is not None:
                self.aliases += 1

        def leave_document(self, node: DocumentNode, *_args: Any) -> None:
            if self.aliases > max_aliases:
                self.report_error(
                    GraphQLError(
                        f"the document uses {self.aliases} aliases; the limit is {max_aliases}",
                        extensions={"code": "TOO_MANY_ALIASES"},
                    )
                )

    return AliasLimit


class NoIntrospection(ValidationRule):
    """`__schema` and `__type` are refused (once per document); `__typename` stays allowed."""

    def enter_field(self, node: FieldNode, *_args: Any) -> VisitorAction:
        if node.name.value in ("__schema", "__type"):
            self.report_error(
                GraphQLError(
                    f"introspection is disabled on this server (field {node.name.value!r})",
                    node,
                    extensions={"code": "INTROSPECTION_DISABLED"},
                )
            )
            return self.BREAK
        return None


def validation_rules(*, max_depth: int, max_aliases: int, introspection: bool) -> list[type[ASTValidationRule]]:
    rules: list[type[ASTValidationRule]] = [
        *specified_rules,
        depth_limit_rule(max_depth),
        alias_limit_rule(max_aliases),
    ]
    if not introspection:
        rules.append(NoIntrospection)
    return rules


# -- cost before validation ---------------------------------------------------------------------
# graphql-core's standard rules are not linear: the overlapping-fields rule compares every pair of
# fields with one response name (1,000 repeated fields took 400 ms of CPU). These checks run on the
# parsed document before any rule, in one walk bounded by the limits themselves.


def too_many_tokens(limit: int) -> GraphQLError:
    return GraphQLError(f"the document has more than {limit} tokens", extensions={"code": "TOO_MANY_TOKENS"})


# GraphQL's tokens as a regular expression: block strings, strings, comments, names, numbers, the
# spread and single punctuators (commas and white space are not tokens). graphql-core's parser
# spends 10 to 20 us of Python per token; this count runs in C first, so a document far over the
# limit costs almost nothing. The parser's own `max_tokens` stays as the exact backstop.
_TOKEN = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"""|"(?:[^"\\\n\r]|\\.)*"|#[^\n\r]*'
    r"|[_A-Za-z][_0-9A-Za-z]*|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|\.\.\.|[!$&()\:=@\[\]{}|]"
)


def parse_within_limits(query: str, *, max_tokens: int, max_fields: int, max_repeats: int) -> DocumentNode:
    """The parsed document, or a `GraphQLError`: `TOO_MANY_TOKENS` past `max_tokens` (comments
    included), `TOO_MANY_FIELDS` as soon as more than `max_fields` fields are written or a name
    repeats more than `max_repeats` times in one selection set (parsing stops there), or
    graphql-core's syntax error."""
    if len(_TOKEN.findall(query)) > max_tokens:
        raise too_many_tokens(max_tokens)
    parser = _FieldCountingParser(query, max_tokens=max_tokens, max_fields=max_fields, max_repeats=max_repeats)
    try:
        return parser.parse_document()
    except GraphQLError as error:
        if "tokens. Parsing aborted." in error.message:
            raise too_many_tokens(max_tokens) from None
        raise
    except RecursionError:
        pass
    raise nested_too_deeply_error(parser)


class _FieldCountingParser(Parser):
    """graphql-core's parser, stopping as soon as a document has written more than `max_fields`
    fields, or one response name more than `max_repeats` times in one selection set."""

    def __init__(self, source: str, *, max_tokens: int, max_fields: int, max_repeats: int) -> None:
        super().__init__(source, max_tokens=max_tokens)
        self._fields_left = max_fields
        self._max_fields = max_fields
        self._max_repeats = max_repeats
        self._names: list[dict[str, int]] = [{}]  # response names seen, per open selection set

    def parse_selection_set(self) -> SelectionSetNode:
        self._names.append({})
        try:
            return super().parse_selection_set()
        finally:
            self._names.pop()

    def parse_field(self) -> FieldNode:
        self._fields_left -= 1
        if self._fields_left < 0:
            raise _too_many_fields(self._max_fields)
        name = self._lexer.token.value or ""  # the alias if there is one, else the name: the response name
        seen = self._names[-1]
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > self._max_repeats:
            raise _repeated(name, self._max_repeats)
        return super().parse_field()


class _CostExceeded(Exception):
    def __init__(self, error: GraphQLError) -> None:
        self.error = error


def cost_error(
    document: DocumentNode, *, max_fields: int, max_repeats: int, max_directives: int
) -> GraphQLError | None:
    """The first cost limit `document` passes, if any: more than `max_fields` fields selected in
    an operation (fragments expanded, as execution would see them), one response name selected
    more than `max_repeats` times in one selection set (fragments merged into it), or a field,
    fragment spread or inline fragment with more than `max_directives` directives."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    try:
        for definition in document.definitions:
            if isinstance(definition, FragmentDefinitionNode):
                _check_directives(definition, max_directives)
            if isinstance(definition, OperationDefinitionNode):
                _check_directives(definition, max_directives)
                budget = [max_fields, 20 * max_fields]  # fields left; selections walked left
                _walk(definition.selection_set, fragments, frozenset(), budget, max_fields, max_repeats, max_directives)
    except _CostExceeded as exceeded:
        return exceeded.error
    return None


def _check_directives(node: ExecutableDefinitionNode | SelectionNode, limit: int) -> None:
    if len(node.directives or ()) > limit:
        raise _CostExceeded(
            GraphQLError(
                f"{len(node.directives)} directives on one selection; the limit is {limit}",
                node,
                extensions={"code": "TOO_MANY_DIRECTIVES"},
            )
        )


def _walk(
    selection_set: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    visiting: frozenset[str],
    budget: list[int],
    max_fields: int,
    max_repeats: int,
    max_directives: int,
) -> None:
    """Count the fields below `selection_set`; raise `_CostExceeded` at the first limit passed."""
    if selection_set is None:
        return
    names: dict[str, int] = {}
    pending = [(selection_set, visiting)]
    while pending:  # this selection set, with its fragments' selections merged into it
        current, seen = pending.pop()
        for selection in current.selections:
            budget[1] -= 1
            if budget[1] < 0:
                raise _CostExceeded(_too_many_fields(max_fields))
            _check_directives(selection, max_directives)
            if isinstance(selection, FieldNode):
                budget[0] -= 1
                if budget[0] < 0:
                    raise _CostExceeded(_too_many_fields(max_fields))
                name = (selection.alias or selection.name).value
                names[name] = names.get(name, 0) + 1
                if names[name] > max_repeats:
                    raise _CostExceeded(_repeated(name, max_repeats, selection))
                _walk(selection.selection_set, fragments, seen, budget, max_fields, max_repeats, max_directives)
            elif isinstance(selection, InlineFragmentNode):
                pending.append((selection.selection_set, seen))
            elif isinstance(selection, FragmentSpreadNode):
                fragment = fragments.get(selection.name.value)
                if fragment is not None and fragment.name.value not in seen:  # cycles: NoFragmentCycles
                    pending.append((fragment.selection_set, seen | {fragment.name.value}))


def _repeated(name: str, limit: int, node: FieldNode | None = None) -> GraphQLError:
    return GraphQLError(
        f"{name!r} is selected more than {limit} times in one selection set",
        node,
        extensions={"code": "TOO_MANY_FIELDS"},
    )


def _too_many_fields(limit: int) -> GraphQLError:
    return GraphQLError(
        f"the operation selects more than {limit} fields (fragments expanded)", extensions={"code": "TOO_MANY_FIELDS"}
    )


# -- cost against the tenant's budget (oms_project/admission) -----------------------------------
# As storefront developers know it from Shopify's API: a scalar costs nothing, every object one
# point, a connection its page size (`first`, else `last`, else the default page) times what one
# of its items costs, and each top-level mutation field `mutation_cost` more. The requested cost is
# the document's bound, the actual cost what the answer held; the difference is given back.

PAGE_ARGUMENTS = ("first", "last")


def requested_cost(
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: dict[str, Any] | None,
    *,
    mutation_cost: int,
    default_page: int,
) -> int:
    """The most `operation` can cost (fragments expanded; the document has passed `cost_error`)."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    below = _selection_cost(operation.selection_set, fragments, frozenset(), variables or {}, default_page)
    if operation.operation.value == "mutation":
        below += mutation_cost * _top_level_fields(operation.selection_set, fragments)
    return max(1, below)


def _top_level_fields(selection_set: SelectionSetNode, fragments: dict[str, FragmentDefinitionNode]) -> int:
    count = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            count += not selection.name.value.startswith("__")
        elif isinstance(selection, InlineFragmentNode):
            count += _top_level_fields(selection.selection_set, fragments)
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value in fragments:
            count += _top_level_fields(fragments[selection.name.value].selection_set, fragments)
    return count


def _page_size(field: FieldNode, variables: dict[str, Any], default_page: int) -> int | None:
    """The page a connection field asks for; None for a field without page arguments."""
    for argument in field.arguments or ():
        if argument.name.value in PAGE_ARGUMENTS:
            value = argument.value
            if isinstance(value, VariableNode):
                given = variables.get(value.name.value)
            else:
                given = getattr(value, "value", None)
            try:
                return max(0, int(given))  # type: ignore[arg-type]  # whatever was sent: int() judges it
            except (TypeError, ValueError):
                return default_page
    return default_page if field.name.value in _CONNECTIONS else None


# Connection fields whose page argument may be left out (their default page then applies).
_CONNECTIONS = frozenset({"orders"})


def _selection_cost(
    selection_set: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    visiting: frozenset[str],
    variables: dict[str, Any],
    default_page: int,
) -> int:
    if selection_set is None:
        return 0
    total = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            if selection.selection_set is None or selection.name.value.startswith("__"):
                continue
            one = 1 + _selection_cost(selection.selection_set, fragments, visiting, variables, default_page)
            page = _page_size(selection, variables, default_page)
            total += one if page is None else 2 + page * (one - 1)  # the connection, then its items
        elif isinstance(selection, InlineFragmentNode):
            total += _selection_cost(selection.selection_set, fragments, visiting, variables, default_page)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in fragments and name not in visiting:
                total += _selection_cost(
                    fragments[name].selection_set, fragments, visiting | {name}, variables, default_page
                )
    return total


def actual_cost(data: object, *, mutation: bool, mutation_cost: int) -> int:
    """What an answer cost: one point per object it holds (the root excluded), plus
    `mutation_cost` per top-level field of a mutation."""
    if not isinstance(data, dict):
        return 1
    objects = 0
    pending = list(data.values())
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            objects += 1
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return max(1, objects + (mutation_cost * len(data) if mutation else 0))
