"""The one gate for text at the API boundary (docs/errors.md, "Text rules").

Every string that enters through GraphQL (arguments and variables, at any depth), a webhook body
or a token claim passes `check_tree` once, before any handler runs. Refused, with the path of the
field at fault:
- C0 control characters (U+0000 to U+001F) and DEL (U+007F), except tab, newline and carriage
  return in free-text fields (`FREE_TEXT_KEYS`: reasons, notes, descriptions);
- unpaired surrogates (U+D800 to U+DFFF), which no database can store as UTF-8.

The same answer on SQLite and PostgreSQL: SQLite would store a NUL, PostgreSQL refuses it with
an error of its own. Plain Python, so the GraphQL view, the webhook use case and the token
verifier share it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .errors import CodedError

MAX_DEPTH = 32  # deeper input is refused, not walked
FREE_TEXT_KEYS = frozenset({"reason", "note", "description", "detail", "message"})
_STRICT = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
_FREE_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


class TextRefused(CodedError, ValueError):
    """A string from outside holds a character the rules refuse (code INVALID)."""

    code = "INVALID"

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


def text_problem(value: str, *, free_text: bool = False) -> str | None:
    """Why `value` is refused, or None."""
    found = (_FREE_TEXT if free_text else _STRICT).search(value)
    if found is None:
        return None
    code = ord(found.group())
    if 0xD800 <= code <= 0xDFFF:
        return "contains an unpaired surrogate"
    return f"contains a control character (U+{code:04X})"


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def check_tree(value: Any, path: str = "", *, key: str = "", depth: int = 0) -> None:
    """Raise TextRefused for the first refused string in `value` (dicts, lists, their keys), and
    for input nested deeper than MAX_DEPTH."""
    if depth > MAX_DEPTH:
        raise TextRefused(f"is nested deeper than {MAX_DEPTH} levels", path)
    if isinstance(value, str):
        problem = text_problem(value, free_text=key in FREE_TEXT_KEYS)
        if problem:
            raise TextRefused(problem, path)
    elif isinstance(value, Mapping):
        for name, item in value.items():
            if isinstance(name, str):
                problem = text_problem(name)
                if problem:
                    raise TextRefused(f"a key {problem}", path)
            check_tree(item, _join(path, name), key=name if isinstance(name, str) else key, depth=depth + 1)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            check_tree(item, _join(path, index), key=key, depth=depth + 1)
