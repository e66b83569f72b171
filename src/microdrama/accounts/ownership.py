"""The owner's check on a row asked for by id: unknown is 404, someone else's is 403 (an operator
manages every row, see `Account.manages`)."""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import Any, TypeVar

from microdrama.accounts.models import Account
from microdrama.errors import Forbidden, NotFound

RowT = TypeVar("RowT")


def require_managed(
    row: RowT | None,
    *,
    account: Account,
    missing: str,
    refused: str,
    owner_id: Callable[[RowT], int] = attrgetter("owner_id"),
    **details: Any,
) -> RowT:
    """The row if the account manages its owner (the row's `owner_id` unless `owner_id` says
    otherwise); NotFound(missing) when there is no row, Forbidden(refused) when it is someone
    else's, both with `details`."""
    if row is None:
        raise NotFound(missing, **details)
    if not account.manages(owner_id(row)):
        raise Forbidden(refused, **details)
    return row
