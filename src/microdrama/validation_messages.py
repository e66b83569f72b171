"""Plain-language messages for request validation problems, one per pydantic error type."""

from __future__ import annotations

import re
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic_core.core_schema import ErrorType

# pydantic's own error types; any other type is a PydanticCustomError whose message was
# written for people by our own code (e.g. "is not a valid email address"), so it is kept.
BUILTIN_ERROR_TYPES: frozenset[str] = frozenset(typing.get_args(ErrorType))

# Where a request part's location starts: ("body", "title") is the field "title".
_LOCATION_ROOTS = {"body", "query", "path", "header", "cookie"}

# Labels a field name cannot give on its own.
_LABELS: dict[str, str] = {
    "x_permille": "Horizontal position",
    "y_permille": "Vertical position",
    "sku": "SKU",
    "vip_plan": "VIP plan",
    "cvc": "Security code",
    "url": "Web address",
    "starts_at": "Start",
    "ends_at": "End",
    # The shipping form's address lines, as its labels say them ("Line1 is required" puzzled).
    "line1": "Address",
    "line2": "Apartment, suite",
    "q": "The search",
}

# What a pattern wants, said per field (a regular expression means nothing to people).
_FORMATS: dict[str, str] = {
    "country": "Country must be a two-letter code like US.",
    "currency": "Currency must be a three-letter code like USD.",
    "sku": "SKU may hold letters, digits, dots, dashes and underscores (up to 64), "
    "starting with a letter or a digit.",
    "postal_code": "Postal code must be 2 to 12 letters, digits, spaces or dashes.",
    "accent_color": "Accent color must be a colour like #ff2d55.",
    "language": "Language must be a language code like en or pt-BR.",
}

# A name's unit suffix is dropped from its label and said after the limit instead:
# "Watch reminder must be at least 5 minutes", "Episode price can't be negative".
_UNITS: dict[str, tuple[str, str]] = {
    "coins": ("coin", "coins"),
    "cents": ("cent", "cents"),
    "minutes": ("minute", "minutes"),
    "seconds": ("second", "seconds"),
    "days": ("day", "days"),
    "ms": ("ms", "ms"),
    "permille": ("‰", "‰"),
}


class Problem(typing.NamedTuple):
    """One thing wrong with a request: where (`field`), what (`code`) and what to do."""

    field: str | None
    code: str
    message: str


def field_path(loc: Sequence[int | str]) -> str | None:
    """The dotted path of a field inside its request part ("items.0.quantity"), None for the
    request part as a whole (a body that is not JSON, not an object)."""
    parts = list(loc)
    if parts and parts[0] in _LOCATION_ROOTS:
        parts = parts[1:]
    return ".".join(str(p) for p in parts) or None


def _name(loc: Sequence[int | str]) -> str | None:
    """The innermost named part of a location: "quantity" in ("body", "items", 0, "quantity")."""
    for part in reversed(list(loc)):
        if isinstance(part, str) and part not in _LOCATION_ROOTS:
            return part
    return None


def _singular(label_text: str) -> str:
    if label_text.endswith("ies"):
        return label_text[:-3] + "y"
    if label_text.endswith("s") and not label_text.endswith("ss"):
        return label_text[:-1]
    return label_text


def _item(loc: Sequence[int | str]) -> tuple[str | None, str | None]:
    """Which list item a location points into, as people count: ("cues", 0, "text") is in
    "Cue 1"; ("tags", 3) is "Tag 4" itself. Answers (the item, when the error is *inside* it)
    and (the item, when the error is the item)."""
    parts = [p for p in loc if p not in _LOCATION_ROOTS]
    for i in range(len(parts) - 1, 0, -1):
        if isinstance(parts[i], int) and isinstance(parts[i - 1], str):
            item = f"{_singular(label(str(parts[i - 1])))} {int(parts[i]) + 1}"
            return (None, item) if i == len(parts) - 1 else (item, None)
    return None, None


def _split_unit(name: str) -> tuple[str, tuple[str, str] | None]:
    head, _, tail = name.rpartition("_")
    if head and tail in _UNITS:
        return head, _UNITS[tail]
    return name, None


def label(name: str | None) -> str:
    """A field's name as people say it: `free_episodes` → "Free episodes"."""
    if not name:
        return "The request"
    if name in _LABELS:
        return _LABELS[name]
    base, _unit = _split_unit(name)
    base = re.sub(r"_ids?$", "", base) if base not in ("id", "ids") else base
    words = base.replace("_", " ").strip() or name
    return words[0].upper() + words[1:]


def _amount(value: Any, unit: tuple[str, str] | None) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        shown = f"{value:,}"
    else:
        shown = str(value)
    if unit is None:
        return shown
    singular, plural = unit
    if singular == "ms" or singular == "‰":
        return f"{shown} {singular}"
    return f"{shown} {singular if value == 1 else plural}"


def _choices(expected: Any) -> str:
    # pydantic gives "'a', 'b' or 'c'"; people read "a, b or c".
    return str(expected).replace("'", "")


def _chars(n: Any) -> str:
    return f"{n} character{'' if n == 1 else 's'}"


