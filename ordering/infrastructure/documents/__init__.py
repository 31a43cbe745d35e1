"""Invoices, credit notes and packing slips: their storage (`store`) and their PDF (`pdf`)."""
