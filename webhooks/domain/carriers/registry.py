"""The carrier aggregators we take tracking webhooks from: a provider is its adapter module and
its line here."""

from __future__ import annotations

from . import aftership, easypost

PROVIDERS = {
    easypost.name: easypost,
    aftership.name: aftership,
}