def _items(n: Any, noun: str) -> str:
    return f"{n} {noun}" if n != 1 else f"1 {noun.rstrip('s') or noun}"


# Each maker gets the field's label, its unit, the error's context and input and returns
# (stable code, sentence). The codes are ours, so a pydantic upgrade does not change the API.
_Maker = Callable[[str, tuple[str, str] | None, Mapping[str, Any], Any], tuple[str, str]]


def _too_short_string(lab: str, _u: Any, ctx: Mapping[str, Any], _i: Any) -> tuple[str, str]:
    n = ctx.get("min_length", 1)
    if n == 1:
        return "required", f"{lab} can't be empty."
    return "too_short", f"{lab} must be at least {_chars(n)}."


def _too_short_list(lab: str, u: Any, ctx: Mapping[str, Any], given: Any) -> tuple[str, str]:
    # A length bound placed after a validator (`Annotated[str, AfterValidator(...)]` with
    # min_length) reports pydantic's generic too_short even for text.
    if isinstance(given, str):
        return _too_short_string(lab, u, ctx, given)
    return "too_short", f"Choose at least {_items(ctx.get('min_length'), lab.lower())}."


def _too_long_string(lab: str, _u: Any, ctx: Mapping[str, Any], _i: Any) -> tuple[str, str]:
    return "too_long", f"{lab} must be at most {_chars(ctx.get('max_length'))}."


def _too_long_list(lab: str, u: Any, ctx: Mapping[str, Any], given: Any) -> tuple[str, str]:
    if isinstance(given, str):  # as in _too_short_list
        return _too_long_string(lab, u, ctx, given)
    limit, sent = ctx.get("max_length"), ctx.get("actual_length")
    sentence = f"Choose at most {_items(limit, lab.lower())}"
    return "too_long", f"{sentence} (you sent {sent})." if sent is not None else f"{sentence}."


def _at_least(lab: str, unit: Any, ctx: Mapping[str, Any], _i: Any) -> tuple[str, str]:
    limit = ctx.get("ge")
    if limit == 0:
        return "too_small", f"{lab} can't be negative."
    return "too_small", f"{lab} must be at least {_amount(limit, unit)}."


def _more_than(lab: str, unit: Any, ctx: Mapping[str, Any], _i: Any) -> tuple[str, str]:
    limit = ctx.get("gt")
    if limit == 0:
        return "too_small", f"{lab} must be more than zero."
    return "too_small", f"{lab} must be more than {_amount(limit, unit)}."


def _upper_bound(code: str, key: str, phrase: str) -> _Maker:
    """ "{label} must be {phrase} {limit}": the limit is the error context's `key`."""

    def make(lab: str, unit: Any, ctx: Mapping[str, Any], _i: Any) -> tuple[str, str]:
        return code, f"{lab} must be {phrase} {_amount(ctx.get(key), unit)}."

    return make


def _one_of(lab: str, _u: Any, ctx: Mapping[str, Any], _i: Any) -> tuple[str, str]:
    return "not_allowed", f"{lab} must be one of: {_choices(ctx.get('expected'))}."


def _fixed(code: str, template: str) -> _Maker:
    def make(lab: str, _u: Any, _ctx: Mapping[str, Any], _i: Any) -> tuple[str, str]:
        return code, template.format(label=lab)

    return make


