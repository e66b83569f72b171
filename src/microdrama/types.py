"""Request field types shared by every route: ids bounded to their column, text without controls;
and `read_row`, an answer read from a row's attributes.

An id a request names must fit the column it is looked up in (PostgreSQL's `integer` holds
up to 2^31-1, `bigint` and SQLite's INTEGER up to 2^63-1); anything larger used to reach the
database driver and come back as a 500. `Id` and `BigId` bound body and query ids (422);
`PathId` and `BigPathId` answer 404 for a path id that no row can have, like any unknown id.

Text with NUL or other control characters is refused (422, type `control_character`):
PostgreSQL cannot store NUL, and an escape sequence or a C1 control shown back to a person
(a shipping label, a product page, a CSV opened in a terminal) is never what they meant.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, TypeVar

from annotated_types import Interval
from pydantic import AfterValidator, BaseModel, WithJsonSchema
from pydantic_core import PydanticCustomError

from microdrama.errors import NotFound

# The largest value of PostgreSQL's `integer` (the ids of most tables).
INT_MAX = 2**31 - 1
# The largest value of `bigint` (ids of the tables that grow with traffic; SQLite's INTEGER).
BIGINT_MAX = 2**63 - 1

Id = Annotated[int, Interval(ge=1, le=INT_MAX)]
BigId = Annotated[int, Interval(ge=1, le=BIGINT_MAX)]


def _path_id(upper: int) -> AfterValidator:
    def named_or_not_found(value: int) -> int:
        # A 404 and not a 422: the path is well formed, it just names nothing there can be.
        if not 1 <= value <= upper:
            raise NotFound(f"There is nothing with the id {value}.")
        return value

    return AfterValidator(named_or_not_found)


def _id_schema(upper: int) -> WithJsonSchema:
    return WithJsonSchema({"type": "integer", "minimum": 1, "maximum": upper})


PathId = Annotated[int, _path_id(INT_MAX), _id_schema(INT_MAX)]
BigPathId = Annotated[int, _path_id(BIGINT_MAX), _id_schema(BIGINT_MAX)]

# C0 controls, DEL and C1 controls, and lone surrogates (not text: they cannot be encoded).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# The same but tab, line feed and carriage return (a textarea's line breaks), for multi-line text.
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def _refuse(pattern: re.Pattern[str]) -> AfterValidator:
    def without_controls(value: str) -> str:
        found = pattern.search(value)
        if found is not None:
            char = found.group()
            raise PydanticCustomError(
                "control_character",
                "contains a control character ({code}); remove it",
                {"code": f"U+{ord(char):04X}"},
            )
        return value

    return AfterValidator(without_controls)


# One line of text: a title, a name, a code. No control character at all.
Line = Annotated[str, _refuse(_CONTROL)]
# Text that may run over several lines (a synopsis, a description, a reason): tabs and line
# breaks allowed, other controls refused.
Text = Annotated[str, _refuse(_CONTROL_IN_TEXT)]


def _key_or_not_found(value: str) -> str:
    # Keys we mint are plain ASCII: one with a control character names nothing (and NUL
    # would reach PostgreSQL, which refuses it).
    if _CONTROL.search(value):
        raise NotFound("There is nothing with that id.")
    return value


# A string id in a path (an upload, a checkout session): 404 when it holds a control character.
PathKey = Annotated[str, AfterValidator(_key_or_not_found)]


def control_character(value: str, *, multiline: bool = False) -> str | None:
    """The first control character of `value` as "U+0000", or None (for text read by hand)."""
    found = (_CONTROL_IN_TEXT if multiline else _CONTROL).search(value)
    return None if found is None else f"U+{ord(found.group()):04X}"


class _RowAndFacts:
    """A row seen through its attributes, with facts it does not hold (looked up elsewhere)
    taking precedence."""

    __slots__ = ("_facts", "_row")

    def __init__(self, row: object, facts: dict[str, Any]) -> None:
        self._row = row
        self._facts = facts

    def __getattr__(self, name: str) -> Any:
        if name in self._facts:
            return self._facts[name]
        return getattr(self._row, name)


Answer = TypeVar("Answer", bound=BaseModel)


def read_row(model: type[Answer], row: object, **facts: Any) -> Answer:
    """`model` validated from the row's attributes (an enum gives its value to a `str` field),
    with `facts` for the fields the row does not hold: one place lists the answer's fields,
    the model, instead of a copy of them field by field."""
    return model.model_validate(_RowAndFacts(row, facts), from_attributes=True)
