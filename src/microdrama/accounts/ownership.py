"""Rows an account asks for by id and may act on only if it manages their owner (its own, or
any for an operator, see `Account.manages`): an unknown id is 404, someone else's row 403."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter
from typing import Generic, TypeVar

from sqlalchemy.orm import Session

from microdrama.accounts.models import Account
from microdrama.errors import Forbidden, NotFound

RowT = TypeVar("RowT")


@dataclass(frozen=True)
class OwnedRows(Generic[RowT]):
    """One table's rule: what to say of a row that is not there (`missing`) and of someone
    else's (`refused`), the name the id has in both errors, and whose a row is."""

    model: type[RowT]
    id_name: str
    missing: str
    refused: str
    owner_id: Callable[[RowT], int] = attrgetter("owner_id")

    def get(self, *, db: Session, row_id: int, account: Account) -> RowT:
        """The row if the account manages its owner; NotFound or Forbidden otherwise."""
        row = db.get(self.model, row_id)
        if row is None:
            raise NotFound(self.missing, **{self.id_name: row_id})
        if not account.manages(self.owner_id(row)):
            raise Forbidden(self.refused, **{self.id_name: row_id})
        return row