_MAKERS: dict[str, _Maker] = {
    "missing": _fixed("required", "{label} is required."),
    "string_too_short": _too_short_string,
    "string_too_long": _too_long_string,
    "too_short": _too_short_list,
    "too_long": _too_long_list,
    "greater_than_equal": _at_least,
    "greater_than": _more_than,
    "less_than_equal": _upper_bound("too_large", "le", "at most"),
    "less_than": _upper_bound("too_large", "lt", "less than"),
    "multiple_of": lambda lab, _u, ctx, _i: (
        "not_allowed",
        f"{lab} must be a multiple of {ctx.get('multiple_of')}.",
    ),
    "int_type": _fixed("not_a_number", "{label} must be a whole number."),
    "int_parsing": _fixed("not_a_number", "{label} must be a whole number."),
    "int_from_float": _fixed("not_a_number", "{label} must be a whole number."),
    "int_parsing_size": _fixed("too_large", "{label} is too large."),
    "float_type": _fixed("not_a_number", "{label} must be a number."),
    "float_parsing": _fixed("not_a_number", "{label} must be a number."),
    "finite_number": _fixed("not_a_number", "{label} must be a finite number."),
    "decimal_type": _fixed("not_a_number", "{label} must be a number."),
    "decimal_parsing": _fixed("not_a_number", "{label} must be a number."),
    "bool_type": _fixed("wrong_type", "{label} must be true or false."),
    "bool_parsing": _fixed("wrong_type", "{label} must be true or false."),
    "string_type": _fixed("wrong_type", "{label} must be text."),
    "string_unicode": _fixed("wrong_type", "{label} must be text."),
    "string_pattern_mismatch": _fixed("bad_format", "{label} isn't in the expected format."),
    "list_type": _fixed("wrong_type", "{label} must be a list."),
    "tuple_type": _fixed("wrong_type", "{label} must be a list."),
    "set_type": _fixed("wrong_type", "{label} must be a list."),
    "dict_type": _fixed("wrong_type", "{label} must be an object."),
    "model_type": _fixed("wrong_type", "{label} must be an object."),
    "model_attributes_type": _fixed("wrong_type", "{label} must be an object."),
    "none_required": _fixed("not_allowed", "{label} must be left out."),
    "literal_error": _one_of,
    "enum": _one_of,
    "extra_forbidden": _fixed("unknown_field", "{label} isn't a field this form takes."),
    "json_invalid": _fixed("invalid_json", "The request isn't valid JSON."),
    "json_type": _fixed("invalid_json", "The request isn't valid JSON."),
    "recursion_loop": _fixed("too_deep", "{label} is nested too deeply."),
    "date_type": _fixed("bad_format", "{label} must be a date (YYYY-MM-DD)."),
    "date_parsing": _fixed("bad_format", "{label} must be a date (YYYY-MM-DD)."),
    "date_from_datetime_parsing": _fixed("bad_format", "{label} must be a date (YYYY-MM-DD)."),
    "date_from_datetime_inexact": _fixed("bad_format", "{label} must be a date (YYYY-MM-DD)."),
    "date_past": _fixed("not_allowed", "{label} must be in the past."),
    "date_future": _fixed("not_allowed", "{label} must be in the future."),
    "datetime_type": _fixed("bad_format", "{label} must be a date and time."),
    "datetime_parsing": _fixed("bad_format", "{label} must be a date and time."),
    "datetime_from_date_parsing": _fixed("bad_format", "{label} must be a date and time."),
    "datetime_object_invalid": _fixed("bad_format", "{label} must be a date and time."),
    "datetime_past": _fixed("not_allowed", "{label} must be in the past."),
    "datetime_future": _fixed("not_allowed", "{label} must be in the future."),
    "timezone_naive": _fixed("bad_format", "{label} must not have a time zone."),
    "timezone_aware": _fixed("bad_format", "{label} needs a time zone (e.g. Z or +02:00)."),
    "time_type": _fixed("bad_format", "{label} must be a time (HH:MM)."),
    "time_parsing": _fixed("bad_format", "{label} must be a time (HH:MM)."),
    "url_type": _fixed("bad_format", "{label} must be a web address."),
    "url_parsing": _fixed("bad_format", "{label} must be a web address."),
    "url_syntax_violation": _fixed("bad_format", "{label} must be a web address."),
    "url_scheme": _fixed("bad_format", "{label} must start with http:// or https://."),
    "url_too_long": _fixed("too_long", "{label} is too long."),
    "uuid_type": _fixed("bad_format", "{label} must be a UUID."),
    "uuid_parsing": _fixed("bad_format", "{label} must be a UUID."),
}


def _own_sentence(lab: str | None, message: str) -> str:
    """A validator's own message as a sentence: "must be after the start" gets the label
    (a check of the whole request, without a field, is only capitalised)."""
    message = message.strip()
    if message.startswith(("Value error, ", "Assertion failed, ")):
        message = message.split(", ", 1)[1]
    if not message:
        return f"{lab} isn't valid."
    if message[0].islower():
        message = f"{lab} {message}" if lab else message[0].upper() + message[1:]
    return message if message.endswith((".", "!", "?")) else f"{message}."


def describe(error: Mapping[str, Any]) -> Problem:
    """One pydantic error (an item of `ValidationError.errors()`) as a Problem people read."""
    loc: Sequence[int | str] = error.get("loc") or ()
    kind = str(error.get("type", ""))
    name = _name(loc)
    unit = _split_unit(name)[1] if name else None
    inside, itself = _item(loc)
    lab = itself or label(name)
    if kind == "string_pattern_mismatch" and name in _FORMATS:
        code, message = "bad_format", _FORMATS[name]
    elif kind in _MAKERS:
        code, message = _MAKERS[kind](lab, unit, error.get("ctx") or {}, error.get("input"))
    elif kind in ("value_error", "assertion_error") or kind not in BUILTIN_ERROR_TYPES:
        # Our validators' own words; a custom type keeps its code (e.g. "invalid_email").
        code = "invalid" if kind in BUILTIN_ERROR_TYPES else kind
        message = _own_sentence(lab if name else None, str(error.get("msg", "")))
    else:
        code, message = "invalid", f"{lab} isn't valid."
    if inside:
        message = f"{inside}: {message}"
    # A JSON syntax error's location is a character offset, not a field.
    field = None if kind in ("json_invalid", "json_type") else field_path(loc)
    return Problem(field=field, code=code, message=message)


def summarize(problems: Sequence[Problem]) -> str:
    """One short sentence over all problems, for the top of a form or a log line."""
    if len(problems) == 1:
        return problems[0].message
    fields = {p.field for p in problems}
    head = f"Please check {len(fields)} fields:" if len(fields) > 1 else "Please check:"
    shown = " ".join(p.message for p in problems[:3])
    more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
    return f"{head} {shown}{more}"
