"""Which brand the brand pages and their API calls show.

A brand sees itself. An operator picks a brand (`?brand=<id>`, the pages' selector) and every
brand page and list call then shows that brand's products, campaigns, funnels and orders, as
the brand would see them; without a pick it is the first brand by name. Calls about one item
(a product, a placement, an order) need no pick: an operator may act on any.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query
from sqlalchemy.orm import Session

from microdrama.accounts import service as accounts
from microdrama.accounts.deps import CurrentBrand
from microdrama.accounts.models import Account, Role
from microdrama.db import DbSession
from microdrama.errors import NotFound

# Account ids are 32-bit integers on PostgreSQL.
MAX_ACCOUNT_ID = 2**31 - 1


def brand_for(db: Session, account: Account, brand_id: int | None) -> Account:
    """The brand `account` looks at: itself, or for an operator the picked (or first) brand;
    an operator with no brand to look at sees their own (empty) pages."""
    if account.role != Role.admin:
        return account  # a brand's pick is ignored: it only ever sees itself
    if brand_id is None:
        brands = accounts.list_brands(db=db)
        return brands[0] if brands else account
    brand = accounts.get(db=db, account_id=brand_id)
    if brand is None or brand.role != Role.brand:
        raise NotFound("No brand with this id.", field="brand")
    return brand


def brand_in_view(
    account: CurrentBrand,
    db: DbSession,
    brand: Annotated[
        int | None,
        Query(ge=1, le=MAX_ACCOUNT_ID, description="Operators: the brand to look at."),
    ] = None,
) -> Account:
    """The brand whose data a brand list or create call works on (see the module notes)."""
    return brand_for(db, account, brand)


BrandInView = Annotated[Account, Depends(brand_in_view)]
