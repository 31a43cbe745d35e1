"""Every order mutation is declared once: its GraphQL arguments fill its command by name (a field
of the same name, or what `fields` says), never by position, and every field the command needs
is filled. Reordering a command's fields cannot break a mutation."""

from __future__ import annotations

import dataclasses

import pytest

from ordering.api import mutations
from ordering.api.mutations import Into, OrderMutation


def order_mutations() -> list[type[OrderMutation]]:
    found, waiting = [], list(OrderMutation.__subclasses__())
    while waiting:
        cls = waiting.pop()
        waiting.extend(cls.__subclasses__())
        found.append(cls)
    return sorted(found, key=lambda cls: cls.__name__)


MUTATIONS = order_mutations()


# Mutations that change no order (their payload is not `{ order, errors }`); each still builds its
# command from its arguments by name (below).
NOT_ORDER_CHANGES = {"erase_customer": mutations.EraseCustomer}


def test_every_order_mutation_of_the_schema_is_declared_this_way():
    names = {name for name, value in vars(mutations.OrderingMutation).items() if hasattr(value, "type")}
    assert len(MUTATIONS) == len(names - set(NOT_ORDER_CHANGES)) == 29


def test_erase_customer_fills_its_command_by_name():
    arguments = {name for name in vars(mutations.EraseCustomer.Arguments) if not name.startswith("__")}
    command_fields = {field.name for field in dataclasses.fields(mutations.c.EraseCustomer)}
    assert arguments == command_fields


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda cls: cls.__name__)
def test_the_arguments_fill_the_command_by_name(mutation):
    command_fields = {field.name: field for field in dataclasses.fields(mutation.command_type)}
    arguments = {name for name in vars(mutation.Arguments) if not name.startswith("__")}
    filled = set(mutation.fixed)
    for argument in arguments:
        into = mutation.fields.get(argument)
        if into is None:
            assert argument in command_fields, f"{mutation.__name__}: argument {argument!r} is no field of the command"
            filled.add(argument)
        else:
            assert isinstance(into, Into)
            assert set(into.fields) <= set(command_fields), (mutation.__name__, argument, into.fields)
            filled.update(into.fields)
    required = {
        name
        for name, field in command_fields.items()
        if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
    }
    assert required <= filled, f"{mutation.__name__}: nothing fills {sorted(required - filled)}"
    assert not set(mutation.fields) - arguments, "a `fields` entry for an argument the mutation does not take"


def test_a_command_is_built_from_arguments_given_in_any_order():
    forward = mutations.CancelOrder.command(order_id="o-1", reason="changed my mind", expected_version=3)
    backward = mutations.CancelOrder.command(expected_version=3, reason="changed my mind", order_id="o-1")
    assert forward == backward
    assert (forward.order_id, forward.reason, forward.expected_version) == ("o-1", "changed my mind", 3)


def test_a_mutation_sets_its_fixed_fields_and_renames_where_it_says():
    command = mutations.RejectReturn.command(order_id="o-1", return_id="r-1", reason="damaged")
    assert (command.approve, command.note) == (False, "damaged")
    assert mutations.ApproveReturn.command(order_id="o-1", return_id="r-1").approve is True


def test_an_argument_that_is_no_field_of_the_command_is_refused():
    with pytest.raises(TypeError):
        mutations.CancelOrder.command(order_id="o-1", reason="x", colour="blue")
