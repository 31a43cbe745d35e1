"""Value objects of an order. Money is shared with the snapshots it is priced from."""

from snapshots.domain.money import CurrencyMismatch, Money, minor_units

__all__ = ["CurrencyMismatch", "Money", "minor_units"]
